import Cgroups
import Kernel
import Manifest
import PodBuilder
import Planner
import PodModel
import HostSetup
import YAML

/// The input, resolved for this host into `DesiredPod`s: a launch plan and limits per pod,
/// built as `PodCreator` builds them but without touching the host (no volume is made; a
/// hostPath's kind is read). A pod keeps its recorded uid; a new pod gets a new one.
public struct DesiredBuilder: Sendable {
    public var creator: PodCreator
    public var roots: ReconcileRoots

    public init(creator: PodCreator, roots: ReconcileRoots) {
        self.creator = creator
        self.roots = roots
    }

    /// One pod that could not be built (an image not in the store, a hostPath of the wrong
    /// type): reported; the pod is left as it is on the host.
    public struct Failure: Sendable {
        public var key: PodKey
        public var file: String
        public var message: String
    }

    public func build(_ set: ManifestSet, source: (SourcedPod) -> String, records: [PodKey: PodRecord],
                      newUID: () -> String) -> (pods: [DesiredPod], failures: [Failure]) {
        var pods: [DesiredPod] = []
        var failures: [Failure] = []
        for sourced in set.pods {
            let pod = sourced.pod
            let key = PodKey(namespace: pod.metadata.namespace, name: pod.metadata.name)
            let uid = records[key]?.uid ?? newUID()
            let layout = roots.layout(key, uid: uid)
            do {
                let input = PodBuildInput(pod: pod, manifests: set, layout: layout, generation: 0, images: creator.images,
                                          hostEntries: creator.hostEntries, node: creator.node, files: creator.files)
                var full = input
                let specs = try LaunchPlanBuilder.volumeSpecs(input)
                full.preparedVolumes = creator.volumes.planned(specs, layout: layout)
                let build = try LaunchPlanBuilder.build(full)
                pods.append(DesiredPod(key: key, source: source(sourced), uid: uid, immutable: Self.immutable(pod, hostname: build.plan.hostname),
                                       plan: build.plan, limits: PodCgroupLimits(pod: build.podLimits, containers: build.containerLimits),
                                       contents: Self.contents(specs)))
            } catch {
                failures.append(Failure(key: key, file: sourced.file, message: "\(error)"))
            }
        }
        return (pods, failures)
    }

    /// `PodRecord.contents`: FNV-1a 64 over every configMap and secret volume's files, names,
    /// bytes and modes, in order. Secrets enter only through the hash.
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
    public static func immutable(_ pod: Pod, hostname: String) -> [String: String] {
        [
            "hostNetwork": String(pod.spec.hostNetwork),
            "hostPID": String(pod.spec.hostPID),
            "hostIPC": String(pod.spec.hostIPC),
            "shareProcessNamespace": String(pod.spec.shareProcessNamespace),
            "hostname": hostname,
            "volumes": JSONValue.array(pod.spec.volumes.map(\.canonicalJSON)).serialized(),
        ]
    }
}
