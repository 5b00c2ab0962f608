import Kernel
import Planner
import PodState
import HostSetup
import PodModel

/// The roots of one reconciler: `Roots` (state, data, log, proc, cgroupfs) and the parent
/// cgroup (`--cgroup-root`). Every path of a pod comes from here.
public struct ReconcileRoots: Sendable, Hashable {
    public var roots: Roots
    public var cgroupParent: String

    public init(roots: Roots = .host, cgroupParent: String = "podrec") {
        self.roots = roots
        self.cgroupParent = cgroupParent
    }

    public func layout(_ key: PodKey, uid: String) -> PodLayout {
        PodLayout(root: roots.state, dataRoot: roots.data, logRoot: roots.log, cgroupParent: cgroupParent,
                  cgroupMount: roots.cgroup, namespace: key.namespace, name: key.name, uid: uid)
    }

    /// The source recorded for a pod (`apply`, `watch:<dir>/<file>`), or nil: no state, or
    /// no readable record. For the watcher, deciding which file keeps a duplicated pod.
    public func recordedSource(_ key: PodKey) -> String? {
        stateRoot.pod(key).record()?.source
    }

    /// `--root`: the pods' state dirs and the pass lock.
    public var stateRoot: StateRoot { StateRoot(path: roots.state) }
}
