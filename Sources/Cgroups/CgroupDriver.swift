import Glibc
import Kernel
import PodModel

/// What a cgroup operation failed on. Kernel failures keep their `KernelError`, which names
/// the call, the file and the value written.
public enum CgroupError: Error, Sendable, Hashable, CustomStringConvertible {
    case kernel(KernelError)
    /// Neither a cgroup2 mount nor any v1 hierarchy under the root.
    case noCgroupFilesystem(root: String)
    /// A controller podrec needs is not mounted (v1) or not offered (v2, `cgroup.controllers`).
    case controllerMissing(controller: String, at: String)
    /// A relative cgroup path that would escape the root or cannot be a directory name.
    case invalidPath(String, reason: String)
    /// rmdir kept failing with EBUSY for the whole bounded retry: processes still live there.
    case busy(path: String, pids: [Int32])
    /// After a kill, processes were still in the tree when the wait ran out.
    case stillPopulated(path: String, pids: [Int32])
    /// v2: enabling controllers failed because the cgroup holds processes itself (the
    /// no-internal-process rule): only leaves may hold processes.
    case internalProcesses(path: String)
    /// The kill method does not exist on this driver or this kernel.
    case unsupported(String)
    /// Refused: the calling process is inside the tree it was asked to freeze or kill.
    case selfInTree(path: String)
    /// A knob's content could not be parsed.
    case malformed(path: String, content: String)
    /// A value the kernel would refuse (a weight of 0, a negative limit).
    case invalidValue(String)

    public var description: String {
        switch self {
        case .kernel(let e): return e.description
        case .noCgroupFilesystem(let root): return "no cgroup filesystem under \(root): neither cgroup2 nor a v1 hierarchy"
        case .controllerMissing(let c, let at): return "cgroup controller \(c) is not available at \(at)"
        case .invalidPath(let p, let reason): return "invalid cgroup path \"\(p)\": \(reason)"
        case .busy(let p, let pids): return "rmdir \(p): still busy after retrying (processes: \(pids.map(String.init).joined(separator: " ")))"
        case .stillPopulated(let p, let pids): return "cgroup \(p) still has processes after kill: \(pids.map(String.init).joined(separator: " "))"
        case .internalProcesses(let p): return "cannot enable controllers in \(p): it holds processes itself (cgroup v2 no-internal-process rule)"
        case .unsupported(let what): return "unsupported: \(what)"
        case .selfInTree(let p): return "refusing to freeze or kill \(p): this process is inside it"
        case .malformed(let p, let content): return "cannot parse \(p): \"\(content)\""
        case .invalidValue(let what): return "invalid value: \(what)"
        }
    }
}

/// What one limit write did.
public enum LimitWriteResult: Sendable, Hashable {
    /// The value was written.
    case applied
    /// The kernel already had this value; nothing was written.
    case unchanged
    /// A memory limit below current usage was not written: v2 would OOM-kill to meet it
    /// and v1 might reclaim or fail. The caller keeps the old limit and reports the resize
    /// as deferred, as kubelet does for in-place resize.
    case deferred(current: Int64)
}

/// One result per limit that `apply` was given; nil where the limit was nil.
public struct LimitResults: Sendable, Hashable {
    public var cpuShares: LimitWriteResult?
    public var cpuMax: LimitWriteResult?
    public var memory: LimitWriteResult?
    public var pids: LimitWriteResult?

    public init(cpuShares: LimitWriteResult? = nil, cpuMax: LimitWriteResult? = nil, memory: LimitWriteResult? = nil, pids: LimitWriteResult? = nil) {
        self.cpuShares = cpuShares
        self.cpuMax = cpuMax
        self.memory = memory
        self.pids = pids
    }

    public var deferred: Bool {
        [cpuShares, cpuMax, memory, pids].contains { if case .deferred = $0 { true } else { false } }
    }
}

/// CFS throttling counters (v1 and v2 `cpu.stat`).
public struct CPUStat: Sendable, Hashable {
    public var periods: Int64
    public var throttledPeriods: Int64
    /// v2 `throttled_usec`; v1 `throttled_time` (ns) / 1000.
    public var throttledMicroseconds: Int64

    public init(periods: Int64, throttledPeriods: Int64, throttledMicroseconds: Int64) {
        self.periods = periods
        self.throttledPeriods = throttledPeriods
        self.throttledMicroseconds = throttledMicroseconds
    }
}

/// What `top` and the watcher's metrics read of a cgroup (`CgroupDriver.counters`). Nil
/// where the file is absent (or the cgroup).
public struct CgroupCounters: Sendable, Hashable {
    public var cpuNanoseconds: Int64?
    public var workingSet: Int64?
    public var memoryLimit: CgroupLimit?

    public init(cpuNanoseconds: Int64? = nil, workingSet: Int64? = nil, memoryLimit: CgroupLimit? = nil) {
        self.cpuNanoseconds = cpuNanoseconds
        self.workingSet = workingSet
        self.memoryLimit = memoryLimit
    }
}

/// What a cgroup uses now. Nil where the controller's file is absent.
public struct CgroupUsage: Sendable, Hashable {
    /// v1 `memory.usage_in_bytes`, v2 `memory.current`.
    public var memoryBytes: Int64?
    /// Processes the OOM killer killed in this cgroup: v1 `memory.oom_control` `oom_kill`,
    /// v2 `memory.events` `oom_kill` (which counts descendants too, unless the hierarchy
    /// is mounted with memory_localevents).
    public var oomKills: Int64?
    public var cpu: CPUStat?
    public var pidsCurrent: Int64?
    /// Forks refused at pids.max: `pids.events` `max`.
    public var pidsMaxEvents: Int64?

    public init(memoryBytes: Int64? = nil, oomKills: Int64? = nil, cpu: CPUStat? = nil, pidsCurrent: Int64? = nil, pidsMaxEvents: Int64? = nil) {
        self.memoryBytes = memoryBytes
        self.oomKills = oomKills
        self.cpu = cpu
        self.pidsCurrent = pidsCurrent
        self.pidsMaxEvents = pidsMaxEvents
    }
}

/// How `kill` empties a tree.
public enum KillMethod: String, Sendable, Hashable {
    /// The best the driver has: v2 `cgroup.kill`, else freeze; v1 freezer, else walk.
    case automatic
    /// v2 only, Linux 5.14+: one write to `cgroup.kill` kills the whole subtree.
    case cgroupKill
    /// Freeze the tree (v2 `cgroup.freeze`, v1 `freezer.state`), SIGKILL every process,
    /// thaw. Frozen processes cannot fork, so no child escapes the walk.
    case freeze
    /// SIGKILL every listed process, again, until none is left. A process that forks
    /// between the listing and the signal is caught by the next round.
    case walk
}

/// What `kill` did: the method it used and the processes it signalled (with
/// `cgroupKill`: the processes in the tree just before the write).
public struct KillReport: Sendable, Hashable {
    public var method: KillMethod
    public var signalled: [Int32]

    public init(method: KillMethod, signalled: [Int32]) {
        self.method = method
        self.signalled = signalled
    }
}

/// What `remove` did.
public struct RemoveReport: Sendable, Hashable {
    /// Directories removed, deepest first.
    public var removed: [String]
    /// rmdir calls that failed with EBUSY and were retried.
    public var busyRetries: Int

    public init(removed: [String] = [], busyRetries: Int = 0) {
        self.removed = removed
        self.busyRetries = busyRetries
    }
}

/// How a new process joins a cgroup at spawn without paying for `cgroup.procs` (see
/// ARCHITECTURE, "Joining a cgroup").
public enum CgroupJoin: Sendable, Hashable {
    /// v1: the `tasks` file of each hierarchy. A single-threaded child writes "0" to each;
    /// the kernel then moves just that thread and skips the global RCU wait.
    case tasksFiles([String])
    /// v2: the cgroup directory; open it with `openDirectory` and pass the fd to clone3
    /// with CLONE_INTO_CGROUP.
    case directory(String)

    /// An O_PATH|O_DIRECTORY fd for `path` (CLOEXEC, as every fd of podrec's). The caller
    /// closes it with `Sys.close` once clone3 has returned.
    public static func openDirectory(_ path: String) throws(CgroupError) -> Int32 {
        do { return try Sys.open(path, Sys.openPath | O_DIRECTORY) } catch { throw .kernel(error) }
    }
}

/// One interface over cgroup v1 (and hybrid) and v2. Paths are relative to the cgroup
/// root, e.g. "podrec/default_web_uid/_infra"; see `CgroupNames` for how they are made.
///
/// Every operation is idempotent where the kernel allows it: creating what exists and
/// removing what is gone succeed, so a crashed pass can simply run again.
public protocol CgroupDriver: Sendable {
    var setup: CgroupSetup { get }

    /// Creates `path` and its missing parents in every hierarchy the driver uses. v1: in
    /// each controller's hierarchy, copying cpuset.cpus/mems down when cpuset is used.
    /// v2: enables the controllers in each ancestor's `cgroup.subtree_control`.
    func create(_ path: String) throws(CgroupError)

    /// Removes `path` and everything below it, deepest first. rmdir is retried on EBUSY
    /// for a short bounded time (`CgroupTiming.removeBusyWait`): right after the last
    /// process exits the kernel may still hold the cgroup. Missing directories are fine.
    @discardableResult
    func remove(_ path: String) throws(CgroupError) -> RemoveReport

    /// Kills every process in `path` and below, then waits until the tree is empty.
    @discardableResult
    func kill(_ path: String, method: KillMethod) throws(CgroupError) -> KillReport

    /// Moves `pid` (its whole thread group) into `path`, in every hierarchy.
    func move(pid: Int32, to path: String) throws(CgroupError)

    /// The processes in `path` and (when `recursive`) below it, sorted, each once.
    func processes(_ path: String, recursive: Bool) throws(CgroupError) -> [Int32]

    /// Whether `path` exists in any hierarchy the driver uses.
    func exists(_ path: String) -> Bool

    /// The absolute directories of `path`, one per hierarchy the driver uses.
    func directories(_ path: String) throws(CgroupError) -> [String]

    func setCPUShares(_ shares: Int64, at path: String) throws(CgroupError) -> LimitWriteResult
    func setCPUMax(_ max: CPUMax, at path: String) throws(CgroupError) -> LimitWriteResult
    /// Refuses to lower the limit below current usage: returns `.deferred` instead.
    func setMemoryLimit(_ limit: CgroupLimit, at path: String) throws(CgroupError) -> LimitWriteResult
    func setPidsMax(_ limit: CgroupLimit, at path: String) throws(CgroupError) -> LimitWriteResult

    /// The limits as the kernel has them; throws when the cgroup does not exist.
    func limits(_ path: String) throws(CgroupError) -> CgroupReading
    /// The OOM killer's kills in `path` (`CgroupUsage.oomKills`) alone: one file, for the
    /// supervisor's before-and-after check around each container run.
    func oomKills(_ path: String) throws(CgroupError) -> Int64?
    /// The forks refused in `path` for a pids limit (`CgroupUsage.pidsMaxEvents`) alone:
    /// one file, for the same check.
    func pidsMaxEvents(_ path: String) throws(CgroupError) -> Int64?
    /// The memory in use in `path` (`CgroupUsage.memoryBytes`) alone: one file (v1
    /// `memory.usage_in_bytes`, v2 `memory.current`), for the observer, which reads it for
    /// every cgroup of every pod in each pass; nil when the file is absent.
    func memoryUsage(_ path: String) throws(CgroupError) -> Int64?
    /// Usage counters; each is nil when its file is absent (a controller not there, or the
    /// cgroup itself gone: check `exists` to tell them apart).
    func usage(_ path: String) throws(CgroupError) -> CgroupUsage
    /// CPU time used by the processes of `path` and below since it was made, in
    /// nanoseconds (v1 `cpuacct.usage`, v2 `cpu.stat` `usage_usec`); nil when absent. The
    /// supervisor samples it for `top`: a counter, so a rate needs two readings.
    func cpuUsage(_ path: String) throws(CgroupError) -> Int64?
    /// What `top` and the metrics read (`CgroupCounters`): `cpuUsage`; kubelet's (cAdvisor's)
    /// working set, the memory in use less the inactive file pages, which the kernel can
    /// drop at once (v1 `memory.usage_in_bytes` − `total_inactive_file`, v2 `memory.current`
    /// − `inactive_file`), never below 0; and the memory limit (`CgroupReading.memory`).
    /// Each file is opened relative to its hierarchy's directory of the cgroup: one path
    /// walk per hierarchy, not per file, for the walks through cgroupfs were most of a
    /// metrics scrape with 500 pods.
    func counters(_ path: String) throws(CgroupError) -> CgroupCounters

    /// How a new process joins `path` at spawn.
    func joinTarget(_ path: String) throws(CgroupError) -> CgroupJoin

    /// Denies the processes of `path` and below every device but `rules` (v1: the devices
    /// files; v2: a BPF device program). Set on a container's own cgroup, never on the
    /// pod's, once, when the cgroup is made.
    func restrictDevices(_ path: String, allow rules: [DeviceRule]) throws(CgroupError)

    /// For a daemon whose pods go under its own cgroup (systemd's `Delegate=yes`): moves
    /// this process into the leaf `<own cgroup>/<leaf>` where the mode requires it, so that
    /// its own cgroup may hold the pods. Returns the leaf, or nil when nothing was moved.
    func moveSelfIntoLeaf(under parent: String, leaf: String, proc: String) throws(CgroupError) -> String?
}

extension CgroupDriver {
    /// Writes each non-nil limit, CPU first, and reports each result. Stops at the first
    /// error: the limits already written stay, and a retry writes only what differs.
    @discardableResult
    public func apply(_ limits: CgroupLimits, to path: String) throws(CgroupError) -> LimitResults {
        var out = LimitResults()
        if let s = limits.cpuShares { out.cpuShares = try setCPUShares(s, at: path) }
        if let m = limits.cpuMax { out.cpuMax = try setCPUMax(m, at: path) }
        if let m = limits.memory { out.memory = try setMemoryLimit(m, at: path) }
        if let p = limits.pids { out.pids = try setPidsMax(p, at: path) }
        return out
    }

    @discardableResult
    public func kill(_ path: String) throws(CgroupError) -> KillReport {
        try kill(path, method: .automatic)
    }

    public func processes(_ path: String) throws(CgroupError) -> [Int32] {
        try processes(path, recursive: true)
    }

    /// The watcher's leaf, `watcher`, as `/proc` shows this process.
    public func moveSelfIntoLeaf(under parent: String) throws(CgroupError) -> String? {
        try moveSelfIntoLeaf(under: parent, leaf: "watcher", proc: "/proc")
    }
}

/// Creates the driver for the mode detected (once per process) at `root`: v2 for unified,
/// v1 for legacy and hybrid (hybrid's cgroup2 mount holds no controller podrec uses).
public enum Cgroups {
    public static func driver(root: String = "/sys/fs/cgroup", cpuset: Bool = false) throws(CgroupError) -> any CgroupDriver {
        let setup = try CgroupSetup.detected(root: root)
        return try driver(setup: setup, cpuset: cpuset)
    }

    public static func driver(setup: CgroupSetup, cpuset: Bool = false) throws(CgroupError) -> any CgroupDriver {
        switch setup.mode {
        case .unified: return try V2Driver(setup: setup, cpuset: cpuset)
        case .legacy, .hybrid: return try V1Driver(setup: setup, cpuset: cpuset)
        }
    }
}
