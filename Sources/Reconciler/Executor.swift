import Planner
import PodModel

/// Runs a plan: one outcome per action, in the plan's order. A failed action stops the
/// rest of that pod's actions (they assumed it); other pods go on. Every action is safe to
/// run again, so a pass cut short is finished by the next one.
///
/// Everything an action does comes from the action: a new or changed pod carries its whole
/// build (`DesiredPod`: launch plan, limits, host set-up), so the executor never reads a
/// manifest, and `apply` does exactly what `diff` printed. The host is reached through
/// `ExecutorHost` alone.
public struct Executor: Sendable {
    public var host: any ExecutorHost
    public var roots: Roots
    /// How long a stop waits before SIGKILL when the pod's own grace period is not known
    /// here (a delete): `--grace-period`, else 30 s.
    public var graceMilliseconds: Int64?
    /// Delete (and recreate) without waiting for a live supervisor to stop: record the pod
    /// as deleting, signal the supervisor, and leave the rest to a later pass (`watch`,
    /// which runs one when the supervisor exits). `apply` and `delete` wait.
    public var stopWithoutWaiting: Bool

    public init(host: any ExecutorHost, roots: Roots, graceMilliseconds: Int64? = nil, stopWithoutWaiting: Bool = false) {
        self.host = host
        self.roots = roots
        self.graceMilliseconds = graceMilliseconds
        self.stopWithoutWaiting = stopWithoutWaiting
    }

    public struct Outcome: Sendable {
        public var action: Action
        public var error: String?
        /// A resize that waits for the memory in use to drop.
        public var deferred: Bool
        /// The supervisor was told to stop; a later pass finishes the action.
        public var stopping: Bool = false
        public var ok: Bool { error == nil }
    }

    public func run(_ plan: Plan, observed: Observed) -> [Outcome] {
        var outcomes: [Outcome] = []
        var failedPods = Set<PodKey>()
        for action in plan.actions {
            if let key = action.key, failedPods.contains(key) {
                outcomes.append(Outcome(action: action, error: "not attempted: an earlier action on this pod failed", deferred: false))
                continue
            }
            do {
                switch try perform(action, observed: observed) {
                case .done: outcomes.append(Outcome(action: action, error: nil, deferred: false))
                case .deferred: outcomes.append(Outcome(action: action, error: nil, deferred: true))
                case .stopping: outcomes.append(Outcome(action: action, error: nil, deferred: false, stopping: true))
                }
            } catch {
                if let key = action.key { failedPods.insert(key) }
                outcomes.append(Outcome(action: action, error: error.description, deferred: false))
            }
        }
        return outcomes
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    enum Progress { case done, deferred, stopping }

    /// Runs `body` against the host; any error becomes the action's failure, as it reads.
    func onHost<T>(_ body: () throws -> T) throws(Failure) -> T {
        do { return try body() } catch let e as Failure { throw e } catch { throw Failure("\(error)") }
    }

    func layout(_ key: PodKey, observed: Observed) throws(Failure) -> PodLayout {
        guard let uid = observed.pods[key]?.record?.uid else { throw Failure("\(key): no record") }
        return roots.layout(key, uid: uid)
    }

    func perform(_ action: Action, observed: Observed) throws(Failure) -> Progress {
        switch action.kind {
        case .create(let d):
            try create(d)
        case .recreate(let d):
            if try stopFirst(d.key, observed: observed) { return .stopping }
            try remove(d.key, observed: observed)
            try create(d)
        case .updatePlan(var d, let generation, _, _, _):
            let layout = roots.layout(d.key, uid: d.uid)
            // A pod recorded before start times were: its deadline counts from now.
            if d.plan.startTime == nil { d.plan.startTime = ActiveDeadline.startTime(host.wallClock()) }
            var plan = d.plan
            plan.generation = generation
            try onHost {
                try host.writeRecord(d.record(generation: generation), layout: layout)
                try host.setUp(d.setup, layout: layout)
                try Self.checkStartErrors(try host.update(plan, limits: d.limits, layout: layout))
            }
        case .refreshFiles(let d):
            let layout = roots.layout(d.key, uid: d.uid)
            let generation = observed.pods[d.key]?.record?.generation ?? 1
            try onHost {
                try host.setUp(d.setup, layout: layout)
                try host.writeRecord(d.record(generation: generation), layout: layout)
            }
        case .resignal(let key, let generation):
            let layout = try layout(key, observed: observed)
            try onHost { _ = try host.resignal(generation: generation, layout: layout) }
        case .resize(let key, let container, let limits, _):
            let layout = try layout(key, observed: observed)
            let cgroup = container.map { layout.containerCgroup($0) } ?? layout.podCgroup
            return try onHost { try host.resize(limits, cgroup: cgroup) } ? .deferred : .done
        case .deferredResize:
            return .deferred
        case .delete(let key):
            if try stopFirst(key, observed: observed) { return .stopping }
            try remove(key, observed: observed)
        case .awaitTermination(let key):
            // Signalled again at each pass: a pass killed between recording "deleting" and
            // signalling must not leave a supervisor that was never told. A supervisor
            // already stopping ignores it.
            guard let uid = observed.pods[key]?.record?.uid else { break }
            try onHost { _ = try host.requestStop(layout: roots.layout(key, uid: uid)) }
        case .recordSource(let key, let source):
            guard var record = observed.pods[key]?.record else { throw Failure("\(key): no record") }
            record.source = source
            try onHost { try host.writeRecord(record, layout: roots.layout(key, uid: record.uid)) }
        case .skip, .finished:
            break
        case .refuse:
            // The reason says why; the failure makes the pass fail, as a build error does.
            throw Failure("not applied; the pod is left as it is")
        case .repairNetwork(let d):
            guard let network = d.network else { break }
            try onHost { try host.repairNetwork(network, setup: d.setup, layout: roots.layout(d.key, uid: d.uid)) }
        case .removeStrayCgroup(let name):
            try onHost { try host.removeCgroup(roots.cgroupParent + "/" + name) }
        case .removeStrayData(let uid):
            try onHost { try host.removeData(layout: roots.layout(PodKey(namespace: "", name: ""), uid: uid)) }
        case .removeStrayAttachment(let id):
            try onHost { try host.removeAttachment(containerID: id) }
        case .removeStrayLogs(let directory):
            let path = directory.hasPrefix("/") ? directory : PodLayout.pods(roots.log) + "/" + directory
            try onHost { try host.removeLogs(path) }
        }
        return .done
    }

    /// With `stopWithoutWaiting`, a live supervisor is told to stop and the pod recorded as
    /// deleting: true, and the action waits for a later pass. Otherwise false.
    func stopFirst(_ key: PodKey, observed: Observed) throws(Failure) -> Bool {
        guard stopWithoutWaiting, let o = observed.pods[key], case .alive = o.supervisor, var record = o.record else { return false }
        let layout = roots.layout(key, uid: record.uid)
        return try onHost {
            if !record.deleting {
                record.deleting = true
                try host.writeRecord(record, layout: layout)
            }
            return try host.requestStop(layout: layout)
        }
    }

    /// The record first: a pass that dies after it leaves a pod the next pass sees as
    /// half-created (a record and no supervisor) and recreates. A failure before the
    /// supervisor runs undoes what was made.
    func create(_ d: DesiredPod) throws(Failure) {
        let layout = roots.layout(d.key, uid: d.uid)
        var d = d
        // The pod's start, once: a pod made again for the same uid (its supervisor died)
        // keeps the recorded one, which the planner put in its plan.
        if d.plan.startTime == nil { d.plan.startTime = ActiveDeadline.startTime(host.wallClock()) }
        var plan = d.plan
        plan.generation = 1
        try onHost { try host.writeRecord(d.record(generation: 1), layout: layout) }
        let status: PodStatus
        do {
            status = try onHost {
                try host.setUp(d.setup, layout: layout)
                return try host.launch(plan, limits: d.limits, network: d.network, setup: d.setup, layout: layout)
            }
        } catch {
            host.undoCreate(layout: layout)
            throw error
        }
        try Self.checkStartErrors(status)
    }

    /// Stops and removes a pod: gracefully when it has a live supervisor.
    func remove(_ key: PodKey, observed: Observed) throws(Failure) {
        guard let o = observed.pods[key] else { return }
        let grace = graceMilliseconds ?? (o.plan.map { $0.terminationGracePeriodSeconds * 1000 } ?? 30_000)
        if let uid = o.record?.uid ?? o.plan?.uid {
            try onHost { try host.delete(layout: roots.layout(key, uid: uid), graceMilliseconds: grace) }
        } else {
            // Neither record nor plan: what is left is the state dir and maybe a cgroup.
            try onHost {
                if let cgroup = o.cgroup { try host.removeCgroup(cgroup) }
                try host.removeState(roots.stateRoot.pod(key))
            }
        }
    }

    /// `apply` fails with the start errors (ARCHITECTURE: exec ENOENT and the like). The
    /// supervisor runs then, and keeps the pod under its restart policy.
    static func checkStartErrors(_ status: PodStatus) throws(Failure) {
        // A start that failed shows as StartError, or, once the supervisor has tried again
        // and backs off, as CrashLoopBackOff after a StartError.
        let errors = status.containers.filter { c in
            c.reason == "StartError" || (c.state != .running && (c.termination ?? c.lastTermination)?.reason == "StartError")
        }
        guard !errors.isEmpty else { return }
        throw Failure(errors.map { "container \($0.name): \($0.message ?? "start error")" }.joined(separator: "; "))
    }
}
