import Kernel
import PodModel
import PodState

/// One pod as `top` and the watcher's metrics read it: its plan (container names and
/// cgroups), its status, and its pod cgroup's path. Nothing here decides anything: a
/// reader of usage needs none of what `Observed` carries for the planner.
public struct PodGlance: Sendable {
    public var key: PodKey
    public var plan: LaunchPlan
    /// nil while the supervisor has not written one, or when it does not decode.
    public var status: PodStatus?
    /// The pod cgroup, relative to the cgroup mount (`Observer.parentPath`), named by the
    /// plan's uid; it may be gone.
    public var cgroup: String
}

extension Observer {
    /// Every pod with a readable plan (with `scope`, those pods only), sorted by key: two
    /// state files a pod and no cgroupfs, no `/proc`. `observation()` reads ~20 files a pod
    /// for the planner (every limit, the supervisor's liveness); `top` and a scrape of the
    /// metrics read their counters themselves, and at 500 pods that difference was most of
    /// a scrape (190 ms against the 50 ms budget). What does not read or decode is left
    /// out: a glance is not the place to report damage, `get` and the watcher's passes are.
    public func glance(scope: Set<PodKey>? = nil) throws(ObserveError) -> [PodGlance] {
        let stateRoot = roots.stateRoot.podsDirectory
        var pods: [PodGlance] = []
        for entry in try HostReads.names(stateRoot) {
            guard let key = HostReads.podKey(stateDirectoryName: entry) else { continue }
            if let scope, !scope.contains(key) { continue }
            let directory = PodStateDirectory(path: stateRoot + "/" + entry)
            func read(_ file: PodStateDirectory.File) -> String? { (try? directory.text(file)) ?? nil }
            guard let planText = read(.plan), let plan = try? LaunchPlan.decode(planText) else { continue }
            let status = read(.status).flatMap { try? PodStatus.decode($0) }
            let cgroup = parentPath(CgroupNames.pod(namespace: key.namespace, name: key.name, uid: plan.uid))
            pods.append(PodGlance(key: key, plan: plan, status: status, cgroup: cgroup))
        }
        return pods.sorted { $0.key < $1.key }
    }
}

extension Observer {
    /// The pod uids the state dirs claim, each record's and each plan's, as `observation()`
    /// claims them: for the network's sweep after a full pass, which must not take a live
    /// pod's lease or pin for a leftover and needs nothing else. A file that cannot be read
    /// throws, as in `observation()`; one that does not decode claims nothing.
    public func claimedUIDs() throws(ObserveError) -> Set<String> {
        let stateRoot = roots.stateRoot.podsDirectory
        var uids = Set<String>()
        for entry in try HostReads.names(stateRoot) {
            guard let key = HostReads.podKey(stateDirectoryName: entry) else { continue }
            let directory = PodStateDirectory(path: stateRoot + "/" + entry)
            func read(_ file: PodStateDirectory.File) throws(ObserveError) -> String? {
                do { return try directory.text(file) } catch {
                    if error.errno == .notDirectory { return nil }
                    throw ObserveError(pod: key, .kernel(error))
                }
            }
            if let uid = try read(.record).flatMap({ try? PodRecord.decode($0).uid }), !uid.isEmpty { uids.insert(uid) }
            if let uid = try read(.plan).flatMap({ try? LaunchPlan.decode($0).uid }), !uid.isEmpty { uids.insert(uid) }
        }
        return uids
    }
}
