import Glibc
import Kernel
import KernelTestSupport
import Spawn
import Testing
import PodModel

extension Integration {
    /// `podrec attach` and the containers' `tty`, `stdin` and `stdinOnce`, end to end: the
    /// built podrec, real pods, the supervisor's attach socket. Each test has its own roots
    /// and cgroup parent (`CLIPodTests.CLI`) and checks for leaks at the end.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct AttachTests {
        typealias CLI = CLIPodTests.CLI

        /// One container `app` with `fields` (tty, stdin, ...) running `script`.
        static func pod(_ name: String, _ script: String, fields: String, restartPolicy: String = "Always") -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name)}
            spec:
              terminationGracePeriodSeconds: 1
              restartPolicy: \(restartPolicy)
              containers:
              - name: app
                image: host
                command: [sh, -c, '\(script)']
                \(fields)
            """
        }

        /// `podrec ARGS` on a new pty of the host's, as a user's terminal sized 33x101: its
        /// controlling terminal, so that a resize of it signals the client (SIGWINCH).
        final class TerminalClient {
            let user: (master: Int32, terminal: Int32)
            let pid: Int32
            var output: [UInt8] = []
            var status: WaitStatus?

            init(_ podrec: CLI, _ arguments: [String]) throws {
                user = try Sys.openPseudoTerminal(root: "/")
                try Sys.setWindowSize(user.master, rows: 33, columns: 101)
                var request = SpawnRequest([podrec.binary] + arguments, environment: podrec.environment)
                (request.stdin, request.stdout, request.stderr) = (user.terminal, user.terminal, user.terminal)
                request.controllingTerminal = true
                let child = try spawn(request)
                if let fd = child.pidfd { Sys.close(fd) }
                pid = child.pid
                try Sys.setNonBlocking(user.master)
            }

            var text: String { String(decoding: output, as: UTF8.self) }

            func type(_ s: String) throws { try Sys.writeAll(user.master, Array(s.utf8)) }

            /// Reads until `text` has appeared (or the client has exited).
            func waitFor(_ wanted: String, seconds: Int64 = 20, sourceLocation: SourceLocation = #_sourceLocation) throws {
                let deadline = MonotonicClock.now() + seconds * 1_000_000_000
                while !text.contains(wanted) && MonotonicClock.now() < deadline {
                    if pump() == 0, status == nil, let reaped = Sys.reapChild(pid) { status = WaitStatus(reaped) }
                    if status != nil { _ = pump(); break }
                }
                #expect(text.contains(wanted), "waiting for \(wanted.debugDescription) in \(text.debugDescription)", sourceLocation: sourceLocation)
            }

            /// What is there to read now, after a short wait.
            func pump() -> Int {
                _ = try? Sys.pollReadable([user.master], timeoutMilliseconds: 50)
                var buffer = [UInt8](repeating: 0, count: 4096)
                var some = 0
                while let n = (try? buffer.withUnsafeMutableBytes({ try Sys.readSome(user.master, into: $0) })) ?? nil, n > 0 {
                    output += buffer[..<n]
                    some += n
                }
                return some
            }

            /// Waits for the client's exit.
            func exit(seconds: Int64 = 20) -> WaitStatus? {
                let deadline = MonotonicClock.now() + seconds * 1_000_000_000
                while status == nil && MonotonicClock.now() < deadline {
                    _ = pump()
                    if let reaped = Sys.reapChild(pid) { status = WaitStatus(reaped) }
                }
                return status
            }

            func close() {
                if status == nil {
                    try? Sys.kill(pid, SIGKILL)
                    _ = try? Sys.wait(pid)
                }
                Sys.close(user.terminal)
                Sys.close(user.master)
            }
        }

        /// kubectl attach -it to a container with `tty: true, stdin: true` (kubelet gives it a
        /// terminal as its stdio): typed lines reach it through its terminal (which echoes
        /// them), its window size follows ours (kubectl's resize stream → TIOCSWINSZ),
        /// ctrl-p ctrl-q detaches as docker's and podman's attach do and the container runs
        /// on, and what it wrote meanwhile is in its log as `stdout` (containerd's CRI log of
        /// a terminal: one stream).
        @Test func aTerminalContainerTakesInputFollowsOurSizeAndRunsOnAfterDetach() throws {
            let (lab, podrec) = try CLI.lab("attach-tty")
            defer { podrec.finish() }
            let script = #"while read -r l; do if [ "$l" = size ]; then stty size; else echo "got:$l"; fi; done"#
            let file = try podrec.write("pod.yaml", Self.pod("tty", script, fields: "tty: true\n    stdin: true"))
            let applied = try podrec("apply", "-f", file, "--wait")
            try #require(applied.status == 0, "\(applied.output)")
            let pid = try #require(try podrec.pid("tty", "app"))
            // The attach socket: the supervisor's, in the pod's state dir, mode 0600 as conmon's.
            let socket = try Sys.stat("\(lab.tmp)/run/pods/default_tty/attach")
            #expect(socket.mode & 0o170000 == 0o140000 && socket.mode & 0o7777 == 0o600, "mode \(String(socket.mode, radix: 8))")

            let client = try TerminalClient(podrec, ["attach", "-it", "tty"])
            defer { client.close() }
            try client.type("hello\r")
            try client.waitFor("got:hello")
            // Our size at the start.
            try client.type("size\r")
            try client.waitFor("33 101")
            // A resize of our terminal reaches the container's.
            try Sys.setWindowSize(client.user.master, rows: 40, columns: 120)
            MonotonicClock.sleep(nanoseconds: 100_000_000)
            try client.type("size\r")
            try client.waitFor("40 120")
            // ctrl-p ctrl-q: the client ends, the container does not.
            try client.type("\u{10}\u{11}")
            #expect(client.exit() == .exited(0), "\(client.text)")
            #expect(try podrec.pid("tty", "app") == pid)
            #expect(try podrec.status("tty", "app", "state") == "running")
            #expect(Sys.exists("/proc/\(pid)"), "the container runs on after the detach")

            // The session's output is in the log, as one stream: stdout.
            let logs = try podrec("logs", "tty")
            #expect(logs.output.contains("got:hello") && logs.output.contains("40 120"), "\(logs.output)")
            let dir = try #require(try Sys.listDirectory(lab.tmp + "/log/pods").first)
            let raw = try Sys.readString("\(lab.tmp)/log/pods/\(dir)/app/0.log")
            let lines = raw.split(separator: "\n")
            #expect(lines.contains { $0.contains(" stdout ") && $0.contains("got:hello") }, "\(raw)")
            #expect(!lines.contains { $0.contains(" stderr ") }, "\(raw)")

            // A second attach sees only what comes after it (kubectl attach replays nothing).
            let again = try TerminalClient(podrec, ["attach", "-it", "tty"])
            defer { again.close() }
            try again.type("second\r")
            try again.waitFor("got:second")
            #expect(!again.text.contains("got:hello"), "\(again.text)")
            try again.type("\u{10}\u{11}")
            #expect(again.exit() == .exited(0))
        }

        /// kubelet's `stdin: true` without a terminal: stdin is a pipe that the supervisor
        /// holds open; kubectl attach -i sends ours into it, stdout and stderr come back
        /// apart, and the session ends when the container's run does.
        @Test func stdinWithoutATerminalIsAPipeThatAttachFeeds() throws {
            let (lab, podrec) = try CLI.lab("attach-stdin")
            defer { podrec.finish() }
            let script = #"read -r l; echo "got:$l"; echo "err:$l" >&2"#
            let file = try podrec.write("pod.yaml", Self.pod("in", script, fields: "stdin: true", restartPolicy: "Never"))
            try #require(try podrec("apply", "-f", file, "--wait").status == 0)
            #expect(try podrec.status("in", "app", "state") == "running", "stdin stays open: read waits")

            let input = try Sys.pipe()
            try Sys.writeAll(input.write, Array("piped\n".utf8))
            Sys.close(input.write)
            var request = SpawnRequest([podrec.binary, "attach", "-i", "in"], environment: podrec.environment)
            request.stdin = input.read
            let run = try runToEnd(request)
            Sys.close(input.read)
            #expect(run.status == 0 && run.output.contains("got:piped") && run.output.contains("err:piped"), "\(run.output)")
            try CLIWatchTests.waitFor("app finished") { try podrec.status("in", "app", "state") == "terminated" }
            let logs = try podrec("logs", "in")
            #expect(logs.output.contains("got:piped"), "\(logs.output)")
            let dir = try #require(try Sys.listDirectory(lab.tmp + "/log/pods").first)
            let raw = try Sys.readString("\(lab.tmp)/log/pods/\(dir)/app/0.log")
            #expect(raw.split(separator: "\n").contains { $0.contains(" stderr ") && $0.contains("err:piped") }, "\(raw)")
        }

        /// kubelet's `stdinOnce: true` (CRI StdinOnce): the container's stdin closes when the
        /// first attach session that had it ends, however it ends (here the client is
        /// killed): `cat` reads EOF and the script goes on. Without stdinOnce the same end of
        /// a session leaves stdin open and `cat` waiting.
        @Test func stdinOnceClosesStdinWhenTheFirstSessionEnds() throws {
            let (_, podrec) = try CLI.lab("attach-once")
            defer { podrec.finish() }
            let script = "cat; echo done"
            let file = try podrec.write("pod.yaml", Self.pod("once", script, fields: "stdin: true\n    stdinOnce: true", restartPolicy: "Never")
                                          + "\n---\n" + Self.pod("open", script, fields: "stdin: true", restartPolicy: "Never"))
            try #require(try podrec("apply", "-f", file, "--wait").status == 0)

            for pod in ["once", "open"] {
                let client = try TerminalClient(podrec, ["attach", "-i", pod])
                defer { client.close() }
                try client.type("one\n")
                // Our terminal echoes the line at once: cat's copy is the one in its log.
                try CLIWatchTests.waitFor("\(pod)'s cat got the line") { try podrec("logs", pod).output.contains("one") }
                try Sys.kill(client.pid, SIGTERM)
                _ = client.exit()
            }
            try CLIWatchTests.waitFor("once finished") { try podrec.status("once", "app", "state") == "terminated" }
            let termination = try podrec.status("once", "app", "termination")
            #expect(termination?.hasPrefix("0\\t") == true, "exit 0: \(termination ?? "none")")
            #expect(try podrec("logs", "once").output.contains("done"))
            MonotonicClock.sleep(nanoseconds: 300_000_000)
            #expect(try podrec.status("open", "app", "state") == "running", "without stdinOnce, stdin stays open")
            #expect(!(try podrec("logs", "open").output.contains("done")))
        }

        /// kubectl attach's choice without -c (podcmd.FindOrDefaultContainerByName): the
        /// container the `kubectl.kubernetes.io/default-container` annotation names, else the
        /// first, with kubectl's "Defaulted container" note when there are several.
        @Test func withoutAContainerNameAttachTakesTheAnnotatedOneElseTheFirst() throws {
            let (_, podrec) = try CLI.lab("attach-default")
            defer { podrec.finish() }
            func pod(_ name: String, annotation: String) -> String {
                """
                apiVersion: v1
                kind: Pod
                metadata: {name: \(name)\(annotation)}
                spec:
                  terminationGracePeriodSeconds: 1
                  containers:
                  - name: app
                    image: host
                    command: [sh, -c, 'while :; do echo from-app; sleep 0.2; done']
                  - name: side
                    image: host
                    command: [sh, -c, 'while :; do echo from-side; sleep 0.2; done']
                """
            }
            let file = try podrec.write("pod.yaml", pod("marked", annotation: ", annotations: {kubectl.kubernetes.io/default-container: side}")
                                          + "\n---\n" + pod("plain", annotation: ""))
            try #require(try podrec("apply", "-f", file, "--wait").status == 0)
            let marked = try TerminalClient(podrec, ["attach", "marked"])
            defer { marked.close() }
            try marked.waitFor("from-side")
            #expect(!marked.text.contains("from-app") && !marked.text.contains("Defaulted"), "\(marked.text)")
            let plain = try TerminalClient(podrec, ["attach", "plain"])
            defer { plain.close() }
            try plain.waitFor("from-app")
            #expect(plain.text.contains("Defaulted container \"app\" out of: app, side") && !plain.text.contains("from-side"), "\(plain.text)")
        }

        /// kubectl attach's errors: -i to a container without `stdin: true`, and a container
        /// that is not running (naming its state). -t to a container without a terminal is
        /// kubectl's warning, and the attach goes on without one.
        @Test func attachErrors() throws {
            let (_, podrec) = try CLI.lab("attach-errors")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", Self.pod("plain", "echo ready; exec sleep 3600", fields: "")
                                          + "\n---\n" + Self.pod("gone", "exit 0", fields: "stdin: true", restartPolicy: "Never"))
            try #require(try podrec("apply", "-f", file, "--wait").status == 0)
            let noStdin = try podrec("attach", "-i", "plain")
            #expect(noStdin.status != 0 && noStdin.output.contains("Unable to use stdin - container app did not allocate one"), "\(noStdin.output)")
            try CLIWatchTests.waitFor("gone finished") { try podrec.status("gone", "app", "state") == "terminated" }
            let stopped = try podrec("attach", "gone")
            #expect(stopped.status != 0 && stopped.output.contains("container app of pod default/gone is not running: it is terminated (Completed)"),
                    "\(stopped.output)")
            let missing = try podrec("attach", "plain", "-c", "nope")
            #expect(missing.status != 0 && missing.output.contains("container nope is not valid for pod plain"), "\(missing.output)")
            // -t without a terminal in the container: a warning; output streams (none yet), and
            // the session ends when we kill the client.
            let client = try TerminalClient(podrec, ["attach", "-t", "plain"])
            defer { client.close() }
            try client.waitFor("Unable to use a TTY - container app did not allocate one")
        }
    }
}
