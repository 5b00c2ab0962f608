import Glibc
import Kernel
import KernelTestSupport
import Testing

extension Integration {
    /// Probes run by the supervisor against real processes, seen through the built `podrec`:
    /// an HTTP server that turns unhealthy is restarted, readiness shows in `get`, and a
    /// startup probe holds liveness back. Orders are checked from restart counts and
    /// states, not from sleeps that assume a fast machine.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct CLIProbeTests {
        typealias CLI = CLIPodTests.CLI

        static func restarts(_ podrec: CLI, _ pod: String, _ container: String) throws -> Int? {
            try podrec.status(pod, container, "restartCount").flatMap { Int($0) }
        }

        /// READY from `get`: "1/2".
        static func ready(_ podrec: CLI, _ pod: String) throws -> String? {
            try podrec.getRow(pod).flatMap { $0.count >= 2 ? $0[1] : nil }
        }

        @Test func livenessRestartsAnUnhealthyServerAndReadinessShowsInGet() throws {
            try HostTool.require("/bin/busybox", package: "busybox-static")  // busybox httpd
            let (_, podrec) = try CLI.lab("probe-http")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: web}
                spec:
                  terminationGracePeriodSeconds: 1
                  containers:
                  - name: web
                    image: host
                    command: [sh, -c, 'mkdir -p /tmp/www && echo ok > /tmp/www/healthz && exec busybox httpd -f -p 18089 -h /tmp/www']
                    ports: [{name: http, containerPort: 18089}]
                    livenessProbe: {httpGet: {path: /healthz, port: http}, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 2}
                    readinessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1}
                """)
            #expect(try podrec("apply", "-f", file).status == 0)
            try CLIWatchTests.waitFor("web running, not ready") { try Self.ready(podrec, "web") == "0/1" && podrec.pid("web", "web") != nil }
            let notReady = try podrec("apply", "-f", file, "--wait", "--timeout", "2")
            #expect(notReady.status != 0 && notReady.output.contains("web not ready (command exited with status 1)"), "\(notReady.output)")
            #expect(try podrec("exec", "web", "--", "touch", "/tmp/ready").status == 0)
            try CLIWatchTests.waitFor("web ready") { try Self.ready(podrec, "web") == "1/1" }
            let waited = try podrec("apply", "-f", file, "--wait")
            #expect(waited.status == 0, "\(waited.output)")
            #expect(try Self.restarts(podrec, "web", "web") == 0)

            // Unhealthy: the liveness probe gets 404 twice, and the container is restarted;
            // its new run serves /healthz again (and is not ready: /tmp is its own again).
            let before = try podrec.pid("web", "web")
            #expect(try podrec("exec", "web", "--", "rm", "/tmp/www/healthz").status == 0)
            try CLIWatchTests.waitFor("the restart", seconds: 20) { try Self.restarts(podrec, "web", "web") == 1 }
            try CLIWatchTests.waitFor("the new run") { (try podrec.pid("web", "web")).map { $0 != before } == true }
            #expect(try Self.ready(podrec, "web") == "0/1")
            MonotonicClock.sleep(nanoseconds: 2_500_000_000)
            #expect(try Self.restarts(podrec, "web", "web") == 1, "healthy again: no second restart")
            let describe = try podrec("describe", "web").output
            #expect(describe.contains("Exit Code:") && describe.contains("137"), "killed at the end of its 1 s grace: \(describe)")
            #expect(describe.contains("Ready:                  False (0/1 containers)"), "not ready again after the restart: \(describe)")
            #expect(describe.contains("Liveness:           http-get http://127.0.0.1:18089/healthz delay=1s timeout=1s period=1s #success=1 #failure=2"), "\(describe)")
            for event in ["Warning  Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 404",
                          "Normal   Killing", "Container web failed liveness probe, will be restarted",
                          "Normal   Started", "Started container web"] {
                #expect(describe.contains(event), "\(event) in \(describe)")
            }
        }

        /// A startup probe holds the liveness probe back: a liveness probe that always fails
        /// restarts nothing until the startup probe has passed.
        @Test func aStartupProbeHoldsLivenessBack() throws {
            let (_, podrec) = try CLI.lab("probe-startup")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: slow}
                spec:
                  terminationGracePeriodSeconds: 1
                  containers:
                  - name: app
                    image: host
                    command: [sh, -c, 'exec sleep 3600']
                    startupProbe: {exec: {command: [test, -f, /tmp/started]}, periodSeconds: 1, failureThreshold: 60}
                    livenessProbe: {exec: {command: ["false"]}, periodSeconds: 1, failureThreshold: 1}
                """)
            #expect(try podrec("apply", "-f", file).status == 0)
            // Several startup probes have failed by the time the status shows three
            // seconds of running; the liveness probe has not run, so nothing restarted.
            try CLIWatchTests.waitFor("app running") { try podrec.pid("slow", "app") != nil }
            MonotonicClock.sleep(nanoseconds: 3_000_000_000)
            #expect(try Self.restarts(podrec, "slow", "app") == 0)
            #expect(try Self.ready(podrec, "slow") == "0/1", "not started: not ready")
            #expect(try podrec("exec", "slow", "--", "touch", "/tmp/started").status == 0)
            try CLIWatchTests.waitFor("the liveness restart", seconds: 20) { (try Self.restarts(podrec, "slow", "app") ?? 0) >= 1 }
        }
    
        /// preStop runs before the stop signal: its output (written to the container's
        /// stdout) is in the log before what the container says on SIGTERM. postStart runs
        /// once the container has started.
        @Test func hooksRunAroundTheContainer() throws {
            let (lab, podrec) = try CLI.lab("probe-hooks")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: hooked}
                spec:
                  terminationGracePeriodSeconds: 10
                  containers:
                  - name: app
                    image: host
                    command: [sh, -c, 'trap "echo got-term; exit 0" TERM; echo up; while true; do sleep 0.1; done']
                    lifecycle:
                      postStart: {exec: {command: [sh, -c, 'echo post-start > /proc/1/fd/1']}}
                      preStop: {exec: {command: [sh, -c, 'echo pre-stop > /proc/1/fd/1; sleep 0.3']}}
                """)
            #expect(try podrec("apply", "-f", file, "--wait").status == 0)
            let logDir = try #require(try Sys.listDirectory(lab.tmp + "/log/pods").first { $0.hasPrefix("default_hooked_") })
            let logFile = "\(lab.tmp)/log/pods/\(logDir)/app/0.log"
            try CLIWatchTests.waitFor("post-start in the log") { ((try? Sys.readString(logFile)) ?? "").contains(" post-start") }
            let deleted = try podrec("delete", "hooked")
            #expect(deleted.status == 0, "\(deleted.output)")
            let lines = PodLab.logLines(try Sys.readString(logFile))
            let preStop = lines.firstIndex(of: "pre-stop"), term = lines.firstIndex(of: "got-term")
            #expect(preStop != nil && term != nil && preStop! < term!, "pre-stop before SIGTERM: \(lines)")
            #expect(lines.contains("up") && lines.contains("post-start"), "\(lines)")
        }
    }
}
