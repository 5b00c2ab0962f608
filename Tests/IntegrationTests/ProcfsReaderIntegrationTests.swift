import Glibc
import Kernel
import KernelTestSupport
import Procfs
import Testing

extension Integration {
    /// The procfs reader on the real kernel: a real cgroup (v1 `pids` here, the v2 hierarchy
    /// in ../shared/tools/cgroup2-vm) holding a shell and its 1000 sleeping children.
    ///
    /// Cgroups are made by hand with `Sys.mkdir` and `cgroup.procs`, so this tests the reader
    /// alone, not the Cgroups target.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct ProcfsReaderIntegrationTests {
        static let sleeperCount = 1000

        @Test func readsAThousandProcessesOfACgroup() throws {
            // Orphaned sleeps must come back to us to be reaped, not to the host's PID 1.
            try Sys.setChildSubreaper()
            let before = HostSnapshot.take()
            let reader = ProcfsReader()
            let name = TestNames.cgroupParent("procfs")
            let v2 = Sys.exists("/sys/fs/cgroup/cgroup.controllers")
            let dir = v2 ? "/sys/fs/cgroup/\(name)" : "/sys/fs/cgroup/pids/\(name)"
            try Sys.mkdir(dir, mode: 0o755)
            var shell: Int32?
            defer { cleanUp(shell: shell, dir: dir) }

            let me = try #require(try reader.namespaces(of: getpid()))
            let t0 = ticks(try reader.uptime())
            // The shell moves itself into the cgroup before forking, so every sleep is born there.
            let script = "echo $$ > \(dir)/cgroup.procs || exit 1; i=0; while [ $i -lt \(Self.sleeperCount) ]; do /bin/sleep 600 & i=$((i+1)); done; wait"
            shell = try spawn(["/bin/sh", "-c", script])
            let shellPid = try #require(shell)

            // Every sleep forked and exec'd: 1000 named sleep, plus the shell.
            var facts: [ProcessFacts] = []
            let deadline = ContinuousClock.now + .seconds(180)
            while ContinuousClock.now < deadline {
                facts = try reader.processes(inCgroupTrees: [dir])
                if facts.filter({ $0.stat.comm == "sleep" }).count == Self.sleeperCount && facts.count == Self.sleeperCount + 1 { break }
                usleep(50_000)
            }
            let t1 = ticks(try reader.uptime())
            #expect(facts.count == Self.sleeperCount + 1)
            let sleeps = facts.filter { $0.pid != shellPid }
            #expect(sleeps.count == Self.sleeperCount)
            let shellFacts = try #require(facts.first { $0.pid == shellPid })
            #expect(shellFacts.stat.comm == "sh")
            #expect(shellFacts.stat.ppid == getpid())

            for f in facts {
                // Start times fall between the uptime read before spawning and the one after.
                #expect(f.stat.startTime.rawValue + 1 >= t0 && f.stat.startTime.rawValue <= t1 + 1,
                        "pid \(f.pid) started at \(f.stat.startTime.rawValue), outside [\(t0), \(t1)]")
                #expect(f.stat.startTime >= shellFacts.stat.startTime)
                // Same namespaces as the test runner, every one of them read.
                #expect(f.namespaces == me, "pid \(f.pid)")
                #expect(NamespaceKind.allCases.allSatisfy { f.namespaces[$0] != nil })
                #expect(f.cgroupDirectories == [dir])
                #expect(f.status.namespacePids == [f.pid])
                #expect(f.status.tgid == f.pid)
                #expect(f.status.uids == IDs(0))
                if v2 {
                    #expect(f.cgroups.unifiedPath == "/\(name)")
                } else {
                    #expect(f.cgroups.path(controller: "pids") == "/\(name)")
                }
                // The identity read in bulk is the one the liveness rule checks.
                #expect(try reader.isAlive(f.identity))
            }
            for s in sleeps {
                #expect(s.stat.comm == "sleep" && s.stat.ppid == shellPid && s.state == .sleeping)
            }

            // The measurement: the whole read, listing included, ten times. Under emulation
            // (the cgroup2 VM runs on TCG here, some 30x slower) three, with a looser bound:
            // the figure that matters is the host's.
            let emulated = ((try? Sys.readString("/proc/cpuinfo")) ?? "").contains("QEMU TCG")
            let reads = emulated ? 3 : 10
            let bound: Duration = emulated ? .seconds(60) : .seconds(5)
            var samples: [Duration] = []
            var count = 0
            for _ in 0..<reads {
                let start = ContinuousClock.now
                count = try reader.processes(inCgroupTrees: [dir]).count
                samples.append(ContinuousClock.now - start)
            }
            samples.sort()
            let median = medianOf(samples)
            let perProcess = median / count
            print("""
                procfs reader (\(v2 ? "cgroup v2" : "cgroup v1 pids")\(emulated ? ", emulated CPU" : "")): \(count) processes, median \(ms(median)) ms \
                over \(samples.count) reads (min \(ms(samples[0])), max \(ms(samples[samples.count - 1]))), \
                \(us(perProcess)) µs per process
                """)
            #expect(count == Self.sleeperCount + 1)
            #expect(median < bound, "a generous bound, not a benchmark")

            // The same with only the namespaces a pod shares (net, ipc, uts, pid).
            var shared: [Duration] = []
            for _ in 0..<reads {
                let start = ContinuousClock.now
                _ = try reader.processes(inCgroupTrees: [dir], namespaces: [.net, .ipc, .uts, .pid])
                shared.append(ContinuousClock.now - start)
            }
            let sharedMedian = medianOf(shared)
            print("procfs reader, 4 namespace links instead of 8: median \(ms(sharedMedian)) ms, \(us(sharedMedian / count)) µs per process")
            // Listing alone: the cgroup.procs read and the directory walk.
            let listStart = ContinuousClock.now
            let listed = try reader.pids(inCgroupTrees: [dir])
            print("procfs reader, listing \(listed.count) pids alone: \(ms(ContinuousClock.now - listStart)) ms")

            // Kill exactly our processes: the shell first (reaped here), which hands its
            // sleeps to us, the subreaper; then each sleep.
            try Sys.kill(shellPid, SIGKILL)
            _ = try Sys.wait(shellPid)
            shell = nil
            #expect(try !reader.isAlive(shellFacts.identity))
            for s in sleeps { try Sys.kill(s.pid, SIGKILL) }
            // Killed but not reaped: the reader copes with processes dying under it (no error),
            // and lists none but ours. Exiting ones still show R or D for a moment.
            let dying = try reader.processes(inCgroupTrees: [dir])
            #expect(Set(dying.map(\.pid)).isSubset(of: Set(sleeps.map(\.pid))))
            for s in sleeps {
                let status = try Sys.wait(s.pid)
                #expect(status & 0x7f == SIGKILL, "pid \(s.pid) wait status \(status)")
            }
            for s in sleeps.prefix(10) { #expect(try !reader.isAlive(s.identity)) }
            #expect(try reader.processes(inCgroupTrees: [dir]) == [])
            var states: [Character: Int] = [:]
            for d in dying { states[d.state.letter, default: 0] += 1 }
            print("procfs reader: \(dying.count) of \(sleeps.count) SIGKILLed, unreaped sleeps still listed in cgroup.procs, by state: \(states.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")

            try removeCgroup(dir)
            #expect(settledLeaks(since: before, cgroupNames: [name]) == [])
        }

        /// The liveness rule against real processes: a live one, a zombie, a reaped one, and a
        /// recorded start time that does not match.
        @Test func livenessOfRealProcesses() throws {
            try Sys.setChildSubreaper()
            let before = HostSnapshot.take()
            let reader = ProcfsReader()

            let sleeper = try spawn(["/bin/sleep", "600"])
            let exiter = try spawn(["/bin/sh", "-c", "exit 0"])
            var reaped: Set<Int32> = []
            defer {
                for pid in [sleeper, exiter] where !reaped.contains(pid) {
                    try? Sys.kill(pid, SIGKILL)
                    _ = try? Sys.wait(pid)
                }
            }

            let live = try #require(try reader.stat(of: sleeper)).identity
            #expect(try reader.isAlive(live))
            #expect(try isAlive(live, roots: .host))
            #expect(try !reader.isAlive(ProcessIdentity(pid: sleeper, startTime: ClockTicks(live.startTime.rawValue + 1))))
            #expect(try !reader.isAlive(ProcessIdentity(pid: sleeper, startTime: ClockTicks(live.startTime.rawValue - 1))))

            // Not reaped: a zombie, whose start time still matches.
            var zombie: ProcessStat?
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                zombie = try reader.stat(of: exiter)
                if zombie?.state == .zombie { break }
                usleep(10_000)
            }
            let z = try #require(zombie)
            #expect(z.state == .zombie)
            #expect(try !reader.isAlive(z.identity))
            let zf = try #require(try reader.facts(of: exiter))
            #expect(zf.state == .zombie)
            #expect(zf.namespaces.net == nil && zf.namespaces.mnt == nil)
            #expect(zf.namespaces.pid != nil && zf.namespaces.user != nil)
            #expect(try reader.cmdline(of: exiter) == [])
            #expect(try reader.cwd(of: exiter) == nil)

            // Reaped: gone.
            _ = try Sys.wait(exiter)
            reaped.insert(exiter)
            #expect(try !reader.isAlive(z.identity))
            #expect(try reader.stat(of: exiter) == nil)
            #expect(try reader.facts(of: exiter) == nil)

            // Killed and reaped.
            #expect(try reader.cmdline(of: sleeper) == ["/bin/sleep", "600"])
            #expect(try reader.cwd(of: sleeper) == (try Sys.readlink("/proc/self/cwd")))
            try Sys.kill(sleeper, SIGKILL)
            _ = try Sys.wait(sleeper)
            reaped.insert(sleeper)
            #expect(try !reader.isAlive(live))

            #expect(settledLeaks(since: before) == [])
        }

        /// The facts of the test runner itself match what the kernel says elsewhere.
        @Test func readsItself() throws {
            let reader = ProcfsReader()
            let me = try #require(try reader.facts(of: getpid()))
            #expect(me.status.uids == IDs(real: getuid(), effective: geteuid(), saved: geteuid(), filesystem: geteuid()))
            #expect(me.stat.ppid == getppid())
            #expect(me.status.threads == me.stat.threadCount || me.status.threads > 0)
            #expect(me.namespaces.net == (try Sys.stat("/proc/self/ns/net").inode))
            #expect(me.namespaces.mnt == (try Sys.stat("/proc/self/ns/mnt").inode))
            let mounts = try #require(try reader.mountinfo(of: getpid()))
            #expect(mounts.contains { $0.mountPoint == "/proc" && $0.filesystemType == "proc" })
            #expect(mounts.contains { $0.mountPoint.hasPrefix("/sys/fs/cgroup") })
            let boot = try reader.bootTime()
            #expect(boot > 1_500_000_000 && boot <= Int64(time(nil)))
            #expect(try reader.uptime() > me.stat.startTime.duration() - .seconds(1))
        }
    }
}

// MARK: Helpers

/// posix_spawn with stdio on /dev/null, every other fd closed, default signal handling.
private func spawn(_ argv: [String]) throws -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    // posix_spawn_file_actions_addclosefrom_np is not in Swift's Glibc; closing an fd
    // that is no longer open is not an error for posix_spawn.
    for fd in ((try? Sys.listDirectory("/proc/self/fd")) ?? []).compactMap({ Int32($0) }) where fd > 2 {
        posix_spawn_file_actions_addclose(&actions, fd)
    }
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var none = sigset_t()
    sigemptyset(&none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attr, &none)
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    let args = argv.map { strdup($0) } + [nil]
    let env = [strdup("PATH=/usr/bin:/bin"), nil]
    defer {
        args.forEach { free($0) }
        env.forEach { free($0) }
    }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, &attr, args, env)
    guard rc == 0 else { throw KernelError("posix_spawn", path: argv[0], errno: .init(rawValue: rc)) }
    return pid
}

/// Best effort on the way out, whatever failed: kill the shell and whatever is left in
/// the cgroup (ours alone: its name is unique), reap, remove the cgroup.
private func cleanUp(shell: Int32?, dir: String) {
    if let shell {
        try? Sys.kill(shell, SIGKILL)
        _ = try? Sys.wait(shell)
    }
    for _ in 0..<100 {
        let left = ((try? Sys.readString(dir + "/cgroup.procs")) ?? "").split(separator: "\n").compactMap { Int32($0) }
        if left.isEmpty { break }
        for pid in left { try? Sys.kill(pid, SIGKILL) }
        for pid in left { _ = try? Sys.wait(pid) }
    }
    if Sys.exists(dir) { try? removeCgroup(dir) }
}

/// rmdir, retrying EBUSY briefly: the cgroup may still count processes that just exited.
private func removeCgroup(_ dir: String) throws {
    // (A `catch where` on the typed error crashes the 6.3.1 compiler: "Found ownership error".)
    var attempt = 0
    while true {
        do {
            try Sys.rmdir(dir)
            return
        } catch {
            attempt += 1
            if error.errno.rawValue != EBUSY || attempt == 200 { throw error }
            usleep(10_000)
        }
    }
}

/// The leak check, retried for up to a second until it comes back empty. Other suites run
/// in parallel in this process, and their short-lived fds show as "fd left" in a single
/// snapshot; a real leak stays.
///
/// "fd left: N -> ?" is dropped: the fd was closed before it could be read, so it did not
/// leak. It is typically the snapshot's own `/proc/self/fd` listing fd, which gets another
/// number than in `before` when a parallel test held the lower one at that moment.
private func settledLeaks(since before: HostSnapshot, cgroupNames: [String] = []) -> [String] {
    var leaks: [String] = []
    for _ in 0..<20 {
        leaks = HostSnapshot.take().leaks(since: before, cgroupNames: cgroupNames)
            .filter { !($0.hasPrefix("fd left: ") && $0.hasSuffix(" -> ?")) }
        if leaks.isEmpty { return [] }
        usleep(50_000)
    }
    return leaks
}

private func medianOf(_ samples: [Duration]) -> Duration {
    let s = samples.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

private func ticks(_ d: Duration) -> UInt64 {
    let c = d.components
    return UInt64(c.seconds) * UInt64(ClockTicks.perSecond) + UInt64(c.attoseconds / (1_000_000_000_000_000_000 / Int64(ClockTicks.perSecond)))
}

private func ms(_ d: Duration) -> String { fixed(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15) }
private func us(_ d: Duration) -> String { fixed(Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12) }

/// Two decimals, without Foundation's String(format:).
private func fixed(_ v: Double) -> String {
    let hundredths = Int((v * 100).rounded())
    let frac = hundredths % 100
    return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
}
