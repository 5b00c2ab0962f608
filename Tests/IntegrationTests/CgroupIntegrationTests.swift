import Cgroups
import Glibc
import Kernel
import KernelTestSupport
import SystemPackage
import Testing
import PodModel

extension Integration {
    /// The drivers on the real kernel: cgroup v1/hybrid on this host, v2 in
    /// ../shared/tools/cgroup2-vm. Limits are checked by their effect (an OOM kill, a refused
    /// fork, throttling), not by reading back what was written.
    ///
    /// Every test works below its own `TestNames.cgroupParent()`, so no cgroup of the host's
    /// (such as `memory:/process_api/...`) is touched; it kills and reaps, by pid, only the
    /// processes it started, removes its cgroups, and proves with `HostSnapshot` that no
    /// cgroup, process, mount or fd is left.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct CgroupIntegrationTests {
        // MARK: (a) memory

        @Test func aProcessOverItsMemoryLimitIsOOMKilledAndTheKillIsCounted() throws {
            try HostTool.require("/usr/bin/python3", package: "python3")
            try CgroupTestBed.run("oom") { bed in
                let path = bed.parent + "/pod/app"
                try bed.driver.create(path)
                #expect(try bed.driver.setMemoryLimit(.value(32 * CgroupTestBed.mib), at: path) == .applied)
                try bed.noSwap(path, limit: 32 * CgroupTestBed.mib)
                #expect(try bed.driver.usage(path).oomKills == 0)

                // It allocates only once it is inside the cgroup (after `release`).
                let child = try bed.spawn("read _; exec /usr/bin/python3 -c 'b = bytearray(200 * 1024 * 1024)'")
                try bed.driver.move(pid: child.pid, to: path)
                try bed.release(child)
                let status = try bed.wait(child)
                #expect(CgroupTestBed.signal(status) == SIGKILL, "wait status \(status)")
                #expect((try bed.driver.usage(path).oomKills ?? 0) >= 1)
            }
        }

        // MARK: (b) pids

        @Test func aShellAtPidsMaxCannotFork() throws {
            try CgroupTestBed.run("pids") { bed in
                let path = bed.parent + "/pod/app"
                try bed.driver.create(path)
                #expect(try bed.driver.setPidsMax(.value(1), at: path) == .applied)
                let out = bed.outputFile("pids")
                // `/bin/true; echo` forces a fork (a last command alone would be exec'd).
                let child = try bed.spawn("read _; /bin/true; echo \"rc=$?\"", output: out)
                try bed.driver.move(pid: child.pid, to: path)
                try bed.release(child)
                let status = try bed.wait(child)
                let text = (try? Sys.readString(out)) ?? ""
                #expect(CgroupTestBed.exitCode(status) != 0, "wait status \(status), output \(text)")
                #expect(!text.contains("rc=0"))
                // dash says "Cannot fork"; the errno underneath is EAGAIN.
                #expect(text.contains("Cannot fork") || text.contains("Resource temporarily unavailable"), "output: \(text)")
                #expect((try bed.driver.usage(path).pidsMaxEvents ?? 0) >= 1)
                #expect(try bed.driver.limits(path).pids == .value(1))
            }
        }

        // MARK: (c) cpu

        @Test func aTenPercentQuotaThrottlesABusyLoop() throws {
            try CgroupTestBed.run("cpu") { bed in
                let path = bed.parent + "/pod/app"
                try bed.driver.create(path)
                let quota = CPUMax(quota: .value(ResourceMath.milliCPUToQuota(100)))   // 100m = 10 ms per 100 ms
                #expect(quota.quota == .value(10_000))
                #expect(try bed.driver.setCPUMax(quota, at: path) == .applied)
                #expect(try bed.driver.limits(path).cpuMax == quota)

                let child = try bed.spawn("read _; while :; do :; done")
                try bed.driver.move(pid: child.pid, to: path)
                try bed.release(child)
                // About 1 s of a busy loop at 10%: ten periods, nearly all of them throttled.
                CgroupTestBed.sleep(milliseconds: 1000)
                var throttled = try bed.driver.usage(path).cpu?.throttledPeriods ?? 0
                let deadline = CgroupTestBed.now() + 4_000_000_000
                while throttled == 0 && CgroupTestBed.now() < deadline {   // a slow (emulated) VM
                    CgroupTestBed.sleep(milliseconds: 250)
                    throttled = try bed.driver.usage(path).cpu?.throttledPeriods ?? 0
                }
                let stat = try bed.driver.usage(path).cpu
                #expect(throttled > 0, "cpu.stat: \(String(describing: stat))")
                print("cpu quota 10%: \(String(describing: stat))")
                #expect((stat?.throttledMicroseconds ?? 0) > 0)
                try bed.driver.kill(path)
                #expect(CgroupTestBed.signal(try bed.wait(child)) == SIGKILL)
            }
        }

        // MARK: (d) kill

        @Test func killTreeWithThePrimaryMethodKillsEveryProcessInAThreeLevelTree() throws {
            try killTree(method: .automatic) { mode in mode == .unified ? .cgroupKill : .freeze }
        }

        @Test func killTreeWithTheForcedFallbackKillsEveryProcess() throws {
            // v2 without cgroup.kill (Linux < 5.14) freezes; v1 without a freezer walks.
            try killTree(method: nil) { mode in mode == .unified ? .freeze : .walk }
        }

        @Test func killTreeByWalkingKillsEveryProcess() throws {
            try killTree(method: .walk) { _ in .walk }
        }

        /// Builds `<parent>/pod/{_infra, web, side/inner}`, with shells that fork children
        /// inside the cgroups, and kills `<parent>/pod`.
        func killTree(method: KillMethod?, expected: (CgroupMode) -> KillMethod) throws {
            try CgroupTestBed.run("kill") { bed in
                let mode = bed.driver.setup.mode
                let method = method ?? expected(mode)
                let pod = bed.parent + "/pod"
                var direct: [CgroupTestBed.Child] = []
                for (leaf, script) in [
                    ("_infra", "read _; exec /bin/sleep 1000"),
                    // The forking shells exec into sleep, which never reaps: their forked
                    // children stay until this subreaper reaps them, so their pids cannot be
                    // recycled before `reapDescendant` waits for them.
                    ("web", "read _; /bin/sleep 1000 & /bin/sleep 1000 & exec /bin/sleep 1003"),
                    ("side/inner", "read _; /bin/sleep 1000 & exec /bin/sleep 1001"),
                    ("side/inner", "read _; exec /bin/sleep 1002"),
                ] {
                    try bed.driver.create(pod + "/" + leaf)
                    let child = try bed.spawn(script)
                    try bed.driver.move(pid: child.pid, to: pod + "/" + leaf)
                    try bed.release(child)
                    direct.append(child)
                }
                // 4 shells or sleeps, plus 3 forked sleeps.
                let all = try bed.waitForProcesses(pod, count: 7)
                #expect(all.count == 7, "processes: \(all)")
                #expect(try bed.driver.processes(pod + "/side", recursive: false).isEmpty)

                let report = try bed.driver.kill(pod, method: method)
                #expect(report.method == expected(mode))
                #expect(Set(report.signalled).isSuperset(of: all))
                #expect(try bed.driver.processes(pod).isEmpty)
                for child in direct {
                    #expect(CgroupTestBed.signal(try bed.wait(child)) == SIGKILL)
                }
                // The forked sleeps were ours too: reparented to this subreaper, reaped here.
                for pid in all where !direct.contains(where: { $0.pid == pid }) {
                    #expect(bed.reapDescendant(pid), "pid \(pid) was not reaped")
                }
                // Nothing is left frozen: a new process in the tree runs.
                if mode != .unified, let freezer = (bed.driver as? V1Driver)?.directory("freezer", pod) {
                    #expect(try Sys.readString(freezer + "/freezer.state").hasPrefix("THAWED"))
                }
            }
        }

        /// A child cgroup frozen by someone else (a supervisor killed between its own freeze
        /// and thaw of a container) is thawed by the kill of the tree above it: its process
        /// dies and the tree can be removed.
        @Test func killingATreeThawsAChildThatWasFrozenOnItsOwn() throws {
            try CgroupTestBed.run("kill-frozen") { bed in
                let pod = bed.parent + "/pod"
                try bed.driver.create(pod + "/app")
                let child = try bed.spawn("read _; exec /bin/sleep 1000")
                try bed.driver.move(pid: child.pid, to: pod + "/app")
                try bed.release(child)
                _ = try bed.waitForProcesses(pod, count: 1)
                let unified = bed.driver.setup.mode == .unified
                let freezeFile = unified ? (try bed.driver.directories(pod + "/app"))[0] + "/cgroup.freeze"
                                         : try #require((bed.driver as? V1Driver)?.directory("freezer", pod + "/app")) + "/freezer.state"
                try Sys.writeString(freezeFile, unified ? "1" : "FROZEN")
                try bed.driver.kill(pod)
                #expect(CgroupTestBed.signal(try bed.wait(child)) == SIGKILL)
                #expect(try bed.driver.processes(pod).isEmpty)
                try bed.driver.remove(pod)
                #expect(!bed.driver.exists(pod))
            }
        }

        // MARK: (e) remove

        @Test func removeRetriesEBUSYAndLeavesNoCgroup() throws {
            try CgroupTestBed.run("rm") { bed in
                let path = bed.parent + "/pod/app"
                try bed.driver.create(path)

                // A live process: the bounded retry gives up, quickly, and names it.
                let live = try bed.spawn("read _; exec /bin/sleep 1000")
                try bed.driver.move(pid: live.pid, to: path)
                let start = CgroupTestBed.now()
                #expect {
                    try bed.driver.remove(bed.parent)
                } throws: { error in
                    guard case .busy(_, let pids) = error as? CgroupError else { return false }
                    return pids == [live.pid]
                }
                let elapsed = CgroupTestBed.now() - start
                #expect(elapsed >= 150_000_000 && elapsed < 2_000_000_000, "gave up after \(elapsed / 1_000_000) ms")
                #expect(bed.driver.exists(path))
                try bed.driver.kill(path)
                #expect(CgroupTestBed.signal(try bed.wait(live)) == SIGKILL)

                // A process that leaves while remove is retrying: rmdir fails with EBUSY until
                // it has exited, then succeeds, within the bounded wait. It is not reaped
                // first: a zombie no longer holds its cgroup.
                let leaving = try bed.spawn("read _; exec /bin/sleep 0.05")
                try bed.driver.move(pid: leaving.pid, to: path)
                try bed.release(leaving)
                #expect(bed.waitForExec(leaving.pid, comm: "sleep"))
                let report = try bed.driver.remove(bed.parent)
                print("remove while the last process exits: \(report.busyRetries) EBUSY retries, \(report.removed.count) directories")
                #expect(report.busyRetries >= 1)
                #expect(report.removed.contains { $0.hasSuffix(path) })
                #expect(!bed.driver.exists(bed.parent))
                #expect(CgroupTestBed.exitCode(try bed.wait(leaving)) == 0)
            }
        }

        // MARK: (f) memory decrease

        @Test func loweringMemoryBelowRealUsageIsDeferredAndTheProcessLives() throws {
            try HostTool.require("/usr/bin/python3", package: "python3")
            try CgroupTestBed.run("defer") { bed in
                let mib = CgroupTestBed.mib
                let path = bed.parent + "/pod/app"
                try bed.driver.create(path)
                #expect(try bed.driver.setMemoryLimit(.value(256 * mib), at: path) == .applied)
                let child = try bed.spawn("read _; exec /usr/bin/python3 -c 'import sys; b = bytearray(48 << 20); sys.stdin.readline()'")
                try bed.driver.move(pid: child.pid, to: path)
                try bed.release(child)
                var usage: Int64 = 0
                let deadline = CgroupTestBed.now() + 10_000_000_000
                while usage < 48 * mib && CgroupTestBed.now() < deadline {
                    CgroupTestBed.sleep(milliseconds: 20)
                    usage = try bed.driver.usage(path).memoryBytes ?? 0
                }
                #expect(usage >= 48 * mib)

                let result = try bed.driver.setMemoryLimit(.value(16 * mib), at: path)
                guard case .deferred(let current) = result else {
                    Issue.record("expected deferred, got \(result)")
                    return
                }
                #expect(current >= 48 * mib)
                #expect(try bed.driver.limits(path).memory == .value(256 * mib))
                #expect(try bed.driver.usage(path).oomKills == 0)
                #expect(CgroupTestBed.isRunning(child.pid))

                #expect(try bed.driver.setMemoryLimit(.value(128 * mib), at: path) == .applied)
                #expect(try bed.driver.setMemoryLimit(.value(128 * mib), at: path) == .unchanged)
                #expect(try bed.driver.limits(path).memory == .value(128 * mib))
                try bed.release(child)
                #expect(CgroupTestBed.exitCode(try bed.wait(child)) == 0)
            }
        }

        // MARK: Limits, cpu weight, join paths, detection

        @Test func limitsReadBackAsWrittenAndSharesBecomeTheWeight() throws {
            try CgroupTestBed.run("limits") { bed in
                let path = bed.parent + "/pod"
                try bed.driver.create(path + "/_infra")
                let limits = PodResources.podCgroupLimits([
                    ContainerResources(cpuRequest: 250, cpuLimit: 500, memoryLimit: 64 * CgroupTestBed.mib),
                    ContainerResources(role: .sidecar, cpuRequest: 250, cpuLimit: 500, memoryLimit: 64 * CgroupTestBed.mib),
                ])
                var withPids = limits
                withPids.pids = .value(64)
                let results = try bed.driver.apply(withPids, to: path)
                #expect(results == LimitResults(cpuShares: .applied, cpuMax: .applied, memory: .applied, pids: .applied))
                let reading = try bed.driver.limits(path)
                if bed.driver.setup.mode == .unified {
                    #expect(reading.cpuWeight == ResourceMath.sharesToWeight(512))
                    #expect(reading.cpuWeight == 59)
                } else {
                    #expect(reading.cpuShares == 512)
                }
                #expect(reading.cpuMax == CPUMax(quota: .value(100_000)))
                #expect(reading.memory == .value(128 * CgroupTestBed.mib))
                #expect(reading.pids == .value(64))
                #expect(try bed.driver.apply(withPids, to: path) == LimitResults(cpuShares: .unchanged, cpuMax: .unchanged, memory: .unchanged, pids: .unchanged))
                _ = try bed.driver.apply(CgroupLimits(cpuMax: .unlimited, memory: .max, pids: .max), to: path)
                #expect(try bed.driver.limits(path).memory == .max)
                #expect(try bed.driver.limits(path).cpuMax == .unlimited)
            }
        }

        @Test func aProcessJoinsByTheJoinTarget() throws {
            try CgroupTestBed.run("join") { bed in
                let path = bed.parent + "/pod/app"
                try bed.driver.create(path)
                switch try bed.driver.joinTarget(path) {
                case .tasksFiles(let files):
                    // What the spawn shim's child does: write "0" to each tasks file itself.
                    #expect(files.count >= 5)
                    let script = "read _; " + files.map { "echo 0 > \($0); " }.joined() + "exec /bin/sleep 1000"
                    let child = try bed.spawn(script)
                    try bed.release(child)
                    // Once it runs sleep, every write is done.
                    #expect(bed.waitForExec(child.pid, comm: "sleep"))
                    #expect(try bed.driver.processes(path) == [child.pid])
                    // Joined in every hierarchy, not just one.
                    for dir in try bed.driver.directories(path) {
                        #expect(try Sys.readString(dir + "/cgroup.procs").contains("\(child.pid)"), "\(dir)")
                    }
                    try bed.driver.kill(path)
                    _ = try bed.wait(child)
                case .directory(let dir):
                    // clone3 CLONE_INTO_CGROUP takes this fd; the spawn shim's tests use it.
                    let fd = try CgroupJoin.openDirectory(dir)
                    defer { Sys.close(fd) }
                    var st = stat()
                    #expect(fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR)
                }
            }
        }

        @Test func cpusetIsUsableWhenAskedFor() throws {
            try CgroupTestBed.run("cpuset", cpuset: true) { bed in
                let path = bed.parent + "/pod/app"
                try bed.driver.create(path)
                if let v1 = bed.driver as? V1Driver {
                    let dir = try #require(v1.directory("cpuset", path))
                    let cpus = try Sys.readString(dir + "/cpuset.cpus")
                    #expect(!cpus.trimmingSuffixNewlines().isEmpty)
                    #expect(try Sys.readString(v1.setup.root + "/" + v1.setup.hierarchies["cpuset"]! + "/cpuset.mems") == (try Sys.readString(dir + "/cpuset.mems")))
                } else {
                    #expect(try Sys.readString(bed.driver.setup.root + "/" + bed.parent + "/pod/cgroup.subtree_control").contains("cpuset"))
                }
                // A task can join (an empty cpuset would refuse it with ENOSPC).
                let child = try bed.spawn("read _; exec /bin/sleep 1000")
                try bed.driver.move(pid: child.pid, to: path)
                #expect(try bed.driver.processes(path) == [child.pid])
                try bed.driver.kill(path)
                _ = try bed.wait(child)
            }
        }

        @Test func theHostModeMatchesTheFilesystemTypes() throws {
            try #require(Privilege.isRoot, "privileged cgroup tests need root")
            let setup = try CgroupSetup.detect()
            let rootMagic = try Sys.filesystemType("/sys/fs/cgroup")
            if rootMagic == Sys.cgroup2Magic {
                #expect(setup.mode == .unified)
                #expect(setup.unifiedControllers.contains("memory"))
            } else {
                #expect(rootMagic == Sys.tmpfsMagic)
                let unified = (try? Sys.filesystemType("/sys/fs/cgroup/unified")) == Sys.cgroup2Magic
                #expect(setup.mode == (unified ? .hybrid : .legacy))
                for (controller, dir) in setup.hierarchies where !controller.hasPrefix("name=") {
                    #expect(try Sys.filesystemType("/sys/fs/cgroup/" + dir) == Sys.cgroupMagic, "\(controller)")
                }
                #expect(setup.hierarchies["cpu"] != nil && setup.hierarchies["memory"] != nil)
            }
            print("cgroup mode: \(setup.mode.rawValue), hierarchies: \(setup.hierarchies.sorted { $0.key < $1.key }), unified: \(setup.unifiedPath ?? "-") \(setup.unifiedControllers)")
        }
    }
}

/// One privileged test's world: the real driver, its own parent cgroup, the processes it
/// started, and a temp dir for their output. `run` cleans all of it up and checks leaks.
final class CgroupTestBed {
    static let mib: Int64 = 1 << 20

    struct Child {
        let pid: Int32
        let stdinWrite: Int32
    }

    let driver: any CgroupDriver
    let parent: String
    let outputDir: String
    private var children: [Child] = []
    private var reaped: Set<Int32> = []
    /// Every process this test started, directly or by a fork of one of its processes.
    private(set) var started: Set<Int32> = []

    init(driver: any CgroupDriver, parent: String, outputDir: String) {
        self.driver = driver
        self.parent = parent
        self.outputDir = outputDir
    }

    /// Runs `body` with a fresh bed; then kills the test's tree, kills and reaps its
    /// children by pid, removes its cgroups and files, and expects no leak.
    static func run(_ label: String, cpuset: Bool = false, _ body: (CgroupTestBed) throws -> Void) throws {
        // Under PODREC_REQUIRE_PRIVILEGED=1 (the VM) this fails instead of skipping.
        try #require(Privilege.isRoot, "privileged cgroup tests need root")
        // Forked grandchildren come back to us when their shell dies, so we can reap them
        // (ARCHITECTURE: test runners that start pods are child subreapers).
        try Sys.setChildSubreaper()
        let before = HostSnapshot.take()
        let driver = try Cgroups.driver(cpuset: cpuset)
        let dir = try makeTemporaryDirectory("podrec-cgtest")
        let bed = CgroupTestBed(driver: driver, parent: TestNames.cgroupParent(label), outputDir: dir)
        defer { bed.cleanUp() }
        try driver.create(bed.parent)
        try body(bed)
        bed.cleanUp()
        #expect(bed.leaks(since: before) == [])
    }

    private var cleaned = false

    func cleanUp() {
        if cleaned { return }
        cleaned = true
        _ = try? driver.kill(parent)
        for child in children {
            if !reaped.contains(child.pid) {
                _ = try? Sys.kill(child.pid, SIGKILL)
                _ = try? wait(child)
            }
            if child.stdinWrite >= 0 { Sys.close(child.stdinWrite) }
        }
        do { try driver.remove(parent) } catch { Issue.record("cleanup: \(error)") }
        for name in (try? Sys.listDirectory(outputDir)) ?? [] { try? Sys.unlink(outputDir + "/" + name) }
        try? Sys.rmdir(outputDir)
    }

    /// What this test left behind. Other suites run in parallel in this process, with fds
    /// and children of their own for a while: their transient ones get up to 5 s to go (as
    /// SpawnLab does), and a process counts only if this test started it. Fds and cgroups
    /// always count.
    func leaks(since before: HostSnapshot) -> [String] {
        var leaks: [String] = []
        for _ in 0..<100 {
            leaks = HostSnapshot.take().leaks(since: before, cgroupNames: [parent])
            if leaks.isEmpty { return [] }
            CgroupTestBed.sleep(milliseconds: 50)
        }
        return leaks.filter { line in
            guard line.hasPrefix("process left: pid ") else { return true }
            let pid = Int32(line.dropFirst("process left: pid ".count).prefix { $0.isNumber }) ?? 0
            return started.contains(pid)
        }
    }

    func outputFile(_ name: String) -> String { outputDir + "/" + name }

    /// `/bin/sh -c script`, stdin from a pipe of ours, stdout and stderr to `output`.
    /// Scripts start with `read _` so they do nothing until moved into their cgroup and
    /// released.
    func spawn(_ script: String, output: String = "/dev/null") throws -> Child {
        var fds: [Int32] = [-1, -1]
        try #require(pipe(&fds) == 0)
        // Our ends must not leak into other processes (pipe2 is not in Swift's Glibc).
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        defer { Sys.close(fds[0]) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let args: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", script].map { (s: String) in strdup(s) }
        let env: [UnsafeMutablePointer<CChar>?] = ["PATH=/usr/bin:/bin", "LC_ALL=C"].map { (s: String) in strdup(s) }
        defer { (args + env).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, nil, args + [nil], env + [nil])
        guard rc == 0 else {
            Sys.close(fds[1])
            throw KernelError("posix_spawn", path: "/bin/sh", argument: script, errno: Errno(rawValue: rc))
        }
        let child = Child(pid: pid, stdinWrite: fds[1])
        children.append(child)
        started.insert(pid)
        return child
    }

    /// One line on the child's stdin: lets `read _` (or python's readline) return.
    func release(_ child: Child) throws {
        try Sys.writeAll(child.stdinWrite, Array("go\n".utf8))
    }

    /// Waits for a direct child and returns its wait status.
    func wait(_ child: Child) throws -> Int32 {
        let status = try Sys.wait(child.pid)
        reaped.insert(child.pid)
        return status
    }

    /// Reaps a process we did not start directly but that is now ours (a forked grandchild
    /// reparented to this subreaper). False if it did not become reapable in time.
    func reapDescendant(_ pid: Int32) -> Bool {
        started.insert(pid)
        let deadline = Self.now() + 5_000_000_000
        while Self.now() < deadline {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return true }
            // ECHILD while its shell is still exiting: not reparented yet.
            if r == -1 && errno != ECHILD { return false }
            Self.sleep(milliseconds: 5)
        }
        return false
    }

    /// Waits until `pid` runs the program named `comm` (its exec is done).
    func waitForExec(_ pid: Int32, comm: String) -> Bool {
        let deadline = Self.now() + 5_000_000_000
        while Self.now() < deadline {
            if let text = try? Sys.readString("/proc/\(pid)/comm"), text.hasPrefix(comm) { return true }
            Self.sleep(milliseconds: 1)
        }
        return false
    }

    /// The processes of `path`, once there are at least `count` (forks take a moment).
    func waitForProcesses(_ path: String, count: Int) throws -> [Int32] {
        let deadline = Self.now() + 5_000_000_000
        var pids: [Int32] = []
        repeat {
            pids = try driver.processes(path)
            started.formUnion(pids)   // only ours live in the test's cgroups
            if pids.count >= count { return pids }
            Self.sleep(milliseconds: 5)
        } while Self.now() < deadline
        return pids
    }

    /// v1 here has no swap, and the VM none either; pin it anyway so an OOM test cannot
    /// pass by swapping instead: v2 `memory.swap.max` 0, v1 memsw equal to the limit.
    func noSwap(_ path: String, limit: Int64) throws {
        for dir in try driver.directories(path) {
            if Sys.exists(dir + "/memory.swap.max") { try Sys.writeString(dir + "/memory.swap.max", "0") }
            if Sys.exists(dir + "/memory.memsw.limit_in_bytes") { try Sys.writeString(dir + "/memory.memsw.limit_in_bytes", String(limit)) }
        }
    }

    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? Sys.readString("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// The terminating signal of a wait status, 0 if it exited.
    static func signal(_ status: Int32) -> Int32 {
        let sig = status & 0x7f
        return sig == 0x7f ? 0 : sig
    }

    /// The exit code of a wait status, -1 if it was killed.
    static func exitCode(_ status: Int32) -> Int32 {
        status & 0x7f == 0 ? (status >> 8) & 0xff : -1
    }

    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    static func sleep(milliseconds: Int) {
        usleep(UInt32(milliseconds * 1000))
    }
}

extension String {
    fileprivate func trimmingSuffixNewlines() -> String {
        var s = self
        while s.hasSuffix("\n") { s.removeLast() }
        return s
    }
}
