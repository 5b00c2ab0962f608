import Cgroups
import Glibc
import Kernel
import KernelTestSupport
import PodModel
import Procfs
import ContainerRuntime
@testable import HostSetup
import Spawn
import Testing

extension Integration {
    /// Whole pods on the real kernel: `PodLauncher` starts the built `podrec-supervisor`,
    /// which runs real containers (busybox from the host's /bin, `image: host`).
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct PodIntegrationTests {
        /// Before each test: their containers are `PodLab.shell`, busybox.
        init() throws { try HostTool.require("/bin/busybox", package: "busybox-static") }

        /// A port nothing on the host listens on (checked), for the pod's web server.
        static let port = 18473

        static func hostCanConnect(port: Int) -> Bool {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(s) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            addr.sin_addr.s_addr = in_addr_t(UInt32(0x7f00_0001).bigEndian)
            return withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0
        }

        /// The seed scenario: a web server and a sidecar in one pod. The sidecar reaches the
        /// server on localhost; it sees the server's processes exactly when the pod shares
        /// its PID namespace; the host cannot reach the port.
        @Test(arguments: [true, false])
        func webServerAndSidecarShareTheNetworkAndMaybeThePIDNamespace(sharePID: Bool) throws {
            let lab = try PodLab("seed")
            defer { lab.finish() }
            try #require(!Self.hostCanConnect(port: Self.port), "something on the host listens on \(Self.port)")
            let layout = lab.layout("seed")
            let plan = lab.plan(layout, grace: 1, sharePID: sharePID, [
                PodLab.shell("web", "mkdir -p /tmp/www && echo hello-from-web > /tmp/www/index.html && exec httpd -f -p \(Self.port) -h /tmp/www"),
                PodLab.shell("sidecar", """
                    until wget -q -O - http://127.0.0.1:\(Self.port)/; do sleep 0.05; done
                    echo "hostname $(hostname)"
                    echo "httpd-visible $(ps -o comm | grep -q '^httpd' && echo yes || echo no)"
                    echo "lo $(cat /sys/class/net/lo/operstate) $(ls /sys/class/net | tr '\\n' ' ')"
                    echo done
                    exec sleep 3600
                    """),
            ])
            let status = try lab.launcher(layout).create(plan, limits: PodCgroupLimits())
            #expect(status.observedGeneration == 1)
            #expect(status.phase == .running)
            #expect(status.containers.map(\.state) == [.running, .running])
            let log = lab.waitForText(layout.logDirectory + "/sidecar/0.log", "done")
            let lines = PodLab.logLines(log)
            #expect(lines.contains("hello-from-web"))
            #expect(lines.contains("hostname seed"))
            // Whether, not how many: busybox httpd forks a child per connection, which may
            // still be there when ps runs right after the sidecar's request.
            #expect(lines.contains("httpd-visible \(sharePID ? "yes" : "no")"), "\(lines)")
            #expect(!Self.hostCanConnect(port: Self.port))
            // Host pids, in the containers' cgroups.
            for c in status.containers {
                let pid = try #require(c.pid)
                let cgroup = try Sys.readString("/proc/\(pid)/cgroup")
                #expect(cgroup.contains("\(lab.cgroupParent)/default_seed_uid-seed/\(c.name)"), "\(cgroup)")
            }
        }

        /// Seconds since midnight UTC of a CRI log line's timestamp (tests run well within a day).
        static func seconds(_ line: Substring) -> Double {
            let stamp = line.split(separator: " ")[0]
            let time = stamp.split(separator: "T")[1].dropLast()
            let hms = time.split(separator: ":")
            return Double(hms[0])! * 3600 + Double(hms[1])! * 60 + Double(hms[2])!
        }

        static func firstStamp(_ path: String) -> Double? {
            guard let text = try? Sys.readString(path), let line = text.split(separator: "\n").first else { return nil }
            return seconds(line)
        }

        /// A memory limit is enforced by the kernel, and the supervisor reports OOMKilled.
        @Test func aContainerOverItsMemoryLimitIsOOMKilled() throws {
            let lab = try PodLab("oom")
            defer { lab.finish() }
            let layout = lab.layout("oom")
            // `tail` keeps a line without a newline in memory: it grows until the limit.
            let plan = lab.plan(layout, [PodLab.shell("hog", "exec tail /dev/zero", restart: .never)])
            let limit = CgroupLimits(memory: .value(32 << 20))
            let launcher = lab.launcher(layout)
            try launcher.create(plan, limits: PodCgroupLimits(pod: limit, containers: ["hog": limit]))
            let status = try launcher.waitForStatus(timeoutMilliseconds: 20_000, what: "hog terminated") {
                $0.container("hog")?.state == .terminated
            }
            let hog = try #require(status.container("hog"))
            #expect(hog.reason == "OOMKilled")
            #expect(hog.termination?.exitCode == 137)
            #expect(hog.termination?.signal == 9)
            #expect(status.phase == .failed)
        }

        /// Restarts back off: the first at once, then the initial delay doubling to the cap,
        /// as each restart's own log file shows (one per restart, each line timestamped).
        /// Only the current and the previous restart's logs are kept, as kubelet keeps them,
        /// so the test reads each while it exists.
        @Test func restartsBackOffAsRecordedInTheirLogs() throws {
            let lab = try PodLab("backoff")
            defer { lab.finish() }
            let layout = lab.layout("backoff")
            var plan = lab.plan(layout, [PodLab.shell("crash", "echo run; exit 3")])
            plan.backoffInitialMilliseconds = 300
            plan.backoffMaxMilliseconds = 1_200
            let launcher = lab.launcher(layout)
            try launcher.create(plan, limits: PodCgroupLimits())
            var starts: [Int: Double] = [:]
            let dir = layout.logDirectory + "/crash"
            let deadline = MonotonicClock.now() + 20_000_000_000
            while starts.count < 7 && MonotonicClock.now() < deadline {
                for restart in 0...6 where starts[restart] == nil {
                    if let stamp = Self.firstStamp(dir + "/\(restart).log") { starts[restart] = stamp }
                }
                MonotonicClock.sleep(nanoseconds: 10_000_000)
            }
            try #require(starts.count == 7, "\(starts)")
            let times = (0...6).map { starts[$0]! }
            let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
            // Expected delays 0, 0.3, 0.6, 1.2, 1.2, 1.2 s; a run itself takes a few ms.
            let expected = [0, 0.3, 0.6, 1.2, 1.2, 1.2]
            for (gap, want) in zip(gaps, expected) {
                #expect(gap >= want - 0.01 && gap < want + 0.25, "gaps \(gaps)")
            }
            let status = try #require(try launcher.status())
            #expect(status.container("crash")?.lastTermination?.exitCode == 3)
            // Older restarts' logs are gone: at most the current and the previous remain.
            _ = lab.waitForText(dir + "/7.log", "run")
            let kept = try Sys.listDirectory(dir).sorted()
            #expect(kept.count <= 2 && !kept.contains("0.log") && !kept.contains("5.log"), "\(kept)")
        }

        /// Sidecars start in order before the main container and stop after it, in reverse
        /// order, as the timestamps of their log lines show.
        @Test func sidecarsStartInOrderAndStopInReverseAfterTheMainContainer() throws {
            let lab = try PodLab("sidecars")
            defer { lab.finish() }
            let layout = lab.layout("sidecars")
            func sidecar(_ name: String) -> ContainerLaunch {
                PodLab.shell(name, "trap 'echo stop-\(name); exit 0' TERM; echo start-\(name); while true; do sleep 0.05; done", kind: .sidecar)
            }
            let plan = lab.plan(layout, grace: 5, [sidecar("s1"), sidecar("s2"),
                                                   PodLab.shell("main", "sleep 0.3; echo main-done", restart: .never)])
            let launcher = lab.launcher(layout)
            try launcher.create(plan, limits: PodCgroupLimits())
            let status = try launcher.waitForStatus(timeoutMilliseconds: 20_000, what: "pod succeeded") {
                $0.phase == .succeeded && $0.containers.allSatisfy { $0.state == .terminated }
            }
            #expect(status.containers.map(\.name) == ["s1", "s2", "main"])
            var events: [(Double, String)] = []
            for name in ["s1", "s2", "main"] {
                let text = try Sys.readString(layout.logDirectory + "/\(name)/0.log")
                for line in text.split(separator: "\n") { events.append((Self.seconds(line), PodLab.logLines(String(line))[0])) }
            }
            let order = events.sorted { $0.0 < $1.0 }.map(\.1)
            #expect(order == ["start-s1", "start-s2", "main-done", "stop-s2", "stop-s1"])
        }

        /// A missing executable is a start error in the status, with the errno.
        @Test func aMissingExecutableIsAStartError() throws {
            let lab = try PodLab("starterr")
            defer { lab.finish() }
            let layout = lab.layout("starterr")
            var c = PodLab.shell("nope", "", restart: .never)
            c.executable = "/no/such/program"
            c.arguments = ["program"]
            let status = try lab.launcher(layout).create(lab.plan(layout, [c]), limits: PodCgroupLimits())
            let nope = try #require(status.container("nope"))
            #expect(nope.state == .terminated)
            #expect(nope.reason == "StartError")
            #expect(nope.termination?.exitCode == 128)
            #expect(nope.message?.contains("ENOENT") == true, "\(nope.message ?? "")")
            #expect(status.phase == .failed)
        }

        /// A new generation restarts exactly the container whose spec hash changed, starts an
        /// added one and stops a removed one; the pod's namespaces stay.
        @Test func aNewPlanRestartsOnlyTheChangedContainer() throws {
            let lab = try PodLab("update")
            defer { lab.finish() }
            let layout = lab.layout("update")
            let launcher = lab.launcher(layout)
            let sleeper = { (name: String) in PodLab.shell(name, "exec sleep 3600") }
            let first = try launcher.create(lab.plan(layout, grace: 1, sharePID: true, [sleeper("a"), sleeper("b"), sleeper("c")]),
                                            limits: PodCgroupLimits())
            var b = sleeper("b")
            b.specHash = "changed"
            let second = try launcher.update(lab.plan(layout, generation: 2, grace: 1, sharePID: true, [sleeper("a"), b, sleeper("d")]),
                                             limits: PodCgroupLimits())
            #expect(second.observedGeneration == 2)
            let settled = try launcher.waitForStatus(timeoutMilliseconds: 10_000, what: "b restarted") {
                $0.container("b")?.specHash == "changed" && $0.container("b")?.state == .running && $0.container("c") == nil
            }
            #expect(settled.container("a")?.pid == first.container("a")?.pid)
            #expect(settled.container("a")?.restartCount == 0)
            #expect(settled.container("b")?.pid != first.container("b")?.pid)
            #expect(settled.container("b")?.restartCount == 1)
            #expect(settled.container("d")?.state == .running)
            #expect(settled.containers.map(\.name) == ["a", "b", "d"])
            let net = { (pid: Int32?) in try? Sys.readlink("/proc/\(pid ?? 0)/ns/net") }
            #expect(net(settled.container("d")?.pid) == net(first.container("a")?.pid))
        }

        /// Killing the supervisor of a shared-PID pod kills the pod: it was the namespace's
        /// PID 1. Stopping it afterwards leaves nothing behind (the lab checks).
        @Test func killingTheSupervisorOfASharedPIDPodTearsItDown() throws {
            let lab = try PodLab("killsup")
            defer { lab.finish() }
            let layout = lab.layout("killsup")
            let launcher = lab.launcher(layout)
            let status = try launcher.create(lab.plan(layout, sharePID: true, [PodLab.shell("a", "exec sleep 3600"),
                                                                             PodLab.shell("b", "sleep 3600 & wait")]),
                                             limits: PodCgroupLimits())
            let pids = status.containers.compactMap(\.pid)
            try #require(pids.count == 2)
            let sup = try #require(try launcher.supervisor())
            try Sys.kill(sup.pid, SIGKILL)
            let deadline = MonotonicClock.now() + 20_000_000_000
            while MonotonicClock.now() < deadline, try pids.contains(where: { Sys.exists("/proc/\($0)") }) || launcher.supervisor() != nil {
                _ = Sys.reapAll()
                MonotonicClock.sleep(nanoseconds: 5_000_000)
            }
            #expect(!pids.contains(where: { Sys.exists("/proc/\($0)") }))
            #expect(try launcher.supervisor() == nil)
            #expect(try launcher.driver.processes(launcher.podCgroup).isEmpty)
        }
    
        /// The supervisor started with `--gate` starts nothing until the launcher says "go":
        /// a gate closed without it (the launcher failed or died) ends the supervisor, with
        /// no container started and no status written.
        @Test func aGateClosedWithoutGoStartsNothing() throws {
            let lab = try PodLab("gate")
            defer { lab.finish() }
            let layout = lab.layout("gate")
            let plan = lab.plan(layout, [PodLab.shell("c", "echo started > /dev/null; exec sleep 3600")])
            try Sys.mkdirs(layout.state.path, mode: 0o700)
            try Sys.writeFileAtomically(layout.state.path(.plan), Array(plan.encoded().utf8))
            let spawnLab = try SpawnLab()
            defer { spawnLab.finish() }
            var request = SpawnRequest([PodLab.supervisorExecutable, layout.state.path, "--gate"])
            request.unshare = [.network, .uts, .ipc]
            request.stdin = try spawnLab.open("/dev/null", O_RDONLY)
            let run = try spawnLab.run(request)
            #expect(run.status == .exited(1))
            #expect(run.output.contains("closed the gate"), "\(run.output)")
            #expect(!Sys.exists(layout.state.path(.status)))
            #expect(!Sys.exists(layout.logDirectory + "/c"))
        }
    
        /// The supervisor outlives the command that started it: a shell starts it in the
        /// background and exits at once; the pod keeps running and keeps its restart policy
        /// (a container killed by hand comes back).
        @Test func thePodOutlivesTheCommandThatStartedIt() throws {
            let lab = try PodLab("outlive")
            defer { lab.finish() }
            let spawnLab = try SpawnLab()
            defer { spawnLab.finish() }
            let layout = lab.layout("outlive")
            let launcher = lab.launcher(layout)
            // Stopped before the spawn lab's leak check, which would wait for the supervisor
            // (a process of ours by now).
            defer { try? launcher.stop(graceMilliseconds: 0) }
            let plan = lab.plan(layout, grace: 0, [PodLab.shell("c", "echo run; exec sleep 3600")])
            try Sys.mkdirs(layout.state.path, mode: 0o700)
            try Sys.mkdirs(layout.logDirectory, mode: 0o700)
            try launcher.createPodCgroups(limits: PodCgroupLimits())
            try launcher.createContainerCgroups(plan, limits: PodCgroupLimits())
            try Sys.writeFileAtomically(layout.state.path(.plan), Array(plan.encoded().utf8))
            // The "command": a shell that starts the supervisor and exits without waiting.
            var request = SpawnRequest(["/bin/sh", "-c", "\"$0\" \"$1\" </dev/null >/dev/null 2>&1 & echo $!",
                                        PodLab.supervisorExecutable, layout.state.path])
            request.unshare = [.network, .uts, .ipc]
            request.hostname = "outlive"
            let run = try spawnLab.run(request)
            #expect(run.status == .exited(0))
            let supervisorPID = try #require(Int32(run.output.split(separator: "\n").first ?? ""))
            // As the launcher records it, so that the lab's stop finds it.
            let started = try #require(try ProcfsReader().stat(of: supervisorPID)).startTime
            try Sys.writeFileAtomically(layout.state.path(.supervisor), Array("\(supervisorPID) \(started.rawValue)\n".utf8))
            let first = try launcher.waitForStatus(timeoutMilliseconds: 10_000, what: "c running") { $0.container("c")?.state == .running }
            #expect(first.supervisorPID == supervisorPID)
            // Its parent is gone; it is ours now only because the test runner is a subreaper.
            let stat = try Sys.readString("/proc/\(supervisorPID)/stat")
            let ppid = stat.split(separator: ")").last?.split(separator: " ").dropFirst(1).first.flatMap { Int32($0) }
            #expect(ppid == getpid())
            let pid = try #require(first.container("c")?.pid)
            try Sys.kill(pid, SIGKILL)
            let again = try launcher.waitForStatus(timeoutMilliseconds: 10_000, what: "c restarted") {
                $0.container("c")?.restartCount == 1 && $0.container("c")?.state == .running
            }
            #expect(again.container("c")?.lastTermination?.signal == 9)
            #expect(again.container("c")?.pid != pid)
        }
    }
}
