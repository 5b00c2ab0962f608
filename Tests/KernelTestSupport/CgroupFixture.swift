import Kernel
import PodModel

/// Fake cgroup trees in temp dirs, shaped like the kernel's: what a test writes here is
/// what the kernel would show, so the drivers cannot tell the difference (except that no
/// process lives here: the pids in a fixture's `cgroup.procs` are only numbers, and a kill
/// of an empty fixture cgroup never signals a real pid). For the driver tests and the
/// observer's fake host alike.
public enum CgroupFixture {
    public static let mib: Int64 = 1 << 20

    /// A fresh temp dir; the test removes it with `remove` in a defer.
    public static func makeRoot() throws -> String { try makeTemporaryDirectory("podrec-cgfix") }

    public static func remove(_ path: String) { try? Sys.removeTree(path) }

    public static func write(_ path: String, _ content: String) throws {
        try Sys.mkdirs(parentDirectory(path), mode: 0o755)
        try Sys.writeFileAtomically(path, Array(content.utf8), mode: 0o644, durable: false)
    }

    public static func read(_ path: String) throws -> String {
        var s = try Sys.readString(path)
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }

    /// The v1 hierarchies of this machine: separate cpu and cpuacct, a cpuset, and a named
    /// systemd one.
    public static let hostV1 = ["blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "systemd"]

    /// What a fake cgroup's knobs show; nil is the kernel's default for a new cgroup.
    public struct Limits: Sendable {
        public var cpuShares: Int64?
        public var quota: Int64?
        public var memory: Int64?
        public var pids: Int64?
        public var memoryUsage: Int64

        public init(cpuShares: Int64? = nil, quota: Int64? = nil, memory: Int64? = nil, pids: Int64? = nil, memoryUsage: Int64 = 0) {
            self.cpuShares = cpuShares
            self.quota = quota
            self.memory = memory
            self.pids = pids
            self.memoryUsage = memoryUsage
        }
    }

    static func procsText(_ procs: [Int32]) -> String { procs.map { "\($0)\n" }.joined() }

    /// A v1 root: one directory per hierarchy, each with the files every v1 cgroup has, and
    /// `procs` in its root cgroup. `unified` adds the hybrid cgroup2 mount, holding only
    /// hugetlb as here.
    public static func v1(_ root: String, hierarchies: [String] = hostV1, unified: Bool = false, procs: [Int32] = []) throws {
        for h in hierarchies {
            try write("\(root)/\(h)/tasks", procsText(procs))
            try write("\(root)/\(h)/cgroup.procs", procsText(procs))
            try write("\(root)/\(h)/notify_on_release", "0")
        }
        if hierarchies.contains("cpuset") {
            try write("\(root)/cpuset/cpuset.cpus", "0-3")
            try write("\(root)/cpuset/cpuset.mems", "0")
        }
        if unified {
            try write("\(root)/unified/cgroup.controllers", "hugetlb")
            try write("\(root)/unified/cgroup.subtree_control", "")
            try write("\(root)/unified/cgroup.procs", "")
        }
    }

    /// The knobs the kernel creates in a new v1 cgroup at `path`, in every hierarchy, with
    /// its defaults or `limits`, and `procs` in it.
    public static func populateV1(_ root: String, _ path: String, hierarchies: [String] = hostV1, limits: Limits = Limits(),
                                  procs: [Int32] = []) throws {
        for h in hierarchies {
            let dir = "\(root)/\(h)/\(path)"
            try write("\(dir)/tasks", procsText(procs))
            try write("\(dir)/cgroup.procs", procsText(procs))
            try write("\(dir)/notify_on_release", "0")
            switch h {
            case "cpu":
                try write("\(dir)/cpu.shares", String(limits.cpuShares ?? 1024))
                try write("\(dir)/cpu.cfs_quota_us", String(limits.quota ?? -1))
                try write("\(dir)/cpu.cfs_period_us", "100000")
                try write("\(dir)/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n")
            case "memory":
                try write("\(dir)/memory.limit_in_bytes", String(limits.memory ?? 9_223_372_036_854_771_712))
                try write("\(dir)/memory.usage_in_bytes", String(limits.memoryUsage))
                try write("\(dir)/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
            case "pids":
                try write("\(dir)/pids.max", limits.pids.map(String.init) ?? "max")
                try write("\(dir)/pids.current", String(procs.count))
                try write("\(dir)/pids.events", "max 0\n")
            case "freezer":
                try write("\(dir)/freezer.state", "THAWED")
            case "cpuset":
                try write("\(dir)/cpuset.cpus", "")
                try write("\(dir)/cpuset.mems", "")
            default:
                break
            }
        }
    }

    /// A v2 cgroup directory with the files the kernel gives it, its defaults or `limits`
    /// (cpu shares shown as the weight they convert to), and `procs` in it. `controllers`
    /// is what its parent enabled for it; `kill: false` mimics a kernel before 5.14 (no
    /// cgroup.kill).
    public static func v2Cgroup(_ dir: String, controllers: String = "cpu memory pids", subtree: String = "", kill: Bool = true,
                                limits: Limits = Limits(), procs: [Int32] = []) throws {
        try write("\(dir)/cgroup.controllers", controllers)
        try write("\(dir)/cgroup.subtree_control", subtree)
        try write("\(dir)/cgroup.procs", procsText(procs))
        try write("\(dir)/cgroup.events", "populated \(procs.isEmpty ? 0 : 1)\nfrozen 0\n")
        try write("\(dir)/cgroup.freeze", "0")
        if kill { try write("\(dir)/cgroup.kill", "") }
        try write("\(dir)/cpu.weight", String(limits.cpuShares.map(ResourceMath.sharesToWeight) ?? 100))
        try write("\(dir)/cpu.max", "\(limits.quota.map(String.init) ?? "max") 100000")
        try write("\(dir)/cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n")
        try write("\(dir)/memory.max", limits.memory.map(String.init) ?? "max")
        try write("\(dir)/memory.current", String(limits.memoryUsage))
        try write("\(dir)/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n")
        try write("\(dir)/pids.max", limits.pids.map(String.init) ?? "max")
        try write("\(dir)/pids.current", String(procs.count))
        try write("\(dir)/pids.events", "max 0\n")
    }

    /// A v2 root as in the cgroup2 VM: every controller offered; `subtree` enabled.
    public static func v2(_ root: String, controllers: String = "cpuset cpu io memory hugetlb pids rdma misc", subtree: String = "",
                          procs: [Int32] = []) throws {
        try v2Cgroup(root, controllers: controllers, subtree: subtree, procs: procs)
    }
}
