import Cgroups
import Kernel
import Manifest
import PodBuilder
import Planner
import PodModel
import HostSetup

/// One pass: observe the host, resolve the input, plan, and (for `apply`) execute under
/// the lock. `diff` plans without the lock and executes nothing.
public struct Reconciler: Sendable {
    public var roots: ReconcileRoots
    public var creator: PodCreator

    public init(roots: ReconcileRoots, creator: PodCreator) {
        self.roots = roots
        self.creator = creator
    }

    public struct Planned: Sendable {
        public var plan: Plan
        public var observed: Observed
        public var desired: [DesiredPod]
        /// Pods of the input that could not be resolved (an image not in the store, ...):
        /// left as they are on the host.
        public var failures: [DesiredBuilder.Failure]
        public var problems: [String]
    }

    public struct ReconcileError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The input of one pass: manifest sets, each pod resolved against its own set (its
    /// file's ConfigMaps and Secrets, for `watch`), and the source recorded for each pod.
    public struct Input {
        public var sets: [ManifestSet]
        public var source: (SourcedPod) -> String
        /// Sources whose file could not be used this pass (unreadable, invalid, refused):
        /// their pods stay as they are, neither changed nor pruned.
        public var held: Set<String>
        /// Only these pods, in the input and on the host, are planned; nil: every pod, and
        /// leftovers too. `watch` scopes a pass to the pods of the files that changed.
        public var scope: Set<PodKey>?

        public init(sets: [ManifestSet], held: Set<String> = [], scope: Set<PodKey>? = nil, source: @escaping (SourcedPod) -> String) {
            self.sets = sets
            self.held = held
            self.scope = scope
            self.source = source
        }

        /// The sets with only the pods in scope.
        var scopedSets: [ManifestSet] {
            guard let scope else { return sets }
            return sets.map { set in
                var set = set
                set.pods.removeAll { !scope.contains(PodKey(namespace: $0.pod.metadata.namespace, name: $0.pod.metadata.name)) }
                return set
            }
        }
    }

    /// What a pass would do. `owner` is `apply` or `watch:<dir>`; `source` names the owner
    /// of each input pod (`apply`, or `watch:<dir>/<file>`).
    public func plan(_ set: ManifestSet, owner: String, prune: Bool, source: @escaping (SourcedPod) -> String) throws(ReconcileError) -> Planned {
        try plan(Input(sets: [set], source: source), owner: owner, prune: prune)
    }

    public func plan(_ input: Input, owner: String, prune: Bool) throws(ReconcileError) -> Planned {
        let observer = Observer(roots: roots.roots, cgroupParent: roots.cgroupParent, driver: creator.driver)
        let observation: Observation
        do { observation = try observer.observation(scope: input.scope) } catch { throw ReconcileError(description: error.description) }
        let observed = observation.observed
        var records: [PodKey: PodRecord] = [:]
        for (key, pod) in observed.pods { if let r = pod.record { records[key] = r } }
        var desired: [DesiredPod] = []
        var failures: [DesiredBuilder.Failure] = []
        let builder = DesiredBuilder(creator: creator, roots: roots)
        for set in input.scopedSets {
            let built = builder.build(set, source: input.source, records: records, newUID: Self.newUID)
            desired += built.pods
            failures += built.failures
        }
        var plan = Planner.plan(desired: desired, observed: observed, options: PlanOptions(owner: owner, prune: prune, held: input.held))
        // A pod that failed to resolve is not "missing from the input": never prune it.
        let failed = Set(failures.map(\.key))
        plan.actions.removeAll { a in
            if case .delete(let k) = a.kind { return failed.contains(k) }
            return false
        }
        return Planned(plan: plan, observed: observed, desired: desired, failures: failures,
                       problems: observation.problems.map(\.description))
    }

    /// Plans and executes under the lock (`<root>/lock`): one pass at a time.
    public func apply(_ set: ManifestSet, owner: String, prune: Bool, graceMilliseconds: Int64? = nil,
                      source: @escaping (SourcedPod) -> String) throws(ReconcileError) -> (Planned, [Executor.Outcome]) {
        try apply(Input(sets: [set], source: source), owner: owner, prune: prune, graceMilliseconds: graceMilliseconds)
    }

    /// `stopWithoutWaiting`: see `Executor.stopWithoutWaiting` (`watch`).
    public func apply(_ input: Input, owner: String, prune: Bool, graceMilliseconds: Int64? = nil,
                      stopWithoutWaiting: Bool = false) throws(ReconcileError) -> (Planned, [Executor.Outcome]) {
        let lock: Int32
        do {
            try Sys.mkdirs(roots.roots.state, mode: 0o700)
            lock = try Sys.lockFile(roots.lockFile)
        } catch { throw ReconcileError(description: "the lock \(roots.lockFile): \(error)") }
        defer { Sys.close(lock) }
        let planned = try plan(input, owner: owner, prune: prune)
        var pods: [PodKey: Executor.InputPod] = [:]
        for set in input.scopedSets {
            for sourced in set.pods {
                let key = PodKey(namespace: sourced.pod.metadata.namespace, name: sourced.pod.metadata.name)
                if pods[key] == nil { pods[key] = Executor.InputPod(pod: sourced.pod, manifests: set) }
            }
        }
        let executor = Executor(creator: creator, roots: roots, graceMilliseconds: graceMilliseconds, stopWithoutWaiting: stopWithoutWaiting)
        return (planned, executor.run(planned.plan, input: pods, observed: planned.observed))
    }

    /// The host as it is now, without the lock (`get`, `describe`, `logs`, `exec`, `apply
    /// --wait`); with `scope`, only those pods and no leftovers.
    public func observe(scope: Set<PodKey>? = nil) throws(ReconcileError) -> Observed {
        let observer = Observer(roots: roots.roots, cgroupParent: roots.cgroupParent, driver: creator.driver)
        do { return try observer.observation(scope: scope).observed } catch { throw ReconcileError(description: error.description) }
    }

    /// A random pod uid, as the API server gives one: a version-4 UUID from the kernel.
    static func newUID() -> String {
        let text = (try? Sys.readString("/proc/sys/kernel/random/uuid")) ?? ""
        let uid = text.filter { $0 != "\n" }
        return uid.isEmpty ? "uid-\(MonotonicClock.now())" : uid
    }
}
