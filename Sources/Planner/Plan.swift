import PodModel

/// What one pass will do, in order, each action with its reason. `diff` prints it; `apply`
/// executes it. An empty plan means the host is as the input asks.
public struct Plan: Sendable {
    public var actions: [Action]

    public init(actions: [Action] = []) { self.actions = actions }

    /// Whether the host differs from the input: any action but `.skip`. A deferred resize
    /// counts (`diff` exits 1 while it lasts), though `apply` can do nothing about it yet.
    public var hasChanges: Bool { actions.contains { !$0.isInformational } }
}

public struct Action: Sendable {
    public enum Kind: Sendable {
        /// A new pod: volumes, cgroups, state, supervisor.
        case create(DesiredPod)
        /// Stop and remove the pod, then create it again: its supervisor is dead, a field
        /// that cannot change in place changed, or it was half-created.
        case recreate(DesiredPod)
        /// Hand the live supervisor a new plan. `restart`: containers whose spec hash
        /// changed; `add` and `remove`: containers added and removed. Fields that restart
        /// nothing (a grace period) change the plan too.
        case updatePlan(DesiredPod, generation: Int, restart: [String], add: [String], remove: [String])
        /// New contents for the pod's configMap, secret, downwardAPI and projected volumes
        /// (a ConfigMap or Secret edited, a label or annotation changed), swapped in through
        /// `..data` while the containers run, as kubelet does.
        case refreshFiles(DesiredPod)
        /// The supervisor has not taken up the recorded plan: signal it again.
        case resignal(PodKey, generation: Int)
        /// Write limits in place, no restart: the pod's cgroup (`container` nil) or a
        /// container's. `changes` names each limit as it was and as it will be.
        case resize(PodKey, container: String?, limits: CgroupLimits, changes: [LimitChange])
        /// A memory limit below what the cgroup uses now: not written (v2 would OOM-kill,
        /// v1 might reclaim or fail), as kubelet defers such a resize. Each pass tries again.
        case deferredResize(PodKey, container: String?, wanted: Int64, usage: Int64)
        /// Stop the pod gracefully, then remove its cgroups, state and volumes.
        case delete(PodKey)
        /// A pod being deleted whose supervisor still stops its containers: nothing to do
        /// until it has exited but to tell it again (it may never have been told).
        case awaitTermination(PodKey)
        /// The pod is now defined by another file of the same watcher (a file renamed): the
        /// record takes the new source; the pod runs on untouched.
        case recordSource(PodKey, source: String)
        /// Not acted on: the pod belongs to another source (ARCHITECTURE: the pod keeps its
        /// recorded owner).
        case skip(PodKey)
        /// Not acted on, and an error: the pod asks for what another pod holds (a host
        /// port), `apply` names a pod that a watcher owns, or asks for a change the API
        /// server refuses on a live pod (a longer active deadline). The pod is left as it is;
        /// the pass reports the reason and fails.
        case refuse(PodKey)
        /// Not acted on: the pod has failed for good (its active deadline passed) and its
        /// supervisor keeps it so, as kubelet keeps a Failed pod; nothing is repaired,
        /// restarted or handed over. Deleting the pod is how it runs again.
        case finished(PodKey)
        /// The pod's network attachment is broken (its interface or its port rules gone):
        /// DEL with what was recorded, then ADD again into the same namespace, asking for the
        /// same address; the containers run on.
        case repairNetwork(DesiredPod)
        /// Leftovers of a crashed pass: a pod cgroup no state names, data or log dirs of
        /// uids without state.
        case removeStrayCgroup(String)
        case removeStrayData(uid: String)
        case removeStrayLogs(directory: String)
        /// A CNI attachment no pod owns: DEL with its record, then the record goes.
        case removeStrayAttachment(containerID: String)
    }

    public var kind: Kind
    public var reason: String
    /// What changes under the pod, for `diff`: its containers, then their fields.
    public var details: [ActionDetail]

    public init(_ kind: Kind, reason: String, details: [ActionDetail] = []) {
        self.kind = kind
        self.reason = reason
        self.details = details
    }

    /// The pod the action is about, if any.
    public var key: PodKey? {
        switch kind {
        case .create(let d), .recreate(let d), .updatePlan(let d, _, _, _, _), .refreshFiles(let d), .repairNetwork(let d): return d.key
        case .resignal(let k, _), .resize(let k, _, _, _), .deferredResize(let k, _, _, _), .delete(let k), .skip(let k), .refuse(let k), .finished(let k),
             .awaitTermination(let k), .recordSource(let k, _): return k
        case .removeStrayCgroup, .removeStrayData, .removeStrayLogs, .removeStrayAttachment: return nil
        }
    }

    /// `+` create, `-` delete, `~` change, `=` left alone.
    public var mark: String { summary.mark }

    /// What the action is about: `pod default/web (a, b)`, `pod default/web container a`,
    /// `cgroup x`.
    public var subject: String { summary.subject }

    var summary: (mark: String, subject: String) {
        let a = self
        switch a.kind {
        case .create(let d): return ("+", "pod \(d.key) (\(d.plan.containers.map(\.name).joined(separator: ", ")))")
        case .recreate(let d): return ("~", "pod \(d.key) recreate")
        case .updatePlan(let d, let g, let restart, let add, let remove):
            var parts: [String] = []
            parts += restart.map { "~ \($0) restart" }
            parts += add.map { "+ \($0)" }
            parts += remove.map { "- \($0)" }
            return ("~", "pod \(d.key) plan generation \(g)" + (parts.isEmpty ? "" : " [" + parts.joined(separator: ", ") + "]"))
        case .refreshFiles(let d): return ("~", "pod \(d.key) volume files")
        case .resignal(let k, let g): return ("~", "pod \(k) signal for generation \(g)")
        case .resize(let k, let c, _, _):
            return ("~", "pod \(k)" + (c.map { " container \($0)" } ?? " cgroup"))
        case .deferredResize(let k, let c, _, _):
            return ("~", "pod \(k)" + (c.map { " container \($0)" } ?? " cgroup"))
        case .delete(let k): return ("-", "pod \(k)")
        case .awaitTermination(let k): return ("~", "pod \(k) terminating")
        case .recordSource(let k, let source): return ("~", "pod \(k) source \(source)")
        case .skip(let k): return ("=", "pod \(k)")
        case .refuse(let k): return ("!", "pod \(k) refused")
        case .finished(let k): return ("=", "pod \(k)")
        case .repairNetwork(let d): return ("~", "pod \(d.key) network \(d.network?.network.name ?? "")")
        case .removeStrayCgroup(let c): return ("-", "cgroup \(c)")
        case .removeStrayData(let u): return ("-", "data of uid \(u)")
        case .removeStrayLogs(let d): return ("-", "logs \(d)")
        case .removeStrayAttachment(let id): return ("-", "network attachment \(id)")
        }
    }

    /// Reported, never a difference.
    public var isInformational: Bool {
        switch kind {
        case .skip, .finished: return true
        default: return false
        }
    }
}

/// One line under an action: a container (depth 1) or one of its fields (depth 2), marked
/// `+` added, `-` removed or `~` changed. Secret values never appear in `text`.
public struct ActionDetail: Sendable, Hashable, CustomStringConvertible {
    public var mark: Character
    public var text: String
    public var depth: Int

    public init(_ mark: Character, _ text: String, depth: Int) {
        self.mark = mark
        self.text = text
        self.depth = depth
    }

    public var description: String { "\(mark) \(text)" }
}

/// One limit, before and after, in the kernel's unit (`cpu.weight` on v2).
public struct LimitChange: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var from: String
    public var to: String

    public init(name: String, from: String, to: String) {
        self.name = name
        self.from = from
        self.to = to
    }

    public var description: String { "\(name) \(from) → \(to)" }
}

public struct PlanOptions: Sendable {
    /// Who this pass acts for: `apply` or `watch:<dir>` (a watcher owns the pods of every
    /// file in its dir: `watch:<dir>/<file>`).
    public var owner: String
    /// Delete pods of this owner that the input no longer has. `apply` prunes only with
    /// `--prune`; a watcher always.
    public var prune: Bool
    /// Sources whose input could not be used this pass (a watched file that fails to parse,
    /// or is refused): their pods are left as they run, never pruned.
    public var held: Set<String>
    /// Pods of the input that could not be built this pass (an image not in the store, a
    /// hostPath of the wrong type): not "missing from the input", so never pruned.
    public var unresolved: Set<PodKey>
    /// Take over the input's pods that another source owns (`apply --force-owner`): the
    /// record names this pass's source from now on, and the pod is planned as one's own.
    public var forceOwner: Bool

    public init(owner: String = "apply", prune: Bool = false, held: Set<String> = [], unresolved: Set<PodKey> = [], forceOwner: Bool = false) {
        self.owner = owner
        self.prune = prune
        self.held = held
        self.unresolved = unresolved
        self.forceOwner = forceOwner
    }

    /// Whether a pod recorded with `source` belongs to this pass.
    public func owns(_ source: String) -> Bool {
        source == owner || (owner.hasPrefix("watch:") && source.hasPrefix(owner + "/"))
    }
}
