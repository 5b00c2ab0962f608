import Manifest
import PodModel
import YAML

/// What a build reads of this host, every part injected, so that planning touches nothing:
/// the image store, the node's facts, what an `image: host` root holds
/// (`HostSystemDirectories.probe()`), and lstat for the PATH search, subPaths and hostPaths.
public struct HostFacts: Sendable {
    public var images: ImageLookup
    public var node: NodeFacts
    public var hostEntries: [String: HostEntry]
    public var files: FileLookup
    /// The pod network (the conflist as read); nil: pods get only `lo` (`--pod-network none`).
    public var network: NetworkConfig?
    /// The default seccomp profile and the compiler of profiles (`SeccompLookup.host`).
    public var seccomp: SeccompLookup

    public init(images: ImageLookup = .none, node: NodeFacts = NodeFacts(), hostEntries: [String: HostEntry] = [:], files: FileLookup,
                network: NetworkConfig? = nil, seccomp: SeccompLookup = .none) {
        self.seccomp = seccomp
        self.images = images
        self.node = node
        self.hostEntries = hostEntries
        self.files = files
        self.network = network
    }
}

extension LaunchPlanBuilder {
    /// One pod of `manifests` (its ConfigMaps and Secrets), built for `layout`: what the
    /// planner compares with the host and what its actions carry to the executor.
    public static func desired(_ pod: Manifest.Pod, manifests: ManifestSet, source: String, layout: PodLayout,
                               facts: HostFacts) throws(BuildError) -> DesiredPod {
        let input = PodBuildInput(pod: pod, manifests: manifests, layout: layout, generation: 0, images: facts.images,
                                  hostEntries: facts.hostEntries, node: facts.node, files: facts.files, network: facts.network,
                                  seccomp: facts.seccomp)
        let build = try build(input)
        let key = PodKey(namespace: pod.metadata.namespace, name: pod.metadata.name)
        let network = build.network.map { NetworkAttachment(network: $0, key: key, uid: layout.uid, portMappings: build.portMappings) }
        return DesiredPod(key: key, source: source, uid: layout.uid,
                          immutable: immutable(pod, hostname: build.plan.hostname, network: network), plan: build.plan, limits: build.limits,
                          setup: build.setup, contents: contents(build.setup.volumes), network: network)
    }

    /// `PodRecord.contents`: FNV-1a 64 over every configMap, secret, downwardAPI and
    /// projected volume's files, names, bytes and modes, in order. Secrets enter only
    /// through the hash.
    public static func contents(_ specs: [(name: String, spec: VolumeSpec)]) -> String {
        var bytes: [UInt8] = []
        for (name, spec) in specs {
            guard case .files(let files) = spec else { continue }
            bytes += Array(name.utf8) + [0]
            for f in files.files {
                bytes += Array(f.path.utf8) + [0] + Array(String(f.mode, radix: 8).utf8) + [0]
                bytes += Array(String(f.bytes.count).utf8) + [0] + f.bytes
            }
        }
        if bytes.isEmpty { return "" }
        return String(FNV1a.hash64(bytes), radix: 16)
    }

    /// `PodRecord.immutable`: the fields a running pod cannot change.
    ///
    /// The network too: the attachment is made once, before any container starts, and the
    /// plugins have no verb to change one. A pod on another network (another conflist, or
    /// the same one edited) or with other host ports is made again: DEL with what was
    /// recorded, then ADD.
    public static func immutable(_ pod: Manifest.Pod, hostname: String, network: NetworkAttachment? = nil) -> [String: String] {
        var fields = [
            "hostNetwork": String(pod.spec.hostNetwork),
            "hostPID": String(pod.spec.hostPID),
            "hostIPC": String(pod.spec.hostIPC),
            "shareProcessNamespace": String(pod.spec.shareProcessNamespace),
            "hostname": hostname,
            "volumes": JSONValue.array(pod.spec.volumes.map(\.canonicalJSON)).serialized(),
        ]
        // Only when set, so that the records of pods made before it stay the same.
        if pod.spec.hostUsers == false { fields["hostUsers"] = "false" }
        if let network {
            fields["network"] = "\(network.network.name) (\(network.network.file), \(String(FNV1a.hash64(network.network.bytes), radix: 16)))"
            if !network.portMappings.isEmpty { fields["hostPorts"] = network.portMappings.map(\.description).joined(separator: ", ") }
        }
        return fields
    }
}
