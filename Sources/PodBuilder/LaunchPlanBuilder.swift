import ImageModel
import Manifest
import PodModel

/// Why a pod cannot be built into a launch plan: the key path of the field at fault and the
/// reason, e.g. `spec.containers[0].image: image "nginx:1" is not in the local store ...`.
public struct BuildError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `spec.containers[0].image`, `spec.volumes[2].configMap.name`; empty for the pod.
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// What Kubernetes would read from the Node object: the downward API's `spec.nodeName`
/// and `status.hostIP`, and the allocatable resources that stand in for a limit that is
/// not set (resourceFieldRef, memory emptyDir size) and that the OOM score divides by.
public struct NodeFacts: Sendable, Hashable {
    /// The host's uts nodename.
    public var name: String
    public var hostIP: String
    /// CPUs × 1000.
    public var milliCPU: Int64
    /// Total memory in bytes (kubelet's machine capacity; podrec reserves nothing).
    public var memoryBytes: Int64
    public var ephemeralStorageBytes: Int64

    public init(name: String = "", hostIP: String = "127.0.0.1", milliCPU: Int64 = 0, memoryBytes: Int64 = 0, ephemeralStorageBytes: Int64 = 0) {
        self.name = name
        self.hostIP = hostIP
        self.milliCPU = milliCPU
        self.memoryBytes = memoryBytes
        self.ephemeralStorageBytes = ephemeralStorageBytes
    }
}

/// Where `image: NAME[:TAG]` comes from: the local store (`ImageLookup.store`, which the
/// reconciler wires in), or a fixed table in tests.
public struct ImageLookup: Sendable {
    public struct Found: Sendable, Hashable {
        /// The image's layers, top first: the overlay's lower dirs in `lowerdir` order.
        public var layers: [String]
        public var config: ImageConfig
        /// The image's `User` resolved in its own /etc/passwd and /etc/group (the lookup
        /// reads them, the builder stays pure): nil for none (root), or why it cannot be.
        public var user: Result<ImageUser, ImageSpecError>?

        public init(layers: [String], config: ImageConfig, user: Result<ImageUser, ImageSpecError>? = nil) {
            self.layers = layers
            self.config = config
            self.user = user
        }

        /// A one-layer image.
        public init(rootfs: String, config: ImageConfig) {
            self.init(layers: [rootfs], config: config)
        }

        public var rootfs: String { layers.first ?? "" }
    }

    /// nil: no such image. A thrown error is a store that cannot be read; its description
    /// is the store's own message.
    public var find: @Sendable (ImageReference) throws -> Found?

    public init(_ find: @escaping @Sendable (ImageReference) throws -> Found?) {
        self.find = find
    }

    /// Images by `NAME:TAG` (the tag spelled out).
    public static func fixed(_ images: [String: Found]) -> ImageLookup {
        ImageLookup { ref in images[ref.description] }
    }

    /// No image at all: only `image: host` containers build.
    public static let none = ImageLookup { _ in nil }
}

/// Everything one build reads. Only `images` and `files` touch the host, and both are
/// injectable. `node` should be filled in: its name is `spec.nodeName` and a hostNetwork
/// pod's hostname, its memory the OOM score's divisor.
public struct PodBuildInput: Sendable {
    /// Validated and defaulted (`ManifestLoader`).
    public var pod: Manifest.Pod
    /// By `namespace/name`, as `ManifestSet` keys them.
    public var configMaps: [String: ConfigMap]
    public var secrets: [String: Secret]
    public var layout: PodLayout
    public var generation: Int
    public var images: ImageLookup
    /// `HostSystemDirectories.probe()`: what an `image: host` root holds, for the PATH search.
    public var hostEntries: [String: HostEntry]
    /// Where each volume is on the host, by name. nil: where preparing the `volumeSpecs`
    /// will put it (`expectedVolumes`), which is what a plan is built against; tests may
    /// give volumes prepared already.
    public var preparedVolumes: [String: PreparedVolume]?
    public var node: NodeFacts
    /// lstat and readlink, for the PATH search and subPaths.
    public var files: FileLookup
    /// The pod network; nil: a pod without hostNetwork has only `lo`.
    public var network: NetworkConfig?
    /// The default profile and the compiler of seccomp programs.
    public var seccomp: SeccompLookup

    public init(pod: Manifest.Pod, configMaps: [String: ConfigMap] = [:], secrets: [String: Secret] = [:], layout: PodLayout,
                generation: Int, images: ImageLookup = .none, hostEntries: [String: HostEntry] = [:],
                preparedVolumes: [String: PreparedVolume]? = nil, node: NodeFacts = NodeFacts(), files: FileLookup,
                network: NetworkConfig? = nil, seccomp: SeccompLookup = .none) {
        self.seccomp = seccomp
        self.pod = pod
        self.configMaps = configMaps
        self.secrets = secrets
        self.layout = layout
        self.generation = generation
        self.images = images
        self.hostEntries = hostEntries
        self.preparedVolumes = preparedVolumes
        self.node = node
        self.files = files
        self.network = network
    }

    /// The ConfigMaps and Secrets of `manifests`, the input `pod` came from.
    public init(pod: Manifest.Pod, manifests: ManifestSet, layout: PodLayout, generation: Int, images: ImageLookup = .none,
                hostEntries: [String: HostEntry] = [:], preparedVolumes: [String: PreparedVolume]? = nil,
                node: NodeFacts = NodeFacts(), files: FileLookup, network: NetworkConfig? = nil, seccomp: SeccompLookup = .none) {
        self.init(pod: pod, configMaps: manifests.configMaps, secrets: manifests.secrets, layout: layout, generation: generation,
                  images: images, hostEntries: hostEntries, preparedVolumes: preparedVolumes, node: node, files: files, network: network,
                  seccomp: seccomp)
    }
}

/// A built pod: the plan for the supervisor and what the host side does around it.
public struct PodBuild: Sendable {
    public var plan: LaunchPlan
    public var qos: PodQoS
    /// The pod cgroup's limits (kubelet `ResourceConfigForPod`).
    public var podLimits: CgroupLimits
    /// Each container's cgroup limits, by container name.
    public var containerLimits: [String: CgroupLimits]
    /// What the host prepares before the supervisor starts: the volumes in spec order, where
    /// the plan expects them, the pod's `/dev/shm` (containerd's 64 MiB), its memory limit,
    /// the hosts files and the subPath dirs to make.
    public var setup: PodSetup
    /// The network the pod joins (nil: hostNetwork, or no pod network), and the host ports
    /// it publishes there.
    public var network: NetworkConfig?
    public var portMappings: [PortMapping] = []

    /// The pod cgroup's limits and each container's.
    public var limits: PodCgroupLimits { PodCgroupLimits(pod: podLimits, containers: containerLimits) }
}

/// Turns one validated, defaulted pod into its whole build: the volumes the host must
/// prepare (configMap and secret contents resolved, `volumeSpecs`), where they will be
/// (`expectedVolumes`), and the `LaunchPlan`, cgroups and limits built against them.
///
/// Pure but for two injected lookups (the image store and lstat); no clock, no globals.
/// The rules are Kubernetes' (kubelet + containerd), each documented where it is applied.
public enum LaunchPlanBuilder {
    /// kubelet's hostname limit.
    public static let maxHostnameBytes = 63

    public static func build(_ input: PodBuildInput) throws(BuildError) -> PodBuild {
        let volumes = try volumeSpecs(input)
        var input = input
        if input.preparedVolumes == nil { input.preparedVolumes = expectedVolumes(volumes, layout: input.layout, files: input.files) }
        let pod = input.pod
        let spec = pod.spec
        let layout = input.layout
        let qos = PodQoS.of(spec)
        let hostname = spec.hostNetwork && !input.node.name.isEmpty ? input.node.name : podHostname(pod)
        let network = spec.hostNetwork ? nil : input.network
        let portMappings = try portMappings(spec, network: network)
        // The pod's IP is the network's to give, at start: until then the plan holds a
        // token (`LaunchPlan.podIPToken`). On the host's network it is the host's; with no
        // pod network, loopback, which the pod's own containers reach.
        let podIP = network != nil ? LaunchPlan.podIPToken : spec.hostNetwork ? input.node.hostIP : "127.0.0.1"
        let podIPs = network != nil ? LaunchPlan.podIPsToken : podIP
        let env = EnvironmentBuilder(pod: pod, uid: layout.uid, configMaps: input.configMaps, secrets: input.secrets, node: input.node,
                                     podIP: podIP, podIPs: podIPs, hostname: hostname)
        var plan = LaunchPlan(
            generation: input.generation, namespace: pod.metadata.namespace, name: pod.metadata.name, uid: layout.uid,
            hostname: hostname, shareProcessNamespace: spec.shareProcessNamespace, hostNetwork: spec.hostNetwork,
            hostPID: spec.hostPID, hostIPC: spec.hostIPC, terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
            logDirectory: layout.logDirectory, scratchDirectory: layout.state.scratchDirectory,
            sharedShm: spec.hostIPC ? "/dev/shm" : layout.shmDirectory, cgroupMount: layout.cgroupMount)
        // The ids come from the reconciler, which gives each such pod its own range.
        plan.hostUsers = spec.hostUsers != false
        // The start time is the reconciler's to fill in (the planner, from the record).
        plan.activeDeadlineSeconds = spec.activeDeadlineSeconds
        // For `attach` without -c; kubectl ignores an annotation that names no container.
        if let name = pod.metadata.annotations["kubectl.kubernetes.io/default-container"],
           (spec.containers + spec.initContainers).contains(where: { $0.name == name }) {
            plan.defaultContainer = name
        }

        var containerLimits: [String: CgroupLimits] = [:]
        var subPathDirectories: [SubPathDirectory] = []
        for (path, c, kind) in ordered(spec) {
            let launch = try container(c, kind: kind, at: path, input: input, env: env, qos: qos, subPathDirectories: &subPathDirectories)
            plan.containers.append(launch)
            containerLimits[c.name] = PodResources.containerCgroupLimits(resources(c, kind))
        }
        let all = ordered(spec).map { resources($0.container, $0.kind) }
        let totals = PodResources.totals(all, podLevel: podLevel(spec))
        var setup = PodSetup(
            volumes: volumes, expectedVolumes: input.preparedVolumes ?? [:], memoryLimit: totals.memoryLimit,
            shmSize: spec.hostIPC ? nil : PodLayout.defaultShmSize,
            overlayScratch: plan.containers.contains { if case .image = $0.root { true } else { false } },
            hostname: hostname, hostAliases: spec.hostAliases.map { ($0.ip, $0.hostnames) }, hostNetwork: spec.hostNetwork,
            subPathDirectories: subPathDirectories)
        setup.attached = network != nil
        setup.dns = PodDNS(policy: spec.dnsPolicy, nameservers: spec.dnsConfig?.nameservers ?? [], searches: spec.dnsConfig?.searches ?? [],
                           options: (spec.dnsConfig?.options ?? []).map { ResolvConf.Option(name: $0.name, value: $0.value) })
        return PodBuild(plan: plan, qos: qos, podLimits: PodResources.podCgroupLimits(all, podLevel: podLevel(spec)),
                        containerLimits: containerLimits, setup: setup, network: network, portMappings: portMappings)
    }

    /// The CNI `portMappings` of a pod on a network, as kubelet and containerd make them:
    /// every port of a (main) container with a `hostPort`, protocol in lower case, `hostIP`
    /// kept. On the host's network a port needs no mapping.
    static func portMappings(_ spec: PodSpec, network: NetworkConfig?) throws(BuildError) -> [PortMapping] {
        var out: [PortMapping] = []
        for (i, c) in spec.containers.enumerated() {
            for (j, port) in c.ports.enumerated() {
                guard let hostPort = port.hostPort, hostPort != 0, !spec.hostNetwork else { continue }
                guard network != nil else {
                    throw BuildError(path: "spec.containers[\(i)].ports[\(j)].hostPort",
                                     message: "needs a pod network, and podrec runs with --pod-network none (or use hostNetwork: true)")
                }
                let mapping = PortMapping(hostPort: Int(hostPort), containerPort: Int(port.containerPort),
                                          proto: port.protocol.lowercased(), hostIP: port.hostIP ?? "")
                if let other = out.first(where: { $0.conflicts(with: mapping) }) {
                    throw BuildError(path: "spec.containers[\(i)].ports[\(j)].hostPort",
                                     message: "host port \(mapping) is already taken by \(other) in this pod")
                }
                out.append(mapping)
            }
        }
        return out
    }

    /// Start order: init containers in spec order (sidecars among them), then main ones.
    static func ordered(_ spec: PodSpec) -> [(path: String, container: Manifest.Container, kind: ContainerKind)] {
        spec.initContainers.enumerated().map { ("spec.initContainers[\($0)]", $1, $1.isSidecar ? .sidecar : .initContainer) }
            + spec.containers.enumerated().map { ("spec.containers[\($0)]", $1, .main) }
    }

    /// kubelet `GeneratePodHostNameAndDomain`: `spec.hostname`, else the pod's name, cut to
    /// 63 bytes, then trailing `-` and `.` trimmed.
    public static func podHostname(_ pod: Manifest.Pod) -> String {
        let name = pod.spec.hostname.flatMap { $0.isEmpty ? nil : $0 } ?? pod.metadata.name
        var bytes = Array(name.utf8)
        guard bytes.count > maxHostnameBytes else { return name }
        bytes.removeLast(bytes.count - maxHostnameBytes)
        while let last = bytes.last, last == UInt8(ascii: "-") || last == UInt8(ascii: ".") { bytes.removeLast() }
        // Names are validated DNS-1123 (ASCII), so no UTF-8 sequence is cut.
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The per-container restart policy: the pod's for main containers, `Always` for
    /// sidecars, and for regular init containers `Never` under `Never`, else `OnFailure`.
    static func restartPolicy(_ kind: ContainerKind, pod: Manifest.RestartPolicy) -> PodModel.RestartPolicy {
        switch kind {
        case .sidecar: return .always
        case .initContainer: return pod == .never ? .never : .onFailure
        case .main:
            switch pod {
            case .always: return .always
            case .onFailure: return .onFailure
            case .never: return .never
            }
        }
    }

    static func container(_ c: Manifest.Container, kind: ContainerKind, at path: String, input: PodBuildInput, env: EnvironmentBuilder,
                          qos: PodQoS, subPathDirectories: inout [SubPathDirectory]) throws(BuildError) -> ContainerLaunch {
        let spec = input.pod.spec
        let layout = input.layout

        // The root: `host`, or a stored image; never a fallback from one to the other.
        let root: RootSource
        let config: ImageConfig?
        var imageUser: Result<ImageUser, ImageSpecError>?
        if c.image == ImageReference.reservedName {
            root = .host
            config = nil
        } else {
            let ref: ImageReference
            do { ref = try ImageReference(parsing: c.image) } catch {
                throw BuildError(path: path + ".image", message: error.description)
            }
            let found: ImageLookup.Found?
            do { found = try input.images.find(ref) } catch {
                throw BuildError(path: path + ".image", message: "image \"\(c.image)\": \(error)")
            }
            guard let found else {
                let how = c.imagePullPolicy == "Never" ? "and imagePullPolicy is Never: podrec image pull \(ref), or podrec image import \(ref) DIR|TAR"
                    : "(podrec image ls): podrec image pull \(ref), or podrec image import \(ref) DIR|TAR"
                throw BuildError(path: path + ".image", message: "image \"\(c.image)\" is not in the local store \(how)")
            }
            let overlay = layout.overlayDirectory(c.name)
            root = .image(layers: found.layers, upper: overlay + "/upper", work: overlay + "/work")
            config = found.config
            imageUser = found.user
        }

        let security = try SecurityBuilder.build(c, pod: spec, imageUser: imageUser, at: path)
        let environment = try env.environment(c, imageEnv: config?.env ?? [], at: path)
        let argv = try arguments(c, config: config, kubeletEnv: environment.kubelet, at: path)
        let mounts = try mounts(c, at: path, input: input, readOnlyRoot: security.readOnlyRootFilesystem, subPathDirectories: &subPathDirectories)

        // The executable: as written when it has a '/', else looked up in PATH inside the
        // container's root; not found, the bare name stays and exec reports ENOENT.
        var executable = argv[0]
        if !executable.contains("/") && !executable.isEmpty {
            let base: ContainerRootView.Base
            switch root {
            case .host: base = .host(input.hostEntries)
            case .image(let layers, _, _): base = .image(layers: layers)
            }
            let view = ContainerRootView(
                base: base,
                mounts: mounts.map { (target: $0.target.split(separator: "/").map(String.init), source: $0.source) },
                lookup: input.files)
            executable = view.findExecutable(executable, searchPath: environment.path) ?? executable
        }

        var stopSignal: Int32 = 15
        if let name = c.lifecycle?.stopSignal {
            guard let n = SecurityBuilder.signals[name] else {
                throw BuildError(path: path + ".lifecycle.stopSignal", message: "\"\(name)\" is not a signal name such as SIGTERM or SIGUSR1")
            }
            stopSignal = n
        } else if let name = config?.stopSignal, !name.isEmpty {
            // The image's STOPSIGNAL, as containerd applies it when the Pod sets none.
            guard let n = ImageUser.signalNumber(name, names: SecurityBuilder.signals) else {
                throw BuildError(path: path + ".image", message: "image \"\(c.image)\": its StopSignal \"\(name)\" is not a signal")
            }
            stopSignal = n
        }

        let seccomp = try SeccompBuilder.filter(c, pod: spec, privileged: security.privileged,
                                                bounding: CapabilitySet(rawValue: security.capabilities?.bounding ?? CapabilitySet.allKnown.rawValue),
                                                lookup: input.seccomp, at: path)
        let workingDirectory = c.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? config.flatMap { $0.workdir.isEmpty ? nil : $0.workdir }
        var launch = ContainerLaunch(
            name: c.name, kind: kind,
            specHash: SpecHash.of(c, resolvedEnv: EnvResolver.resolve(c, namespace: input.pod.metadata.namespace,
                                                                       configMaps: input.configMaps, secrets: input.secrets),
                                  seccomp: seccomp?.sha256),
            restartPolicy: restartPolicy(kind, pod: spec.restartPolicy),
            executable: executable, arguments: argv, environment: environment.entries, workingDirectory: workingDirectory,
            uid: security.uid, gid: security.gid, supplementalGroups: security.groups, capabilities: security.capabilities,
            noNewPrivileges: security.noNewPrivileges, readOnlyRootFilesystem: security.readOnlyRootFilesystem,
            privileged: security.privileged, root: root, mounts: mounts,
            cgroup: CgroupNames.containerPath(parent: layout.cgroupParent, namespace: layout.namespace, name: layout.name,
                                              uid: layout.uid, container: c.name),
            stopSignal: stopSignal,
            oomScoreAdj: SecurityBuilder.oomScoreAdj(c, isSidecar: kind == .sidecar, pod: spec, qos: qos, memoryCapacity: input.node.memoryBytes))
        launch.secretEnvironment = environment.secret
        launch.seccomp = seccomp
        launch.terminationMessagePath = Self.terminationMessagePath(c.terminationMessagePath)
        launch.terminationMessagePolicy = TerminationMessagePolicy(rawValue: c.terminationMessagePolicy) ?? .file
        launch.terminationMessageDirectory = layout.terminationMessageDirectory(c.name)
        launch.tty = c.tty
        launch.stdin = c.stdin
        launch.stdinOnce = c.stdinOnce
        try ProbeBuilder.apply(c, to: &launch, at: path, podAddress: env.probeAddress)
        return launch
    }

    /// The API server checks nothing of `terminationMessagePath` but that it is set (it
    /// defaults it). The runtime binds a file there: runc takes a relative destination from
    /// `/` and resolves `..` inside the root, so podrec does the same, lexically, and a
    /// path that names `/` itself fails the start, as the bind would.
    static func terminationMessagePath(_ path: String) -> String {
        var parts: [Substring] = []
        for component in path.split(separator: "/") {
            if component == "." { continue }
            if component == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(component)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// argv, the Kubernetes way with the image's defaults (containerd `WithProcessArgs`):
    /// `command` given: command + args (the image's entrypoint and cmd are ignored); only
    /// `args`: entrypoint + args; neither: entrypoint + cmd. An entrypoint of one empty
    /// string counts as none. `$(VAR)` in command and args is expanded against kubelet's
    /// variables (not the image's). `image: host` has no defaults, so it needs `command`.
    static func arguments(_ c: Manifest.Container, config: ImageConfig?, kubeletEnv: OrderedEnvironment, at path: String) throws(BuildError) -> [String] {
        let command = (c.command ?? []).map { EnvExpansion.expand($0) { kubeletEnv[$0] } }
        let args = (c.args ?? []).map { EnvExpansion.expand($0) { kubeletEnv[$0] } }
        if !command.isEmpty { return command + args }
        guard let config else {
            throw BuildError(path: path + ".command", message: "image: host has no default command; set command")
        }
        let entrypoint = config.entrypoint == [""] ? [] : config.entrypoint
        let argv = entrypoint + (args.isEmpty ? config.cmd : args)
        guard !argv.isEmpty else {
            throw BuildError(path: path + ".command", message: "image \"\(c.image)\" has no entrypoint or cmd; set command")
        }
        return argv
    }

    static func resources(_ c: Manifest.Container, _ kind: ContainerKind) -> ContainerResources {
        let role: ContainerRole
        switch kind {
        case .initContainer: role = .initContainer
        case .sidecar: role = .sidecar
        case .main: role = .main
        }
        let r = c.resources
        return ContainerResources(role: role, cpuRequest: r.cpuRequestMillis, cpuLimit: r.cpuLimitMillis,
                                  memoryRequest: r.memoryRequestBytes, memoryLimit: r.memoryLimitBytes)
    }

    static func podLevel(_ spec: PodSpec) -> PodLevelResources? {
        spec.resources.map {
            PodLevelResources(cpuRequest: $0.cpuRequestMillis, cpuLimit: $0.cpuLimitMillis,
                              memoryRequest: $0.memoryRequestBytes, memoryLimit: $0.memoryLimitBytes)
        }
    }
}
