import Cgroups
import Kernel
import Planner
import PodModel
import PodState
import Procfs

/// Builds `Observed`: every podrec pod on this host, from its state dir, its cgroups and
/// `/proc` (ARCHITECTURE, "Observed state"). Reads only; takes no lock (`diff` runs it
/// beside a running `apply`, and whatever a concurrent pass removes reads as gone).
///
/// Pods are found in three places and joined by key and uid:
///
/// - state dirs `<root>/pods/<ns>_<name>`: one pod each, with its record, plan, status and
///   supervisor identity;
/// - pod cgroups `<parent>/<ns>_<name>_<uid>` (`CgroupNames.pod`, so a long name is found
///   by its shortened form): a pod's when its state's uid (the record's, else the plan's)
///   names it, else stray;
///   `strayCgroups` holds their names under the parent, `ObservedPod.cgroup` the path;
/// - data dirs `<data-root>/pods/<uid>` and log dirs `<log-dir>/pods/<ns>_<name>_<uid>`:
///   stray when no state dir claims their uid (`strayDataUIDs`: the uids;
///   `strayLogDirectories`: absolute paths).
///
/// A state dir claims the uid of its record and, as well, the uid of its plan: a record
/// that does not decode must not get a live pod's volumes, logs or cgroups taken for
/// leftovers and removed. (Such a pod shows with `record == nil`; the planner decides.)
///
/// What is absent (ENOENT, ESRCH) is an answer; any other failure throws `ObserveError`,
/// so "could not read" is never taken for "not running". Files that read but do not
/// decode leave their field nil and are reported in `Observation.problems`.
///
/// Cost per pod: four small state files, one `/proc/PID/stat`, and per cgroup (the pod's
/// and each container's of its plan) its limits and its memory use, one file. The walk of
/// the pod's cgroup tree for its processes is made only where the reconciler may act on
/// them (see `ProcessListing`). Per pass: one listing of each root, and of the cgroup
/// parent in each hierarchy. Nothing reads cmdline or environ.
///
/// Measured here (v1, 2 vCPUs), 200 pods of two containers: about 49 ms in a release build
/// (79 ms debug), mostly the 15 cgroupfs files of limits per pod (~10 µs each; two threads
/// read them no faster); walking every pod's tree in each v1 hierarchy would add ~370 ms.
public struct Observer: Sendable {
    /// Which pods' cgroup trees are walked for `ObservedPod.processes`.
    public enum ProcessListing: Sendable, Hashable {
        /// Every pod's: for `describe` and tests.
        case always
        /// Only pods the reconciler may clean up or recreate: no record, or a supervisor
        /// that is not alive. A live supervisor's processes are its own business (the
        /// reconciler never touches its containers), so theirs stay empty: a v1 walk costs
        /// six hierarchies × every cgroup of the pod, ~2 ms per pod here.
        case unlessSupervisorAlive
    }

    /// `state`, `data` and `log` are the roots read, and `cgroupParent` the pods' parent
    /// cgroup; `proc` is the reader's unless one is given. cgroupfs is the driver's
    /// (`driver.setup.root`).
    public var roots: Roots
    public var cgroupParent: String { roots.cgroupParent }
    public var driver: any CgroupDriver
    public var procfs: ProcfsReader
    public var processListing: ProcessListing
    /// false: nothing of cgroupfs is read, for readers of the state and the supervisors
    /// alone (`get`, `events`): each pod's `cgroup` is the path its uid names, and
    /// `cgroupExists`, `limits`, `memoryUsage` and `processes` stay empty, so what the
    /// planner would make of such an observation is wrong. The cgroups were a quarter of
    /// `get`'s time with 200 pods.
    public var readsCgroups: Bool

    public init(roots: Roots, driver: any CgroupDriver, procfs: ProcfsReader? = nil,
                processListing: ProcessListing = .unlessSupervisorAlive, readsCgroups: Bool = true) {
        self.roots = roots
        self.driver = driver
        self.procfs = procfs ?? ProcfsReader(roots: roots)
        self.processListing = processListing
        self.readsCgroups = readsCgroups
    }

    /// Everything of podrec's on the host, as the planner takes it.
    public func observe() throws(ObserveError) -> Observed {
        try observation().observed
    }

    /// `observe()`, with what could be read but not used. With `scope`, only those pods'
    /// state is read, and leftovers (strays) are not looked for: a pass about a few pods
    /// (`watch`, when a file changed) costs those pods, not the host's every pod.
    public func observation(scope: Set<PodKey>? = nil) throws(ObserveError) -> Observation {
        let cgroups = readsCgroups ? try CgroupListing(driver: driver, parent: cgroupParent) : CgroupListing()
        var problems: [ObserveProblem] = []
        var pods: [PodKey: ObservedPod] = [:]
        var claimedCgroups: Set<String> = []
        var claimedUIDs: Set<String> = []
        var claimedLogs: Set<String> = []

        let stateRoot = roots.stateRoot.podsDirectory
        for entry in try HostReads.names(stateRoot) {
            let directory = PodStateDirectory(path: stateRoot + "/" + entry)
            guard let key = HostReads.podKey(stateDirectoryName: entry) else {
                if scope == nil {
                    problems.append(ObserveProblem(pod: nil, path: directory.path, reason: "not a pod state dir: the name is not <namespace>_<name>"))
                }
                continue
            }
            if let scope, !scope.contains(key) { continue }
            guard let found = try observePod(key, directory: directory, cgroups: cgroups, problems: &problems) else { continue }
            pods[key] = found.pod
            if let name = found.cgroupName { claimedCgroups.insert(name) }
            for uid in found.uids {
                claimedUIDs.insert(uid)
                claimedLogs.insert("\(key.namespace)_\(key.name)_\(uid)")
            }
        }

        var observed = Observed(pods: pods, unified: driver.setup.mode == .unified)
        if scope != nil || !readsCgroups { return Observation(observed: observed, problems: problems) }
        observed.strayCgroups = cgroups.names.subtracting(claimedCgroups).sorted()
        observed.strayDataUIDs = try HostReads.names(PodLayout.pods(roots.data)).filter { !claimedUIDs.contains($0) }
        let logRoot = PodLayout.pods(roots.log)
        observed.strayLogDirectories = try HostReads.names(logRoot).filter { !claimedLogs.contains($0) }.map { logRoot + "/" + $0 }
        return Observation(observed: observed, problems: problems)
    }

    // MARK: One pod

    struct FoundPod {
        var pod: ObservedPod
        /// The pod cgroup's directory name under the parent, when the pod has one.
        var cgroupName: String?
        /// The uids the pod's state names (record, plan, or its cgroup's name).
        var uids: [String]
    }

    /// The pod of one state dir; nil when `directory` is no dir, or was removed meanwhile.
    func observePod(_ key: PodKey, directory: PodStateDirectory, cgroups: CgroupListing, problems: inout [ObserveProblem]) throws(ObserveError) -> FoundPod? {
        func read(_ file: PodStateDirectory.File) throws(ObserveError) -> String? {
            do { return try directory.text(file) } catch { throw ObserveError(pod: key, .kernel(error)) }
        }
        let recordText: String?
        do { recordText = try read(.record) } catch {
            if case .kernel(let e) = error.cause, e.errno == .notDirectory {
                problems.append(ObserveProblem(pod: nil, path: directory.path, reason: "not a directory"))
                return nil
            }
            throw error
        }
        let planText = try read(.plan)
        let statusText = try read(.status)
        let supervisorText = try read(.supervisor)
        if recordText == nil && planText == nil && statusText == nil && supervisorText == nil && !Sys.exists(directory.path) {
            return nil  // removed since the listing: a concurrent delete
        }

        var pod = ObservedPod(key: key)
        pod.record = Self.decoded(recordText, directory.path(.record), key, &problems) { t throws(RecordError) in try PodRecord.decode(t) }
        pod.plan = Self.decoded(planText, directory.path(.plan), key, &problems) { t throws(RecordError) in try LaunchPlan.decode(t) }
        pod.status = Self.decoded(statusText, directory.path(.status), key, &problems) { t throws(RecordError) in try PodStatus.decode(t) }
        pod.supervisor = try supervisorState(supervisorText, path: directory.path(.supervisor), key, &problems)

        var uids: [String] = []
        for uid in [pod.record?.uid, pod.plan?.uid] { if let uid, !uid.isEmpty, !uids.contains(uid) { uids.append(uid) } }
        var cgroupName: String?
        if let uid = uids.first {
            cgroupName = CgroupNames.pod(namespace: key.namespace, name: key.name, uid: uid)
        } else {
            // No uid readable: a cgroup of this key (its name starts `<ns>_<name>_`, which no
            // other key's can) is this pod's, when there is exactly one.
            let prefix = "\(key.namespace)_\(key.name)_"
            let matches = cgroups.names.filter { $0.hasPrefix(prefix) }
            if matches.count == 1, let name = matches.first {
                cgroupName = name
                // Its uid, unless the name was shortened (then it is not in the name).
                let uid = String(name.dropFirst(prefix.count))
                if CgroupNames.pod(namespace: key.namespace, name: key.name, uid: uid) == name { uids.append(uid) }
            }
        }
        if let cgroupName {
            let path = parentPath(cgroupName)
            pod.cgroup = path
            pod.cgroupExists = cgroups.names.contains(cgroupName)
            if pod.cgroupExists, readsCgroups { try readCgroups(path, plan: pod.plan, into: &pod, problems: &problems) }
        }
        return FoundPod(pod: pod, cgroupName: cgroupName, uids: uids)
    }

    static func decoded<T>(_ text: String?, _ path: String, _ key: PodKey, _ problems: inout [ObserveProblem],
                           _ decode: (String) throws(RecordError) -> T) -> T? {
        guard let text else { return nil }
        do { return try decode(text) } catch {
            problems.append(ObserveProblem(pod: key, path: path, reason: "does not decode: \(error)"))
            return nil
        }
    }

    /// `.alive` when the recorded pid has the recorded start time and has not exited (the
    /// reader's `isAlive`); `.dead` when it does not, or when the file does not read as an
    /// identity (the launcher writes it atomically, so that is damage, and nothing proves
    /// a supervisor lives); `.none` without a file.
    func supervisorState(_ text: String?, path: String, _ key: PodKey, _ problems: inout [ObserveProblem]) throws(ObserveError) -> SupervisorState {
        guard let text else { return .none }
        guard let recorded = SupervisorIdentity(line: text) else {
            problems.append(ObserveProblem(pod: key, path: path, reason: "not \"pid starttime\": \(text.prefix(80))"))
            return .dead
        }
        let identity = ProcessIdentity(recorded)
        do { return try procfs.isAlive(identity) ? .alive(pid: identity.pid) : .dead } catch { throw ObserveError(pod: key, .procfs(error)) }
    }

    // MARK: Cgroups

    /// Limits and memory use of the pod cgroup (key "") and of each container cgroup of the
    /// plan that exists, and (see `ProcessListing`) every process in the pod's tree.
    func readCgroups(_ path: String, plan: LaunchPlan?, into pod: inout ObservedPod, problems: inout [ObserveProblem]) throws(ObserveError) {
        let key = pod.key
        if let reading = try limits(path, key, &problems) {
            pod.limits[""] = reading
            if let bytes = try memoryUsage(path, key) { pod.memoryUsage[""] = bytes }
        }
        for c in plan?.containers ?? [] where !c.cgroup.isEmpty {
            // The limits' read is the existence check: ENOENT says the cgroup is not there.
            guard let reading = try limits(c.cgroup, key, &problems) else { continue }
            pod.limits[c.name] = reading
            if let bytes = try memoryUsage(c.cgroup, key) { pod.memoryUsage[c.name] = bytes }
        }
        if case .alive = pod.supervisor, pod.record != nil, processListing == .unlessSupervisorAlive { return }
        do { pod.processes = try driver.processes(path, recursive: true) } catch {
            if !Self.isGone(error) { throw ObserveError(pod: key, .cgroup(error)) }
        }
    }

    /// nil when the cgroup (or, on v1, its directory in one controller's hierarchy) is not
    /// there, or the plan names a path that is no cgroup path.
    func limits(_ path: String, _ key: PodKey, _ problems: inout [ObserveProblem]) throws(ObserveError) -> CgroupReading? {
        do { return try driver.limits(path) } catch {
            if Self.isGone(error) { return nil }
            if case .invalidPath = error {
                problems.append(ObserveProblem(pod: key, path: path, reason: "\(error)"))
                return nil
            }
            throw ObserveError(pod: key, .cgroup(error))
        }
    }

    /// `CgroupUsage.memoryBytes`, from its one file (`driver.memoryUsage`): `driver.usage`
    /// reads five (memory, OOM kills, cpu.stat, pids), which would double the cost of a pass.
    func memoryUsage(_ path: String, _ key: PodKey) throws(ObserveError) -> Int64? {
        do { return try driver.memoryUsage(path) } catch {
            if Self.isGone(error) { return nil }
            throw ObserveError(pod: key, .cgroup(error))
        }
    }

    static func isGone(_ error: CgroupError) -> Bool {
        if case .kernel(let e) = error { return e.errno == .noSuchFileOrDirectory || e.errno == .noSuchProcess }
        return false
    }

    /// `<parent>/<name>`, relative to the cgroup mount.
    func parentPath(_ name: String) -> String {
        var parent = Substring(cgroupParent)
        while parent.hasSuffix("/") { parent = parent.dropLast() }
        return parent.isEmpty ? name : parent + "/" + name
    }
}
