import Cgroups
import PodContract
import Runtime

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
        /// New contents for the pod's configMap and secret volumes, swapped in through
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
        /// Not acted on: the pod belongs to another source (ARCHITECTURE: the pod keeps its
        /// recorded owner).
        case skip(PodKey)
        /// Leftovers of a crashed pass: a pod cgroup no state names, data or log dirs of
        /// uids without state.
        case removeStrayCgroup(String)
        case removeStrayData(uid: String)
        case removeStrayLogs(directory: String)
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
        case .create(let d), .recreate(let d), .updatePlan(let d, _, _, _, _), .refreshFiles(let d): return d.key
        case .resignal(let k, _), .resize(let k, _, _, _), .deferredResize(let k, _, _, _), .delete(let k), .skip(let k): return k
        case .removeStrayCgroup, .removeStrayData, .removeStrayLogs: return nil
        }
    }

    /// Reported, never a difference.
    public var isInformational: Bool {
        if case .skip = kind { return true }
        return false
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

    public init(owner: String = "apply", prune: Bool = false, held: Set<String> = []) {
        self.owner = owner
        self.prune = prune
        self.held = held
    }

    /// Whether a pod recorded with `source` belongs to this pass.
    public func owns(_ source: String) -> Bool {
        source == owner || (owner.hasPrefix("watch:") && source.hasPrefix(owner + "/"))
    }
}
