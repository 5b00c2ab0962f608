import PodModel
import Testing

@Suite struct ContractTests {
    @Test func planRoundTrips() throws {
        var plan = LaunchPlan(generation: 3, namespace: "default", name: "web", uid: "u-1", hostname: "web",
                              shareProcessNamespace: true, terminationGracePeriodSeconds: 5, logDirectory: "/l",
                              scratchDirectory: "/s", sharedShm: "/shm")
        plan.containers = [
            ContainerLaunch(name: "init", kind: .initContainer, specHash: "ab", restartPolicy: .onFailure,
                            executable: "/bin/sh", arguments: ["sh", "-c", "echo 'a\tb'\nexit 0\\"],
                            environment: ["A=1", "B= x "], workingDirectory: "/w", uid: 1000, gid: 1000,
                            supplementalGroups: [5, 6], capabilities: CapabilityMasks(0x3f), noNewPrivileges: true,
                            root: .image(rootfs: "/r", upper: "/u", work: "/k"),
                            mounts: [MountSpec(source: "/a", target: "/b", readOnly: true, isFile: true),
                                     MountSpec(source: "/v/sub/dir", target: "/c", beneath: "/v")],
                            cgroup: "podrec/x/init", stopSignal: 3, oomScoreAdj: 1000),
            ContainerLaunch(name: "main", executable: "/bin/true", arguments: ["true", ""], cgroup: "podrec/x/main"),
            ContainerLaunch(name: "layered", executable: "/bin/true", arguments: ["true"],
                            root: .image(layers: ["/l/top", "/l/mid", "/l/base"], upper: "/u2", work: "/k2"), cgroup: "podrec/x/layered"),
        ]
        let text = plan.encoded()
        #expect(!text.contains("\t\n"))
        #expect(try LaunchPlan.decode(text) == plan)
        // One layer keeps the form plans had before layers; several get their own line.
        #expect(text.contains(#"root image\t/r\t/u\t/k"#))
        #expect(text.contains(#"root layers\t/u2\t/k2\t/l/top\t/l/mid\t/l/base"#))
    }

    /// Probes and hooks, every action kind, with odd bytes where a manifest allows them.
    @Test func probesAndHooksRoundTrip() throws {
        var plan = LaunchPlan(generation: 1, namespace: "default", name: "web", uid: "u-1", hostname: "web",
                              logDirectory: "/l", scratchDirectory: "/s")
        var c = ContainerLaunch(name: "app", executable: "/bin/sh", arguments: ["sh"], cgroup: "podrec/x/app")
        c.startupProbe = ProbeSpec(action: .exec(["cat", "/tmp/ready\tnow", ""]), initialDelaySeconds: 2, periodSeconds: 1,
                                   failureThreshold: 30, terminationGracePeriodSeconds: 7)
        c.livenessProbe = ProbeSpec(action: .httpGet(HTTPGet(host: "127.0.0.1", port: 8080, path: "/healthz?a=b\tc", https: false,
                                                             headers: [HTTPHeaderField(name: "X-A", value: "1\t2"), HTTPHeaderField(name: "X-B", value: "")])),
                                    timeoutSeconds: 3)
        c.readinessProbe = ProbeSpec(action: .tcpSocket(host: "127.0.0.1", port: 5432), successThreshold: 2)
        c.postStart = .exec([])
        c.preStop = .sleep(seconds: 5)
        plan.containers = [c, ContainerLaunch(name: "side", executable: "/bin/true", arguments: ["true"], cgroup: "podrec/x/side")]
        let decoded = try LaunchPlan.decode(plan.encoded())
        #expect(decoded == plan)
        #expect(decoded.containers[1].livenessProbe == nil)
    }

    /// gRPC probes (an empty service, and one with a tab) and HTTPS gets, with the pod IP's
    /// token filled in as for httpGet and tcpSocket.
    @Test func grpcAndHTTPSProbesRoundTrip() throws {
        var plan = LaunchPlan(generation: 1, namespace: "default", name: "web", uid: "u-1", hostname: "web",
                              logDirectory: "/l", scratchDirectory: "/s")
        var c = ContainerLaunch(name: "app", executable: "/bin/sh", arguments: ["sh"], cgroup: "podrec/x/app")
        c.startupProbe = ProbeSpec(action: .grpc(host: LaunchPlan.podIPToken, port: 9090, service: ""))
        c.livenessProbe = ProbeSpec(action: .grpc(host: "10.0.0.2", port: 9090, service: "a\tb"), timeoutSeconds: 2)
        c.readinessProbe = ProbeSpec(action: .httpGet(HTTPGet(host: LaunchPlan.podIPToken, port: 8443, path: "/ready", https: true,
                                                              headers: [HTTPHeaderField(name: "X-A", value: "1")])))
        c.preStop = .httpGet(HTTPGet(host: "127.0.0.1", port: 8443, path: "/stop", https: true))
        plan.containers = [c]
        let text = plan.encoded()
        #expect(text.contains("startupProbe.grpc \u{1}podIP\u{1}\\t9090\\t\n"), "\(text)")
        #expect(text.contains("readinessProbe.http \u{1}podIP\u{1}\\t8443\\tHTTPS\\t/ready\n"), "\(text)")
        #expect(try LaunchPlan.decode(text) == plan)
        let filled = plan.assigningPodIPs(["10.89.0.7"]).containers[0]
        #expect(filled.startupProbe?.action == .grpc(host: "10.89.0.7", port: 9090, service: ""))
        #expect(filled.readinessProbe?.action == .httpGet(HTTPGet(host: "10.89.0.7", port: 8443, path: "/ready", https: true,
                                                                   headers: [HTTPHeaderField(name: "X-A", value: "1")])))
    }

    @Test func statusRoundTrips() throws {
        let t = Termination(exitCode: 137, signal: 9, reason: "OOMKilled", startedAt: WallTime(5), finishedAt: WallTime(9))
        let status = PodStatus(observedGeneration: 2, phase: .running, supervisorPID: 42, updatedAt: WallTime(7),
                               planError: "bad\nplan", containers: [
                                   ContainerStatus(name: "a", kind: .sidecar, specHash: "h", state: .terminated, reason: "OOMKilled",
                                                   restartCount: 3, startedAt: WallTime(5), termination: t, lastTermination: t,
                                                   nextStartAt: WallTime(10)),
                                   ContainerStatus(name: "b", kind: .main, specHash: "g", state: .running, pid: 77),
                               ])
        #expect(try PodStatus.decode(status.encoded()) == status)
    }

    @Test func refusesOtherFilesAndVersions() {
        #expect(throws: RecordError.self) { try LaunchPlan.decode("podrec-pod-status 1\n") }
        #expect(throws: RecordError.self) { try LaunchPlan.decode("podrec-launch-plan 2\n") }
        #expect(throws: RecordError.self) { try LaunchPlan.decode("podrec-launch-plan 1\ncontainer a\nkind init\n") }
        #expect(throws: RecordError.self) { try LaunchPlan.decode("podrec-launch-plan 1\nname a\\q\n") }
    }

    @Test func rfc3339() {
        #expect(WallTime(0).rfc3339Nano == "1970-01-01T00:00:00.000000000Z")
        #expect(WallTime(1_795_941_000_123_456_789).rfc3339Nano == "2026-11-29T08:30:00.123456789Z")
        #expect(WallTime(951_782_400_000_000_001).rfc3339Nano == "2000-02-29T00:00:00.000000001Z")
    }
}
