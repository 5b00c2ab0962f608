import Cgroups
import Glibc
import Kernel
import Testing
import KernelTestSupport
import PodModel

/// Fake cgroup trees in temp dirs, shaped like the kernel's: what a test writes here is
/// what the kernel would show, so the drivers cannot tell the difference (except that no
/// process lives here: fixture `cgroup.procs` files stay empty, so a kill never signals a
/// real pid).
enum CgroupFixture {
    static let mib: Int64 = 1 << 20

    /// A fresh temp dir; the test removes it with `remove` in a defer.
    static func makeRoot() throws -> String { try makeTemporaryDirectory("podrec-cgfix") }

    static func remove(_ path: String) { try? Sys.removeTree(path) }

    static func write(_ path: String, _ content: String) throws {
        try Sys.mkdirs(parentDirectory(path), mode: 0o755)
        try Sys.writeFileAtomically(path, Array(content.utf8), mode: 0o644)
    }

    static func read(_ path: String) throws -> String {
        var s = try Sys.readString(path)
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }

    /// The v1 hierarchies of this machine: separate cpu and cpuacct, and a named systemd one.
    static let hostV1 = ["blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "memory", "pids", "systemd"]

    /// A v1 root: one directory per hierarchy, each with the files every v1 cgroup has.
    /// `unified` adds the hybrid cgroup2 mount, holding only hugetlb as here.
    static func v1(_ root: String, hierarchies: [String] = hostV1, unified: Bool = false) throws {
        for h in hierarchies {
            try write("\(root)/\(h)/tasks", "")
            try write("\(root)/\(h)/cgroup.procs", "")
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

    /// The knobs the kernel creates in a new v1 cgroup at `path`, with its defaults.
    static func populateV1(_ root: String, _ path: String, hierarchies: [String] = hostV1) throws {
        for h in hierarchies {
            let dir = "\(root)/\(h)/\(path)"
            try write("\(dir)/tasks", "")
            try write("\(dir)/cgroup.procs", "")
            switch h {
            case "cpu":
                try write("\(dir)/cpu.shares", "1024")
                try write("\(dir)/cpu.cfs_quota_us", "-1")
                try write("\(dir)/cpu.cfs_period_us", "100000")
                try write("\(dir)/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\nnr_bursts 0\nburst_time 0\n")
            case "memory":
                try write("\(dir)/memory.limit_in_bytes", "9223372036854771712")
                try write("\(dir)/memory.usage_in_bytes", "0")
                try write("\(dir)/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
            case "pids":
                try write("\(dir)/pids.max", "max")
                try write("\(dir)/pids.current", "0")
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

    /// A v2 cgroup directory with the files the kernel gives it. `controllers` is what its
    /// parent enabled for it; `kill: false` mimics a kernel before 5.14 (no cgroup.kill).
    static func v2Cgroup(_ dir: String, controllers: String = "cpu memory pids", subtree: String = "", kill: Bool = true) throws {
        try write("\(dir)/cgroup.controllers", controllers)
        try write("\(dir)/cgroup.subtree_control", subtree)
        try write("\(dir)/cgroup.procs", "")
        try write("\(dir)/cgroup.events", "populated 0\nfrozen 0\n")
        try write("\(dir)/cgroup.freeze", "0")
        if kill { try write("\(dir)/cgroup.kill", "") }
        try write("\(dir)/cpu.weight", "100")
        try write("\(dir)/cpu.max", "max 100000")
        try write("\(dir)/cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n")
        try write("\(dir)/memory.max", "max")
        try write("\(dir)/memory.current", "0")
        try write("\(dir)/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n")
        try write("\(dir)/pids.max", "max")
        try write("\(dir)/pids.current", "0")
        try write("\(dir)/pids.events", "max 0\n")
    }

    /// A v2 root as in the cgroup2 VM: every controller offered, none enabled yet.
    static func v2(_ root: String, controllers: String = "cpuset cpu io memory hugetlb pids rdma misc") throws {
        try v2Cgroup(root, controllers: controllers)
    }
}
