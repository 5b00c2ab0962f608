import Glibc
import Kernel
import Procfs
import Testing
import KernelTestSupport
import PodModel

/// The reader against a fake `/proc` and a fake cgroup tree in a temp dir: the roots are
/// injected, nothing of the host is read.
@Suite struct ProcfsReaderFixtureTests {
    /// A pid dir as the kernel lays it out: stat, status, cgroup, cmdline, environ, the
    /// `ns/*` links (dangling symlinks to `net:[N]` and so on) and `cwd`.
    static func addProcess(
        _ tree: ProcfsFixtureTree, pid: Int32, comm: String = "sleep", state: Character = "S", ppid: Int32 = 1,
        startTime: UInt64, nsBase: UInt64 = 4_026_531_800, zombie: Bool = false, status: String? = nil
    ) throws {
        let dir = "proc/\(pid)"
        try tree.mkdir(dir)
        try tree.write("\(dir)/stat", "\(pid) (\(comm)) \(state) \(ppid) \(pid) \(pid) 0 -1 4194560 0 0 0 0 7 3 0 0 20 0 1 0 \(startTime) 2265088 210 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n")
        try tree.write("\(dir)/status", status ?? """
            Name:\t\(comm)
            State:\t\(state) (whatever)
            Tgid:\t\(pid)
            Pid:\t\(pid)
            PPid:\t\(ppid)
            Uid:\t1000\t1000\t1000\t1000
            Gid:\t1000\t1000\t1000\t1000
            Groups:\t 
            NSpid:\t\(pid)\t1
            Threads:\t1
            CapInh:\t0000000000000000
            CapPrm:\t0000000000000000
            CapEff:\t0000000000000000
            CapBnd:\t00000000a80425fb
            CapAmb:\t0000000000000000
            NoNewPrivs:\t1

            """)
        try tree.write("\(dir)/cgroup", "8:pids:/podrec/pod\n4:memory:/podrec/pod\n0::/\n")
        try tree.write("\(dir)/cmdline", zombie ? "" : "/bin/sleep\u{0}600\u{0}")
        try tree.write("\(dir)/environ", zombie ? "" : "HOME=/\u{0}TERM=dumb")
        try tree.mkdir("\(dir)/ns")
        for (i, kind) in NamespaceKind.allCases.enumerated() where !zombie || kind == .pid || kind == .user {
            try tree.symlink("\(kind.rawValue):[\(nsBase + UInt64(i))]", "\(dir)/ns/\(kind.rawValue)")
        }
        if !zombie { try tree.symlink("/srv/app dir", "\(dir)/cwd") }
    }

    /// Two v1 hierarchies of one pod (pids and memory) and a container subdirectory:
    ///
    ///     cg/pids/podrec/pod/cgroup.procs          100, 102 (no such process), 100 again
    ///     cg/pids/podrec/pod/c1/cgroup.procs       101 (a zombie), 103
    ///     cg/pids/podrec/pod/c1/deeper/cgroup.procs  104
    ///     cg/memory/podrec/pod/cgroup.procs        100
    static func makeTree() throws -> ProcfsFixtureTree {
        let tree = try ProcfsFixtureTree()
        try addProcess(tree, pid: 100, startTime: 5000)
        try addProcess(tree, pid: 101, state: "Z", startTime: 5001, zombie: true)
        try addProcess(tree, pid: 103, comm: "(a) b)", startTime: 5003, nsBase: 4_026_532_000)
        try addProcess(tree, pid: 104, state: "R", startTime: 5004)
        try addProcess(tree, pid: 200, startTime: 6000)  // not in the tree
        try tree.mkdir("cg/pids/podrec/pod/c1/deeper")
        try tree.mkdir("cg/memory/podrec/pod")
        try tree.write("cg/pids/podrec/pod/cgroup.procs", "100\n102\n100\n")
        try tree.write("cg/pids/podrec/pod/pids.max", "max\n")
        try tree.write("cg/pids/podrec/pod/tasks", "100\n")
        try tree.write("cg/pids/podrec/pod/c1/cgroup.procs", "101\n103\n")
        try tree.write("cg/pids/podrec/pod/c1/deeper/cgroup.procs", "104\n")
        try tree.write("cg/memory/podrec/pod/cgroup.procs", "100\n")
        return tree
    }

    @Test func readsATree() throws {
        let tree = try Self.makeTree()
        defer { tree.remove() }
        let reader = ProcfsReader(roots: Roots(proc: tree.path("proc")))
        let pidsDir = tree.path("cg/pids/podrec/pod")
        let memDir = tree.path("cg/memory/podrec/pod")

        let listed = try reader.pids(inCgroupTrees: [pidsDir, memDir, tree.path("cg/cpu/podrec/pod")])
        #expect(listed == [
            100: [memDir, pidsDir], 101: [pidsDir + "/c1"], 102: [pidsDir], 103: [pidsDir + "/c1"],
            104: [pidsDir + "/c1/deeper"],
        ])

        let facts = try reader.processes(inCgroupTrees: [pidsDir, memDir])
        // 102 is listed but has no /proc entry: it exited, and is skipped.
        #expect(facts.map(\.pid) == [100, 101, 103, 104])

        let p100 = facts[0]
        #expect(p100.identity == ProcessIdentity(pid: 100, startTime: ClockTicks(5000)))
        #expect(p100.state == .sleeping)
        #expect(p100.stat.userTime.rawValue == 7 && p100.stat.systemTime.rawValue == 3)
        #expect(p100.cgroupDirectories == [memDir, pidsDir])
        #expect(p100.status.uids == IDs(1000))
        #expect(p100.status.namespacePids == [100, 1])
        #expect(p100.status.noNewPrivs)
        #expect(p100.status.capabilities.effective.isEmpty)
        #expect(p100.status.capabilities.bounding.contains(.netBindService))
        #expect(p100.namespaces == NamespaceInodes(
            net: 4_026_531_800, ipc: 4_026_531_801, uts: 4_026_531_802, pid: 4_026_531_803, mnt: 4_026_531_804,
            cgroup: 4_026_531_805, user: 4_026_531_806, time: 4_026_531_807))
        #expect(p100.cgroups.path(controller: "pids") == "/podrec/pod")
        #expect(p100.cgroups.unifiedPath == "/")

        // The zombie is reported, as a zombie, with the two links a zombie keeps.
        let zombie = facts[1]
        #expect(zombie.state == .zombie)
        #expect(zombie.namespaces == NamespaceInodes(pid: 4_026_531_803, user: 4_026_531_806))

        #expect(facts[2].stat.comm == "(a) b)")
        #expect(facts[2].namespaces.net == 4_026_532_000)
        #expect(facts[2].namespaces.net != p100.namespaces.net)
        #expect(facts[3].cgroupDirectories == [pidsDir + "/c1/deeper"])

        // Every process, read by pid, reads the same (without the directories).
        for f in facts {
            var byPid = try #require(try reader.facts(of: f.pid))
            byPid.cgroupDirectories = f.cgroupDirectories
            #expect(byPid == f)
        }
        #expect(try reader.facts(of: 102) == nil)
        // Only the namespaces asked for.
        let some = try reader.processes(inCgroupTrees: [memDir], namespaces: [.net, .pid])
        #expect(some.map(\.namespaces) == [NamespaceInodes(net: 4_026_531_800, pid: 4_026_531_803)])
        #expect(try reader.facts(of: 100, namespaces: [])?.namespaces == NamespaceInodes())
        #expect(try reader.processes(inCgroupTrees: [tree.path("cg/nothing")]) == [])
        #expect(try reader.processes(inCgroupTrees: []) == [])
    }

    @Test func singleFiles() throws {
        let tree = try Self.makeTree()
        defer { tree.remove() }
        let reader = ProcfsReader(roots: Roots(proc: tree.path("proc")))
        #expect(try reader.stat(of: 103)?.comm == "(a) b)")
        #expect(try reader.status(of: 103)?.name == "(a) b)")
        #expect(try reader.cgroups(of: 100)?.count == 3)
        #expect(try reader.cmdline(of: 100) == ["/bin/sleep", "600"])
        #expect(try reader.cmdline(of: 101) == [])
        #expect(try reader.environ(of: 100) == [EnvironmentEntry(name: "HOME", value: "/"), EnvironmentEntry(name: "TERM", value: "dumb")])
        #expect(try reader.cwd(of: 100) == "/srv/app dir")
        #expect(try reader.cwd(of: 101) == nil)
        #expect(try reader.namespaces(of: 101) == NamespaceInodes(pid: 4_026_531_803, user: 4_026_531_806))
        #expect(try reader.namespaces(of: 999) == nil)
        #expect(try reader.stat(of: 999) == nil)
        #expect(try reader.status(of: 999) == nil)
        #expect(try reader.cmdline(of: 999) == nil)
        #expect(try reader.cwd(of: 999) == nil)
        #expect(try reader.mountinfo(of: 999) == nil)

        try tree.write("proc/100/mountinfo", "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n")
        #expect(try reader.mountinfo(of: 100)?.first?.source == "/dev/vda")

        try tree.write("proc/stat", "cpu  1 2 3 4\nbtime 1795932280\n")
        try tree.write("proc/uptime", "3220.70 6000.01\n")
        #expect(try reader.bootTime() == 1_795_932_280)
        #expect(try reader.uptime() == .seconds(3220) + .milliseconds(700))
    }

    /// The liveness rule: right pid and start time, and not a zombie.
    @Test func liveness() throws {
        let tree = try Self.makeTree()
        defer { tree.remove() }
        let roots = Roots(proc: tree.path("proc"))
        #expect(try isAlive(ProcessIdentity(pid: 100, startTime: ClockTicks(5000)), roots: roots))
        #expect(try !isAlive(ProcessIdentity(pid: 100, startTime: ClockTicks(4999)), roots: roots), "pid reused")
        #expect(try !isAlive(ProcessIdentity(pid: 101, startTime: ClockTicks(5001)), roots: roots), "zombie")
        #expect(try !isAlive(ProcessIdentity(pid: 102, startTime: ClockTicks(5002)), roots: roots), "exited")
        #expect(try ProcfsReader(roots: roots).isAlive(ProcessIdentity(pid: 104, startTime: ClockTicks(5004))))
    }

    /// A file the parser cannot read fails the whole read, with the path and the line: an
    /// observer that guessed would plan from wrong facts.
    @Test func malformedFilesNameThePath() throws {
        let tree = try Self.makeTree()
        defer { tree.remove() }
        try tree.write("proc/104/status", "Name:\tx\nUid:\t1\t2\n")
        let reader = ProcfsReader(roots: Roots(proc: tree.path("proc")))
        let path = tree.path("proc/104/status")
        #expect(throws: ProcfsError.malformed(path: path, ProcfsParseError(file: "status", line: 2, reason: "Uid: expected 4 ids, got 2"))) {
            try reader.processes(inCgroupTrees: [tree.path("cg/pids/podrec/pod")])
        }
        let error = ProcfsError.malformed(path: path, ProcfsParseError(file: "status", line: 2, reason: "Uid: expected 4 ids, got 2"))
        #expect(error.description == "\(path):2: Uid: expected 4 ids, got 2")

        try tree.write("cg/pids/podrec/pod/cgroup.procs", "100\nnope\n")
        #expect(throws: ProcfsError.self) { try reader.pids(inCgroupTrees: [tree.path("cg/pids/podrec/pod")]) }

        try tree.unlink("proc/100/ns/net")
        try tree.symlink("ipc:[5]", "proc/100/ns/net")
        #expect(throws: ProcfsError.self) { try reader.facts(of: 100) }
    }

    /// A failure that is not "gone" throws instead of reading as "not running".
    @Test func unreadableIsAnErrorNotDeath() throws {
        let tree = try Self.makeTree()
        defer { tree.remove() }
        // A directory where the stat file should be: read fails with EISDIR.
        try tree.unlink("proc/100/stat")
        try tree.mkdir("proc/100/stat")
        let roots = Roots(proc: tree.path("proc"))
        #expect(throws: ProcfsError.self) { try isAlive(ProcessIdentity(pid: 100, startTime: ClockTicks(5000)), roots: roots) }
        #expect(throws: ProcfsError.self) { try ProcfsReader(roots: roots).facts(of: 100) }
    }
}

/// A temp dir that tests build fixture files in, and remove.
final class ProcfsFixtureTree: Sendable {
    let root: String

    init() throws {
        root = try makeTemporaryDirectory("podrec-procfs")
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    func mkdir(_ relative: String) throws { try Sys.mkdirs(path(relative)) }

    func write(_ relative: String, _ text: String) throws {
        try Sys.mkdirs(parentDirectory(path(relative)))
        let fd = try Sys.open(path(relative), O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        defer { Sys.close(fd) }
        try Sys.writeAll(fd, Array(text.utf8), path: path(relative))
    }

    func symlink(_ target: String, _ relative: String) throws { try Sys.symlink(target, path(relative)) }

    func unlink(_ relative: String) throws { try Sys.unlink(path(relative)) }

    /// rm -r, without following symlinks.
    func remove() { try? Sys.removeTree(root) }
}
