import Cgroups
import Kernel
import Manifest
import PlanBuilder
import Planner
import PodContract
import Runtime

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

    /// What a pass would do. `owner` is `apply` or `watch:<dir>`; `source` names the owner
    /// of each input pod (`apply`, or `watch:<dir>/<file>`).
    public func plan(_ set: ManifestSet, owner: String, prune: Bool, source: (SourcedPod) -> String) throws(ReconcileError) -> Planned {
        let observer = Observer(roots: roots.roots, cgroupParent: roots.cgroupParent, driver: creator.driver)
        let observation: Observation
        do { observation = try observer.observation() } catch { throw ReconcileError(description: error.description) }
        let observed = observation.observed
        var records: [PodKey: PodRecord] = [:]
        for (key, pod) in observed.pods { if let r = pod.record { records[key] = r } }
        let (desired, failures) = DesiredBuilder(creator: creator, roots: roots).build(set, source: source, records: records, newUID: Self.newUID)
        var plan = Planner.plan(desired: desired, observed: observed, options: PlanOptions(owner: owner, prune: prune))
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
                      source: (SourcedPod) -> String) throws(ReconcileError) -> (Planned, [Executor.Outcome]) {
        let lock: Int32
        do {
            try Sys.mkdirs(roots.roots.state, mode: 0o700)
            lock = try Sys.lockFile(roots.lockFile)
        } catch { throw ReconcileError(description: "the lock \(roots.lockFile): \(error)") }
        defer { Sys.close(lock) }
        let planned = try plan(set, owner: owner, prune: prune, source: source)
        var input: [PodKey: Pod] = [:]
        for sourced in set.pods {
            let key = PodKey(namespace: sourced.pod.metadata.namespace, name: sourced.pod.metadata.name)
            if input[key] == nil { input[key] = sourced.pod }
        }
        let executor = Executor(creator: creator, roots: roots, graceMilliseconds: graceMilliseconds)
        return (planned, executor.run(planned.plan, input: input, manifests: set, observed: planned.observed))
    }

    /// A random pod uid, as the API server gives one: a version-4 UUID from the kernel.
    static func newUID() -> String {
        let text = (try? Sys.readString("/proc/sys/kernel/random/uuid")) ?? ""
        let uid = text.filter { $0 != "\n" }
        return uid.isEmpty ? "uid-\(MonotonicClock.now())" : uid
    }
}
