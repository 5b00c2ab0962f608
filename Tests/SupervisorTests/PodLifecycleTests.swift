import PodContract
import Supervisor
import Testing

/// The lifecycle state machine on its own: events in, actions out, with a fake clock.
@Suite struct PodLifecycleTests {
    static let s: Int64 = 1_000_000_000

    static func container(_ name: String, _ kind: ContainerKind = .main, restart: RestartPolicy = .always, hash: String = "1") -> ContainerLaunch {
        ContainerLaunch(name: name, kind: kind, specHash: hash, restartPolicy: restart, executable: "/bin/true", arguments: ["true"], cgroup: "x/\(name)")
    }

    static func plan(_ containers: [ContainerLaunch], grace: Int64 = 30, generation: Int = 1) -> LaunchPlan {
        LaunchPlan(generation: generation, namespace: "default", name: "p", uid: "u", hostname: "p", terminationGracePeriodSeconds: grace,
                   logDirectory: "/l", scratchDirectory: "/s", containers: containers)
    }

    /// A driver: the clock, fake pids, and a record of what was started and signalled.
    struct Harness {
        var life: PodLifecycle
        var now: Int64 = 1_000 * PodLifecycleTests.s
        var nextPID: Int32 = 100
        var log: [String] = []

        init(_ plan: LaunchPlan) {
            life = PodLifecycle(plan: plan, now: Instant(mono: now, wall: WallTime(now)))
        }
        var instant: Instant { Instant(mono: now, wall: WallTime(now)) }

        /// Runs the lifecycle's actions, starting what it asks for.
        mutating func step() {
            while true {
            let actions = life.actions(at: instant)
            if actions.isEmpty { return }
            for a in actions {
                switch a {
                case .start(let c):
                    nextPID += 1
                    life.started(c.name, pid: nextPID, hostPID: nextPID, at: instant)
                    log.append("start \(c.name)")
                case .signal(let c, let sig): log.append("signal \(c) \(sig)")
                case .kill(let c): log.append("kill \(c)")
                }
            }
            }
        }
        mutating func exit(_ name: String, _ code: Int32, oom: Bool = false) {
            life.exited(name, status: .exited(code), oomKilled: oom, at: instant)
            step()
        }
        mutating func advance(_ seconds: Int64) {
            now += seconds * PodLifecycleTests.s
            step()
        }
        func state(_ name: String) -> ContainerStatus? { life.containerStatuses.first { $0.name == name } }
    }

    @Test func initContainersRunInOrderThenSidecarsThenMains() {
        var h = Harness(Self.plan([Self.container("i1", .initContainer, restart: .onFailure), Self.container("side", .sidecar),
                                   Self.container("i2", .initContainer, restart: .onFailure), Self.container("a"), Self.container("b")]))
        h.step()
        #expect(h.log == ["start i1"])
        #expect(h.life.phase == .pending)
        #expect(h.state("a")?.reason == "PodInitializing")
        h.exit("i1", 0)
        // The sidecar only has to be started for the next init container to run.
        #expect(h.log == ["start i1", "start side", "start i2"])
        h.exit("i2", 0)
        #expect(h.log.suffix(2) == ["start a", "start b"])
        #expect(h.life.phase == .running)
        #expect(h.state("i1")?.state == .terminated && h.state("i1")?.reason == "Completed")
    }

    @Test func aFailedInitContainerIsRetriedWithBackoffOrFailsThePod() {
        var h = Harness(Self.plan([Self.container("i", .initContainer, restart: .onFailure), Self.container("a")]))
        h.step()
        h.exit("i", 1)
        #expect(h.log == ["start i", "start i"], "the first restart is immediate")
        h.exit("i", 1)
        #expect(h.log.count == 2)
        #expect(h.state("i")?.reason == "CrashLoopBackOff")
        #expect(h.life.nextDeadline(after: h.now) == h.now + 10 * Self.s)
        h.advance(10)
        #expect(h.log.count == 3)
        #expect(h.state("i")?.restartCount == 2)

        var never = Harness(Self.plan([Self.container("i", .initContainer, restart: .never), Self.container("a", restart: .never)]))
        never.step()
        never.exit("i", 3)
        #expect(never.log == ["start i"])
        #expect(never.life.phase == .failed)
        #expect(never.state("i")?.termination?.exitCode == 3)
    }

    @Test func backoffDoublesToTheCapAndResetsAfterALongRun() {
        var h = Harness(Self.plan([Self.container("a")]))
        h.step()
        var delays: [Int64] = []
        for _ in 0..<8 {
            h.exit("a", 1)
            let wait = (h.life.nextDeadline(after: h.now) ?? h.now) - h.now
            delays.append(wait / Self.s)
            h.advance(wait / Self.s)
        }
        #expect(delays == [0, 10, 20, 40, 80, 160, 300, 300])
        // Ten minutes of running resets the backoff: the next restart is immediate again.
        h.advance(600)
        h.exit("a", 1)
        #expect(h.life.nextDeadline(after: h.now) == nil)
        #expect(h.state("a")?.state == .running)
        #expect(h.state("a")?.restartCount == 9)
        #expect(h.state("a")?.lastTermination?.exitCode == 1)
    }

    @Test func restartPoliciesAndPhases() {
        var onFailure = Harness(Self.plan([Self.container("a", restart: .onFailure), Self.container("b", restart: .onFailure)]))
        onFailure.step()
        onFailure.exit("a", 0)
        onFailure.exit("b", 2)
        #expect(onFailure.log == ["start a", "start b", "start b"])
        #expect(onFailure.life.phase == .running)
        onFailure.exit("b", 0)
        #expect(onFailure.life.phase == .succeeded)

        var never = Harness(Self.plan([Self.container("a", restart: .never)]))
        never.step()
        never.life.exited("a", status: .signaled(9), oomKilled: true, at: never.instant)
        #expect(never.life.phase == .failed)
        #expect(never.state("a")?.reason == "OOMKilled")
        #expect(never.state("a")?.termination?.exitCode == 137)
    }

    @Test func sidecarsStopInReverseOrderAfterTheMainContainersFinish() {
        var h = Harness(Self.plan([Self.container("s1", .sidecar), Self.container("s2", .sidecar), Self.container("a", restart: .never)]))
        h.step()
        #expect(h.log == ["start s1", "start s2", "start a"])
        h.exit("s1", 1)
        #expect(h.log.last == "start s1", "sidecars always restart")
        h.exit("a", 0)
        #expect(h.log.last == "signal s2 15")
        h.exit("s2", 143)
        #expect(h.log.last == "signal s1 15")
        #expect(h.state("s2")?.state == .terminated, "a stopped sidecar is not restarted")
        h.exit("s1", 143)
        #expect(h.life.phase == .succeeded)
    }

    @Test func aPodStopSignalsMainsThenSidecarsAndKillsAtTheDeadline() {
        var h = Harness(Self.plan([Self.container("s1", .sidecar), Self.container("s2", .sidecar), Self.container("a"), Self.container("b")], grace: 10))
        h.step()
        h.life.stop(at: h.instant)
        h.step()
        #expect(h.log.suffix(2) == ["signal a 15", "signal b 15"])
        h.exit("a", 143)
        #expect(h.log.count == 6)
        h.exit("b", 143)
        #expect(h.log.last == "signal s2 15")
        h.advance(10)
        #expect(h.log.suffix(2) == ["kill s1", "kill s2"])
        h.exit("s1", 137)
        h.exit("s2", 137)
        #expect(h.life.stopped)
        #expect(h.state("a")?.state == .terminated)
    }

    @Test func aNewPlanRestartsOnlyChangedContainersAndNeverRerunsFinishedInits() {
        var h = Harness(Self.plan([Self.container("i", .initContainer, restart: .onFailure), Self.container("a"), Self.container("b"), Self.container("c")]))
        h.step()
        h.exit("i", 0)
        #expect(h.log == ["start i", "start a", "start b", "start c"])
        h.log = []
        h.life.apply(Self.plan([Self.container("i", .initContainer, restart: .onFailure, hash: "2"), Self.container("a"),
                                Self.container("b", hash: "2"), Self.container("d")], generation: 2), at: h.instant)
        h.step()
        #expect(Set(h.log) == ["signal b 15", "signal c 15", "start d"])
        h.log = []
        h.exit("b", 143)
        #expect(h.log == ["start b"])
        #expect(h.state("b")?.specHash == "2")
        h.exit("c", 143)
        #expect(h.state("c") == nil)
        #expect(h.life.containerStatuses.map(\.name) == ["i", "a", "b", "d"])
        #expect(h.state("i")?.state == .terminated)
    }

    @Test func aStartErrorIsATerminationWithExitCode128() {
        var h = Harness(Self.plan([Self.container("a", restart: .never)]))
        let actions = h.life.actions(at: h.instant)
        #expect(actions.count == 1)
        h.life.startFailed("a", message: "exec /nope: ENOENT", at: h.instant)
        h.step()
        let st = h.state("a")
        #expect(st?.state == .terminated)
        #expect(st?.reason == "StartError")
        #expect(st?.termination?.exitCode == 128)
        #expect(st?.message == "exec /nope: ENOENT")
        #expect(h.life.phase == .failed)
    }
}
