import Cgroups
import HostSetup
import Kernel
import PodModel
import PodNetwork
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
    /// Creates the pod's cgroups with `limits` and starts its supervisor on `plan`; with a
    /// `network`, binds its host ports for the supervisor to hold, and attaches the pod once
    /// its namespaces exist and before any container starts (the plan and `/etc/hosts` then
    /// get its IPs). Returns the first status.
    func launch(_ plan: LaunchPlan, limits: PodCgroupLimits, network: NetworkAttachment?, setup: PodSetup, layout: PodLayout) throws -> PodStatus
    /// DEL of the pod's recorded attachment, then ADD of `network` into the pod's pinned
    /// namespace asking for its current address; the containers run on.
    func repairNetwork(_ network: NetworkAttachment, setup: PodSetup, layout: PodLayout) throws
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
    /// DEL of a recorded CNI attachment, its pin, result and record.
    func removeAttachment(containerID: String) throws
    /// The wall clock, for a new pod's start time (`PodRecord.startTime`).
    func wallClock() -> WallTime
}

extension ExecutorHost {
    public func wallClock() -> WallTime { WallTime(WallClock.now()) }
}

/// The host, for real: `PodVolumes` for the set-up, `PodLauncher` for the supervisor, the
/// cgroup driver for limits and leftovers, `NetworkAttacher` for the pods' CNI attachments.
public struct LiveHost: ExecutorHost {
    /// The `podrec-supervisor` executable.
    public var supervisorExecutable: String
    public var driver: any CgroupDriver
    public var volumes: PodVolumes
    /// Attaches the pods that have a network, and detaches every recorded attachment (with
    /// `--pod-network none` too: a pod made before still has one).
    public var network: NetworkAttacher

    public init(supervisorExecutable: String, driver: any CgroupDriver, volumes: PodVolumes = PodVolumes(), network: NetworkAttacher) {
        self.supervisorExecutable = supervisorExecutable
        self.driver = driver
        self.volumes = volumes
        self.network = network
    }

    public func launcher(_ layout: PodLayout) -> PodLauncher {
        PodLauncher(layout: layout, supervisorExecutable: supervisorExecutable, driver: driver)
    }

    public func writeRecord(_ record: PodRecord, layout: PodLayout) throws { try layout.state.write(record) }

    public func setUp(_ setup: PodSetup, layout: PodLayout) throws { try volumes.setUp(setup, layout: layout) }

    public func launch(_ plan: LaunchPlan, limits: PodCgroupLimits, network attachment: NetworkAttachment?, setup: PodSetup,
                       layout: PodLayout) throws -> PodStatus {
        guard let attachment else { return try launcher(layout).create(plan, limits: limits) }
        // The host ports first: a port some other process holds fails the pod before anything
        // starts. The supervisor keeps its copies for the pod's life; ours close on return.
        let ports = try HostPorts.bind(attachment.portMappings)
        defer { for fd in ports { Sys.close(fd) } }
        return try launcher(layout).create(plan, limits: limits, holding: ports) { pid throws(LaunchError) in
            do {
                let netns = try network.pin(pid: pid, containerID: attachment.containerID)
                let result = try network.attach(attachment, netns: netns)
                var setup = setup
                setup.podIPs = result.podIPs
                try volumes.writeHosts(setup, layout: layout)
                return plan.assigningPodIPs(result.podIPs)
            } catch {
                throw .other("\(error)")
            }
        }
    }

    public func repairNetwork(_ attachment: NetworkAttachment, setup: PodSetup, layout: PodLayout) throws {
        // The namespace lives on in the supervisor: DEL with the record (which unpins it),
        // then pin it again from the supervisor and ADD.
        guard let supervisor = try launcher(layout).supervisor() else { throw LaunchError.supervisorDied(log: "") }
        try network.detach(containerID: attachment.containerID, ifName: attachment.ifName)
        let netns = try network.pin(pid: supervisor.pid, containerID: attachment.containerID)
        // The same address again (host-local's `IP` argument), so the containers' env, the
        // hosts file and the plan stay true.
        var again = attachment
        if let ip = setup.podIPs.first { again.args.append(("IP", ip)) }
        _ = try network.attach(again, netns: netns)
    }

    public func undoCreate(layout: PodLayout) {
        let launcher = launcher(layout)
        // A supervisor that runs owns the pod now: a later pass sees it, and its status.
        if (try? launcher.supervisor()) ?? nil != nil { return }
        try? launcher.stop(graceMilliseconds: 0)
        _ = try? network.detach(containerID: NetworkAttachment.containerID(uid: layout.uid))
        try? launcher.removeState()
        try? volumes.teardown(layout: layout)
        // The launcher made the pod's log dir before anything could fail. No container ran,
        // so it holds no log, and left behind it is a leftover of a pod uid with no state:
        // the next `diff` would not be clean after a failed apply. A dir with a log in it
        // stays (a container did run).
        Self.removeEmptyDirectories(layout.logDirectory)
    }

    /// Removes `path` and its subdirs, deepest first, when no file is in them; stops at the
    /// first that is not empty (rmdir fails), so nothing but empty dirs is ever removed.
    static func removeEmptyDirectories(_ path: String) {
        // Never through a symlink: only the dirs themselves.
        guard (try? Sys.stat(path, followSymlinks: false))?.isDirectory == true else { return }
        for name in (try? Sys.listDirectory(path)) ?? [] { removeEmptyDirectories(path + "/" + name) }
        try? Sys.rmdir(path)
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
        // DEL after the containers are gone and before the state: a pass that dies here
        // finds the pod again, or its attachment alone (`NetworkCollection`).
        _ = try network.detach(containerID: NetworkAttachment.containerID(uid: layout.uid))
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

    public func removeAttachment(containerID: String) throws {
        _ = try network.detach(containerID: containerID)
    }

    public func removeLogs(_ path: String) throws {
        do { try Sys.removeTree(path) } catch where error.isNotFound {}
    }
}
