import Glibc
import Kernel
import PodModel

/// cgroup v1, for legacy and hybrid hosts: one directory per hierarchy, each controller's
/// knobs in its own hierarchy (`<root>/<hierarchy>/<path>/<knob>`).
public struct V1Driver: CgroupDriver {
    public let setup: CgroupSetup
    /// Whether containers get a cpuset cgroup (cpus and mems copied from the parent).
    public let cpuset: Bool
    /// The hierarchies used, as absolute directories, each once even when controllers share
    /// one ("cpu,cpuacct"), in a fixed order.
    public let hierarchyRoots: [String]
    /// `hierarchyRoots` plus the cpuset hierarchy when it is mounted but not used: remove,
    /// exists and processes look there too, so a tree created by a driver with `cpuset`
    /// is still found and removed by one without it.
    let allRoots: [String]
    /// controller → absolute hierarchy directory.
    let controllerRoots: [String: String]

    /// The controllers podrec needs (ARCHITECTURE, "Cgroup modes on this machine").
    public static let requiredControllers = ["cpu", "cpuacct", "memory", "pids", "devices"]
    /// Used when mounted: without a freezer, `kill` walks the tree instead.
    public static let optionalControllers = ["freezer"]

    public init(setup: CgroupSetup, cpuset: Bool = false) throws(CgroupError) {
        guard setup.mode != .unified else { throw .unsupported("the v1 driver on a unified (v2) root \(setup.root)") }
        var wanted = Self.requiredControllers + (cpuset ? ["cpuset"] : [])
        for c in wanted where setup.hierarchies[c] == nil {
            throw .controllerMissing(controller: c, at: setup.root)
        }
        wanted += Self.optionalControllers.filter { setup.hierarchies[$0] != nil }
        var roots: [String] = []
        var byController: [String: String] = [:]
        for c in wanted {
            let dir = setup.root + "/" + setup.hierarchies[c]!
            byController[c] = dir
            if !roots.contains(dir) { roots.append(dir) }
        }
        self.setup = setup
        self.cpuset = cpuset
        self.hierarchyRoots = roots
        self.controllerRoots = byController
        if !cpuset, let dir = setup.hierarchies["cpuset"].map({ setup.root + "/" + $0 }), !roots.contains(dir) {
            self.allRoots = roots + [dir]
        } else {
            self.allRoots = roots
        }
    }

    /// The directory of `path` in `controller`'s hierarchy.
    public func directory(_ controller: String, _ path: String) -> String? {
        controllerRoots[controller].map { $0 + "/" + path }
    }

    func knob(_ controller: String, _ path: String, _ file: String) throws(CgroupError) -> String {
        guard let dir = directory(controller, path) else { throw .controllerMissing(controller: controller, at: setup.root) }
        return dir + "/" + file
    }

    // MARK: Tree

    public func create(_ path: String) throws(CgroupError) {
        let parts = try CgroupPaths.validate(path)
        let cpusetRoot = cpuset ? controllerRoots["cpuset"] : nil
        for root in hierarchyRoots where root != cpusetRoot {
            try Knobs.k { try Sys.mkdirs(root + "/" + path, mode: 0o755) }
        }
        if let cpusetRoot {
            // A new cpuset cgroup starts with empty cpus and mems, and a task cannot join it
            // until both are set: copy them down level by level, as runc does.
            var parent = cpusetRoot
            for p in parts {
                let dir = parent + "/" + p
                if !Sys.exists(dir) { try Knobs.k { try Sys.mkdir(dir, mode: 0o755) } }
                for file in ["cpuset.cpus", "cpuset.mems"] where try Knobs.read(dir + "/" + file).isEmpty {
                    try Knobs.write(dir + "/" + file, try Knobs.read(parent + "/" + file))
                }
                parent = dir
            }
        }
    }

    @discardableResult
    public func remove(_ path: String) throws(CgroupError) -> RemoveReport {
        _ = try CgroupPaths.validate(path)
        var report = RemoveReport(removed: [], busyRetries: 0)
        for root in allRoots { try Knobs.removeTree(root + "/" + path, report: &report) }
        return report
    }

    public func exists(_ path: String) -> Bool {
        allRoots.contains { Sys.exists($0 + "/" + path) }
    }

    public func directories(_ path: String) throws(CgroupError) -> [String] {
        _ = try CgroupPaths.validate(path)
        return hierarchyRoots.map { $0 + "/" + path }
    }

    // MARK: Processes

    /// `cgroup.procs` in each hierarchy: it moves the whole thread group. (Spawning uses
    /// `tasks` instead, from the child itself; see `joinTarget`.)
    public func move(pid: Int32, to path: String) throws(CgroupError) {
        _ = try CgroupPaths.validate(path)
        for root in hierarchyRoots { try Procs.write(pid, to: root + "/" + path + "/cgroup.procs") }
    }

    /// The union over every hierarchy: a process moved in one hierarchy only still counts.
    public func processes(_ path: String, recursive: Bool) throws(CgroupError) -> [Int32] {
        _ = try CgroupPaths.validate(path)
        var all = Set<Int32>()
        for root in allRoots { all.formUnion(try Procs.list(root + "/" + path, recursive: recursive)) }
        return all.sorted()
    }

    @discardableResult
    public func kill(_ path: String, method: KillMethod) throws(CgroupError) -> KillReport {
        _ = try CgroupPaths.validate(path)
        guard exists(path) else { return KillReport(method: method, signalled: []) }
        let list = { () throws(CgroupError) -> [Int32] in try self.processes(path, recursive: true) }
        if try list().contains(getpid()) { throw .selfInTree(path: path) }

        let freezerDir = directory("freezer", path)
        let chosen: KillMethod
        switch method {
        case .automatic: chosen = freezerDir.map(Sys.exists) == true ? .freeze : .walk
        case .cgroupKill: throw .unsupported("cgroup.kill on cgroup v1")
        case .freeze:
            guard freezerDir != nil else { throw .controllerMissing(controller: "freezer", at: setup.root) }
            chosen = .freeze
        case .walk: chosen = .walk
        }

        var signalled: [Int32] = []
        if chosen == .freeze, let freezerDir {
            let state = freezerDir + "/freezer.state"
            try Knobs.write(state, "FROZEN")
            // Thaw even when signalling fails: a frozen tree left behind cannot even exit.
            var thawed = false
            defer { if !thawed { try? Knobs.write(state, "THAWED") } }
            // FREEZING until every task stopped. Writing FROZEN again re-kicks tasks that
            // were busy in the kernel (runc does the same); on timeout the walk below
            // catches whatever still runs.
            let deadline = Clock.now() + CgroupTiming.freezeWaitNanoseconds
            while try Knobs.read(state) != "FROZEN" && Clock.now() < deadline {
                Clock.sleep(nanoseconds: 1_000_000)
                try Knobs.write(state, "FROZEN")
            }
            signalled = try list()
            try Procs.sigkill(signalled, stillIn: list)
            // Frozen v1 tasks act on the pending SIGKILL only once thawed. Every cgroup
            // below is thawed too: one that another killer froze itself (a supervisor killed
            // between its own freeze and thaw of a container) keeps its own FROZEN state when
            // the parent thaws, and its tasks would never die.
            for dir in try Self.subtree(freezerDir).reversed() {
                try? Knobs.write(dir + "/freezer.state", "THAWED")
            }
            try Knobs.write(state, "THAWED")
            thawed = true
        }
        return try Procs.finishKill(path, method: chosen, signalled: signalled, list)
    }

    /// Every cgroup directory below `dir`, parents before children (not `dir` itself).
    static func subtree(_ dir: String) throws(CgroupError) -> [String] {
        var out: [String] = []
        var queue = [dir]
        while let next = queue.popLast() {
            let names: [String]
            do { names = try Sys.listSubdirectories(next) } catch {
                if error.isNotFound { continue }
                throw .kernel(error)
            }
            for name in names {
                let child = next + "/" + name
                out.append(child)
                queue.append(child)
            }
        }
        return out
    }

    /// v1 joins by `tasks`: one file per hierarchy (cpuset included when used).
    public func joinTarget(_ path: String) throws(CgroupError) -> CgroupJoin {
        _ = try CgroupPaths.validate(path)
        return .tasksFiles(hierarchyRoots.map { $0 + "/" + path + "/tasks" })
    }

    /// Nothing to do on v1: a v1 cgroup may hold processes and children with controllers
    /// both, so a daemon stays in its own cgroup with its pods below. (On a hybrid host,
    /// `/proc/self/cgroup`'s `0::` line names the cgroup2 mount, which holds no pods.)
    /// Always nil.
    public func moveSelfIntoLeaf(under parent: String, leaf: String, proc: String) throws(CgroupError) -> String? {
        nil
    }

    // MARK: Limits

    public func setCPUShares(_ shares: Int64, at path: String) throws(CgroupError) -> LimitWriteResult {
        // The kernel clamps to this range itself; clamping first keeps the read-back equal.
        let value = min(max(shares, ResourceMath.minShares), ResourceMath.maxShares)
        let file = try knob("cpu", path, "cpu.shares")
        if try Knobs.readInt(file) == value { return .unchanged }
        try Knobs.write(file, String(value))
        return .applied
    }

    public func setCPUMax(_ max: CPUMax, at path: String) throws(CgroupError) -> LimitWriteResult {
        let quotaFile = try knob("cpu", path, "cpu.cfs_quota_us")
        let periodFile = try knob("cpu", path, "cpu.cfs_period_us")
        if try readCPUMax(path) == max { return .unchanged }
        let quota: String
        switch max.quota {
        case .max: quota = "-1"
        case .value(let q):
            guard q > 0 else { throw .invalidValue("cpu quota \(q) µs") }
            quota = String(q)
        }
        // The kernel checks quota against period (and the parent's ratio) on each write, so
        // one order can fail where the other passes: period first, else quota first.
        do {
            try Knobs.write(periodFile, String(max.period))
            try Knobs.write(quotaFile, quota)
        } catch {
            guard case .kernel(let e) = error, e.errno.rawValue == EINVAL else { throw error }
            try Knobs.write(quotaFile, quota)
            try Knobs.write(periodFile, String(max.period))
        }
        return .applied
    }

    public func setMemoryLimit(_ limit: CgroupLimit, at path: String) throws(CgroupError) -> LimitWriteResult {
        let file = try knob("memory", path, "memory.limit_in_bytes")
        let current = try readMemoryLimit(file)
        switch limit {
        case .max:
            if current == .max { return .unchanged }
            try Knobs.write(file, "-1")
        case .value(let v):
            guard v > 0 else { throw .invalidValue("memory limit \(v) bytes") }
            if current == .value(v) || current == .value(Memory.pageFloor(v)) { return .unchanged }
            // v1 would reclaim, and fail with EBUSY when it cannot: decide before writing.
            let usage = try Knobs.readInt(try knob("memory", path, "memory.usage_in_bytes"))
            if v < usage { return .deferred(current: usage) }
            try Knobs.write(file, String(v))
        }
        return .applied
    }

    public func setPidsMax(_ limit: CgroupLimit, at path: String) throws(CgroupError) -> LimitWriteResult {
        try Procs.setPidsMax(limit, file: try knob("pids", path, "pids.max"))
    }

    public func limits(_ path: String) throws(CgroupError) -> CgroupReading {
        _ = try CgroupPaths.validate(path)
        return CgroupReading(
            cpuShares: try Knobs.readInt(try knob("cpu", path, "cpu.shares")),
            cpuMax: try readCPUMax(path),
            memory: try readMemoryLimit(try knob("memory", path, "memory.limit_in_bytes")),
            pids: try Knobs.readLimit(try knob("pids", path, "pids.max")))
    }

    public func oomKills(_ path: String) throws(CgroupError) -> Int64? {
        _ = try CgroupPaths.validate(path)
        return try Knobs.optional { () throws(CgroupError) in try Knobs.readKeyed(try knob("memory", path, "memory.oom_control"), key: "oom_kill") } ?? nil
    }

    public func pidsMaxEvents(_ path: String) throws(CgroupError) -> Int64? {
        _ = try CgroupPaths.validate(path)
        return try Knobs.optional { () throws(CgroupError) in try Knobs.readKeyed(try knob("pids", path, "pids.events"), key: "max") } ?? nil
    }

    public func memoryUsage(_ path: String) throws(CgroupError) -> Int64? {
        _ = try CgroupPaths.validate(path)
        return try Knobs.optional { () throws(CgroupError) in try Knobs.readInt(try knob("memory", path, "memory.usage_in_bytes")) }
    }

    public func cpuUsage(_ path: String) throws(CgroupError) -> Int64? {
        _ = try CgroupPaths.validate(path)
        return try Knobs.optional { () throws(CgroupError) in try Knobs.readInt(try knob("cpuacct", path, "cpuacct.usage")) }
    }

    public func counters(_ path: String) throws(CgroupError) -> CgroupCounters {
        _ = try CgroupPaths.validate(path)
        var c = CgroupCounters()
        if let dir = directory("memory", path), let fd = try Knobs.openDirectory(dir) {
            defer { Sys.close(fd) }
            c.workingSet = try Knobs.workingSet(usage: try Knobs.readAt(fd, dir, "memory.usage_in_bytes"), stat: try Knobs.readAt(fd, dir, "memory.stat"),
                                                inactiveKey: "total_inactive_file", path: dir + "/memory.usage_in_bytes")
            if let bytes = try Knobs.readAt(fd, dir, "memory.limit_in_bytes") {
                let v = try Knobs.parseInt(bytes, path: dir + "/memory.limit_in_bytes")
                c.memoryLimit = v < 0 || v >= Memory.v1Unlimited ? .max : .value(v)
            }
        }
        if let dir = directory("cpuacct", path), let fd = try Knobs.openDirectory(dir) {
            defer { Sys.close(fd) }
            c.cpuNanoseconds = try Knobs.readAt(fd, dir, "cpuacct.usage").map { b throws(CgroupError) in try Knobs.parseInt(b, path: dir + "/cpuacct.usage") }
        }
        return c
    }

    public func usage(_ path: String) throws(CgroupError) -> CgroupUsage {
        _ = try CgroupPaths.validate(path)
        var u = CgroupUsage()
        u.memoryBytes = try memoryUsage(path)
        u.oomKills = try oomKills(path)
        if let stat = try Knobs.optional({ () throws(CgroupError) in try Knobs.readKeyed(try knob("cpu", path, "cpu.stat")) }) {
            u.cpu = CPUStat(periods: stat["nr_periods"] ?? 0, throttledPeriods: stat["nr_throttled"] ?? 0,
                            throttledMicroseconds: (stat["throttled_time"] ?? 0) / 1000)
        }
        u.pidsCurrent = try Knobs.optional { () throws(CgroupError) in try Knobs.readInt(try knob("pids", path, "pids.current")) }
        u.pidsMaxEvents = try pidsMaxEvents(path)
        return u
    }

    func readCPUMax(_ path: String) throws(CgroupError) -> CPUMax {
        let quota = try Knobs.readInt(try knob("cpu", path, "cpu.cfs_quota_us"))
        let period = try Knobs.readInt(try knob("cpu", path, "cpu.cfs_period_us"))
        return CPUMax(quota: quota < 0 ? .max : .value(quota), period: period)
    }

    /// v1 reports "no limit" as PAGE_COUNTER_MAX pages in bytes (9223372036854771712 with
    /// 4 KiB pages), and accepts -1 for it.
    func readMemoryLimit(_ file: String) throws(CgroupError) -> CgroupLimit {
        let v = try Knobs.readInt(file)
        return v < 0 || v >= Memory.v1Unlimited ? .max : .value(v)
    }
}
