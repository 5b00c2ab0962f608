import Cgroups
import Glibc
import Kernel
import KernelTestSupport
import Spawn
import Testing
import PodModel

extension Integration {
    /// `podrec logs` and `podrec describe`, the built binary against real pods: lines back
    /// from the CRI log (a line over 16 KiB whole), -c, --tail, --timestamps, --previous
    /// after a restart, -f to the end of a run; describe's states, restarts, last
    /// termination and limits, and never a Secret's value.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct CLILogsDescribeTests {
        typealias CLI = CLIPodTests.CLI
        typealias Run = CLIPodTests.Run

        static let long = String(repeating: "x", count: 20_000)

        /// `podrec` under `timeout`, for the commands that could wait forever (-f).
        static func within(_ seconds: Int, _ podrec: CLI, _ arguments: String...) throws -> Run {
            try podrec.run(["/usr/bin/timeout", String(seconds), podrec.binary] + arguments)
        }

        /// Runs podrec until its output passes `done` (the supervisor writes the log as the
        /// container prints); the last run.
        static func waitFor(seconds: Double = 30, _ call: () throws -> Run, until done: (Run) -> Bool) throws -> Run {
            let deadline = MonotonicClock.now() + Int64(seconds * 1e9)
            var run = Run(status: -1, output: "")
            while MonotonicClock.now() < deadline {
                run = try call()
                if done(run) { return run }
                MonotonicClock.sleep(nanoseconds: 100_000_000)
            }
            return run
        }

        /// describe's lines with the padding squeezed: `Restart Count: 1`.
        static func squeezed(_ text: String) -> [String] {
            text.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        }

        @Test func logsGiveTheLinesBackWholeWithTailTimestampsAndFollow() throws {
            let (_, podrec) = try CLI.lab("cli-logs")
            defer { podrec.finish() }
            let file = try podrec.write("pods.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: lines}
                spec:
                  terminationGracePeriodSeconds: 1
                  containers:
                  - name: app
                    image: host
                    command: [sh, -c, 'for i in 1 2 3 4 5; do echo line-$i; done; head -c 20000 /dev/zero | tr "\\0" x; echo; echo last >&2; exec sleep 3600']
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: follow}
                spec:
                  terminationGracePeriodSeconds: 1
                  restartPolicy: Never
                  containers:
                  - name: app
                    image: host
                    command: [sh, -c, 'echo one; sleep 1; echo two; sleep 1; echo three']
                """)
            // -f from the start: it prints as the container writes and returns when it exits.
            #expect(try podrec("apply", "-f", file).status == 0)
            let followed = try Self.within(60, podrec, "logs", "-f", "follow")
            #expect(followed.status == 0, "\(followed.output)")
            #expect(followed.output == "one\ntwo\nthree\n")

            let expected = (1...5).map { "line-\($0)" } + [Self.long, "last"]
            let all = try Self.waitFor({ try podrec("logs", "lines") }) { $0.output.hasSuffix("last\n") }
            #expect(all.status == 0)
            #expect(all.output == expected.joined(separator: "\n") + "\n", "the 20000-byte line is one line, not 16 KiB parts")
            #expect(!all.output.contains("stdout") && !all.output.contains("stderr"))

            #expect(try podrec("logs", "lines", "--tail", "2").output == Self.long + "\nlast\n")
            #expect(try podrec("logs", "lines", "--tail=0").output == "")
            #expect(try podrec("logs", "default/lines", "--tail", "100").output == all.output)

            let stamped = try podrec("logs", "lines", "--timestamps")
            let lines = stamped.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            #expect(lines.count == expected.count)
            for (line, message) in zip(lines, expected) {
                let stamp = Array(line.prefix(30))
                // 2026-11-29T08:30:00.123456789Z
                let shape = stamp.count == 30 && stamp[4] == "-" && stamp[7] == "-" && stamp[10] == "T" && stamp[13] == ":"
                    && stamp[16] == ":" && stamp[19] == "." && stamp[29] == "Z" && stamp[20..<29].allSatisfy(\.isNumber)
                #expect(shape, "\(line.prefix(40))")
                #expect(line.dropFirst(31) == message[...], "one stamp, a space, the message")
            }

            let unknown = try podrec("logs", "nope")
            #expect(unknown.status == 1)
            #expect(unknown.output == "error: pod \"nope\" not found\n")

            // A container that has exited: describe tells its end.
            let described = Self.squeezed(try podrec("describe", "follow").output)
            #expect(described.contains("State: Terminated"), "\(described)")
            #expect(described.contains("Reason: Completed"))
            #expect(described.contains("Exit Code: 0"))
            #expect(described.contains("Restart policy: Never"))
        }

        @Test func aContainerMustBeNamedWhenThePodHasSeveral() throws {
            let (_, podrec) = try CLI.lab("cli-logs-c")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: two}
                spec:
                  terminationGracePeriodSeconds: 1
                  initContainers:
                  - name: setup
                    image: host
                    command: [sh, -c, 'echo init-done']
                  containers:
                  - name: app
                    image: host
                    command: [sh, -c, 'echo app-line; exec sleep 3600']
                  - name: side
                    image: host
                    command: [sh, -c, 'echo side-line; exec sleep 3600']
                """)
            #expect(try podrec("apply", "-f", file).status == 0)
            let refused = try podrec("logs", "two")
            #expect(refused.status == 1)
            #expect(refused.output == "error: a container name must be specified for pod two, choose one of: [app side] or one of the init containers: [setup]\n")
            #expect(try Self.waitFor({ try podrec("logs", "two", "-c", "side") }) { $0.output == "side-line\n" }.output == "side-line\n")
            #expect(try Self.waitFor({ try podrec("logs", "two", "app") }) { $0.output == "app-line\n" }.output == "app-line\n",
                    "kubectl's older form: the container after the pod")
            #expect(try podrec("logs", "two", "-c", "setup").output == "init-done\n", "init containers have logs too")
            let invalid = try podrec("logs", "two", "-c", "nope")
            #expect(invalid.status == 1)
            #expect(invalid.output == "error: container nope is not valid for pod two\n")
            let noPrevious = try podrec("logs", "two", "-c", "app", "--previous")
            #expect(noPrevious.status == 1)
            #expect(noPrevious.output == "error: previous terminated container \"app\" in pod \"two\" not found\n")

            let described = Self.squeezed(try podrec("describe", "pod", "two").output)
            #expect(described.contains("Init Containers:"), "\(described)")
            #expect(described.contains("Kind: init"))
            #expect(described.contains("Reason: Completed"), "the init container ran to its end")
            #expect(described.filter { $0 == "State: Running" }.count == 2, "app and side")
            // kubectl's events: each container started once, nothing else.
            let events = described.drop { $0 != "Events:" }.dropFirst(3)
            #expect(events.count == 3 && events.allSatisfy { $0.hasPrefix("Normal Started ") }, "\(Array(events))")
            #expect(Set(events.map { $0.split(separator: " ").last! }) == ["setup", "side", "app"], "\(Array(events))")
        }

        /// A container that exits once and runs again (restartPolicy Always, the first
        /// restart at once): logs has the second run, --previous the first; describe shows
        /// the restart, the last termination and the limits, and the Secret's value nowhere.
        @Test func previousAfterARestartAndDescribe() throws {
            let (lab, podrec) = try CLI.lab("cli-describe")
            defer { podrec.finish() }
            let secret = "s3cr3t-value-never-printed"
            let file = try podrec.write("pod.yaml", """
                apiVersion: v1
                kind: Secret
                metadata: {name: creds}
                stringData: {token: \(secret)}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: echo}
                spec:
                  terminationGracePeriodSeconds: 1
                  volumes: [{name: data, emptyDir: {}}]
                  containers:
                  - name: app
                    image: host
                    command: [sh, -c, 'if [ -e /data/ran ]; then echo second; exec sleep 3600; fi; touch /data/ran; echo first-1; echo first-2 >&2; exit 3']
                    resources: {limits: {memory: 32Mi, cpu: 200m}}
                    env:
                    - name: TOKEN
                      valueFrom: {secretKeyRef: {name: creds, key: token}}
                    volumeMounts: [{name: data, mountPath: /data}]
                  - name: side
                    image: host
                    command: [sh, -c, 'exec sleep 3600 # $(TOKEN)']
                    env:
                    - name: TOKEN
                      valueFrom: {secretKeyRef: {name: creds, key: token}}
                """)
            #expect(try podrec("apply", "-f", file).status == 0)
            let current = try Self.waitFor({ try podrec("logs", "echo", "-c", "app") }) { $0.output == "second\n" }
            #expect(current.output == "second\n")
            let previous = try podrec("logs", "echo", "-c", "app", "--previous")
            #expect(previous.status == 0)
            #expect(previous.output.split(separator: "\n").sorted() == ["first-1", "first-2"], "stdout and stderr of the first run")
            #expect(try podrec("logs", "echo", "-c", "side").output == "", "no output: no log, and no error")

            let text = try podrec("describe", "default/echo").output
            #expect(!text.contains(secret), "describe printed a Secret's value:\n\(text)")
            let described = Self.squeezed(text)
            #expect(described.contains("Name: echo"), "\(text)")
            #expect(described.contains("Source: apply"))
            #expect(described.contains { $0.hasPrefix("Supervisor: pid ") })
            #expect(described.contains("Status: Running"))
            #expect(described.contains("State: Running"))
            #expect(described.contains("Last State: Terminated"))
            #expect(described.contains("Reason: Error"))
            #expect(described.contains("Exit Code: 3"))
            #expect(described.contains("Restart Count: 1"))
            #expect(described.contains("memory: 32Mi"))
            #expect(described.contains("cpu.max: 20000 100000 (200m)"))
            // 200m: 204 shares on v1; on v2 the weight that kubelet's conversion makes of them.
            #expect(described.contains(lab.driver.setup.mode == .unified ? "cpu.weight: \(ResourceMath.sharesToWeight(204))" : "cpu.shares: 204"))
            #expect(described.contains { $0.hasPrefix("Environment: ") && $0.contains("TOKEN") })
            #expect(described.contains { $0.hasPrefix("/data ← ") && $0.hasSuffix("/volumes/data (rw)") })
            #expect(described.contains("Command: sh -c 'exec sleep 3600 # $(TOKEN)'"), "the expanded Secret goes back to its name")
            #expect(described.contains { $0.hasPrefix("Normal Started ") && $0.hasSuffix(" podrec Started container app") && $0.contains("(x2 over ") },
                    "two runs, one event counted twice: \(described)")

            let unknown = try podrec("describe", "nope")
            #expect(unknown.status == 1)
            #expect(unknown.output == "error: pod \"nope\" not found\n")
        }
    }
}
