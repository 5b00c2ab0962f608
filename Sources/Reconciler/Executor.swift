import Cgroups
import Kernel
import Manifest
import PodBuilder
import Planner
import PodModel
import HostSetup

/// Runs a plan: one outcome per action, in the plan's order. A failed action stops the
/// rest of that pod's actions (they assumed it); other pods go on. Every action is safe to
/// run again, so a pass cut short is finished by the next one.
public struct Executor: Sendable {
    public var creator: PodCreator
    public var roots: ReconcileRoots
    /// How long a stop waits before SIGKILL when the pod's own grace period is not known
    /// here (a delete): `--grace-period`, else 30 s.
    public var graceMilliseconds: Int64?
    /// Delete (and recreate) without waiting for a live supervisor to stop: record the pod
    /// as deleting, signal the supervisor, and leave the rest to a later pass (`watch`,
    /// which runs one when the supervisor exits). `apply` and `delete` wait.
    public var stopWithoutWaiting: Bool

    public init(creator: PodCreator, roots: ReconcileRoots, graceMilliseconds: Int64? = nil, stopWithoutWaiting: Bool = false) {
        self.creator = creator
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

    /// A manifest pod and the set it came from (for its ConfigMaps and Secrets).
    public struct InputPod: Sendable {
        public var pod: Pod
        public var manifests: ManifestSet

        public init(pod: Pod, manifests: ManifestSet) {
            self.pod = pod
            self.manifests = manifests
        }
    }

    /// `input`: the manifest pods by key.
    public func run(_ plan: Plan, input: [PodKey: InputPod], observed: Observed) -> [Outcome] {
        var outcomes: [Outcome] = []
        var failedPods = Set<PodKey>()
        for action in plan.actions {
            if let key = action.key, failedPods.contains(key) {
                outcomes.append(Outcome(action: action, error: "not attempted: an earlier action on this pod failed", deferred: false))
                continue
            }
            do {
                switch try perform(action, input: input, observed: observed) {
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

    func pod(_ key: PodKey, _ input: [PodKey: InputPod]) throws(Failure) -> InputPod {
        guard let pod = input[key] else { throw Failure("\(key) is not in the input") }
        return pod
    }

    enum Progress { case done, deferred, stopping }

    func perform(_ action: Action, input: [PodKey: InputPod], observed: Observed) throws(Failure) -> Progress {
        switch action.kind {
        case .create(let d):
            try create(d, try pod(d.key, input))
        case .recreate(let d):
            if try stopFirst(d.key, observed: observed) { return .stopping }
            try remove(d.key, observed: observed)
            try create(d, try pod(d.key, input))
        case .updatePlan(let d, let generation, _, _, _):
            let layout = roots.layout(d.key, uid: d.uid)
            try writeRecord(d, generation: generation, layout: layout)
            do {
                let p = try pod(d.key, input)
                let build = try creator.build(p.pod, manifests: p.manifests, layout: layout, generation: generation)
                let status = try creator.launcher(layout).update(build.plan, limits: PodCgroupLimits(pod: build.podLimits, containers: build.containerLimits))
                try Self.checkStartErrors(status)
            } catch let e as Failure { throw e } catch { throw Failure("\(error)") }
        case .refreshFiles(let d):
            let layout = roots.layout(d.key, uid: d.uid)
            do {
                let p = try pod(d.key, input)
                _ = try creator.build(p.pod, manifests: p.manifests, layout: layout, generation: 0)
            } catch let e as Failure { throw e } catch { throw Failure("\(error)") }
            let generation = observed.pods[d.key]?.record?.generation ?? 1
            try writeRecord(d, generation: generation, layout: layout)
        case .resignal(let key, let generation):
            guard let uid = observed.pods[key]?.record?.uid else { throw Failure("\(key): no record") }
            do { try creator.launcher(roots.layout(key, uid: uid)).resignal(generation: generation) } catch { throw Failure(error.description) }
        case .resize(let key, let container, let limits, _):
            guard let uid = observed.pods[key]?.record?.uid else { throw Failure("\(key): no record") }
            let launcher = creator.launcher(roots.layout(key, uid: uid))
            let path = container.map { launcher.containerCgroup($0) } ?? launcher.podCgroup
            do {
                let results = try creator.driver.apply(limits, to: path)
                return results.deferred ? .deferred : .done
            } catch { throw Failure(error.description) }
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
            do { _ = try creator.launcher(roots.layout(key, uid: uid)).requestStop() } catch { throw Failure(error.description) }
        case .recordSource(let key, let source):
            guard var record = observed.pods[key]?.record else { throw Failure("\(key): no record") }
            record.source = source
            try writeRecord(record, layout: roots.layout(key, uid: record.uid))
        case .skip:
            break
        case .removeStrayCgroup(let name):
            let path = roots.cgroupParent + "/" + name
            do {
                try creator.driver.kill(path)
                try creator.driver.remove(path)
            } catch { throw Failure(error.description) }
        case .removeStrayData(let uid):
            do { try creator.volumes.teardown(layout: roots.layout(PodKey(namespace: "", name: ""), uid: uid)) } catch { throw Failure(error.description) }
        case .removeStrayLogs(let directory):
            let path = directory.hasPrefix("/") ? directory : roots.roots.log + "/pods/" + directory
            do { try Sys.removeTree(path) } catch where error.isNotFound {} catch { throw Failure(error.description) }
        }
        return .done
    }

    /// With `stopWithoutWaiting`, a live supervisor is told to stop and the pod recorded as
    /// deleting: true, and the action waits for a later pass. Otherwise false.
    func stopFirst(_ key: PodKey, observed: Observed) throws(Failure) -> Bool {
        guard stopWithoutWaiting, let o = observed.pods[key], case .alive = o.supervisor, var record = o.record else { return false }
        let layout = roots.layout(key, uid: record.uid)
        if !record.deleting {
            record.deleting = true
            try writeRecord(record, layout: layout)
        }
        do { return try creator.launcher(layout).requestStop() } catch { throw Failure(error.description) }
    }

    func create(_ d: DesiredPod, _ input: InputPod) throws(Failure) {
        let layout = roots.layout(d.key, uid: d.uid)
        // The record first: a pass that dies after it leaves a pod the next pass sees as
        // half-created (a record and no supervisor) and recreates.
        try writeRecord(d, generation: 1, layout: layout)
        do {
            let status = try creator.create(input.pod, manifests: input.manifests, layout: layout, generation: 1)
            try Self.checkStartErrors(status)
        } catch let e as Failure { throw e } catch { throw Failure("\(error)") }
    }

    /// Stops and removes a pod: gracefully when it has a live supervisor.
    func remove(_ key: PodKey, observed: Observed) throws(Failure) {
        guard let o = observed.pods[key] else { return }
        let grace = graceMilliseconds ?? (o.plan.map { $0.terminationGracePeriodSeconds * 1000 } ?? 30_000)
        if let uid = o.record?.uid ?? o.plan?.uid {
            do { try creator.delete(layout: roots.layout(key, uid: uid), graceMilliseconds: grace) } catch { throw Failure(error.description) }
        } else {
            // Neither record nor plan: what is left is the state dir and maybe a cgroup.
            do {
                if let cgroup = o.cgroup, creator.driver.exists(cgroup) {
                    try creator.driver.kill(cgroup)
                    try creator.driver.remove(cgroup)
                }
            } catch { throw Failure(error.description) }
            do { try Sys.removeTree(roots.layout(key, uid: "none").stateDirectory) } catch where error.isNotFound {} catch {
                throw Failure(error.description)
            }
        }
    }

    func writeRecord(_ d: DesiredPod, generation: Int, layout: PodLayout) throws(Failure) {
        try writeRecord(PodRecord(uid: d.uid, source: d.source, immutable: d.immutable, generation: generation, contents: d.contents), layout: layout)
    }

    func writeRecord(_ record: PodRecord, layout: PodLayout) throws(Failure) {
        do {
            try Sys.mkdirs(layout.stateDirectory, mode: 0o700)
            try Sys.writeFileAtomically(layout.stateDirectory + "/record", Array(record.encoded().utf8), mode: 0o600, durable: false)
        } catch { throw Failure(error.description) }
    }

    /// `apply` fails with the start errors (ARCHITECTURE: exec ENOENT and the like).
    static func checkStartErrors(_ status: PodStatus) throws(Failure) {
        let errors = status.containers.filter { $0.reason == "StartError" }
        guard !errors.isEmpty else { return }
        throw Failure(errors.map { "container \($0.name): \($0.message ?? "start error")" }.joined(separator: "; "))
    }
}
