import Foundation
import Glibc
import Kernel
import KernelTestSupport
import Testing
import PodModel

extension Integration {
    /// `activeDeadlineSeconds` and termination messages, end to end through the built
    /// `podrec` on real pods. Each test names the kubelet behaviour it copies. Waits are
    /// generous and nothing is timed: a state is waited for, then checked.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct CLIDeadlineMessageTests {
        typealias CLI = CLIPodTests.CLI
        typealias Run = CLIPodTests.Run

        static func waitFor(seconds: Double = 40, _ call: () throws -> Run, until done: (Run) -> Bool) throws -> Run {
            try CLILogsDescribeTests.waitFor(seconds: seconds, call, until: done)
        }

        static func squeezed(_ text: String) -> [String] { CLILogsDescribeTests.squeezed(text) }

        /// `get -o json`'s one pod, parsed.
        static func pod(_ podrec: CLI, _ name: String) throws -> [String: Any]? {
            let out = try podrec("get", "-o", "json").output
            let items = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]]
            return items?.first { $0["name"] as? String == name }
        }

        /// A container's status object from `get -o json`.
        static func container(_ pod: [String: Any]?, _ name: String, initial: Bool = false) -> [String: Any]? {
            (pod?[initial ? "initContainerStatuses" : "containerStatuses"] as? [[String: Any]])?.first { $0["name"] as? String == name }
        }

        static func terminated(_ c: [String: Any]?, last: Bool = false) -> [String: Any]? {
            (c?[last ? "lastState" : "state"] as? [String: Any])?["terminated"] as? [String: Any]
        }

        static func record(_ lab: PodLab, _ pod: String) throws -> PodRecord {
            try PodRecord.decode(try Sys.readString("\(lab.tmp)/run/pods/default_\(pod)/record"))
        }

        static func deadlinePod(_ name: String, deadline: Int) -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name)}
            spec:
              activeDeadlineSeconds: \(deadline)
              terminationGracePeriodSeconds: 1
              restartPolicy: Always
              containers:
              - name: app
                image: host
                command: [sh, -c, 'exec sleep 3600']
              - name: side
                image: host
                command: [sh, -c, 'trap "exit 0" TERM; while :; do sleep 1; done']
            """
        }

        /// kubelet's activeDeadlineHandler: once `now - status.startTime >= activeDeadlineSeconds`
        /// the pod is Failed with reason DeadlineExceeded and kubelet's message, every
        /// container is killed with the grace period, and nothing restarts under
        /// restartPolicy Always; the pod stays so. `get`, `describe` and `diff` show it, and a
        /// second `apply` leaves it Failed.
        @Test func aPodPastItsDeadlineFailsAndStaysStopped() throws {
            let (lab, podrec) = try CLI.lab("cli-deadline")
            defer { podrec.finish() }
            let file = try podrec.write("dl.yaml", Self.deadlinePod("dl", deadline: 2))
            let apply = try podrec("apply", "-f", file)
            #expect(apply.status == 0, "\(apply.output)")
            let supervisor = try podrec.supervisorPID("dl")
            let startTime = try Self.record(lab, "dl").startTime
            #expect(startTime != nil, "the start time is recorded with the pod")
            #expect(startTime.map { $0.nanoseconds % 1_000_000_000 == 0 } == true, "in whole seconds, as kubelet keeps it")

            let get = try Self.waitFor({ try podrec("get") }) { $0.output.contains("DeadlineExceeded") }
            #expect(get.output.contains("DeadlineExceeded"), "\(get.output)")
            // Both containers stopped, their processes gone, and the cgroups empty.
            let stopped = try Self.waitFor({ try podrec("get", "-o", "json") }) { run in
                run.output.contains("\"terminated\"") && !run.output.contains("\"running\"")
            }
            #expect(!stopped.output.contains("\"running\""), "\(stopped.output)")
            // A further wait: nothing starts again.
            MonotonicClock.sleep(nanoseconds: 3_000_000_000)
            let pod = try Self.pod(podrec, "dl")
            #expect(pod?["phase"] as? String == "Failed")
            #expect(pod?["reason"] as? String == "DeadlineExceeded")
            #expect(pod?["message"] as? String == "Pod was active on the node longer than the specified deadline")
            #expect(pod?["status"] as? String == "DeadlineExceeded")
            for name in ["app", "side"] {
                let c = Self.container(pod, name)
                #expect(c?["restartCount"] as? Int == 0, "\(name) was not restarted: \(String(describing: c))")
                #expect(Self.terminated(c) != nil, "\(name) is terminated: \(String(describing: c))")
            }
            #expect(try podrec.pid("dl", "app") == nil)
            #expect(try lab.driver.processes(try #require(try Self.podCgroup(lab, "dl")) + "/app").isEmpty)

            let describe = Self.squeezed(try podrec("describe", "dl").output)
            #expect(describe.contains("Status: Failed"), "\(describe)")
            #expect(describe.contains("Reason: DeadlineExceeded"), "\(describe)")
            #expect(describe.contains("Message: Pod was active on the node longer than the specified deadline"), "\(describe)")
            #expect(describe.contains { $0.hasPrefix("Start Time: ") })
            #expect(describe.contains { $0.contains("Normal DeadlineExceeded") }, "the event: \(describe)")

            // The reconciler leaves a pod failed by design alone: no repair, no recreate.
            let diff = try podrec("diff", "-f", file)
            #expect(diff.status == 0, "\(diff.output)")
            #expect(diff.output.contains("= pod default/dl: Failed (DeadlineExceeded)"), "\(diff.output)")
            let again = try podrec("apply", "-f", file)
            #expect(again.status == 0, "\(again.output)")
            #expect(!again.output.contains("recreate"), "\(again.output)")
            #expect(try podrec.supervisorPID("dl") == supervisor, "the same supervisor keeps the pod")
            #expect(try Self.record(lab, "dl").startTime == startTime)
            let after = try Self.pod(podrec, "dl")
            #expect(after?["status"] as? String == "DeadlineExceeded")
            #expect(Self.container(after, "app")?["restartCount"] as? Int == 0)
        }

        /// The start time is the pod's (status.startTime, set once): an apply that changes
        /// nothing, a new apply process, and a lowered deadline (ValidatePodUpdate allows it,
        /// and kubelet applies it without a restart) all count from it; a raised or removed
        /// deadline is refused with the API server's words, and the pod runs on.
        @Test func theDeadlineCountsFromTheStartAndMayOnlyBeLowered() throws {
            let (lab, podrec) = try CLI.lab("cli-deadline-edit")
            defer { podrec.finish() }
            let file = try podrec.write("dl.yaml", Self.deadlinePod("dle", deadline: 3600))
            #expect(try podrec("apply", "-f", file).status == 0)
            let start = try Self.record(lab, "dle").startTime
            let pid = try podrec.pid("dle", "app")
            MonotonicClock.sleep(nanoseconds: 1_100_000_000)
            let noop = try podrec("apply", "-f", file)
            #expect(noop.output == "no changes\n", "\(noop.output)")
            #expect(try Self.record(lab, "dle").startTime == start, "not counted anew")
            let status = try PodStatus.decode(try Sys.readString("\(lab.tmp)/run/pods/default_dle/status"))
            #expect(status.startTime == start)

            // Raised: refused, as the API server refuses the update.
            _ = try podrec.write("dl.yaml", Self.deadlinePod("dle", deadline: 7200))
            let raised = try podrec("apply", "-f", file)
            #expect(raised.status != 0)
            #expect(raised.output.contains("spec.activeDeadlineSeconds: Invalid value: 7200: must be less than or equal to previous value"),
                    "\(raised.output)")
            #expect(try podrec.pid("dle", "app") == pid)

            // Lowered: a new plan, no restart, and the pod fails at start + 3 s.
            _ = try podrec.write("dl.yaml", Self.deadlinePod("dle", deadline: 3))
            let diff = try podrec("diff", "-f", file)
            #expect(diff.status == 1)
            #expect(diff.output.contains("pod settings changed, no container restarts"), "\(diff.output)")
            #expect(diff.output.contains("~ activeDeadlineSeconds: 3600s → 3s"), "\(diff.output)")
            #expect(try podrec("apply", "-f", file).status == 0)
            let get = try Self.waitFor({ try podrec("get") }) { $0.output.contains("DeadlineExceeded") }
            #expect(get.output.contains("DeadlineExceeded"), "\(get.output)")
            #expect(try Self.record(lab, "dle").startTime == start)
        }

        static func podCgroup(_ lab: PodLab, _ pod: String) throws -> String? {
            let uid = try Self.record(lab, pod).uid
            return "\(lab.cgroupParent)/default_\(pod)_\(uid)"
        }

        /// kubelet's getTerminationMessage and readLastStringFromContainerLogs: a file bound
        /// at terminationMessagePath (fresh and empty at each start, writable by any user),
        /// read when the container exits, its last 4096 bytes; FallbackToLogsOnError with an
        /// empty file and a non-zero exit takes the log's last 80 lines, at most 2048 bytes.
        /// As state.terminated.message, then lastState's, in `get -o json` and `describe`;
        /// with a read-only root and a non-root user too.
        @Test func containersSayWhyTheyEnded() throws {
            let (_, podrec) = try CLI.lab("cli-termination")
            defer { podrec.finish() }
            let file = try podrec.write("msg.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: msg}
                spec:
                  terminationGracePeriodSeconds: 1
                  restartPolicy: Never
                  containers:
                  - name: bye
                    image: host
                    command: [sh, -c, 'echo bye > /dev/termination-log; exit 3']
                  - name: big
                    image: host
                    command: [sh, -c, 'head -c 5000 /dev/zero | tr "\\0" a > /dev/termination-log; printf END >> /dev/termination-log']
                  - name: logs
                    image: host
                    terminationMessagePolicy: FallbackToLogsOnError
                    command: [sh, -c, 'i=1; while [ $i -le 100 ]; do echo line-$i; i=$((i+1)); done; exit 2']
                  - name: fine
                    image: host
                    terminationMessagePolicy: FallbackToLogsOnError
                    command: [sh, -c, 'echo only a log line']
                  - name: user
                    image: host
                    terminationMessagePath: /tmp/why
                    securityContext: {runAsUser: 1000, runAsGroup: 1000, readOnlyRootFilesystem: true}
                    command: [sh, -c, 'id -u > /tmp/why; exit 1']
                """)
            let apply = try podrec("apply", "-f", file)
            #expect(apply.status == 0, "\(apply.output)")
            let done = try Self.waitFor({ try podrec("get") }) { $0.output.contains("Failed") }
            #expect(done.output.contains("Failed"), "\(done.output)")
            let pod = try Self.pod(podrec, "msg")
            let bye = Self.terminated(Self.container(pod, "bye"))
            #expect(bye?["exitCode"] as? Int == 3)
            #expect(bye?["message"] as? String == "bye\n", "\(String(describing: pod))")
            let big = Self.terminated(Self.container(pod, "big"))?["message"] as? String
            #expect(big?.utf8.count == 4096, "capped at 4096 bytes, the last ones")
            #expect(big?.hasSuffix("aaaEND") == true)
            let logs = Self.terminated(Self.container(pod, "logs"))?["message"] as? String
            #expect(logs == (21...100).map { "line-\($0)\n" }.joined(), "the last 80 lines: \(String(describing: logs))")
            #expect(Self.terminated(Self.container(pod, "fine"))?["message"] == nil, "exit 0: no fallback to the log")
            #expect(Self.terminated(Self.container(pod, "user"))?["message"] as? String == "1000\n",
                    "uid 1000 wrote it, under a read-only root: \(String(describing: pod))")

            let describe = try podrec("describe", "msg").output
            #expect(Self.squeezed(describe).contains("Message: bye"), "\(describe)")
            let yaml = try podrec("get", "-o", "yaml").output
            #expect(yaml.contains("message: \"bye\\n\""), "\(yaml)")
        }

        /// Each run gets a file of its own (kubelet makes one per container instance): the
        /// run before's message is lastState.terminated.message, the new run's starts empty.
        /// In a user namespace (`hostUsers: false`) the container's root writes it.
        @Test func eachRunHasItsOwnMessageAlsoInAUserNamespace() throws {
            let (_, podrec) = try CLI.lab("cli-termination-runs")
            defer { podrec.finish() }
            let file = try podrec.write("runs.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: runs}
                spec:
                  terminationGracePeriodSeconds: 1
                  restartPolicy: OnFailure
                  hostUsers: false
                  volumes: [{name: data, emptyDir: {}}]
                  containers:
                  - name: app
                    image: host
                    volumeMounts: [{name: data, mountPath: /data}]
                    command: [sh, -c, 'n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; echo run-$n >> /dev/termination-log; exit 1']
                """)
            let apply = try podrec("apply", "-f", file)
            #expect(apply.status == 0, "\(apply.output)")
            // The first restart is at once; the second waits 10 s (CrashLoopBackOff).
            let looped = try Self.waitFor({ try podrec("get", "-o", "json") }) { run in
                run.output.contains("CrashLoopBackOff")
            }
            #expect(looped.output.contains("CrashLoopBackOff"), "\(looped.output)")
            // The very observation that showed the back-off (a slow machine may be past it
            // at the next look): the run that just ended is run restartCount + 1.
            let items = try JSONSerialization.jsonObject(with: Data(looped.output.utf8)) as? [[String: Any]]
            let app = Self.container(items?.first { $0["name"] as? String == "runs" }, "app")
            let restarts = try #require(app?["restartCount"] as? Int, "\(looped.output)")
            #expect(restarts >= 1)
            #expect(Self.terminated(app, last: true)?["message"] as? String == "run-\(restarts + 1)\n",
                    "a fresh file for each run, so only that run's line: \(String(describing: app))")
        }
    }
}
