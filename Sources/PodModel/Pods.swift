/// A pod's identity on this host: `namespace/name`, as the API server keys pods.
public struct PodKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    public static func < (a: PodKey, b: PodKey) -> Bool { (a.namespace, a.name) < (b.namespace, b.name) }
    public var description: String { "\(namespace)/\(name)" }
}

/// What podrec records about a pod it made, beside its plan: `<root>/pods/<ns>_<name>/record`.
/// Written by the executor when it creates the pod and when it hands over a new plan.
public struct PodRecord: Sendable, Hashable {
    public var uid: String
    /// `apply`, or `watch:<dir>/<file>` (ARCHITECTURE, "Ownership").
    public var source: String
    /// The pod fields that cannot change in place, by name, as `ImmutableFields` renders
    /// them; a difference recreates the pod.
    public var immutable: [String: String]
    /// The generation of the last plan written.
    public var generation: Int
    /// A fingerprint of the files of its configMap and secret volumes as last written:
    /// those change in place (the `..data` swap), outside the plan and the spec hash.
    public var contents: String
    /// A deletion was decided and the supervisor told to stop (graceful, under its own
    /// deadline): the pod is terminating. A later pass finishes the removal once the
    /// supervisor is gone, or recreates the pod if the input has it again (`watch`).
    public var deleting: Bool = false
    /// The host ports the pod holds (its attachment's `portMappings`): what a pass checks
    /// another pod's ports against.
    public var hostPorts: [PortMapping] = []
    /// The host ids of the pod's user namespace (`hostUsers: false`): recorded before the
    /// supervisor starts, so that no later pass gives them to another pod while this
    /// record exists; freed with it.
    public var userNamespace: IDRange?
    /// The pod's `status.startTime` (`ActiveDeadline.startTime`): written when the pod is
    /// made and kept for as long as its uid, so that its `activeDeadlineSeconds` counts from
    /// there through new plans, passes and supervisors. nil for a pod made before it was
    /// recorded (its deadline then counts from the next pass that hands it a plan).
    public var startTime: WallTime?

    public init(uid: String, source: String, immutable: [String: String], generation: Int, contents: String = "", deleting: Bool = false,
                hostPorts: [PortMapping] = [], userNamespace: IDRange? = nil, startTime: WallTime? = nil) {
        self.uid = uid
        self.source = source
        self.immutable = immutable
        self.generation = generation
        self.contents = contents
        self.deleting = deleting
        self.hostPorts = hostPorts
        self.userNamespace = userNamespace
        self.startTime = startTime
    }
}

/// The pod fields that a running pod cannot change (ARCHITECTURE, "Who does what"):
/// hostNetwork, hostPID, hostIPC, shareProcessNamespace, hostname and the volumes.
public enum ImmutableFields {
    public static let names = ["hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace", "hostname", "volumes", "network", "hostPorts",
                               "hostUsers"]
}

/// One pod as the input asks for it, resolved for this host: its whole build (launch plan,
/// limits, host set-up), computed once per pass without touching the host and carried by the
/// planner's actions to the executor. The reconciler fixes the uid (the recorded one, or a
/// new one) before planning, so all of it is final.
public struct DesiredPod: Sendable {
    public var key: PodKey
    public var source: String
    public var uid: String
    /// As `PodRecord.immutable`.
    public var immutable: [String: String]
    /// Its `generation` is not looked at: the planner gives the one to write.
    public var plan: LaunchPlan
    public var limits: PodCgroupLimits
    /// What the host prepares before the supervisor starts (volumes, `/dev/shm`, hosts).
    public var setup: PodSetup
    /// As `PodRecord.contents`.
    public var contents: String
    /// The pod's CNI attachment; nil with `hostNetwork`.
    public var network: NetworkAttachment?

    public init(key: PodKey, source: String, uid: String, immutable: [String: String], plan: LaunchPlan, limits: PodCgroupLimits,
                setup: PodSetup = PodSetup(), contents: String = "", network: NetworkAttachment? = nil) {
        self.key = key
        self.source = source
        self.uid = uid
        self.immutable = immutable
        self.plan = plan
        self.limits = limits
        self.setup = setup
        self.contents = contents
        self.network = network
    }

    /// The record the executor writes for this pod at `generation`.
    public func record(generation: Int) -> PodRecord {
        PodRecord(uid: uid, source: source, immutable: immutable, generation: generation, contents: contents,
                  hostPorts: network?.portMappings ?? [], userNamespace: plan.userNamespace, startTime: plan.startTime)
    }
}

/// Whether the pod's supervisor runs: checked by pid and start time, never by anything
/// a process can rewrite.
public enum SupervisorState: Sendable, Hashable {
    case alive(pid: Int32)
    /// Recorded, but that process is gone (or a zombie, or another process has the pid).
    case dead
    /// Nothing recorded.
    case none
}

/// One pod as the host has it: its state dir, its supervisor, its cgroups.
public struct ObservedPod: Sendable {
    public var key: PodKey
    /// nil: no state dir (or no record in it), as a crash between cgroup and state leaves.
    public var record: PodRecord?
    public var plan: LaunchPlan?
    public var status: PodStatus?
    public var supervisor: SupervisorState
    /// The pod's cgroup dir, `<parent>/<ns>_<name>_<uid>` (from the record's uid, or found
    /// under the parent without one).
    public var cgroup: String?
    public var cgroupExists: Bool
    /// Limits as the kernel reports them: `""` for the pod's cgroup, else by container.
    public var limits: [String: CgroupReading]
    /// Memory in use per container cgroup, for a lowered limit.
    public var memoryUsage: [String: Int64]
    /// Every process in the pod's cgroup tree.
    public var processes: [Int32]
    /// What is wrong with the pod's network attachment, when it has one and the check of it
    /// failed (its interface, its namespace pin or its port rules gone); nil when sound.
    public var networkProblem: String?

    public init(key: PodKey, record: PodRecord? = nil, plan: LaunchPlan? = nil, status: PodStatus? = nil,
                supervisor: SupervisorState = .none, cgroup: String? = nil, cgroupExists: Bool = false,
                limits: [String: CgroupReading] = [:], memoryUsage: [String: Int64] = [:], processes: [Int32] = []) {
        self.key = key
        self.record = record
        self.plan = plan
        self.status = status
        self.supervisor = supervisor
        self.cgroup = cgroup
        self.cgroupExists = cgroupExists
        self.limits = limits
        self.memoryUsage = memoryUsage
        self.processes = processes
    }
}

/// Everything of podrec's on the host, as one pass sees it.
public struct Observed: Sendable {
    public var pods: [PodKey: ObservedPod]
    /// Pod cgroup dirs under the parent that no pod's record names (a crashed create).
    public var strayCgroups: [String]
    /// Pod uids with a data dir, or a log dir, and no state: removed each pass.
    public var strayDataUIDs: [String]
    public var strayLogDirectories: [String]
    /// CNI attachments recorded for a pod uid that no pod's state claims (a pass that died
    /// between stopping a pod and its DEL): their container ids. DEL'd each full pass.
    public var strayAttachments: [String] = []
    /// v2 reports `cpu.weight`, v1 `cpu.shares`: the planner compares in the kernel's unit.
    public var unified: Bool

    public init(pods: [PodKey: ObservedPod] = [:], strayCgroups: [String] = [], strayDataUIDs: [String] = [],
                strayLogDirectories: [String] = [], unified: Bool = false) {
        self.pods = pods
        self.strayCgroups = strayCgroups
        self.strayDataUIDs = strayDataUIDs
        self.strayLogDirectories = strayLogDirectories
        self.unified = unified
    }
}

// MARK: - Record file

extension PodRecord {
    public static let header = "podrec-pod-record"
    public static let version = 1

    public func encoded() -> String {
        var w = RecordWriter(header: Self.header, version: Self.version)
        w.line("uid", uid)
        w.line("source", source)
        w.line("generation", generation)
        w.line("contents", contents)
        for key in immutable.keys.sorted() { w.line("immutable", "\(key)\t\(immutable[key]!)") }
        if deleting { w.line("deleting", true) }
        for p in hostPorts { w.line("hostPort", "\(p.hostPort)\t\(p.containerPort)\t\(p.proto)\t\(p.hostIP)") }
        if let r = userNamespace { w.line("userNamespace", r.recordValue) }
        w.optional("startTime", startTime?.nanoseconds)
        return w.text
    }

    public static func decode(_ text: String) throws(RecordError) -> PodRecord {
        var record = PodRecord(uid: "", source: "", immutable: [:], generation: 0)
        for r in try RecordReader.records(text, header: header, version: version) {
            switch r.key {
            case "uid": record.uid = r.value
            case "source": record.source = r.value
            case "generation": record.generation = try r.int()
            case "contents": record.contents = r.value
            case "deleting": record.deleting = r.value == "true"
            case "userNamespace": record.userNamespace = try IDRange(r)
            case "startTime": record.startTime = WallTime(try r.int64())
            case "hostPort":
                let f = r.value.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                guard f.count == 4, let host = Int(f[0]), let container = Int(f[1]) else {
                    throw RecordError(line: r.line, reason: "hostPort: host port, container port, protocol and address expected")
                }
                record.hostPorts.append(PortMapping(hostPort: host, containerPort: container, proto: f[2], hostIP: f[3]))
            case "immutable":
                // name, a tab, then the value (which may hold tabs itself).
                guard let tab = r.value.firstIndex(of: "\t") else {
                    throw RecordError(line: r.line, reason: "immutable: a name and a value expected")
                }
                record.immutable[String(r.value[..<tab])] = String(r.value[r.value.index(after: tab)...])
            default: break
            }
        }
        if record.uid.isEmpty { throw RecordError(line: 1, reason: "no uid") }
        return record
    }
}
