import PodModel

/// Both clocks at one instant: `mono` (CLOCK_MONOTONIC ns) for deadlines and backoff,
/// `wall` for what the status shows.
public struct Instant: Sendable, Hashable {
    public var mono: Int64
    public var wall: WallTime
    public init(mono: Int64, wall: WallTime) {
        self.mono = mono
        self.wall = wall
    }
}

/// What the supervisor's process side must do now.
public enum LifecycleAction: Sendable, Hashable {
    /// Spawn the container; report back with `started` or `startFailed`.
    case start(ContainerLaunch)
    /// Send the container's main process a signal (its stop signal).
    case signal(container: String, signal: Int32)
    /// SIGKILL everything in the container's cgroup: its grace period is over.
    case kill(container: String)
    /// Run one probe of a running container; report back with `probeResult`.
    case probe(container: String, kind: ProbeSpec.Kind, ProbeSpec)
    /// Run a lifecycle hook of a running container, bounded by `timeoutSeconds`; report
    /// back with `hookResult`.
    case hook(container: String, hook: Hook, HandlerAction, timeoutSeconds: Int64)
}

/// The lifecycle hooks Kubernetes runs.
public enum Hook: String, Sendable, Hashable {
    case postStart = "PostStart"
    case preStop = "PreStop"
}

/// The pod's lifecycle with Kubernetes semantics, as a pure state machine: events in
/// (`started`, `exited`, `apply`, `stop`), actions out (`actions(at:)`), no I/O and no
/// clock of its own. The supervisor's event loop feeds it and carries out what it asks.
///
/// The rules (anchors-features.md, section 4; KEP-753 for sidecars):
/// - Init entries run strictly in order. A regular init container must exit 0 before the
///   next starts; a sidecar (`restartPolicy: Always` init) must have started. Main
///   containers start together once every init entry is done. A finished init container is
///   never run again, not even when its spec changes.
/// - Restarts follow each container's policy. The first restart is immediate, then the
///   delay is `initial · 2^(n−1)` capped at `max`; a run that lasted `2 · max` resets it.
/// - When every main container has terminated for good, sidecars are stopped one at a
///   time in reverse order, and the phase is Succeeded (all exited 0) or Failed.
/// - A pod stop signals every main (and running init) container at once; sidecars follow
///   one by one in reverse order once the mains are gone; at the grace deadline everything
///   left is killed.
/// - A changed spec hash restarts that container only (stop, then start at once); an added
///   container starts; a removed one is stopped and forgotten.
public struct PodLifecycle: Sendable {
    struct Slot: Sendable {
        var spec: ContainerLaunch
        var pid: Int32?
        var hostPID: Int32?
        var runStartedMono: Int64 = 0
        var startedAt: WallTime?
        var everStarted = false
        var restartCount = 0
        /// Consecutive restarts that count towards the backoff.
        var backoffStep = 0
        /// The next start waits for a backoff delay (CrashLoopBackOff).
        var inBackoff = false
        /// When it may start (again); nil: not scheduled.
        var nextStart: Int64?
        var nextStartWall: WallTime?
        var termination: Termination?
        var lastTermination: Termination?
        var message: String?
        /// A regular init container that exited 0.
        var completed = false
        /// The stop signal was sent; SIGKILL at `killAt`.
        var stopSignalled = false
        var killAt: Int64?
        var killed = false
        /// Start this spec once the running process is gone (spec hash changed).
        var replacement: ContainerLaunch?
        /// Removed from the plan: forget once stopped.
        var removing = false
        /// This run's probes (kubelet's prober workers), reset at each start.
        var probes: [ProbeSpec.Kind: ProbeTrack] = [:]
        /// The startup probe has passed, or there is none: liveness and readiness run.
        var startupDone = true
        /// The readiness probe's verdict (true without one, once started).
        var readyByProbe = false
        /// A failed liveness or startup probe is stopping this run: restart it under the
        /// container's policy once it has exited, and say why.
        var probeKill: String?
        /// The grace period of this stop, when a probe sets its own.
        var stopGrace: Int64?
        /// When this run's stop must be over (SIGKILL), fixed when the stop begins.
        var stopBy: Int64?
        /// The postStart hook: to be asked for, or running; the run is not ready meanwhile.
        var postStartDue = false
        var postStartRunning = false
        /// The preStop hook: running until `preStopUntil` (the grace deadline), or done.
        var preStopUntil: Int64?
        var preStopDone = false

        var running: Bool { pid != nil }
        var kind: ContainerKind { spec.kind }
        var name: String { spec.name }
    }

    public private(set) var plan: LaunchPlan
    var slots: [Slot]
    /// Every init entry is done: main containers may start.
    public private(set) var initialized = false
    /// An init container failed and will not be retried (restartPolicy Never).
    public private(set) var initFailed = false
    /// A pod stop is under way; the deadline (monotonic) for SIGKILL.
    public private(set) var stopDeadline: Int64?
    /// The pod ran past its `activeDeadlineSeconds`: it is Failed for good (kubelet's
    /// DeadlineExceeded), every container was stopped as in a pod stop, and nothing starts
    /// again, whatever the restart policy or a new plan says.
    public private(set) var deadlineExceeded = false
    /// When the active deadline falls, on the monotonic clock as of the last look: the wake-up
    /// for it. The rule itself is kubelet's, on the wall clock (`ActiveDeadline.isPast`).
    var activeDeadlineMono: Int64?
    /// When `actions(at:)` last looked (monotonic): `nextDeadline` counts from here.
    var checkedAt: Int64

    /// Whether probes run (`.probe` actions). Off, a container is ready once running.
    public let probesEnabled: Bool
    /// kubectl's events, the latest last; a repeat counts on its first.
    public private(set) var events: [PodEvent] = []
    static let maxEvents = 30

    public init(plan: LaunchPlan, now: Instant, probesEnabled: Bool = false) {
        self.plan = plan
        self.probesEnabled = probesEnabled
        self.slots = plan.containers.map { Slot(spec: $0, nextStart: now.mono, nextStartWall: now.wall) }
        self.checkedAt = now.mono
        timeActiveDeadline(now)
    }

    /// Why the supervisor keeps the deadline's timer, not the reconciler: it lives for the
    /// pod's whole life (the reconciler may not run at all after `apply` returns), and
    /// stopping containers is its decision alone ("one owner for each decision"). The
    /// reconciler only records the start and carries it in every plan.
    mutating func timeActiveDeadline(_ now: Instant) {
        guard !deadlineExceeded, let at = ActiveDeadline.deadline(start: plan.startTime, seconds: plan.activeDeadlineSeconds) else {
            activeDeadlineMono = nil
            return
        }
        let (left, o1) = at.nanoseconds.subtractingReportingOverflow(now.wall.nanoseconds)
        let (mono, o2) = now.mono.addingReportingOverflow(left)
        activeDeadlineMono = o1 || o2 ? (left > 0 ? Int64.max : now.mono) : mono
    }

    var grace: Int64 { max(plan.terminationGracePeriodSeconds, 0) * 1_000_000_000 }

    // MARK: Events

    /// The container was spawned and has exec'd: `pid` as the supervisor's PID namespace
    /// numbers it (to wait for), `hostPID` as the host's (to report).
    public mutating func started(_ name: String, pid: Int32, hostPID: Int32, at now: Instant) {
        guard let i = index(name) else { return }
        slots[i].pid = pid
        slots[i].hostPID = hostPID
        slots[i].runStartedMono = now.mono
        slots[i].startedAt = now.wall
        if slots[i].everStarted { slots[i].restartCount += 1 }
        slots[i].everStarted = true
        slots[i].nextStart = nil
        slots[i].nextStartWall = nil
        slots[i].message = nil
        slots[i].stopSignalled = false
        slots[i].killAt = nil
        slots[i].killed = false
        if let t = slots[i].termination { slots[i].lastTermination = t }
        slots[i].termination = nil
        slots[i].probeKill = nil
        slots[i].stopGrace = nil
        slots[i].stopBy = nil
        slots[i].preStopUntil = nil
        slots[i].preStopDone = false
        event("Normal", "Started", "Started container \(name)", at: now)
        if probesEnabled, slots[i].spec.postStart != nil {
            // Probes begin once postStart has passed, as kubelet starts them after it.
            slots[i].postStartDue = true
            slots[i].postStartRunning = true
            slots[i].probes = [:]
            slots[i].startupDone = false
            slots[i].readyByProbe = false
        } else {
            resetProbes(i, at: now)
        }
    }

    /// A hook's outcome. postStart: success lets the run's probes begin; failure kills the
    /// run (FailedPostStartHook), restarted under its policy. preStop: the stop signal
    /// follows, whatever it did (a failure is an event).
    public mutating func hookResult(_ name: String, hook: Hook, success: Bool, message: String?, at now: Instant) {
        guard let i = index(name), slots[i].running else { return }
        switch hook {
        case .postStart:
            guard slots[i].postStartRunning else { return }
            slots[i].postStartRunning = false
            if success {
                resetProbes(i, at: now)
            } else {
                let reason = "PostStartHook failed" + (message.map { ": " + $0 } ?? "")
                event("Warning", "FailedPostStartHook", reason, at: now)
                killRun(i, reason: reason, killing: "FailedPostStartHook", grace: nil, at: now)
            }
        case .preStop:
            guard slots[i].preStopUntil != nil, !slots[i].preStopDone else { return }
            slots[i].preStopDone = true
            if !success { event("Warning", "FailedPreStopHook", "PreStopHook failed" + (message.map { ": " + $0 } ?? ""), at: now) }
        }
    }

    /// kubelet's event aggregation: the same type, reason and message again is a count
    /// and a time on the event that is there.
    mutating func event(_ type: String, _ reason: String, _ message: String, at now: Instant) {
        if let i = events.firstIndex(where: { $0.type == type && $0.reason == reason && $0.message == message }) {
            var e = events.remove(at: i)
            e.count += 1
            e.last = now.wall
            events.append(e)
        } else {
            events.append(PodEvent(type: type, reason: reason, message: message, first: now.wall, last: now.wall))
            if events.count > Self.maxEvents { events.removeFirst(events.count - Self.maxEvents) }
        }
    }

    /// The container's log could not be written (a full disk, no fd left): its output is
    /// dropped meanwhile. Reported once when the trouble begins, not per lost write.
    public mutating func logWriteFailed(_ name: String, message: String, at now: Instant) {
        event("Warning", "FailedLogWrite", "Writing the log of container \(name): \(message); its output is dropped until a write succeeds", at: now)
    }

    /// The container's log is written again after a failure. The message is the same each
    /// time, so that a log that comes and goes on a nearly full disk aggregates into one
    /// event with a count rather than pushing the pod's other events out.
    public mutating func logWriteResumed(_ name: String, at now: Instant) {
        event("Normal", "LogWriteResumed", "The log of container \(name) is written again; output in between was dropped", at: now)
    }

    /// Forks of this run failed for a pids limit (its cgroup's `pids.events` max count
    /// grew): the kernel says so nowhere else, and the container sees only EAGAIN.
    public mutating func forksRefused(_ name: String, count: Int64, limit: String, at now: Instant) {
        event("Warning", "PidsLimitReached", "Container \(name): the kernel refused \(count) fork\(count == 1 ? "" : "s") at the pids limit (\(limit))", at: now)
    }

    /// The spawn failed before exec (a missing executable, a mount that failed): kubelet's
    /// StartError, exit code 128, restarted under the container's policy.
    public mutating func startFailed(_ name: String, message: String, at now: Instant) {
        guard let i = index(name) else { return }
        if slots[i].everStarted { slots[i].restartCount += 1 }
        slots[i].everStarted = true
        if let t = slots[i].termination { slots[i].lastTermination = t }
        slots[i].runStartedMono = now.mono
        slots[i].startedAt = nil
        slots[i].termination = Termination(exitCode: 128, reason: "StartError", startedAt: nil, finishedAt: now.wall)
        slots[i].message = message
        event("Warning", "Failed", "Error: \(message)", at: now)
        scheduleAfterExit(i, exitCode: 128, at: now)
    }

    /// The container's main process is gone. `oomKilled` when the kernel's OOM killer
    /// killed in its cgroup during this run.
    public mutating func exited(_ name: String, status: WaitOutcome, oomKilled: Bool, message: String? = nil, at now: Instant) {
        guard let i = index(name), slots[i].running else { return }
        let code: Int32
        var signal: Int32?
        switch status {
        case .exited(let c): code = c
        case .signaled(let s): code = 128 + s; signal = s
        }
        let reason = oomKilled ? "OOMKilled" : (code == 0 ? "Completed" : "Error")
        slots[i].pid = nil
        slots[i].hostPID = nil
        slots[i].termination = Termination(exitCode: code, signal: signal, reason: reason, startedAt: slots[i].startedAt, finishedAt: now.wall,
                                           message: message)
        scheduleAfterExit(i, exitCode: code, at: now)
    }

    mutating func scheduleAfterExit(_ i: Int, exitCode: Int32, at now: Instant) {
        slots[i].nextStart = nil
        slots[i].nextStartWall = nil
        // A stop in progress (pod stop, removal, replacement, end of pod) restarts nothing;
        // a stop for a failed liveness or startup probe restarts under the policy.
        if stopDeadline != nil || slots[i].removing || (slots[i].stopSignalled && slots[i].probeKill == nil) { return }
        if slots[i].replacement != nil { return }
        if slots[i].kind == .initContainer && exitCode == 0 {
            slots[i].completed = true
            return
        }
        guard slots[i].spec.restartPolicy.restarts(exitCode: exitCode) else {
            if slots[i].kind == .initContainer { initFailed = true }
            return
        }
        let maxDelay = plan.backoffMaxMilliseconds * 1_000_000
        if now.mono - slots[i].runStartedMono >= 2 * maxDelay { slots[i].backoffStep = 0 }
        let step = slots[i].backoffStep
        var delay: Int64 = 0
        if step > 0 {
            delay = plan.backoffInitialMilliseconds * 1_000_000
            for _ in 1..<step where delay < maxDelay { delay *= 2 }
            delay = min(delay, maxDelay)
        }
        slots[i].backoffStep += 1
        slots[i].inBackoff = delay > 0
        if delay > 0 {
            event("Warning", "BackOff", "Back-off restarting failed container \(slots[i].name) in pod \(plan.name)_\(plan.namespace)(\(plan.uid))", at: now)
        }
        slots[i].nextStart = now.mono + delay
        slots[i].nextStartWall = WallTime(now.wall.nanoseconds + delay)
    }

    /// Begins the pod's graceful stop (SIGTERM to the supervisor, or deletion).
    public mutating func stop(at now: Instant) {
        guard stopDeadline == nil else { return }
        stopDeadline = now.mono + grace
        for i in slots.indices {
            slots[i].nextStart = nil
            slots[i].nextStartWall = nil
        }
    }

    /// A new plan (a higher generation) for the same pod.
    public mutating func apply(_ newPlan: LaunchPlan, at now: Instant) {
        var next: [Slot] = []
        for spec in newPlan.containers {
            if let i = index(spec.name) {
                var slot = slots[i]
                slot.removing = false
                if slot.spec.specHash == spec.specHash || (slot.kind == .initContainer && slot.completed) {
                    slot.spec = spec
                } else if slot.running {
                    slot.replacement = spec
                } else {
                    slot.spec = spec
                    slot.replacement = nil
                    slot.backoffStep = 0
                    if stopDeadline == nil {
                        slot.nextStart = now.mono
                        slot.nextStartWall = now.wall
                    }
                }
                next.append(slot)
            } else {
                var slot = Slot(spec: spec, nextStart: now.mono, nextStartWall: now.wall)
                // The pod is past its init phase: an init container added now is not run.
                if spec.kind == .initContainer && initialized { slot.completed = true; slot.nextStart = nil; slot.nextStartWall = nil }
                next.append(slot)
            }
        }
        for slot in slots where newPlan.container(slot.name) == nil && slot.running {
            var s = slot
            s.removing = true
            next.append(s)
        }
        slots = next
        plan = newPlan
        // A lowered or added deadline applies at once: no container restarts for it.
        timeActiveDeadline(now)
    }

    // MARK: Decisions

    /// What to do now. Call after every event and whenever `nextDeadline` passes, and again
    /// after carrying out a batch that started something, until it returns nothing: a
    /// sidecar that has started lets the next init entry start.
    public mutating func actions(at now: Instant) -> [LifecycleAction] {
        checkedAt = now.mono
        var out: [LifecycleAction] = []
        // Processes gone that were being replaced or removed.
        slots.removeAll { $0.removing && !$0.running }
        for i in slots.indices where !slots[i].running {
            if let spec = slots[i].replacement {
                slots[i].spec = spec
                slots[i].replacement = nil
                slots[i].backoffStep = 0
                slots[i].stopSignalled = false
                if stopDeadline == nil {
                    slots[i].nextStart = now.mono
                    slots[i].nextStartWall = now.wall
                }
            }
        }

        // pastActiveDeadline, checked as kubelet's sync does: on the wall clock, for a pod
        // that has not finished. Then the pod is stopped as in a deletion (the grace period,
        // preStop hooks), and stays Failed.
        timeActiveDeadline(now)
        if activeDeadlineMono != nil, phase != .succeeded, phase != .failed,
           ActiveDeadline.isPast(start: plan.startTime, seconds: plan.activeDeadlineSeconds, now: now.wall) {
            deadlineExceeded = true
            activeDeadlineMono = nil
            event("Normal", ActiveDeadline.reason, ActiveDeadline.message, at: now)
            stop(at: now)
        }

        if let deadline = stopDeadline {
            stopAll(deadline: deadline, now: now, into: &out)
            return out
        }

        out += dueProbes(now)
        for i in slots.indices where slots[i].running && slots[i].postStartDue && !slots[i].stopSignalled {
            slots[i].postStartDue = false
            if let h = slots[i].spec.postStart {
                // kubelet bounds no postStart; a hook that hangs would hold the run for ever.
                out.append(.hook(container: slots[i].name, hook: .postStart, h, timeoutSeconds: Self.postStartTimeoutSeconds))
            }
        }
        // Runs that a liveness or startup probe failed.
        for i in slots.indices where slots[i].running && slots[i].probeKill != nil {
            stopOne(i, now: now, into: &out)
        }

        // Per-container stops: replacements and removals.
        for i in slots.indices where slots[i].running && (slots[i].replacement != nil || slots[i].removing) {
            stopOne(i, now: now, into: &out)
        }

        // Init entries, strictly in order.
        if !initialized && !initFailed {
            var done = true
            for i in slots.indices where slots[i].kind != .main && !slots[i].removing {
                if slots[i].kind == .initContainer {
                    if slots[i].completed { continue }
                    if !slots[i].running { startIfDue(i, now: now, into: &out) }
                    done = false
                    break
                } else {
                    // A sidecar counts as started once its postStart hook and its startup
                    // probe have passed (KEP-753).
                    if slots[i].running && slots[i].startupDone && !slots[i].postStartRunning { continue }
                    if !slots[i].running { startIfDue(i, now: now, into: &out) }
                    done = false
                    break
                }
            }
            if done { initialized = true }
        }
        if initFailed {
            // The pod has failed: what runs (sidecars) is stopped, nothing starts.
            stopSidecarsInReverse(now: now, into: &out)
            return out
        }
        guard initialized else { return out }

        let mains = slots.indices.filter { slots[$0].kind == .main && !slots[$0].removing }
        let mainsFinished = !mains.isEmpty && mains.allSatisfy { i in
            !slots[i].running && slots[i].everStarted && slots[i].nextStart == nil && slots[i].replacement == nil
        }
        if mainsFinished {
            stopSidecarsInReverse(now: now, into: &out)
            return out
        }
        for i in slots.indices where !slots[i].running && !slots[i].removing && slots[i].replacement == nil {
            if slots[i].kind == .initContainer { continue }
            startIfDue(i, now: now, into: &out)
        }
        return out
    }

    mutating func startIfDue(_ i: Int, now: Instant, into out: inout [LifecycleAction]) {
        guard let due = slots[i].nextStart, due <= now.mono else { return }
        slots[i].nextStart = nil
        slots[i].nextStartWall = nil
        out.append(.start(slots[i].spec))
    }

    mutating func stopOne(_ i: Int, now: Instant, into out: inout [LifecycleAction]) {
        if !slots[i].stopSignalled {
            let by = slots[i].stopBy ?? now.mono + (slots[i].stopGrace ?? grace)
            slots[i].stopBy = by
            beginStop(i, by: by, now: now, into: &out)
        } else if let k = slots[i].killAt, k <= now.mono, !slots[i].killed {
            slots[i].killed = true
            out.append(.kill(container: slots[i].name))
        }
    }

    /// kubelet's minimum grace after the stop signal, when a preStop hook took the rest.
    static let minimumGraceAfterPreStop: Int64 = 2_000_000_000
    static let postStartTimeoutSeconds: Int64 = 120

    /// The stop signal, after the preStop hook if the run has one: the hook runs first,
    /// bounded by the grace deadline `by`; the signal follows when it is done (or at `by`),
    /// and SIGKILL at `by`, but never sooner than 2 s after the signal (kubelet's
    /// extension: the hook's time counts against the grace period).
    mutating func beginStop(_ i: Int, by: Int64, now: Instant, into out: inout [LifecycleAction]) {
        guard !slots[i].stopSignalled else { return }
        var ranPreStop = false
        if probesEnabled, let hook = slots[i].spec.preStop {
            if slots[i].preStopUntil == nil {
                slots[i].preStopUntil = by
                out.append(.hook(container: slots[i].name, hook: .preStop, hook, timeoutSeconds: max((by - now.mono) / 1_000_000_000, 1)))
                return
            }
            if !slots[i].preStopDone && now.mono < by { return }
            ranPreStop = true
        }
        slots[i].stopSignalled = true
        slots[i].killAt = ranPreStop ? max(by, now.mono + Self.minimumGraceAfterPreStop) : by
        out.append(.signal(container: slots[i].name, signal: slots[i].spec.stopSignal))
    }

    /// The running sidecars, last started first, one at a time.
    mutating func stopSidecarsInReverse(now: Instant, into out: inout [LifecycleAction]) {
        for i in slots.indices { if slots[i].kind == .sidecar { slots[i].nextStart = nil; slots[i].nextStartWall = nil } }
        if let i = slots.indices.last(where: { slots[$0].kind == .sidecar && slots[$0].running }) {
            stopOne(i, now: now, into: &out)
        }
    }

    mutating func stopAll(deadline: Int64, now: Instant, into out: inout [LifecycleAction]) {
        if now.mono >= deadline {
            for i in slots.indices where slots[i].running && !slots[i].killed {
                if slots[i].stopSignalled {
                    // A preStop hook's 2 s after the signal are honoured.
                    guard let k = slots[i].killAt, k <= now.mono else { continue }
                } else if slots[i].preStopUntil != nil {
                    // Its hook ran out of time: the signal now, SIGKILL 2 s later.
                    beginStop(i, by: deadline, now: now, into: &out)
                    continue
                }
                slots[i].killed = true
                out.append(.kill(container: slots[i].name))
            }
            return
        }
        var others = false
        for i in slots.indices where slots[i].running && slots[i].kind != .sidecar {
            others = true
            beginStop(i, by: deadline, now: now, into: &out)
        }
        if others { return }
        if let i = slots.indices.last(where: { slots[$0].kind == .sidecar && slots[$0].running }) {
            beginStop(i, by: deadline, now: now, into: &out)
        }
    }

    /// The next monotonic instant after the last `actions(at:)` at which `actions` may have
    /// something new to do. What was due already at that call but waits for something else
    /// (main containers during the init phase) is not a deadline: the event it waits for
    /// wakes the loop. Counted from the last call, not from the caller's clock: a start that
    /// fell due after it, while its batch was carried out or the status written, is a
    /// deadline already past (a poll timeout of 0), not something left for an unrelated
    /// event to wake.
    public func nextDeadline() -> Int64? {
        var times: [Int64] = []
        if let d = stopDeadline {
            times.append(d)
            for s in slots where s.running && s.stopSignalled && !s.killed { if let k = s.killAt { times.append(k) } }
        } else {
            if let a = activeDeadlineMono { times.append(max(a, checkedAt + 1)) }
            for s in slots {
                if let n = s.nextStart { times.append(n) }
                if s.running, s.stopSignalled, !s.killed, let k = s.killAt { times.append(k) }
                if s.running, !s.stopSignalled, let until = s.preStopUntil, !s.preStopDone { times.append(until) }
                if s.running, !s.stopSignalled {
                    for t in s.probes.values where !t.inFlight && t.active { times.append(t.nextRun) }
                }
            }
        }
        return times.filter { $0 > checkedAt }.min()
    }

    /// Whether a stop has finished: nothing runs.
    public var stopped: Bool { stopDeadline != nil && !slots.contains { $0.running } }

    /// The running containers: name → pid in the supervisor's PID namespace.
    public var runningPIDs: [(name: String, pid: Int32)] { slots.compactMap { s in s.pid.map { (s.name, $0) } } }

    /// A running container's pid as the host numbers it.
    public func hostPID(_ name: String) -> Int32? { index(name).flatMap { slots[$0].hostPID } }

    func index(_ name: String) -> Int? { slots.firstIndex { $0.name == name } }

    // MARK: Status

    public var phase: PodPhase {
        if initFailed || deadlineExceeded { return .failed }
        let mains = slots.filter { $0.kind == .main && !$0.removing }
        if !initialized || mains.contains(where: { !$0.everStarted }) { return .pending }
        let finished = mains.allSatisfy { !$0.running && $0.nextStart == nil && $0.replacement == nil }
        guard finished, !mains.isEmpty else { return .running }
        if stopDeadline == nil || mains.allSatisfy({ $0.termination != nil }) {
            return mains.allSatisfy { $0.termination?.exitCode == 0 } ? .succeeded : .failed
        }
        return .running
    }

    public var containerStatuses: [ContainerStatus] {
        slots.filter { !$0.removing }.map { s in
            var st = ContainerStatus(name: s.name, kind: s.kind, specHash: s.spec.specHash, restartCount: s.restartCount)
            st.message = s.message
            st.lastTermination = s.lastTermination
            if probesEnabled { st.ready = s.running && s.startupDone && s.readyByProbe && !s.postStartRunning && !s.stopSignalled }
            if s.running {
                st.probes = ProbeSpec.Kind.allCases.compactMap { k in
                    s.probes[k].map { ProbeReport(kind: k, success: $0.lastResult, failures: $0.failures, message: $0.lastMessage) }
                }
            }
            if s.running {
                st.state = .running
                st.pid = s.hostPID
                st.startedAt = s.startedAt
                st.message = s.probeKill
            } else if let t = s.termination, s.nextStart == nil || stopDeadline != nil {
                st.state = .terminated
                st.reason = t.reason
                st.termination = t
                st.startedAt = t.startedAt
            } else if let t = s.termination {
                st.state = .waiting
                st.reason = s.inBackoff ? "CrashLoopBackOff" : (t.reason == "StartError" ? "StartError" : "ContainerCreating")
                st.lastTermination = t
                st.nextStartAt = s.nextStartWall
            } else {
                st.state = .waiting
                st.reason = s.kind == .main && !initialized ? "PodInitializing" : "ContainerCreating"
            }
            return st
        }
    }
}

// MARK: - Probes

extension ProbeSpec.Kind {
    /// `Liveness`, as kubelet's events spell it.
    var title: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}

/// One probe of one run of a container, as kubelet's prober worker keeps it.
struct ProbeTrack: Sendable {
    var spec: ProbeSpec
    /// When it is due (monotonic).
    var nextRun: Int64
    /// Runs only after the startup probe has passed (liveness, readiness).
    var gated: Bool
    var active: Bool
    var inFlight = false
    var successes = 0
    var failures = 0
    var lastResult: Bool?
    var lastMessage: String?
}

extension PodLifecycle {
    /// A new run's probes: each first due `initialDelaySeconds` after the start; liveness
    /// and readiness wait for the startup probe, if there is one.
    mutating func resetProbes(_ i: Int, at now: Instant) {
        let spec = slots[i].spec
        slots[i].probes = [:]
        slots[i].startupDone = !probesEnabled || spec.startupProbe == nil
        slots[i].readyByProbe = !probesEnabled || spec.readinessProbe == nil
        guard probesEnabled else { return }
        for kind in ProbeSpec.Kind.allCases {
            guard let p = spec.probe(kind) else { continue }
            let gated = kind != .startup && spec.startupProbe != nil
            slots[i].probes[kind] = ProbeTrack(spec: p, nextRun: now.mono + Int64(max(p.initialDelaySeconds, 0)) * 1_000_000_000,
                                               gated: gated, active: !gated)
        }
    }

    /// The probes due now, each marked in flight until its result comes back.
    mutating func dueProbes(_ now: Instant) -> [LifecycleAction] {
        var out: [LifecycleAction] = []
        for i in slots.indices where slots[i].running && !slots[i].stopSignalled {
            for kind in ProbeSpec.Kind.allCases {
                guard var t = slots[i].probes[kind], t.active, !t.inFlight, t.nextRun <= now.mono else { continue }
                t.inFlight = true
                slots[i].probes[kind] = t
                out.append(.probe(container: slots[i].name, kind: kind, t.spec))
            }
        }
        return out
    }

    /// A probe's outcome. Thresholds as Kubernetes has them: the startup probe passes once
    /// and then stops; `failureThreshold` failures in a row of the startup or liveness probe
    /// stop the run (its own grace period if it sets one) and restart it under the
    /// container's policy; readiness turns true after `successThreshold` successes in a row
    /// and false after `failureThreshold` failures.
    public mutating func probeResult(_ name: String, kind: ProbeSpec.Kind, success: Bool, message: String?, at now: Instant) {
        guard let i = index(name), slots[i].running, var t = slots[i].probes[kind], t.inFlight else { return }
        t.inFlight = false
        t.nextRun = now.mono + Int64(max(t.spec.periodSeconds, 1)) * 1_000_000_000
        t.lastResult = success
        t.lastMessage = message
        if success { t.successes += 1; t.failures = 0 } else { t.failures += 1; t.successes = 0 }
        slots[i].probes[kind] = t
        if !success { event("Warning", "Unhealthy", "\(kind.title) probe failed: \(message ?? "")", at: now) }
        let failed = t.failures >= max(Int(t.spec.failureThreshold), 1)
        switch kind {
        case .startup:
            if success {
                slots[i].startupDone = true
                slots[i].probes[.startup]?.active = false
                for k in [ProbeSpec.Kind.liveness, .readiness] where slots[i].probes[k] != nil {
                    slots[i].probes[k]!.active = true
                    slots[i].probes[k]!.nextRun = max(slots[i].probes[k]!.nextRun, now.mono)
                }
            } else if failed {
                failRun(i, kind, message, t.spec, at: now)
            }
        case .liveness:
            if failed { failRun(i, kind, message, t.spec, at: now) }
        case .readiness:
            if success && t.successes >= max(Int(t.spec.successThreshold), 1) { slots[i].readyByProbe = true }
            if failed { slots[i].readyByProbe = false }
        }
    }

    /// The probe could not be run at all (the supervisor out of fds, say): as kubelet's
    /// prober error, an event and no result; the probe runs again a period later.
    public mutating func probeErrored(_ name: String, kind: ProbeSpec.Kind, message: String, at now: Instant) {
        guard let i = index(name), slots[i].running, var t = slots[i].probes[kind], t.inFlight else { return }
        t.inFlight = false
        t.nextRun = now.mono + Int64(max(t.spec.periodSeconds, 1)) * 1_000_000_000
        slots[i].probes[kind] = t
        event("Warning", "Unhealthy", "\(kind.title) probe errored and resulted in unknown state: \(message)", at: now)
    }

    mutating func failRun(_ i: Int, _ kind: ProbeSpec.Kind, _ message: String?, _ spec: ProbeSpec, at now: Instant) {
        killRun(i, reason: "\(kind.title) probe failed" + (message.map { ": " + $0 } ?? ""),
                killing: "Container \(slots[i].name) failed \(kind.rawValue) probe, will be restarted",
                grace: spec.terminationGracePeriodSeconds.map { max($0, 0) * 1_000_000_000 }, at: now)
    }

    /// Stops this run for `reason` (a failed probe or postStart hook), with its own grace
    /// if it has one, to be restarted under the container's policy: `actions` signals it.
    mutating func killRun(_ i: Int, reason: String, killing: String, grace: Int64?, at now: Instant) {
        guard slots[i].probeKill == nil else { return }
        slots[i].probeKill = reason
        slots[i].message = reason
        event("Normal", "Killing", killing, at: now)
        slots[i].stopGrace = grace
        for k in slots[i].probes.keys { slots[i].probes[k]!.active = false }
    }

    /// The last result and the failures in a row of each probe of a container's run.
    public func probeSummary(_ name: String) -> [(kind: ProbeSpec.Kind, result: Bool?, failures: Int, message: String?)] {
        guard let i = index(name) else { return [] }
        return ProbeSpec.Kind.allCases.compactMap { k in
            slots[i].probes[k].map { (k, $0.lastResult, $0.failures, $0.lastMessage) }
        }
    }
}

/// How a process ended (Kernel's `WaitStatus`, restated so the lifecycle stays pure).
public enum WaitOutcome: Sendable, Hashable {
    case exited(Int32)
    case signaled(Int32)
}
