import Cgroups
import HostSetup
import Kernel
import PodModel
import PodState

/// Every change the executor makes to the host, one call per step of an action, so that
/// the executor's rules (order, what a failure stops, graceful stops) are tested without
/// root against a host that records the calls (`ReconcilerTests`), and `LiveHost` does the
/// same calls for real.
public protocol ExecutorHost: Sendable {
    /// Writes the pod's record into its state dir (making the dir).
    func writeRecord(_ record: PodRecord, layout: PodLayout) throws
    /// Prepares volumes, `/dev/shm`, the overlay scratch, hosts files and subPath dirs as
    /// `setup` says (`PodVolumes.setUp`).
    func setUp(_ setup: PodSetup, layout: PodLayout) throws
    /// Creates the pod's cgroups with `limits` and starts its supervisor on `plan`; returns
    /// its first status.
    func launch(_ plan: LaunchPlan, limits: PodCgroupLimits, layout: PodLayout) throws -> PodStatus
    /// After a create that failed before its supervisor ran: removes what it made.
    func undoCreate(layout: PodLayout)
    /// Hands the live supervisor `plan` (cgroups of added containers first); returns the
    /// status that shows it taken up.
    func update(_ plan: LaunchPlan, limits: PodCgroupLimits, layout: PodLayout) throws -> PodStatus
    /// Signals the supervisor again for `generation`, and waits for it.
    func resignal(generation: Int, layout: PodLayout) throws -> PodStatus
    /// Writes limits in place; true when a lowered memory limit was deferred.
    func resize(_ limits: CgroupLimits, cgroup: String) throws -> Bool
    /// Tells a live supervisor to stop and returns at once; false when none lives.
    func requestStop(layout: PodLayout) throws -> Bool
    /// Stops the pod (gracefully within `graceMilliseconds`), removes its cgroups, state
    /// and volumes. Logs stay.
    func delete(layout: PodLayout, graceMilliseconds: Int64) throws
    /// Kills what runs in a cgroup tree and removes it, if it exists.
    func removeCgroup(_ path: String) throws
    /// Removes a state dir (nothing but files is left in one without a record or plan).
    func removeState(_ state: PodStateDirectory) throws
    /// Unmounts and removes a pod's data dir (`PodVolumes.teardown`).
    func removeData(layout: PodLayout) throws
    /// Removes a pod's log dir.
    func removeLogs(_ path: String) throws
}

/// The host, for real: `PodVolumes` for the set-up, `PodLauncher` for the supervisor, the
/// cgroup driver for limits and leftovers.
public struct LiveHost: ExecutorHost {
    /// The `podrec-supervisor` executable.
    public var supervisorExecutable: String
    public var driver: any CgroupDriver
    public var volumes: PodVolumes

    public init(supervisorExecutable: String, driver: any CgroupDriver, volumes: PodVolumes = PodVolumes()) {
        self.supervisorExecutable = supervisorExecutable
        self.driver = driver
        self.volumes = volumes
    }

    public func launcher(_ layout: PodLayout) -> PodLauncher {
        PodLauncher(layout: layout, supervisorExecutable: supervisorExecutable, driver: driver)
    }

    public func writeRecord(_ record: PodRecord, layout: PodLayout) throws { try layout.state.write(record) }

    public func setUp(_ setup: PodSetup, layout: PodLayout) throws { try volumes.setUp(setup, layout: layout) }

    public func launch(_ plan: LaunchPlan, limits: PodCgroupLimits, layout: PodLayout) throws -> PodStatus {
        try launcher(layout).create(plan, limits: limits)
    }

    public func undoCreate(layout: PodLayout) {
        let launcher = launcher(layout)
        // A supervisor that runs owns the pod now: a later pass sees it, and its status.
        if (try? launcher.supervisor()) ?? nil != nil { return }
        try? launcher.stop(graceMilliseconds: 0)
        try? launcher.removeState()
        try? volumes.teardown(layout: layout)
    }

    public func update(_ plan: LaunchPlan, limits: PodCgroupLimits, layout: PodLayout) throws -> PodStatus {
        try launcher(layout).update(plan, limits: limits)
    }

    public func resignal(generation: Int, layout: PodLayout) throws -> PodStatus {
        try launcher(layout).resignal(generation: generation)
    }

    public func resize(_ limits: CgroupLimits, cgroup: String) throws -> Bool {
        try driver.apply(limits, to: cgroup).deferred
    }

    public func requestStop(layout: PodLayout) throws -> Bool { try launcher(layout).requestStop() }

    public func delete(layout: PodLayout, graceMilliseconds: Int64) throws {
        let launcher = launcher(layout)
        try launcher.stop(graceMilliseconds: graceMilliseconds)
        try launcher.removeState()
        try volumes.teardown(layout: layout)
    }

    public func removeCgroup(_ path: String) throws {
        guard driver.exists(path) else { return }
        try driver.kill(path)
        try driver.remove(path)
    }

    public func removeState(_ state: PodStateDirectory) throws { try state.remove() }

    public func removeData(layout: PodLayout) throws { try volumes.teardown(layout: layout) }

    public func removeLogs(_ path: String) throws {
        do { try Sys.removeTree(path) } catch where error.isNotFound {}
    }
}
