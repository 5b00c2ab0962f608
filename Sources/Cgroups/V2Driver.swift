import Glibc
import Kernel
import PodModel

/// cgroup v2: one hierarchy, `<root>/<path>/<knob>`. Controllers reach a cgroup only when
/// every ancestor lists them in `cgroup.subtree_control`, and a cgroup that does so may
/// hold no processes itself (the no-internal-process rule); podrec's layout keeps
/// processes in leaves (`_infra`, one per container), so this holds by construction.
public struct V2Driver: CgroupDriver {
    public let setup: CgroupSetup
    public let cpuset: Bool
    /// The controllers enabled for podrec's cgroups.
    public let controllers: [String]

    public init(setup: CgroupSetup, cpuset: Bool = false) throws(CgroupError) {
        guard setup.mode == .unified else { throw .unsupported("the v2 driver on a \(setup.mode.rawValue) root \(setup.root)") }
        let wanted = ["cpu", "memory", "pids"] + (cpuset ? ["cpuset"] : [])
        for c in wanted where !setup.unifiedControllers.contains(c) {
            throw .controllerMissing(controller: c, at: setup.root)
        }
        self.setup = setup
        self.cpuset = cpuset
        self.controllers = wanted
    }

    public func directory(_ path: String) -> String { setup.root + "/" + path }

    func knob(_ path: String, _ file: String) throws(CgroupError) -> String {
        _ = try CgroupPaths.validate(path)
        return directory(path) + "/" + file
    }

    // MARK: Tree

    public func create(_ path: String) throws(CgroupError) {
        let parts = try CgroupPaths.validate(path)
        var dir = setup.root
        for p in parts {
            try enableControllers(in: dir)
            dir += "/" + p
            do { try Sys.mkdir(dir, mode: 0o755) } catch {
                if error.errno.rawValue != EEXIST { throw .kernel(error) }
            }
        }
    }

    /// Adds the missing controllers to `dir`'s `cgroup.subtree_control`, in one write.
    /// Reading first keeps a delegated root, whose file we may not write, working when it
    /// already has them.
    func enableControllers(in dir: String) throws(CgroupError) {
        let enabled = Set(try Knobs.read(dir + "/cgroup.subtree_control")
            .split(whereSeparator: { $0 == " " || $0 == "\n" })
            .map { $0.hasPrefix("+") ? String($0.dropFirst()) : String($0) })
        let missing = controllers.filter { !enabled.contains($0) }
        if missing.isEmpty { return }
        let available = CgroupSetup.controllerList(dir)
        for c in missing where !available.contains(c) { throw .controllerMissing(controller: c, at: dir) }
        do {
            try Knobs.write(dir + "/cgroup.subtree_control", missing.map { "+" + $0 }.joined(separator: " "))
        } catch {
            if case .kernel(let e) = error, e.errno.rawValue == EBUSY { throw .internalProcesses(path: dir) }
            throw error
        }
    }

    @discardableResult
    public func remove(_ path: String) throws(CgroupError) -> RemoveReport {
        _ = try CgroupPaths.validate(path)
        var report = RemoveReport(removed: [], busyRetries: 0)
        try Knobs.removeTree(directory(path), report: &report)
        return report
    }

    public func exists(_ path: String) -> Bool { Sys.exists(directory(path)) }

    public func directories(_ path: String) throws(CgroupError) -> [String] {
        _ = try CgroupPaths.validate(path)
        return [directory(path)]
    }

    // MARK: Processes

    public func move(pid: Int32, to path: String) throws(CgroupError) {
        try Procs.write(pid, to: try knob(path, "cgroup.procs"))
    }

    public func processes(_ path: String, recursive: Bool) throws(CgroupError) -> [Int32] {
        _ = try CgroupPaths.validate(path)
        return Set(try Procs.list(directory(path), recursive: recursive)).sorted()
    }

    @discardableResult
    public func kill(_ path: String, method: KillMethod) throws(CgroupError) -> KillReport {
        _ = try CgroupPaths.validate(path)
        let dir = directory(path)
        guard Sys.exists(dir) else { return KillReport(method: method, signalled: []) }
        let list = { () throws(CgroupError) -> [Int32] in try self.processes(path, recursive: true) }
        var signalled = try list()
        if signalled.contains(getpid()) { throw .selfInTree(path: path) }

        let chosen: KillMethod
        switch method {
        // cgroup.kill arrived in Linux 5.14; older kernels (and the VM's 6.1 has it, but
        // a 5.10 host would not) fall back to freezing.
        case .automatic: chosen = Sys.exists(dir + "/cgroup.kill") ? .cgroupKill : .freeze
        case .cgroupKill:
            guard Sys.exists(dir + "/cgroup.kill") else { throw .unsupported("cgroup.kill (Linux 5.14+) at \(dir)") }
            chosen = .cgroupKill
        case .freeze, .walk: chosen = method
        }

        switch chosen {
        case .cgroupKill:
            // One write SIGKILLs the whole subtree, forks in flight included.
            try Knobs.write(dir + "/cgroup.kill", "1")
        case .freeze:
            try Knobs.write(dir + "/cgroup.freeze", "1")
            var thawed = false
            defer { if !thawed { try? Knobs.write(dir + "/cgroup.freeze", "0") } }
            // cgroup.events says "frozen 1" once every task stopped; on timeout the walk
            // below catches whatever still runs.
            let deadline = Clock.now() + CgroupTiming.freezeWaitNanoseconds
            while try Knobs.readKeyed(dir + "/cgroup.events", key: "frozen") != 1 && Clock.now() < deadline {
                Clock.sleep(nanoseconds: 1_000_000)
            }
            signalled = try list()
            // v2 lets SIGKILL through to frozen tasks; thawing anyway leaves nothing frozen
            // if a later step fails.
            try Procs.sigkill(signalled, stillIn: list)
            try Knobs.write(dir + "/cgroup.freeze", "0")
            thawed = true
        default:
            signalled = []
        }
        return try Procs.finishKill(path, method: chosen, signalled: signalled, list)
    }

    /// The cgroup directory, for clone3 CLONE_INTO_CGROUP (open it with
    /// `CgroupJoin.openDirectory`).
    public func joinTarget(_ path: String) throws(CgroupError) -> CgroupJoin {
        _ = try CgroupPaths.validate(path)
        return .directory(directory(path))
    }

    // MARK: Limits

    /// Shares are converted to `cpu.weight` with the 2025 opencontainers/cgroups formula.
    public func setCPUShares(_ shares: Int64, at path: String) throws(CgroupError) -> LimitWriteResult {
        let weight = ResourceMath.sharesToWeight(min(max(shares, ResourceMath.minShares), ResourceMath.maxShares))
        let file = try knob(path, "cpu.weight")
        if try Knobs.readInt(file) == weight { return .unchanged }
        try Knobs.write(file, String(weight))
        return .applied
    }

    public func setCPUMax(_ max: CPUMax, at path: String) throws(CgroupError) -> LimitWriteResult {
        let file = try knob(path, "cpu.max")
        if try readCPUMax(file) == max { return .unchanged }
        switch max.quota {
        case .max: try Knobs.write(file, "max \(max.period)")
        case .value(let q):
            guard q > 0 else { throw .invalidValue("cpu quota \(q) µs") }
            try Knobs.write(file, "\(q) \(max.period)")
        }
        return .applied
    }

    public func setMemoryLimit(_ limit: CgroupLimit, at path: String) throws(CgroupError) -> LimitWriteResult {
        let file = try knob(path, "memory.max")
        let current = try Knobs.readLimit(file)
        switch limit {
        case .max:
            if current == .max { return .unchanged }
            try Knobs.write(file, "max")
        case .value(let v):
            guard v > 0 else { throw .invalidValue("memory limit \(v) bytes") }
            if current == .value(v) || current == .value(Memory.pageFloor(v)) { return .unchanged }
            // v2 accepts a memory.max below usage and then reclaims, and OOM-kills when it
            // cannot: never let a resize kill a container. Decide before writing.
            let usage = try Knobs.readInt(try knob(path, "memory.current"))
            if v < usage { return .deferred(current: usage) }
            try Knobs.write(file, String(v))
        }
        return .applied
    }

    public func setPidsMax(_ limit: CgroupLimit, at path: String) throws(CgroupError) -> LimitWriteResult {
        try Procs.setPidsMax(limit, file: try knob(path, "pids.max"))
    }

    public func limits(_ path: String) throws(CgroupError) -> CgroupReading {
        CgroupReading(
            cpuWeight: try Knobs.readInt(try knob(path, "cpu.weight")),
            cpuMax: try readCPUMax(try knob(path, "cpu.max")),
            memory: try Knobs.readLimit(try knob(path, "memory.max")),
            pids: try Knobs.readLimit(try knob(path, "pids.max")))
    }

    public func oomKills(_ path: String) throws(CgroupError) -> Int64? {
        _ = try CgroupPaths.validate(path)
        return try Knobs.optional { () throws(CgroupError) in try Knobs.readKeyed(directory(path) + "/memory.events", key: "oom_kill") } ?? nil
    }

    public func pidsMaxEvents(_ path: String) throws(CgroupError) -> Int64? {
        _ = try CgroupPaths.validate(path)
        return try Knobs.optional { () throws(CgroupError) in try Knobs.readKeyed(directory(path) + "/pids.events", key: "max") } ?? nil
    }

    public func memoryUsage(_ path: String) throws(CgroupError) -> Int64? {
        _ = try CgroupPaths.validate(path)
        return try Knobs.optional { () throws(CgroupError) in try Knobs.readInt(directory(path) + "/memory.current") }
    }

    public func cpuUsage(_ path: String) throws(CgroupError) -> Int64? {
        _ = try CgroupPaths.validate(path)
        let usec = try Knobs.optional { () throws(CgroupError) in try Knobs.readKeyed(directory(path) + "/cpu.stat", key: "usage_usec") }
        return (usec ?? nil).map { $0 * 1000 }
    }

    public func counters(_ path: String) throws(CgroupError) -> CgroupCounters {
        _ = try CgroupPaths.validate(path)
        let dir = directory(path)
        guard let fd = try Knobs.openDirectory(dir) else { return CgroupCounters() }
        defer { Sys.close(fd) }
        var c = CgroupCounters()
        if let stat = try Knobs.readAt(fd, dir, "cpu.stat") {
            Knobs.forEachKeyed(stat) { name, value in if name.elementsEqual("usage_usec".utf8) { c.cpuNanoseconds = value * 1000 } }
        }
        c.workingSet = try Knobs.workingSet(usage: try Knobs.readAt(fd, dir, "memory.current"), stat: try Knobs.readAt(fd, dir, "memory.stat"),
                                            inactiveKey: "inactive_file", path: dir + "/memory.current")
        if let bytes = try Knobs.readAt(fd, dir, "memory.max") {
            c.memoryLimit = bytes.starts(with: "max".utf8) ? .max : .value(try Knobs.parseInt(bytes, path: dir + "/memory.max"))
        }
        return c
    }

    public func usage(_ path: String) throws(CgroupError) -> CgroupUsage {
        let dir = directory(path)
        _ = try CgroupPaths.validate(path)
        var u = CgroupUsage()
        u.memoryBytes = try memoryUsage(path)
        u.oomKills = try oomKills(path)
        if let stat = try Knobs.optional({ () throws(CgroupError) in try Knobs.readKeyed(dir + "/cpu.stat") }) {
            // Without the cpu controller enabled, cpu.stat has only the usage lines.
            if stat["nr_periods"] != nil {
                u.cpu = CPUStat(periods: stat["nr_periods"] ?? 0, throttledPeriods: stat["nr_throttled"] ?? 0,
                                throttledMicroseconds: stat["throttled_usec"] ?? 0)
            }
        }
        u.pidsCurrent = try Knobs.optional { () throws(CgroupError) in try Knobs.readInt(dir + "/pids.current") }
        u.pidsMaxEvents = try pidsMaxEvents(path)
        return u
    }

    /// `cpu.max` is "max 100000" or "50000 100000".
    func readCPUMax(_ file: String) throws(CgroupError) -> CPUMax {
        let text = try Knobs.read(file)
        let parts = text.split(separator: " ")
        guard parts.count == 2, let period = Int64(parts[1]) else { throw .malformed(path: file, content: text) }
        if parts[0] == "max" { return CPUMax(quota: .max, period: period) }
        guard let quota = Int64(parts[0]) else { throw .malformed(path: file, content: text) }
        return CPUMax(quota: .value(quota), period: period)
    }
}

extension V2Driver {
    /// For a daemon whose pods live under its own cgroup, as systemd's `Delegate=yes` has
    /// it (the unit's cgroup is the daemon's to manage): moves this process into a leaf
    /// `<own>/<leaf>`, so that its own cgroup holds no process and may enable controllers
    /// for the pods beside it (the no-internal-process rule). Returns the leaf, or nil when
    /// `parent` is not under this process's cgroup (nothing to do).
    public func moveSelfIntoLeaf(under parent: String, leaf: String, proc: String) throws(CgroupError) -> String? {
        let text: String
        do { text = try Sys.readString(proc + "/self/cgroup") } catch { throw .kernel(error) }
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        let own = String(line.dropFirst(3)).trimmingSlashes
        guard !own.isEmpty, parent.trimmingSlashes.hasPrefix(own + "/") else { return nil }
        let target = own + "/" + leaf
        _ = try CgroupPaths.validate(target)
        // Not `create`: it would enable controllers in `own` first, which fails (EBUSY)
        // while this process is still in it.
        do { try Sys.mkdir(directory(target), mode: 0o755) } catch {
            if error.errno.rawValue != EEXIST { throw .kernel(error) }
        }
        try move(pid: getpid(), to: target)
        return target
    }
}

extension String {
    var trimmingSlashes: String {
        var s = Substring(self)
        while s.hasPrefix("/") { s = s.dropFirst() }
        while s.hasSuffix("/") { s = s.dropLast() }
        return String(s)
    }
}
