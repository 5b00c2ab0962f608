/// What the reconciler hands the pod supervisor: one pod, fully resolved. The supervisor
/// reads no manifest, looks nothing up and makes no policy of its own beyond the pod's
/// lifecycle: argv, env values, mounts, ids, capabilities and cgroup paths are all here
/// (ARCHITECTURE, "The contract between reconciler and supervisor").
///
/// Written atomically as `<root>/pods/<ns>_<name>/plan`; `generation` grows by one with
/// every change, and the supervisor answers with `observedGeneration` in its status.
public struct LaunchPlan: Sendable, Hashable {
    public var generation: Int
    public var namespace: String
    public var name: String
    public var uid: String
    /// Already truncated to 63 bytes.
    public var hostname: String
    public var shareProcessNamespace: Bool
    public var hostNetwork: Bool
    public var hostPID: Bool
    public var hostIPC: Bool
    public var terminationGracePeriodSeconds: Int64
    /// `<log dir>/pods/<ns>_<name>_<uid>`: one dir per container below it.
    public var logDirectory: String
    /// A host dir with one empty dir per container, each the mount point of its new root.
    public var scratchDirectory: String
    /// The pod's `/dev/shm`, a tmpfs the reconciler mounted; nil gives each container its own.
    public var sharedShm: String?
    /// Where cgroupfs is mounted (`/sys/fs/cgroup`); cgroup paths below are relative to it.
    public var cgroupMount: String
    /// Restart backoff: the first restart is immediate, then this doubles from `initial`
    /// to `max` (kubelet: 10 s and 300 s; KEP-4603 makes them a node setting). A container
    /// that ran for twice `max` starts again from the beginning.
    public var backoffInitialMilliseconds: Int64 = 10_000
    public var backoffMaxMilliseconds: Int64 = 300_000
    /// In start order: init containers and sidecars in spec order, then main containers.
    public var containers: [ContainerLaunch]
    /// The pod's addresses from its network attachment, first IPv4 first; empty until the
    /// network has given them (a plan as built, or a pod on the host's network). The plan as
    /// built holds `podIPToken` where a value needs them; `assigningPodIPs` fills them in.
    public var podIPs: [String] = []
    /// `hostUsers` of the pod's spec: false gives the pod a user namespace of its own.
    public var hostUsers: Bool = true
    /// With `hostUsers: false`: the pod's host ids, which the reconciler gives it from
    /// podrec's range (`UserNamespaceRange`) and records with the pod. Ids 0..<count inside
    /// are `start..<start+count` on the host.
    public var userNamespace: IDRange?
    /// `activeDeadlineSeconds`: the supervisor stops the pod for good this long after
    /// `startTime` (`ActiveDeadline`). A change reaches it with the next plan, no restart.
    public var activeDeadlineSeconds: Int64?
    /// The pod's `status.startTime`, recorded once by the reconciler when it made the pod
    /// (`PodRecord.startTime`) and carried in every plan: a new plan, a restarted `apply`
    /// or a new supervisor never counts the deadline from anew. nil until it is recorded.
    public var startTime: WallTime?
    /// The `kubectl.kubernetes.io/default-container` annotation, when it names a container
    /// of the pod: the one `attach` means without -c, as kubectl picks.
    public var defaultContainer: String?

    public init(generation: Int, namespace: String, name: String, uid: String, hostname: String,
                shareProcessNamespace: Bool = false, hostNetwork: Bool = false, hostPID: Bool = false, hostIPC: Bool = false,
                terminationGracePeriodSeconds: Int64 = 30, logDirectory: String, scratchDirectory: String,
                sharedShm: String? = nil, cgroupMount: String = "/sys/fs/cgroup", containers: [ContainerLaunch] = []) {
        self.generation = generation
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.hostname = hostname
        self.shareProcessNamespace = shareProcessNamespace
        self.hostNetwork = hostNetwork
        self.hostPID = hostPID
        self.hostIPC = hostIPC
        self.terminationGracePeriodSeconds = terminationGracePeriodSeconds
        self.logDirectory = logDirectory
        self.scratchDirectory = scratchDirectory
        self.sharedShm = sharedShm
        self.cgroupMount = cgroupMount
        self.containers = containers
    }

    public func container(_ name: String) -> ContainerLaunch? { containers.first { $0.name == name } }
}

/// Where a container sits in the pod's lifecycle (KEP-753).
public enum ContainerKind: String, Sendable, Hashable, CaseIterable {
    /// A regular init container: runs to completion, in order, before everything after it.
    case initContainer = "init"
    /// An init container with `restartPolicy: Always`: started in init order, kept running,
    /// stopped after the main containers in reverse order.
    case sidecar
    case main
}

/// The restart policy that applies to one container: the pod's for main containers,
/// `OnFailure` for init containers of a pod whose policy is `Always`, `Always` for sidecars.
public enum RestartPolicy: String, Sendable, Hashable, CaseIterable {
    case always = "Always"
    case onFailure = "OnFailure"
    case never = "Never"

    /// Whether a container that exited with `exitCode` starts again.
    public func restarts(exitCode: Int32) -> Bool {
        switch self {
        case .always: return true
        case .onFailure: return exitCode != 0
        case .never: return false
        }
    }
}

/// The container's `/`.
public enum RootSource: Sendable, Hashable {
    /// `image: host`.
    case host
    /// A stored image: its layers' trees, top first (overlayfs's `lowerdir` order), with
    /// this container's own overlay upper and work dirs.
    case image(layers: [String], upper: String, work: String)

    /// A one-layer image: the first store's rootfs, or `image import DIR|TAR`.
    public static func image(rootfs: String, upper: String, work: String) -> RootSource {
        .image(layers: [rootfs], upper: upper, work: work)
    }

    /// The top layer: where the PATH search and `describe` look first.
    public var topLayer: String? {
        if case .image(let layers, _, _) = self { return layers.first }
        return nil
    }
}

/// A host path bound into the container.
public struct MountSpec: Sendable, Hashable {
    public var source: String
    public var target: String
    public var readOnly: Bool
    /// The source is a single file (a subPath file, `/etc/hosts`).
    public var isFile: Bool
    /// For a subPath: the volume's host path. `source` lies inside it, and is opened from
    /// it at each start without following symlinks: the container can write the volume.
    public var beneath: String?

    public init(source: String, target: String, readOnly: Bool = false, isFile: Bool = false, beneath: String? = nil) {
        self.source = source
        self.target = target
        self.readOnly = readOnly
        self.isFile = isFile
        self.beneath = beneath
    }
}

/// Capability sets as 64-bit masks, bit n = capability n.
public struct CapabilityMasks: Sendable, Hashable {
    public var bounding: UInt64
    public var effective: UInt64
    public var permitted: UInt64
    public var inheritable: UInt64

    public init(bounding: UInt64, effective: UInt64, permitted: UInt64, inheritable: UInt64) {
        self.bounding = bounding
        self.effective = effective
        self.permitted = permitted
        self.inheritable = inheritable
    }

    /// The usual shape for root in a container: the same set everywhere but inheritable.
    public init(_ set: UInt64) {
        self.init(bounding: set, effective: set, permitted: set, inheritable: 0)
    }
}

/// A compiled seccomp program: the file of raw classic BPF the reconciler wrote, named by
/// the SHA-256 of its bytes (content-addressed, so one file serves every container with the
/// same program), and what it was compiled from, for people.
public struct SeccompFilterRef: Sendable, Hashable {
    public var path: String
    /// Lowercase hex SHA-256 of the file's bytes.
    public var sha256: String
    /// `RuntimeDefault`, or `Localhost <path>`.
    public var profile: String

    public init(path: String, sha256: String, profile: String) {
        self.path = path
        self.sha256 = sha256
        self.profile = profile
    }
}

public struct ContainerLaunch: Sendable, Hashable {
    public var name: String
    public var kind: ContainerKind
    /// `Manifest.SpecHash` of the container, hex: a change restarts this container only.
    public var specHash: String
    public var restartPolicy: RestartPolicy

    /// The file to exec, as the container sees it. When the manifest's command was a bare
    /// name, the reconciler looked it up in the container's PATH; if it found nothing the
    /// name stays bare and the exec fails with ENOENT, reported as a start error.
    public var executable: String
    public var arguments: [String]
    /// `NAME=value`, resolved.
    public var environment: [String]
    /// The names in `environment` whose values hold a Secret's data: `diff` and `describe`
    /// show these names, never their values.
    public var secretEnvironment: [String] = []
    public var workingDirectory: String?

    /// nil: root (uid 0, gid 0), with no supplementary groups.
    public var uid: UInt32?
    public var gid: UInt32?
    public var supplementalGroups: [UInt32]
    /// nil keeps every capability (privileged).
    public var capabilities: CapabilityMasks?
    public var noNewPrivileges: Bool
    public var readOnlyRootFilesystem: Bool
    public var privileged: Bool
    /// The seccomp program the container and everything exec'd into it runs under; nil:
    /// unconfined (`Unconfined`, or privileged).
    public var seccomp: SeccompFilterRef?

    public var root: RootSource
    /// Volumes and the pod's `/etc/hosts` and `/etc/resolv.conf`, as bound; the supervisor
    /// mounts them in `ContainerRootfs.volumeOrder`.
    public var mounts: [MountSpec]

    /// Relative to `LaunchPlan.cgroupMount` (and, on v1, to each controller's hierarchy).
    public var cgroup: String
    /// The signal that starts a graceful stop: SIGTERM unless `lifecycle.stopSignal` says.
    public var stopSignal: Int32
    /// kubelet's QoS score; nil leaves the supervisor's (0).
    public var oomScoreAdj: Int32?

    /// The container's stdio is a terminal of its own devpts (it is its controlling
    /// terminal); the supervisor holds the master, logs it as stdout and relays attaches.
    public var tty = false
    /// Stdin is the supervisor's (a pipe, or the terminal) for `attach -i`, not /dev/null.
    public var stdin = false
    /// The supervisor closes stdin once the first attach session of a run has ended.
    public var stdinOnce = false

    public var startupProbe: ProbeSpec?
    public var livenessProbe: ProbeSpec?
    public var readinessProbe: ProbeSpec?
    public var postStart: HandlerAction?
    public var preStop: HandlerAction?
    /// `terminationMessagePath`, absolute (a relative one is taken from `/`, as runc
    /// takes a mount destination), and the policy.
    public var terminationMessagePath: String = "/dev/termination-log"
    public var terminationMessagePolicy: TerminationMessagePolicy = .file
    /// The host dir (`<data-root>/pods/<uid>/containers/<name>`) where the supervisor makes
    /// each run's empty message file, bound at `terminationMessagePath`; nil: none (a plan
    /// written before termination messages were honoured).
    public var terminationMessageDirectory: String?

    public func probe(_ kind: ProbeSpec.Kind) -> ProbeSpec? {
        switch kind {
        case .startup: return startupProbe
        case .liveness: return livenessProbe
        case .readiness: return readinessProbe
        }
    }

    public init(name: String, kind: ContainerKind = .main, specHash: String = "", restartPolicy: RestartPolicy = .always,
                executable: String, arguments: [String], environment: [String] = [], workingDirectory: String? = nil,
                uid: UInt32? = nil, gid: UInt32? = nil, supplementalGroups: [UInt32] = [],
                capabilities: CapabilityMasks? = nil, noNewPrivileges: Bool = false, readOnlyRootFilesystem: Bool = false,
                privileged: Bool = false, root: RootSource = .host, mounts: [MountSpec] = [], cgroup: String,
                stopSignal: Int32 = 15, oomScoreAdj: Int32? = nil) {
        self.name = name
        self.kind = kind
        self.specHash = specHash
        self.restartPolicy = restartPolicy
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.uid = uid
        self.gid = gid
        self.supplementalGroups = supplementalGroups
        self.capabilities = capabilities
        self.noNewPrivileges = noNewPrivileges
        self.readOnlyRootFilesystem = readOnlyRootFilesystem
        self.privileged = privileged
        self.root = root
        self.mounts = mounts
        self.cgroup = cgroup
        self.stopSignal = stopSignal
        self.oomScoreAdj = oomScoreAdj
    }
}

// MARK: - Text form

extension LaunchPlan {
    public static let header = "podrec-launch-plan"
    public static let version = 1

    public func encoded() -> String {
        var w = RecordWriter(header: Self.header, version: Self.version)
        w.line("generation", generation)
        w.line("namespace", namespace)
        w.line("name", name)
        w.line("uid", uid)
        w.line("hostname", hostname)
        w.line("shareProcessNamespace", shareProcessNamespace)
        w.line("hostNetwork", hostNetwork)
        w.line("hostPID", hostPID)
        w.line("hostIPC", hostIPC)
        w.line("terminationGracePeriodSeconds", terminationGracePeriodSeconds)
        w.line("logDirectory", logDirectory)
        w.line("scratchDirectory", scratchDirectory)
        w.optional("sharedShm", sharedShm)
        w.line("cgroupMount", cgroupMount)
        w.line("backoffInitialMilliseconds", backoffInitialMilliseconds)
        w.line("backoffMaxMilliseconds", backoffMaxMilliseconds)
        for ip in podIPs { w.line("podIP", ip) }
        if !hostUsers { w.line("hostUsers", false) }
        if let r = userNamespace { w.line("userNamespace", r.recordValue) }
        w.optional("activeDeadlineSeconds", activeDeadlineSeconds)
        w.optional("startTime", startTime?.nanoseconds)
        w.optional("defaultContainer", defaultContainer)
        for c in containers {
            w.line("container", c.name)
            w.line("kind", c.kind.rawValue)
            w.line("specHash", c.specHash)
            w.line("restartPolicy", c.restartPolicy.rawValue)
            w.line("executable", c.executable)
            for a in c.arguments { w.line("arg", a) }
            for e in c.environment { w.line("env", e) }
            for n in c.secretEnvironment { w.line("secretEnv", n) }
            w.optional("workingDirectory", c.workingDirectory)
            w.optional("uid", c.uid)
            w.optional("gid", c.gid)
            for g in c.supplementalGroups { w.line("group", g) }
            if let caps = c.capabilities {
                w.line("capabilities", "\(caps.bounding)\t\(caps.effective)\t\(caps.permitted)\t\(caps.inheritable)")
            }
            w.line("noNewPrivileges", c.noNewPrivileges)
            w.line("readOnlyRootFilesystem", c.readOnlyRootFilesystem)
            w.line("privileged", c.privileged)
            if let f = c.seccomp { w.line("seccomp", "\(f.sha256)\t\(f.path)\t\(f.profile)") }
            switch c.root {
            case .host: w.line("root", "host")
            // One layer: the form plans had before layers, so either podrec reads it.
            case .image(let layers, let upper, let work) where layers.count == 1:
                w.line("root", "image\t\(layers[0])\t\(upper)\t\(work)")
            case .image(let layers, let upper, let work):
                w.line("root", (["layers", upper, work] + layers).joined(separator: "\t"))
            }
            for m in c.mounts {
                // A fifth field, the volume, for a subPath only: plans written before it read the same.
                w.line("mount", "\(m.source)\t\(m.target)\t\(m.readOnly ? "ro" : "rw")\t\(m.isFile ? "file" : "dir")"
                           + (m.beneath.map { "\t" + $0 } ?? ""))
            }
            w.line("cgroup", c.cgroup)
            w.line("stopSignal", c.stopSignal)
            w.optional("oomScoreAdj", c.oomScoreAdj)
            // Only when set: plans without them read the same by either podrec.
            if c.tty { w.line("tty", true) }
            if c.stdin { w.line("stdin", true) }
            if c.stdinOnce { w.line("stdinOnce", true) }
            if let p = c.startupProbe { HandlerRecords.write("startupProbe", p, into: &w) }
            if let p = c.livenessProbe { HandlerRecords.write("livenessProbe", p, into: &w) }
            if let p = c.readinessProbe { HandlerRecords.write("readinessProbe", p, into: &w) }
            if let h = c.postStart { HandlerRecords.write("postStart", h, into: &w) }
            if let h = c.preStop { HandlerRecords.write("preStop", h, into: &w) }
            if let dir = c.terminationMessageDirectory {
                w.line("terminationMessage", "\(c.terminationMessagePolicy.rawValue)\t\(dir)\t\(c.terminationMessagePath)")
            }
            w.line("end", "")
        }
        return w.text
    }

    public static func decode(_ text: String) throws(RecordError) -> LaunchPlan {
        let records = try RecordReader.records(text, header: header, version: version)
        var plan = LaunchPlan(generation: 0, namespace: "", name: "", uid: "", hostname: "", logDirectory: "", scratchDirectory: "")
        let (top, blocks) = try RecordReader.blocks(records, opener: "container")
        for r in top {
            switch r.key {
            case "generation": plan.generation = try r.int()
            case "namespace": plan.namespace = r.value
            case "name": plan.name = r.value
            case "uid": plan.uid = r.value
            case "hostname": plan.hostname = r.value
            case "shareProcessNamespace": plan.shareProcessNamespace = try r.bool()
            case "hostNetwork": plan.hostNetwork = try r.bool()
            case "hostPID": plan.hostPID = try r.bool()
            case "hostIPC": plan.hostIPC = try r.bool()
            case "terminationGracePeriodSeconds": plan.terminationGracePeriodSeconds = try r.int64()
            case "logDirectory": plan.logDirectory = r.value
            case "scratchDirectory": plan.scratchDirectory = r.value
            case "sharedShm": plan.sharedShm = r.value
            case "cgroupMount": plan.cgroupMount = r.value
            case "backoffInitialMilliseconds": plan.backoffInitialMilliseconds = try r.int64()
            case "backoffMaxMilliseconds": plan.backoffMaxMilliseconds = try r.int64()
            case "podIP": plan.podIPs.append(r.value)
            case "hostUsers": plan.hostUsers = try r.bool()
            case "userNamespace": plan.userNamespace = try IDRange(r)
            case "activeDeadlineSeconds": plan.activeDeadlineSeconds = try r.int64()
            case "startTime": plan.startTime = WallTime(try r.int64())
            case "defaultContainer": plan.defaultContainer = r.value
            default: break
            }
        }
        for (opener, body) in blocks {
            var c = ContainerLaunch(name: opener.value, executable: "", arguments: [], cgroup: "")
            var handlers: [String: HandlerRecords.Builder] = [:]
            var lastHandlerLine = opener.line
            for r in body {
                switch r.key {
                case "kind":
                    guard let k = ContainerKind(rawValue: r.value) else { throw RecordError(line: r.line, reason: "unknown kind \(r.value)") }
                    c.kind = k
                case "specHash": c.specHash = r.value
                case "restartPolicy":
                    guard let p = RestartPolicy(rawValue: r.value) else { throw RecordError(line: r.line, reason: "unknown restartPolicy \(r.value)") }
                    c.restartPolicy = p
                case "executable": c.executable = r.value
                case "arg": c.arguments.append(r.value)
                case "env": c.environment.append(r.value)
                case "secretEnv": c.secretEnvironment.append(r.value)
                case "workingDirectory": c.workingDirectory = r.value
                case "uid": c.uid = try r.uint32()
                case "gid": c.gid = try r.uint32()
                case "group": c.supplementalGroups.append(try r.uint32())
                case "capabilities":
                    let f = try r.fields(4)
                    guard let b = UInt64(f[0]), let e = UInt64(f[1]), let p = UInt64(f[2]), let i = UInt64(f[3]) else {
                        throw RecordError(line: r.line, reason: "capabilities: four unsigned masks expected")
                    }
                    c.capabilities = CapabilityMasks(bounding: b, effective: e, permitted: p, inheritable: i)
                case "noNewPrivileges": c.noNewPrivileges = try r.bool()
                case "readOnlyRootFilesystem": c.readOnlyRootFilesystem = try r.bool()
                case "privileged": c.privileged = try r.bool()
                case "tty": c.tty = try r.bool()
                case "stdin": c.stdin = try r.bool()
                case "stdinOnce": c.stdinOnce = try r.bool()
                case "seccomp":
                    // The profile last, whole: a Localhost path may hold a tab.
                    let f = r.value.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
                    guard f.count == 3, f[0].count == 64, f[1].hasPrefix("/") else {
                        throw RecordError(line: r.line, reason: "seccomp: SHA256 PATH PROFILE expected")
                    }
                    c.seccomp = SeccompFilterRef(path: f[1], sha256: f[0], profile: f[2])
                case "root":
                    if r.value == "host" {
                        c.root = .host
                    } else if r.value.hasPrefix("layers\t") {
                        let f = r.value.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                        guard f.count >= 4, f.allSatisfy({ !$0.isEmpty }) else {
                            throw RecordError(line: r.line, reason: "root: layers UPPER WORK LOWER... expected")
                        }
                        c.root = .image(layers: Array(f[3...]), upper: f[1], work: f[2])
                    } else {
                        let f = try r.fields(4)
                        guard f[0] == "image" else { throw RecordError(line: r.line, reason: "root: host or image expected") }
                        c.root = .image(rootfs: f[1], upper: f[2], work: f[3])
                    }
                case "mount":
                    let f = try r.fields(4...5)
                    guard f[2] == "ro" || f[2] == "rw", f[3] == "file" || f[3] == "dir" else {
                        throw RecordError(line: r.line, reason: "mount: ro|rw and file|dir expected")
                    }
                    c.mounts.append(MountSpec(source: f[0], target: f[1], readOnly: f[2] == "ro", isFile: f[3] == "file",
                                              beneath: f.count == 5 ? f[4] : nil))
                case "cgroup": c.cgroup = r.value
                case "stopSignal": c.stopSignal = Int32(try r.int())
                case "oomScoreAdj": c.oomScoreAdj = Int32(try r.int())
                case "terminationMessage":
                    // The container path last, whole: it may hold a tab.
                    let f = r.value.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
                    guard f.count == 3, let policy = TerminationMessagePolicy(rawValue: f[0]), f[1].hasPrefix("/") else {
                        throw RecordError(line: r.line, reason: "terminationMessage: POLICY HOST-DIR PATH expected")
                    }
                    c.terminationMessagePolicy = policy
                    c.terminationMessageDirectory = f[1]
                    c.terminationMessagePath = f[2]
                default:
                    if try HandlerRecords.read(r, into: &handlers) { lastHandlerLine = r.line }
                    // else a newer writer's key
                }
            }
            for (name, b) in handlers {
                if let kind = HandlerRecords.probeNames[name] {
                    let probe = try b.probe(line: lastHandlerLine, name: name)
                    switch kind {
                    case .startup: c.startupProbe = probe
                    case .liveness: c.livenessProbe = probe
                    case .readiness: c.readinessProbe = probe
                    }
                } else {
                    guard let action = b.action else { throw RecordError(line: lastHandlerLine, reason: "\(name): an action expected") }
                    if name == "postStart" { c.postStart = action } else { c.preStop = action }
                }
            }
            plan.containers.append(c)
        }
        return plan
    }
}

/// Which container of a pod a command means (`logs`, `exec`), by the API server's rule: the
/// one named, else the pod's only main container. `containers` in plan order.
public enum ContainerChoice {
    public static func pick(_ wanted: String?, pod: String, containers: [(name: String, kind: ContainerKind)]) -> Result<String, ChoiceError> {
        if let wanted {
            return containers.contains { $0.name == wanted } ? .success(wanted) : .failure(ChoiceError("container \(wanted) is not valid for pod \(pod)"))
        }
        let mains = containers.filter { $0.kind == .main }.map(\.name)
        if mains.count == 1 { return .success(mains[0]) }
        if containers.isEmpty { return .failure(ChoiceError("pod \(pod) does not have a container")) }
        // As the API server words it: sidecars and init containers are the spec's
        // initContainers.
        let inits = containers.filter { $0.kind != .main }.map(\.name)
        var message = "a container name must be specified for pod \(pod), choose one of: [\(mains.joined(separator: " "))]"
        if !inits.isEmpty { message += " or one of the init containers: [\(inits.joined(separator: " "))]" }
        return .failure(ChoiceError(message))
    }

    /// `kubectl attach`'s rule (podcmd.FindOrDefaultContainerByName): the one named, else
    /// the `kubectl.kubernetes.io/default-container` annotation's, else the spec's first
    /// (main) container. The second value is kubectl's note on stderr when it defaulted
    /// among several.
    public static func pickForAttach(_ wanted: String?, pod: String, containers: [(name: String, kind: ContainerKind)],
                                     annotated: String?) -> Result<(name: String, note: String?), ChoiceError> {
        if let wanted {
            return containers.contains { $0.name == wanted } ? .success((wanted, nil)) : .failure(ChoiceError("container \(wanted) is not valid for pod \(pod)"))
        }
        if let annotated, containers.contains(where: { $0.name == annotated }) { return .success((annotated, nil)) }
        let mains = containers.filter { $0.kind == .main }.map(\.name)
        guard let first = mains.first else { return .failure(ChoiceError("pod \(pod) does not have a container")) }
        let all = mains + containers.filter { $0.kind != .main }.map(\.name)
        let note = all.count > 1 ? "Defaulted container \"\(first)\" out of: \(mains.joined(separator: ", "))"
            + (all.count > mains.count ? ", " + containers.filter { $0.kind != .main }.map { "\($0.name) (init)" }.joined(separator: ", ") : "") : nil
        return .success((first, note))
    }

    public struct ChoiceError: Error, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }
}

// MARK: - The pod's IPs

extension LaunchPlan {
    /// Where a plan needs the pod's IP before the network has given it one: the downward
    /// API's `status.podIP` and `$(VAR)` expansions of it, and the default host of httpGet,
    /// tcpSocket and grpc probes and hooks (kubelet probes the pod IP). Control characters, so no
    /// manifest value is ever taken for it; `diff` shows it as `<pod IP>`.
    public static let podIPToken = "\u{1}podIP\u{1}"
    /// `status.podIPs`: the addresses joined by commas, as kubelet gives them.
    public static let podIPsToken = "\u{1}podIPs\u{1}"

    /// The plan with the pod's IPs in place of the tokens, and `podIPs` set. With no IP
    /// (the attachment gave none), loopback stands in: the pod's own containers still reach
    /// a server bound to it.
    public func assigningPodIPs(_ ips: [String]) -> LaunchPlan {
        var plan = self
        plan.podIPs = ips
        let one = ips.first ?? "127.0.0.1"
        let all = ips.isEmpty ? one : ips.joined(separator: ",")
        func fill(_ s: String) -> String {
            guard s.contains("\u{1}") else { return s }
            return s.replacingAll(Self.podIPsToken, with: all).replacingAll(Self.podIPToken, with: one)
        }
        func fill(_ a: HandlerAction?) -> HandlerAction? {
            switch a {
            case .httpGet(var get)?:
                get.host = fill(get.host)
                return .httpGet(get)
            case .tcpSocket(let host, let port)?: return .tcpSocket(host: fill(host), port: port)
            case .grpc(let host, let port, let service)?: return .grpc(host: fill(host), port: port, service: service)
            default: return a
            }
        }
        for i in plan.containers.indices {
            var c = plan.containers[i]
            c.environment = c.environment.map(fill)
            c.arguments = c.arguments.map(fill)
            for kind in ProbeSpec.Kind.allCases {
                guard var p = c.probe(kind), let action = fill(p.action) else { continue }
                p.action = action
                switch kind {
                case .startup: c.startupProbe = p
                case .liveness: c.livenessProbe = p
                case .readiness: c.readinessProbe = p
                }
            }
            c.postStart = fill(c.postStart)
            c.preStop = fill(c.preStop)
            plan.containers[i] = c
        }
        return plan
    }

    /// A value for people: the tokens as `<pod IP>` and `<pod IPs>`.
    public static func displaying(_ value: String) -> String {
        guard value.contains("\u{1}") else { return value }
        return value.replacingAll(podIPsToken, with: "<pod IPs>").replacingAll(podIPToken, with: "<pod IP>")
    }
}

extension String {
    /// Every occurrence of `target` replaced (Foundation's `replacingOccurrences`, which a
    /// pure module cannot import).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var out = ""
        var rest = self[...]
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        out += rest
        return out
    }
}
