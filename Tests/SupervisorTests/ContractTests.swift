import PodContract
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
                            mounts: [MountSpec(source: "/a", target: "/b", readOnly: true, isFile: true)],
                            cgroup: "podrec/x/init", stopSignal: 3, oomScoreAdj: 1000),
            ContainerLaunch(name: "main", executable: "/bin/true", arguments: ["true", ""], cgroup: "podrec/x/main"),
        ]
        let text = plan.encoded()
        #expect(!text.contains("\t\n"))
        #expect(try LaunchPlan.decode(text) == plan)
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
