import Cgroups
import Foundation
import Glibc
import Kernel
import KernelTestSupport
import Spawn
import Testing
import PodModel

extension Integration {
    /// The built `podrec` binary against real pods: apply, diff, get, delete, on the
    /// examples and on pods edited between passes. Each test has its own roots and cgroup
    /// parent (through PODREC_* variables) and deletes every pod it made.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct CLIPodTests {
        struct Run {
            var status: Int32
            var output: String
        }

        /// One test's podrec: its roots in the lab's temp dir.
        struct CLI {
            let lab: PodLab

            /// A lab and its podrec, as most tests begin: `let (lab, podrec) = try CLI.lab("name")`,
            /// then `defer { podrec.finish() }`.
            static func lab(_ label: String) throws -> (PodLab, CLI) {
                let lab = try PodLab(label)
                return (lab, CLI(lab: lab))
            }

            /// Deletes every pod made with the lab's roots, then checks the lab for leaks
            /// (`PodLab.finish`).
            func finish(sourceLocation: SourceLocation = #_sourceLocation) {
                _ = try? self("delete", "--all", "--grace-period", "0")
                lab.finish(sourceLocation: sourceLocation)
            }
            /// Set by `NetworkLab` only: the node namespace (a pin) that podrec runs in, and
            /// the pod network's variables that replace `PODREC_POD_NETWORK=none`.
            var netns: String? = nil
            var network: [String] = []
            /// `NAME=value` entries that replace (or add to) the ones below: the image pull
            /// tests' store on tmpfs and their registry settings.
            var extraEnvironment: [String] = []

            var binary: String { parentDirectory(PodLab.supervisorExecutable) + "/podrec" }
            var environment: [String] {
                let base = ["PODREC_ROOT=\(lab.tmp)/run", "PODREC_DATA_ROOT=\(lab.tmp)/data", "PODREC_LOG_DIR=\(lab.tmp)/log",
                 "PODREC_CGROUP_ROOT=\(lab.cgroupParent)", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "NO_COLOR=1"]
                    // These pods have only lo: a pod network would put a bridge and iptables rules
                    // in the host's network namespace. The network's own tests run podrec in
                    // namespaces they made (NetworkLab), and only then turn it on.
                    + (netns != nil && !network.isEmpty ? network : ["PODREC_POD_NETWORK=none"])
                let replaced = Set(extraEnvironment.map { $0.prefix { $0 != "=" } })
                return base.filter { !replaced.contains($0.prefix { $0 != "=" }) } + extraEnvironment
            }

            /// `argv` as `run` spawns it: in `netns` when there is one (setns before exec, so
            /// the pid is podrec's own, for a test that kills it).
            func request(_ argv: [String]) throws -> (SpawnRequest, Int32?) {
                var request = SpawnRequest(argv, environment: environment)
                guard let netns else { return (request, nil) }
                let fd = try Sys.openForReading(netns)
                request.joinNamespaces = [NamespaceJoin(.network, fd: fd, path: netns)]
                return (request, fd)
            }

            /// Runs podrec to the end, stdout and stderr together.
            @discardableResult
            func callAsFunction(_ arguments: String...) throws -> Run {
                try run([binary] + arguments)
            }

            /// Runs `argv` (podrec, or a wrapper of it) with this test's environment.
            func run(_ argv: [String]) throws -> Run {
                let (request, netnsFD) = try request(argv)
                defer { if let netnsFD { close(netnsFD) } }
                let (status, output) = try runToEnd(request)
                return Run(status: status, output: output)
            }

            func write(_ name: String, _ text: String) throws -> String {
                let path = lab.tmp + "/" + name
                try Sys.writeFileAtomically(path, Array(text.utf8), mode: 0o644)
                return path
            }

            /// `podrec get`'s rows below its header, each split into its columns (NAME READY
            /// STATUS RESTARTS AGE).
            func getRows() throws -> [[String]] {
                try self("get").output.split(separator: "\n").dropFirst().map { $0.split(separator: " ").map(String.init) }
            }

            /// `pod`'s row of `podrec get`, if it is listed.
            func getRow(_ pod: String) throws -> [String]? {
                try getRows().first { $0.first == pod }
            }

            /// One field of a container's block in the pod's status file.
            func status(_ pod: String, _ container: String, _ key: String) throws -> String? {
                let text = try Sys.readString("\(lab.tmp)/run/pods/default_\(pod)/status")
                var inContainer = false
                for line in text.split(separator: "\n") {
                    if line == "container \(container)" { inContainer = true } else if line.hasPrefix("container ") { inContainer = false }
                    if inContainer, line.hasPrefix(key + " ") { return String(line.dropFirst(key.count + 1)) }
                }
                return nil
            }

            /// A container's host pid from the pod's status file.
            func pid(_ pod: String, _ container: String) throws -> Int32? {
                try status(pod, container, "pid").flatMap { Int32($0) }
            }

            /// The pod's supervisor (host pid), as the launcher recorded it.
            func supervisorPID(_ pod: String) throws -> Int32? {
                Int32(try Sys.readString("\(lab.tmp)/run/pods/default_\(pod)/supervisor").split(separator: " ").first ?? "")
            }
        }

        static let repository = parentDirectory(parentDirectory(parentDirectory(#filePath)))

        static func pod(_ name: String, memory: String = "32Mi", command: String = "exec sleep 3600", extra: String = "") -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name)}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: app
                image: host
                command: [sh, -c, '\(command)']
                resources: {limits: {memory: \(memory), cpu: 200m}}
              - name: side
                image: host
                command: [sh, -c, 'exec sleep 3600']
            \(extra)
            """
        }

        /// One container, `app`, running `command`; `extra` goes into the spec above the
        /// containers, `container` into the container (and may go on at the spec's level).
        static func singlePod(_ name: String, _ command: String = "exec sleep 3600", extra: String = "", container: String = "") -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name)}
            spec:
              terminationGracePeriodSeconds: 1
            \(extra)
              containers:
              - name: app
                image: host
                command: [sh, -c, '\(command)']
            \(container)
            """
        }

        @Test func theExamplesApplyAndThenDiffIsClean() throws {
            // manifests/web-sidecar.yaml runs /usr/bin/python3 -m http.server.
            try HostTool.require("/usr/bin/python3", package: "python3")
            let (_, podrec) = try CLI.lab("cli-examples")
            defer { podrec.finish() }
            let apply = try podrec("apply", "-f", Self.repository + "/manifests")
            #expect(apply.status == 0, "\(apply.output)")
            let diff = try podrec("diff", "-f", Self.repository + "/manifests")
            #expect(diff.status == 0, "\(diff.output)")
            #expect(diff.output.isEmpty)
            let again = try podrec("apply", "-f", Self.repository + "/manifests")
            #expect(again.output == "no changes\n", "a second apply does nothing")
            let get = try podrec("get")
            #expect(get.output.hasPrefix("NAME"), "\(get.output)")
            #expect(get.output.split(separator: "\n").count == 6)
            let json = try podrec("get", "-o", "json")
            let items = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]]
            #expect(items?.count == 5 && items?.allSatisfy { $0["status"] as? String == "Running" } == true, "\(json.output)")
            // Only lo here (PODREC_POD_NETWORK=none): no pod IP, and an empty list of them.
            #expect(items?.allSatisfy { $0["podIP"] as? String == "" && ($0["podIPs"] as? [Any])?.isEmpty == true } == true)
            let yaml = try podrec("get", "-o", "yaml")
            #expect(yaml.output.components(separatedBy: "- namespace: \"default\"").count == 6, "\(yaml.output)")
            let delete = try podrec("delete", "--all", "--grace-period", "0")
            #expect(delete.status == 0)
            #expect(try podrec("get").output == "No resources found\n")
        }

        /// A memory limit edited in the manifest: diff shows it in place, apply writes the
        /// cgroup, the container keeps its pid. Then a limit written by hand is drift that
        /// diff shows and apply repairs.
        @Test func aLimitChangesInPlaceAndDriftIsRepaired() throws {
            let (lab, podrec) = try CLI.lab("cli-resize")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", Self.pod("resize"))
            #expect(try podrec("apply", "-f", file).status == 0)
            let pid = try podrec.pid("resize", "app")
            _ = try podrec.write("pod.yaml", Self.pod("resize", memory: "64Mi"))
            let diff = try podrec("diff", "-f", file)
            #expect(diff.status == 1)
            #expect(diff.output.contains("~ pod default/resize container app: memory 32Mi → 64Mi (in place)"), "\(diff.output)")
            #expect(try podrec("apply", "-f", file).status == 0)
            let memoryFile = try Self.memoryFile(lab, pod: "resize", container: "app")
            #expect(try Sys.readString(memoryFile) == "67108864\n")
            #expect(try podrec.pid("resize", "app") == pid, "resized in place: the same process")
            #expect(try podrec("diff", "-f", file).status == 0)

            // Drift: a limit written by hand.
            try Sys.writeString(memoryFile, String(96 << 20))
            let drift = try podrec("diff", "-f", file)
            #expect(drift.status == 1)
            #expect(drift.output.contains("memory 96Mi → 64Mi (in place)"), "\(drift.output)")
            #expect(try podrec("apply", "-f", file).status == 0)
            #expect(try Sys.readString(memoryFile) == "67108864\n")
        }

        static func memoryFile(_ lab: PodLab, pod: String, container: String) throws -> String {
            let parentDirs = try lab.driver.directories(lab.cgroupParent)
            let memoryParent = try #require(parentDirs.first { $0.contains("/memory/") } ?? parentDirs.first)
            let podDir = try #require(try Sys.listDirectory(memoryParent).first { $0.hasPrefix("default_\(pod)_") })
            let file = lab.driver.setup.mode == .unified ? "memory.max" : "memory.limit_in_bytes"
            return "\(memoryParent)/\(podDir)/\(container)/\(file)"
        }

        /// A changed command restarts that container only.
        @Test func aChangedCommandRestartsOnlyThatContainer() throws {
            let (lab, podrec) = try CLI.lab("cli-command")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", Self.pod("cmd"))
            #expect(try podrec("apply", "-f", file).status == 0)
            let app = try podrec.pid("cmd", "app"), side = try podrec.pid("cmd", "side")
            _ = try podrec.write("pod.yaml", Self.pod("cmd", command: "echo changed; exec sleep 3600"))
            let diff = try podrec("diff", "-f", file)
            #expect(diff.output.contains("~ app restart"), "\(diff.output)")
            #expect(diff.output.contains("\n    ~ container app: restart\n        ~ command: sh -c 'exec sleep 3600' → sh -c 'echo changed; exec sleep 3600'\n"), "\(diff.output)")
            #expect(!diff.output.contains("container side"), "\(diff.output)")
            #expect(try podrec("apply", "-f", file).status == 0)
            // apply returns once the supervisor has the plan; the old process then has its
            // grace period (1 s; `sleep` as PID 1 ignores SIGTERM) before the new one starts.
            try CLIWatchTests.waitFor("app restarted") {
                let now = try podrec.pid("cmd", "app")
                return now != nil && now != app
            }
            #expect(try podrec.pid("cmd", "side") == side)
            let log = lab.waitForText("\(lab.tmp)/log/pods/" + (try Sys.listDirectory("\(lab.tmp)/log/pods").first ?? "") + "/app/1.log", "changed")
            #expect(log.contains("stdout F changed"))
        }

        /// A supervisor killed by hand: diff shows the pod broken, apply recreates it; the
        /// old containers are gone.
        @Test func aKilledSupervisorIsRecreated() throws {
            let (_, podrec) = try CLI.lab("cli-dead")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", Self.pod("dead"))
            #expect(try podrec("apply", "-f", file).status == 0)
            let old = try #require(try podrec.pid("dead", "app"))
            let supervisor = try #require(try podrec.supervisorPID("dead"))
            try Sys.kill(supervisor, SIGKILL)
            try CLIWatchTests.waitFor("the supervisor gone") {
                _ = Sys.reapAll()
                return !Sys.exists("/proc/\(supervisor)")
            }
            let diff = try podrec("diff", "-f", file)
            #expect(diff.status == 1)
            #expect(diff.output.contains("its supervisor is dead"), "\(diff.output)")
            #expect(try podrec("apply", "-f", file).status == 0)
            #expect(!Sys.exists("/proc/\(old)") || (try? Sys.readString("/proc/\(old)/stat"))?.contains(" Z ") == true)
            #expect(try podrec("diff", "-f", file).status == 0)
        }

        /// apply --prune deletes the pods of earlier applies that the input lost; a bad
        /// manifest changes nothing and says where.
        @Test func pruneAndABadManifest() throws {
            let (_, podrec) = try CLI.lab("cli-prune")
            defer { podrec.finish() }
            let a = try podrec.write("a.yaml", Self.pod("a"))
            let b = try podrec.write("b.yaml", Self.pod("b"))
            #expect(try podrec("apply", "-f", a, "-f", b).status == 0)
            #expect(try podrec("apply", "-f", a).output == "no changes\n", "without --prune b stays")
            let pruned = try podrec("apply", "-f", a, "--prune")
            #expect(pruned.output.contains("- pod default/b"), "\(pruned.output)")
            #expect(try podrec("get").output.split(separator: "\n").count == 2)

            let bad = try podrec.write("bad.yaml", Self.pod("a").replacingOccurrences(of: "terminationGracePeriodSeconds", with: "terminationGraceSeconds"))
            let refused = try podrec("apply", "-f", bad)
            #expect(refused.status == 1)
            #expect(refused.output.contains("bad.yaml:5:3: error"), "\(refused.output)")
            #expect(try podrec("diff", "-f", bad).status == 2)
            #expect(try podrec("get").output.split(separator: "\n").count == 2, "nothing changed")
        }
    
        /// kill -9 of `apply` in the middle of 20 pods, then `apply` again: the host
        /// converges (every pod running, `diff` clean), and nothing is left over once they
        /// are deleted (the lab checks cgroups, mounts, processes and fds).
        @Test func applyKilledMidwayConvergesOnTheNextPass() throws {
            let (lab, podrec) = try CLI.lab("cli-kill9")
            defer { podrec.finish() }
            let dir = lab.tmp + "/pods"
            try Sys.mkdirs(dir, mode: 0o755)
            for i in 0..<20 {
                try Sys.writeFileAtomically(dir + "/p\(i).yaml", Array(Self.pod("p\(i)").utf8), mode: 0o644)
            }
            // Killed at a spread of moments: the first pods exist by then, the last do not.
            var request = SpawnRequest([podrec.binary, "apply", "-f", dir], environment: podrec.environment)
            let null = try Sys.openNull()
            defer { close(null) }
            request.stdout = null
            request.stderr = null
            let child = try spawn(request)
            if let fd = child.pidfd { close(fd) }
            // Bounded by time, not by a count of polls: under emulation (the cgroup v2 VM) on a
            // busy host the first pod can take seconds.
            let deadline = MonotonicClock.now() + 60_000_000_000
            while MonotonicClock.now() < deadline {
                let made = (try? Sys.listDirectory(lab.tmp + "/run/pods"))?.count ?? 0
                if made >= 5 { break }
                MonotonicClock.sleep(nanoseconds: 2_000_000)
            }
            try Sys.kill(child.pid, SIGKILL)
            _ = try Sys.wait(child.pid)
            let made = (try? Sys.listDirectory(lab.tmp + "/run/pods"))?.count ?? 0
            #expect(made > 0 && made < 20, "killed after \(made) of 20 pods")

            let again = try podrec("apply", "-f", dir)
            #expect(again.status == 0, "\(again.output)")
            let diff = try podrec("diff", "-f", dir)
            #expect(diff.status == 0, "\(diff.output)")
            let get = try podrec("get")
            #expect(get.output.split(separator: "\n").filter { $0.contains("Running") }.count == 20, "\(get.output)")
        }
    
        /// `apply --wait` returns once the pods run; a crash loop ends it at the timeout
        /// with the reason.
        /// ARCHITECTURE: apply fails with the start errors, exec ENOENT among them, though the
        /// supervisor has already tried again and backs off by its first status.
        @Test func aMissingExecutableFailsTheApply() throws {
            let (_, podrec) = try CLI.lab("cli-enoent")
            defer { podrec.finish() }
            let file = try podrec.write("nope.yaml", Self.singlePod("nope").replacingOccurrences(of: "command: [sh, -c, 'exec sleep 3600']",
                                                                                                with: "command: [/nonexistent/podrec-test]"))
            let applied = try podrec("apply", "-f", file)
            #expect(applied.status == 1, "\(applied.output)")
            #expect(applied.output.contains("container app: exec /nonexistent/podrec-test: ENOENT"), "\(applied.output)")
            #expect(try podrec("diff", "-f", file).status == 0, "the pod is there, under its restart policy")
        }

        @Test func applyWaitsForRunningPodsOrSaysWhyNot() throws {
            let (_, podrec) = try CLI.lab("cli-wait")
            defer { podrec.finish() }
            let good = try podrec.write("good.yaml", Self.pod("good"))
            let waited = try podrec("apply", "-f", good, "--wait")
            #expect(waited.status == 0, "\(waited.output)")
            let crash = try podrec.write("crash.yaml", Self.pod("crash", command: "exit 1"))
            let failed = try podrec("apply", "-f", crash, "--wait", "--timeout", "2")
            #expect(failed.status != 0)
            #expect(failed.output.contains("pod default/crash"), "\(failed.output)")
            #expect(failed.output.contains("app CrashLoopBackOff") || failed.output.contains("app ContainerCreating") || failed.output.contains("app terminated"), "\(failed.output)")
        }
    
        /// `exec` runs in the container: its PID namespace (not PID 1 there, but of it), its
        /// root, hostname, cgroup and ids; the command's exit status comes back.
        @Test func execRunsInTheContainer() throws {
            let (_, podrec) = try CLI.lab("cli-exec")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", Self.pod("ex", extra: "  hostname: ex-host"))
            #expect(try podrec("apply", "-f", file).status == 0)
            let run = try podrec("exec", "ex", "-c", "app", "--", "sh", "-c",
                                 "echo pid1 $(cat /proc/1/comm); echo host $(hostname); test -e /root && echo root-visible; echo id $(id -u); cat /proc/self/cgroup | grep -c '/app$'")
            #expect(run.status == 0, "\(run.output)")
            let lines = run.output.split(separator: "\n").map(String.init)
            #expect(lines.contains("pid1 sleep"), "PID 1 is the container's: \(lines)")
            #expect(lines.contains("host ex-host"))
            #expect(!lines.contains("root-visible"))
            #expect(lines.contains("id 0"))
            #expect(Int(lines.last ?? "") ?? 0 >= 1, "in the container's cgroup: \(lines)")
            #expect(try podrec("exec", "ex", "-c", "app", "--", "sh", "-c", "exit 3").status == 3)
            let two = try podrec("exec", "ex", "--", "true")
            #expect(two.status != 0 && two.output.contains("choose one of: [app side]"), "\(two.output)")
        }
    
        /// A subPath of an emptyDir that does not exist yet (a new pod): `diff` and `apply`
        /// plan it as a directory to make, and the container writes there.
        @Test func aSubPathOfANewEmptyDirApplies() throws {
            let (lab, podrec) = try CLI.lab("cli-subpath")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", Self.singlePod("sub", "echo hi > /sub/x; exec sleep 3600",
                                                                    extra: "  volumes: [{name: data, emptyDir: {}}]",
                                                                    container: "    volumeMounts: [{name: data, mountPath: /sub, subPath: part}]"))
            let diff = try podrec("diff", "-f", file)
            #expect(diff.status == 1 && diff.output.contains("+ pod default/sub (app)"), "\(diff.output)")
            let applied = try podrec("apply", "-f", file, "--wait")
            #expect(applied.status == 0, "\(applied.output)")
            let uid = try #require(try Sys.listDirectory(lab.tmp + "/data/pods").first)
            #expect(try Sys.readString("\(lab.tmp)/data/pods/\(uid)/volumes/data/part/x") == "hi\n")
            #expect(try podrec("diff", "-f", file).status == 0)
        }

        /// `exec -it` with a terminal on stdin: the command gets a terminal of the container's
        /// own devpts (`/dev/pts/0`) as its stdio and controlling terminal, sized as ours, and
        /// ours is put back as it was. Without a terminal on stdin, -t falls back to pipes.
        @Test func execWithATerminal() throws {
            let (_, podrec) = try CLI.lab("cli-exec-tty")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", Self.pod("tty"))
            #expect(try podrec("apply", "-f", file, "--wait").status == 0)

            // The size must be there when the command starts, not once exec's relay runs: a
            // command that looks at once lost that race in most runs here.
            let size = try Self.execOnATerminal(podrec, ["stty", "size"])
            #expect(size.status == .exited(0) && size.lines == ["33 101"], "our window size at the start: \(size.lines)")

            let run = try Self.execOnATerminal(podrec, ["sh", "-c", "tty; read -r _ _ _ _ _ _ n _ < /proc/$$/stat; echo ctty $n; exit 3"])
            #expect(run.status == .exited(3), "\(run.lines)")
            #expect(run.lines.contains("/dev/pts/0"), "the container's own devpts: \(run.lines)")
            #expect(run.lines.contains("ctty \((136 << 8) | 0)"), "pts/0 is the controlling terminal: \(run.lines)")
            #expect(run.restored, "our terminal is no longer raw")

            // stdin a pipe: kubectl's warning, and the command runs on pipes.
            let piped = try podrec("exec", "-i", "-t", "tty", "-c", "app", "--", "sh", "-c", "[ -t 1 ] || echo no-tty")
            #expect(piped.status == 0 && piped.output.contains("Unable to use a TTY") && piped.output.contains("no-tty"), "\(piped.output)")
        }

        /// `podrec exec -it tty -c app -- COMMAND` with a new pty of the host's as its stdio,
        /// sized 33x101, as a user's terminal: the exit, the lines it printed, and whether our
        /// terminal's modes were put back as they were.
        static func execOnATerminal(_ podrec: CLI, _ command: [String]) throws -> (status: WaitStatus?, lines: [String], restored: Bool) {
            let user = try Sys.openPseudoTerminal(root: "/")
            defer { Sys.close(user.master) }
            try Sys.setWindowSize(user.master, rows: 33, columns: 101)
            var before = termios()
            try #require(tcgetattr(user.terminal, &before) == 0)
            var request = SpawnRequest([podrec.binary, "exec", "-it", "tty", "-c", "app", "--"] + command, environment: podrec.environment)
            (request.stdin, request.stdout, request.stderr) = (user.terminal, user.terminal, user.terminal)
            let child = try spawn(request)
            if let fd = child.pidfd { Sys.close(fd) }
            var output: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            var status: Int32?
            try Sys.setNonBlocking(user.master)
            while status == nil {
                _ = try Sys.pollReadable([user.master], timeoutMilliseconds: 50)
                var some = 0
                while let n = try buffer.withUnsafeMutableBytes({ try Sys.readSome(user.master, into: $0) }), n > 0 {
                    output += buffer[..<n]
                    some += n
                }
                if some == 0, let reaped = Sys.reapChild(child.pid) { status = reaped }
            }
            var after = termios()
            try #require(tcgetattr(user.terminal, &after) == 0)
            Sys.close(user.terminal)
            let lines = String(decoding: output, as: UTF8.self).split(separator: "\r\n").map(String.init)
            let restored = after.c_lflag == before.c_lflag && after.c_iflag == before.c_iflag && after.c_oflag == before.c_oflag
            return (status.map { WaitStatus($0) }, lines, restored)
        }

        /// A container killed by hand is the supervisor's to restart, under its policy; `get`
        /// counts the restart and `describe` shows the last termination (SIGKILL, 137).
        @Test func aContainerKilledByHandRestartsAndGetAndDescribeShowIt() throws {
            let (_, podrec) = try CLI.lab("cli-killc")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", Self.pod("killc"))
            #expect(try podrec("apply", "-f", file, "--wait").status == 0)
            let pid = try #require(try podrec.pid("killc", "app"))
            try Sys.kill(pid, SIGKILL)
            try CLIWatchTests.waitFor("app restarted") { (try podrec.pid("killc", "app") ?? pid) != pid }
            let get = try podrec("get")
            let row = try #require(get.output.split(separator: "\n").first { $0.hasPrefix("killc") })
            #expect(row.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first == "1", "RESTARTS: \(row)")
            let describe = try podrec("describe", "killc")
            #expect(describe.output.contains("137"), "\(describe.output)")
            #expect(describe.output.contains("Restart Count:") , "\(describe.output)")
            #expect(try podrec("diff", "-f", file).status == 0, "a restart is the supervisor's, not a difference")
        }
    }
}
