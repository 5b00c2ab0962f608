import Glibc
import Kernel
import KernelTestSupport
import Testing

extension Integration {
    /// gRPC and HTTPS probes through the built `podrec`: the supervisor starts
    /// `podrec-probe` for each run, from the pod's network namespace, against real servers
    /// in the pod (a gRPC health server on Debian's grpcio, an HTTPS server with a
    /// self-signed certificate; Tests/Support, mounted into the container by hostPath).
    /// These pods have only `lo`, so the probes' target, the pod IP, is 127.0.0.1 in the
    /// pod's own namespace: the servers bind there, never on a host address. The probes
    /// get a 10 s timeout and the waits 90 s: in the cgroup v2 VM (an emulated CPU, shared
    /// with the servers) a debug podrec-probe run takes 0.2-0.9 s, and a probe that timed
    /// out would restart or unready what the test did not ask for.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct CLIProbeHelperTests {
        typealias CLI = CLIPodTests.CLI

        static let support = parentDirectory(parentDirectory(#filePath)) + "/Support"

        static func requireServers() throws {
            try HostTool.require("/usr/bin/python3", package: "python3")
            try HostTool.require("/usr/bin/openssl", package: "openssl")
            try #require(access("/usr/lib/python3/dist-packages/grpc/__init__.py", R_OK) == 0,
                         "Debian's python3-grpcio is needed (Tools/deps test)")
        }

        /// kubelet's gRPC prober: NOT_SERVING from readiness's service turns the container
        /// unready (and back, with no restart); NOT_SERVING from liveness's service restarts
        /// it, with kubelet's events (`Unhealthy`, `Killing`).
        @Test func grpcReadinessAndLivenessFollowTheHealthService() throws {
            try Self.requireServers()
            let (_, podrec) = try CLI.lab("probe-grpc")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: rpc}
                spec:
                  terminationGracePeriodSeconds: 1
                  volumes: [{name: support, hostPath: {path: \(Self.support), type: Directory}}]
                  containers:
                  - name: rpc
                    image: host
                    command: [/usr/bin/python3, /support/grpc_health_server.py, "18090", /tmp/status]
                    volumeMounts: [{name: support, mountPath: /support, readOnly: true}]
                    readinessProbe: {grpc: {port: 18090}, periodSeconds: 1, failureThreshold: 1, timeoutSeconds: 10}
                    livenessProbe: {grpc: {port: 18090, service: db}, initialDelaySeconds: 2, periodSeconds: 1, failureThreshold: 2, timeoutSeconds: 10}
                """)
            let applied = try podrec("apply", "-f", file, "--wait", "--timeout", "120")
            #expect(applied.status == 0, "\(applied.output)")
            #expect(try CLIProbeTests.ready(podrec, "rpc") == "1/1")

            // Readiness: NOT_SERVING for "" → not ready, no restart; SERVING again → ready.
            #expect(try podrec("exec", "rpc", "--", "sh", "-c", "echo NOT_SERVING > /tmp/status").status == 0)
            try CLIWatchTests.waitFor("rpc unready", seconds: 90) { try CLIProbeTests.ready(podrec, "rpc") == "0/1" }
            var describe = try podrec("describe", "rpc").output
            #expect(describe.contains(#"Readiness probe failed: service unhealthy (responded with "NOT_SERVING")"#), "\(describe)")
            #expect(describe.contains("Readiness:          grpc <pod>:18090  delay=0s timeout=10s period=1s #success=1 #failure=1"), "\(describe)")
            #expect(describe.contains("Liveness:           grpc <pod>:18090 db delay=2s timeout=10s period=1s #success=1 #failure=2"), "\(describe)")
            #expect(try podrec("exec", "rpc", "--", "rm", "/tmp/status").status == 0)
            try CLIWatchTests.waitFor("rpc ready again", seconds: 90) { try CLIProbeTests.ready(podrec, "rpc") == "1/1" }
            #expect(try CLIProbeTests.restarts(podrec, "rpc", "rpc") == 0)

            // Liveness: NOT_SERVING for "db" twice → killed and restarted; the new run's /tmp
            // is its own, so it serves again.
            let before = try podrec.pid("rpc", "rpc")
            #expect(try podrec("exec", "rpc", "--", "sh", "-c", "echo NOT_SERVING > /tmp/status.db").status == 0)
            try CLIWatchTests.waitFor("the restart", seconds: 90) { try CLIProbeTests.restarts(podrec, "rpc", "rpc") == 1 }
            try CLIWatchTests.waitFor("the new run", seconds: 90) { (try podrec.pid("rpc", "rpc")).map { $0 != before } == true }
            try CLIWatchTests.waitFor("ready after the restart", seconds: 90) { try CLIProbeTests.ready(podrec, "rpc") == "1/1" }
            describe = try podrec("describe", "rpc").output
            for event in ["Warning  Unhealthy", #"Liveness probe failed: service unhealthy (responded with "NOT_SERVING")"#,
                          "Normal   Killing", "Container rpc failed liveness probe, will be restarted"] {
                #expect(describe.contains(event), "\(event) in \(describe)")
            }
        }

        /// kubelet's HTTPS prober: TLS without verification (the server's certificate is
        /// self-signed), a same-host redirect followed (readiness on /moved ends at
        /// /healthz), kubelet's User-Agent and the probe's headers sent (/live refuses
        /// others), a 500 from liveness restarts the container; a preStop hook over HTTPS
        /// reaches the server (kubelet runs httpGet hooks with the same prober).
        @Test func httpsProbesSkipVerificationFollowLocalRedirectsAndRestart() throws {
            try Self.requireServers()
            let (lab, podrec) = try CLI.lab("probe-https")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: tls}
                spec:
                  terminationGracePeriodSeconds: 2
                  volumes: [{name: support, hostPath: {path: \(Self.support), type: Directory}}]
                  containers:
                  - name: tls
                    image: host
                    command: [/usr/bin/python3, -u, /support/https_server.py, "18443", /tmp]
                    ports: [{name: https, containerPort: 18443}]
                    volumeMounts: [{name: support, mountPath: /support, readOnly: true}]
                    startupProbe: {tcpSocket: {port: 18443}, periodSeconds: 1, failureThreshold: 120}
                    readinessProbe: {httpGet: {scheme: HTTPS, path: /moved, port: https}, periodSeconds: 1, failureThreshold: 1, timeoutSeconds: 10}
                    livenessProbe:
                      httpGet: {scheme: HTTPS, path: /live, port: 18443, httpHeaders: [{name: X-Probe, value: "1"}]}
                      initialDelaySeconds: 2
                      periodSeconds: 1
                      failureThreshold: 2
                      timeoutSeconds: 10
                    lifecycle:
                      preStop: {httpGet: {scheme: HTTPS, path: /stopping, port: 18443}}
                """)
            // The startup probe holds liveness back until the server listens, as kubelet's does:
            // the server first makes its certificate with openssl, seconds in the emulated VM,
            // and an HTTPS probe to a port nobody listens on fails at once (Go's dial), so two
            // liveness runs before that restarted the container.
            let applied = try podrec("apply", "-f", file, "--wait", "--timeout", "120")
            #expect(applied.status == 0, "\(applied.output)")
            #expect(try CLIProbeTests.ready(podrec, "tls") == "1/1")

            // /healthz answers 500 while /tmp/unhealthy exists: readiness (through /moved)
            // fails with kubelet's message, and turns back once it is gone.
            #expect(try podrec("exec", "tls", "--", "touch", "/tmp/unhealthy").status == 0)
            try CLIWatchTests.waitFor("tls unready", seconds: 90) { try CLIProbeTests.ready(podrec, "tls") == "0/1" }
            var describe = try podrec("describe", "tls").output
            #expect(describe.contains("Readiness probe failed: HTTP probe failed with statuscode: 500"), "\(describe)")
            #expect(describe.contains("Readiness:          http-get https://127.0.0.1:18443/moved delay=0s timeout=10s period=1s #success=1 #failure=1"), "\(describe)")
            #expect(try podrec("exec", "tls", "--", "rm", "/tmp/unhealthy").status == 0)
            try CLIWatchTests.waitFor("tls ready again", seconds: 90) { try CLIProbeTests.ready(podrec, "tls") == "1/1" }
            let events = try podrec("describe", "tls").output
            #expect(try CLIProbeTests.restarts(podrec, "tls", "tls") == 0, "kubelet's headers and the probe's reach the server: \(events)")

            // Liveness: /live answers 500 while /tmp/dead exists: two failures restart the
            // container, with kubelet's events; its new run's /tmp is its own, and it lives.
            #expect(try podrec("exec", "tls", "--", "touch", "/tmp/dead").status == 0)
            try CLIWatchTests.waitFor("the restart", seconds: 90) { try CLIProbeTests.restarts(podrec, "tls", "tls") == 1 }
            try CLIWatchTests.waitFor("ready after the restart", seconds: 90) { try CLIProbeTests.ready(podrec, "tls") == "1/1" }
            describe = try podrec("describe", "tls").output
            for event in ["Liveness probe failed: HTTP probe failed with statuscode: 500",
                          "Container tls failed liveness probe, will be restarted"] {
                #expect(describe.contains(event), "\(event) in \(describe)")
            }

            // preStop over HTTPS: the server logs each request to its stderr, the log.
            let deleted = try podrec("delete", "tls")
            #expect(deleted.status == 0, "\(deleted.output)")
            let logDir = try #require(try Sys.listDirectory(lab.tmp + "/log/pods").first { $0.hasPrefix("default_tls_") })
            let logs = try Sys.listDirectory("\(lab.tmp)/log/pods/\(logDir)/tls").map { try Sys.readString("\(lab.tmp)/log/pods/\(logDir)/tls/\($0)") }
            #expect(logs.contains { $0.contains("/stopping") && $0.contains("kube-probe/1.32") }, "\(logs)")
        }
    }
}
