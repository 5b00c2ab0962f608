import PodModel
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

        /// Probes and hooks asked for and not answered yet.
        var probes: [(container: String, kind: ProbeSpec.Kind)] = []
        var hooks: [(container: String, hook: Hook)] = []

        init(_ plan: LaunchPlan, probes: Bool = false) {
            life = PodLifecycle(plan: plan, now: Instant(mono: now, wall: WallTime(now)), probesEnabled: probes)
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
                case .probe(let c, let kind, _):
                    log.append("probe \(c) \(kind)")
                    probes.append((c, kind))
                case .hook(let c, let hook, _, let timeout):
                    log.append("hook \(c) \(hook.rawValue) \(timeout)s")
                    hooks.append((c, hook))
                }
            }
            }
        }
        /// Answers the oldest pending probe of `kind` on `name`.
        mutating func answer(_ name: String, _ kind: ProbeSpec.Kind, _ ok: Bool, _ message: String? = nil) {
            guard let i = probes.firstIndex(where: { $0.container == name && $0.kind == kind }) else {
                Issue.record("no \(kind) probe of \(name) pending: \(log)")
                return
            }
            probes.remove(at: i)
            life.probeResult(name, kind: kind, success: ok, message: message, at: instant)
            step()
        }
        mutating func finishHook(_ name: String, _ hook: Hook, _ ok: Bool) {
            guard let i = hooks.firstIndex(where: { $0.container == name && $0.hook == hook }) else {
                Issue.record("no \(hook) hook of \(name) pending: \(log)")
                return
            }
            hooks.remove(at: i)
            life.hookResult(name, hook: hook, success: ok, message: ok ? nil : "exit 1", at: instant)
            step()
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
        #expect(h.life.nextDeadline() == h.now + 10 * Self.s)
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
            let wait = (h.life.nextDeadline() ?? h.now) - h.now
            delays.append(wait / Self.s)
            h.advance(wait / Self.s)
        }
        #expect(delays == [0, 10, 20, 40, 80, 160, 300, 300])
        // Ten minutes of running resets the backoff: the next restart is immediate again.
        h.advance(600)
        h.exit("a", 1)
        #expect(h.life.nextDeadline() == nil)
        #expect(h.state("a")?.state == .running)
        #expect(h.state("a")?.restartCount == 9)
        #expect(h.state("a")?.lastTermination?.exitCode == 1)
    }

    /// Two containers in backoff, due 50 ms apart. The loop wakes for the first, starts it
    /// (20 ms) and finds nothing more; writing the status takes 40 ms, so when it goes to
    /// wait the second is past due. That start is the deadline (a poll timeout of 0), not
    /// something left until an unrelated event: a supervisor counting from its own clock
    /// found nothing ahead, polled with no timeout, and the second container stayed down.
    @Test func aStartThatFallsDueBeforeTheWaitIsNotMissed() {
        let ms: Int64 = 1_000_000
        var h = Harness(Self.plan([Self.container("a"), Self.container("b")]))
        h.step()
        h.exit("a", 1)
        h.exit("a", 1)
        h.now += 50 * ms
        h.exit("b", 1)
        h.exit("b", 1)
        let aDue = h.now - 50 * ms + 10 * Self.s, bDue = h.now + 10 * Self.s
        #expect(h.life.nextDeadline() == aDue)

        h.now = aDue
        let batch = h.life.actions(at: h.instant)
        #expect(batch.count == 1)
        h.now += 20 * ms
        h.life.started("a", pid: 200, hostPID: 200, at: h.instant)
        #expect(h.life.actions(at: h.instant).isEmpty, "b is not due yet")
        h.now += 40 * ms
        #expect(h.now > bDue)
        #expect(h.life.nextDeadline() == bDue)
        h.step()
        #expect(h.state("b")?.state == .running)
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

    // MARK: Probes

    static func probed(_ name: String, _ kind: ContainerKind = .main, restart: RestartPolicy = .always,
                       startup: ProbeSpec? = nil, liveness: ProbeSpec? = nil, readiness: ProbeSpec? = nil) -> ContainerLaunch {
        var c = container(name, kind, restart: restart)
        c.startupProbe = startup
        c.livenessProbe = liveness
        c.readinessProbe = readiness
        return c
    }

    static let tcp = HandlerAction.tcpSocket(host: "127.0.0.1", port: 80)

    /// Liveness and readiness wait for the startup probe; each probe waits for its initial
    /// delay and then runs every period; readiness makes the container ready.
    @Test func theStartupProbeGatesLivenessAndReadiness() {
        var h = Harness(Self.plan([Self.probed("a", startup: ProbeSpec(action: Self.tcp, periodSeconds: 1, failureThreshold: 30),
                                               liveness: ProbeSpec(action: Self.tcp, initialDelaySeconds: 5),
                                               readiness: ProbeSpec(action: Self.tcp))]), probes: true)
        h.step()
        #expect(h.log == ["start a", "probe a startup"])
        #expect(h.state("a")?.ready == false)
        h.answer("a", .startup, false)
        h.advance(1)
        #expect(h.log.last == "probe a startup")
        h.answer("a", .startup, true)
        // Readiness now; liveness at its initial delay, 5 s after the start.
        #expect(h.log.suffix(1) == ["probe a readiness"])
        h.answer("a", .readiness, true)
        #expect(h.state("a")?.ready == true)
        h.advance(4)
        #expect(h.log.last == "probe a liveness")
        #expect(h.life.nextDeadline() != nil)
    }

    /// `failureThreshold` liveness failures in a row stop the run, with the probe's own
    /// grace period, and the container restarts under its policy; a success between
    /// failures starts the count again.
    @Test func livenessFailuresRestartTheContainer() {
        var h = Harness(Self.plan([Self.probed("a", liveness: ProbeSpec(action: Self.tcp, periodSeconds: 10, failureThreshold: 3,
                                                                        terminationGracePeriodSeconds: 5))]), probes: true)
        h.step()
        h.answer("a", .liveness, false, "connection refused")
        h.advance(10)
        h.answer("a", .liveness, true)
        h.advance(10)
        h.answer("a", .liveness, false)
        h.advance(10)
        h.answer("a", .liveness, false)
        #expect(!h.log.contains { $0.hasPrefix("signal") }, "two failures in a row: not yet")
        h.advance(10)
        h.answer("a", .liveness, false, "HTTP 500")
        #expect(h.log.last == "signal a 15")
        #expect(h.state("a")?.message == "Liveness probe failed: HTTP 500")
        #expect(h.probes.isEmpty && h.life.actions(at: h.instant).isEmpty, "no probe of a run that is stopping")
        h.advance(5)
        #expect(h.log.last == "kill a", "the probe's grace period, not the pod's 30 s")
        h.life.exited("a", status: .signaled(9), oomKilled: false, at: h.instant)
        h.step()
        #expect(h.log.suffix(2) == ["start a", "probe a liveness"])
        #expect(h.state("a")?.restartCount == 1)
        #expect(h.state("a")?.lastTermination?.exitCode == 137)
        // kubectl's events, repeats counted.
        let events = h.life.events.map { "\($0.type) \($0.reason) x\($0.count): \($0.message)" }
        #expect(events == [
            "Warning Unhealthy x1: Liveness probe failed: connection refused",
            "Warning Unhealthy x2: Liveness probe failed: ",
            "Warning Unhealthy x1: Liveness probe failed: HTTP 500",
            "Normal Killing x1: Container a failed liveness probe, will be restarted",
            "Normal Started x2: Started container a",
        ], "\(events)")
        #expect(h.state("a")?.probes == [ProbeReport(kind: .liveness, success: nil, failures: 0, message: nil)])
    }

    /// A probe the supervisor could not even run (out of fds): kubelet's prober error, an
    /// event and no result, so that a threshold of 1 does not kill a healthy container;
    /// the probe runs again a period later.
    @Test func aProbeErrorIsNotAFailure() {
        var h = Harness(Self.plan([Self.probed("a", liveness: ProbeSpec(action: Self.tcp, periodSeconds: 2, failureThreshold: 1))]), probes: true)
        h.step()
        h.probes.removeAll()
        h.life.probeErrored("a", kind: .liveness, message: "exec: pipe2: EMFILE (Too many open files)", at: h.instant)
        h.step()
        #expect(!h.log.contains { $0.hasPrefix("signal") || $0.hasPrefix("kill") }, "\(h.log)")
        #expect(h.state("a")?.probes == [ProbeReport(kind: .liveness, success: nil, failures: 0, message: nil)])
        #expect(h.life.events.last.map { "\($0.type) \($0.reason): \($0.message)" }
                == "Warning Unhealthy: Liveness probe errored and resulted in unknown state: exec: pipe2: EMFILE (Too many open files)")
        h.advance(2)
        #expect(h.log.last == "probe a liveness")
        h.answer("a", .liveness, false, "exit 1")
        #expect(h.log.last == "signal a 15", "a real failure still counts")
    }

    /// Log trouble and refused forks are events; a log that comes and goes stays one event
    /// of each kind with a count.
    @Test func logTroubleAndRefusedForksAreEvents() {
        var h = Harness(Self.plan([Self.container("a")]))
        h.step()
        for _ in 0..<2 {
            h.life.logWriteFailed("a", message: "write /l/0.log: ENOSPC (No space left on device)", at: h.instant)
            h.life.logWriteResumed("a", at: h.instant)
        }
        h.life.forksRefused("a", count: 3, limit: "its cgroup's pids.max is 10", at: h.instant)
        let events = h.life.events.map { "\($0.type) \($0.reason) x\($0.count): \($0.message)" }
        #expect(events == [
            "Normal Started x1: Started container a",
            "Warning FailedLogWrite x2: Writing the log of container a: write /l/0.log: ENOSPC (No space left on device); its output is dropped until a write succeeds",
            "Normal LogWriteResumed x2: The log of container a is written again; output in between was dropped",
            "Warning PidsLimitReached x1: Container a: the kernel refused 3 forks at the pids limit (its cgroup's pids.max is 10)",
        ], "\(events)")
    }

    @Test func aContainerThatNeverRestartsStaysTerminatedAfterALivenessFailure() {
        var h = Harness(Self.plan([Self.probed("a", restart: .never, liveness: ProbeSpec(action: Self.tcp, failureThreshold: 1))]), probes: true)
        h.step()
        h.answer("a", .liveness, false)
        h.exit("a", 143)
        #expect(h.state("a")?.state == .terminated)
        #expect(h.life.phase == .failed)
    }

    /// Ready after `successThreshold` successes in a row, not ready after
    /// `failureThreshold` failures in a row.
    @Test func readinessFollowsItsThresholds() {
        var h = Harness(Self.plan([Self.probed("a", readiness: ProbeSpec(action: Self.tcp, periodSeconds: 1, successThreshold: 2,
                                                                         failureThreshold: 2))]), probes: true)
        h.step()
        h.answer("a", .readiness, true)
        #expect(h.state("a")?.ready == false)
        h.advance(1)
        h.answer("a", .readiness, true)
        #expect(h.state("a")?.ready == true)
        h.advance(1)
        h.answer("a", .readiness, false)
        #expect(h.state("a")?.ready == true)
        h.advance(1)
        h.answer("a", .readiness, false)
        #expect(h.state("a")?.ready == false)
        #expect(h.life.probeSummary("a").first?.failures == 2)
    }

    /// KEP-753: a sidecar with a startup probe lets the next init container start only once
    /// the probe has passed.
    @Test func aSidecarsStartupProbeGatesTheNextInitContainer() {
        var h = Harness(Self.plan([Self.probed("side", .sidecar, startup: ProbeSpec(action: Self.tcp, periodSeconds: 1)),
                                   Self.container("i", .initContainer, restart: .onFailure), Self.container("a")]), probes: true)
        h.step()
        #expect(h.log == ["start side", "probe side startup"])
        h.answer("side", .startup, false)
        h.advance(1)
        #expect(!h.log.contains("start i"))
        h.answer("side", .startup, true)
        #expect(h.log.last == "start i")
    }

    /// A lifecycle built with probes off (the supervisor until its probe runner lands) asks
    /// for none and reports no readiness.
    @Test func withProbesOffNothingIsProbed() {
        var h = Harness(Self.plan([Self.probed("a", startup: ProbeSpec(action: Self.tcp), readiness: ProbeSpec(action: Self.tcp))]))
        h.step()
        #expect(h.log == ["start a"])
        #expect(h.state("a")?.ready == nil)
        #expect(h.life.nextDeadline() == nil)
    }

    // MARK: Hooks

    static func hooked(_ name: String, postStart: HandlerAction? = nil, preStop: HandlerAction? = nil, readiness: ProbeSpec? = nil) -> ContainerLaunch {
        var c = probed(name, readiness: readiness)
        c.postStart = postStart
        c.preStop = preStop
        return c
    }

    /// postStart runs first; the run's probes begin, and it can be ready, only after it.
    @Test func postStartRunsBeforeTheProbes() {
        var h = Harness(Self.plan([Self.hooked("a", postStart: .exec(["setup"]), readiness: ProbeSpec(action: Self.tcp))]), probes: true)
        h.step()
        #expect(h.log == ["start a", "hook a PostStart 120s"])
        #expect(h.state("a")?.ready == false)
        h.finishHook("a", .postStart, true)
        #expect(h.log.last == "probe a readiness")
        h.answer("a", .readiness, true)
        #expect(h.state("a")?.ready == true)
    }

    /// A failed postStart kills the run, which restarts under its policy.
    @Test func aFailedPostStartKillsTheRun() {
        var h = Harness(Self.plan([Self.hooked("a", postStart: .exec(["setup"]))]), probes: true)
        h.step()
        h.finishHook("a", .postStart, false)
        #expect(h.log.last == "signal a 15")
        #expect(h.life.events.contains { $0.reason == "FailedPostStartHook" && $0.message == "PostStartHook failed: exit 1" })
        h.life.exited("a", status: .signaled(15), oomKilled: false, at: h.instant)
        h.step()
        #expect(h.log.suffix(2) == ["start a", "hook a PostStart 120s"])
    }

    /// preStop runs before the stop signal, within the grace period; the signal follows it,
    /// and SIGKILL comes at the grace deadline.
    @Test func preStopRunsBeforeTheStopSignal() {
        var h = Harness(Self.plan([Self.hooked("a", preStop: .sleep(seconds: 3))], grace: 30), probes: true)
        h.step()
        h.life.stop(at: h.instant)
        h.step()
        #expect(h.log == ["start a", "hook a PreStop 30s"])
        h.advance(3)
        h.finishHook("a", .preStop, true)
        #expect(h.log.last == "signal a 15")
        h.advance(26)
        #expect(h.log.last == "signal a 15")
        h.advance(1)
        #expect(h.log.last == "kill a", "at the 30 s deadline")
    }

    /// A preStop hook that outlasts the grace period: the signal at the deadline, and
    /// kubelet's 2 s before SIGKILL.
    @Test func aPreStopHookThatHangsGetsTheTwoSecondExtension() {
        var h = Harness(Self.plan([Self.hooked("a", preStop: .exec(["hang"]))], grace: 5), probes: true)
        h.step()
        h.life.stop(at: h.instant)
        h.step()
        #expect(h.log.last == "hook a PreStop 5s")
        h.advance(5)
        #expect(h.log.last == "signal a 15")
        h.advance(1)
        #expect(h.log.last == "signal a 15")
        h.advance(1)
        #expect(h.log.last == "kill a")
    }
}
