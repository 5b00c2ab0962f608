import Kernel
import PodModel
import PodState
import Synchronization

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
    /// `plans`: a process that glances again and again (the watcher's scrapes) keeps the
    /// decoded plans there.
    public func glance(scope: Set<PodKey>? = nil, plans: PlanCache? = nil) throws(ObserveError) -> [PodGlance] {
        let stateRoot = roots.stateRoot.podsDirectory
        var pods: [PodGlance] = []
        var planPaths = Set<String>()
        for entry in try HostReads.names(stateRoot) {
            guard let key = HostReads.podKey(stateDirectoryName: entry) else { continue }
            if let scope, !scope.contains(key) { continue }
            let directory = PodStateDirectory(path: stateRoot + "/" + entry)
            let planPath = directory.path(.plan)
            guard let plan = plans.map({ $0.plan(planPath) }) ?? Self.plan(planPath) else { continue }
            planPaths.insert(planPath)
            let status = ((try? directory.text(.status)) ?? nil).flatMap { try? PodStatus.decode($0) }
            let cgroup = parentPath(CgroupNames.pod(namespace: key.namespace, name: key.name, uid: plan.uid))
            pods.append(PodGlance(key: key, plan: plan, status: status, cgroup: cgroup))
        }
        if scope == nil { plans?.keep(planPaths) }
        return pods.sorted { $0.key < $1.key }
    }

    /// The plan at `path`, when it reads and decodes.
    static func plan(_ path: String) -> LaunchPlan? {
        guard let bytes = try? Sys.readFile(path) else { return nil }
        return try? LaunchPlan.decode(String(decoding: bytes, as: UTF8.self))
    }
}

/// Plans decoded before, by their file's identity. A plan file is only ever replaced whole,
/// renamed over (`Sys.writeFileAtomically`), so the same device, inode, size and mtime is
/// the same plan: one stat instead of a read and a decode, which were a fifth of a scrape.
public final class PlanCache: Sendable {
    struct Identity: Hashable {
        var device: UInt64, inode: UInt64, size: Int64, mtimeSeconds: Int64, mtimeNanoseconds: Int64
    }
    private let entries = Mutex<[String: (identity: Identity, plan: LaunchPlan)]>([:])

    public init() {}

    func plan(_ path: String) -> LaunchPlan? {
        guard let st = try? Sys.stat(path) else { return nil }
        let identity = Identity(device: st.device, inode: st.inode, size: st.size, mtimeSeconds: st.mtimeSeconds, mtimeNanoseconds: st.mtimeNanoseconds)
        if let entry = entries.withLock({ $0[path] }), entry.identity == identity { return entry.plan }
        guard let plan = Observer.plan(path) else { return nil }
        entries.withLock { $0[path] = (identity, plan) }
        return plan
    }

    /// Forgets the plans of pods that are gone.
    func keep(_ paths: Set<String>) {
        entries.withLock { entries in entries = entries.filter { paths.contains($0.key) } }
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
