import Cgroups
import Kernel
import PodModel
import PodState
import Procfs
import Spawn

/// The library side of a pod's supervisor: what the reconciler calls to create a pod,
/// hand it a new plan, read its status and stop it. The supervisor does the rest.
///
/// The handshake (ARCHITECTURE, "The contract between reconciler and supervisor"): the
/// plan is written atomically with a higher `generation`, the supervisor is signalled
/// (SIGHUP), and the caller waits until the status file's `observedGeneration` reaches
/// that generation. The supervisor writes that status only after it has acted on the plan
/// (the first round of starts done), so the status then carries the start errors.
public struct PodLauncher: Sendable {
    public var layout: PodLayout
    /// The `podrec-supervisor` executable.
    public var supervisorExecutable: String
    public var driver: any CgroupDriver
    public var roots: Roots

    public init(layout: PodLayout, supervisorExecutable: String, driver: any CgroupDriver, roots: Roots = .host) {
        self.layout = layout
        self.supervisorExecutable = supervisorExecutable
        self.driver = driver
        self.roots = roots
    }

    /// The pod's state dir: record, plan, status, the supervisor's identity and log.
    public var state: PodStateDirectory { layout.state }

    /// The pod's cgroup, relative to the cgroup mount.
    public var podCgroup: String { layout.podCgroup }
    public var infraCgroup: String { layout.infraCgroup }
    public func containerCgroup(_ container: String) -> String { layout.containerCgroup(container) }

    // MARK: Create

    /// Creates the pod's cgroups with their limits, its state and log dirs, writes the plan
    /// and starts the supervisor in the pod's new namespaces; returns once the supervisor has
    /// acted on the plan (or `timeout` passed). Volumes, `/dev/shm` and the pod's
    /// `/etc/hosts` are the caller's (`PodVolumes`), before this.
    ///
    /// `holding` are fds the supervisor keeps open for the pod's life (its host ports).
    /// `beforeStart`, given the supervisor's pid once its namespaces exist and before any
    /// container starts, is where the pod's network is attached; the plan it returns (the
    /// pod's IPs filled in) replaces `plan`, and the supervisor reads it at the gate.
    @discardableResult
    public func create(_ plan: LaunchPlan, limits: PodCgroupLimits, holding: [Int32] = [],
                       beforeStart: ((Int32) throws(LaunchError) -> LaunchPlan?)? = nil,
                       timeoutMilliseconds: Int64 = 10_000) throws(LaunchError) -> PodStatus {
        do {
            try state.create()
            try Sys.mkdirs(layout.logDirectory, mode: 0o700)
        } catch { throw .kernel(error) }
        try createPodCgroups(limits: limits)
        try writePlan(plan)

        // The supervisor starts while the containers' cgroups are still being made: it
        // boots (exec, runtime, plan) in the meantime, then waits at a gate, its stdin, for
        // "go" before it starts a container. That takes the cgroups off the start's
        // critical path. EOF without "go" (this process failed or died) makes it exit.
        let gate: (read: Int32, write: Int32)
        do { gate = try Sys.pipe() } catch { throw .kernel(error) }
        var gateOpen = true
        defer { if gateOpen { Sys.close(gate.write) } }

        var request = SpawnRequest([supervisorExecutable, state.path, "--gate"])
        var unshare: Namespaces = []
        if !plan.hostNetwork { unshare.formUnion([.network, .uts]) }
        if !plan.hostIPC { unshare.insert(.ipc) }
        request.unshare = unshare
        if unshare.contains(.uts) { request.hostname = plan.hostname }
        request.newPIDNamespace = plan.shareProcessNamespace && !plan.hostPID
        var fds: [Int32] = [gate.read]
        defer { for fd in fds { Sys.close(fd) } }
        if !plan.hostUsers {
            // The pod's user namespace first, and its net, uts and ipc namespaces made in it
            // (owned by it: the containers' root is root there); the supervisor joins those
            // and stays in the host's user namespace, with the host's privileges it needs
            // (cgroups, mounts, state). Its containers enter the user namespace last, after
            // their mounts (`SpawnRequest.userNamespace`); the supervisor finds it through
            // its network namespace (NS_GET_USERNS). The PID namespace of a shared pod is the
            // supervisor's own clone, in the host's user namespace: a container's procfs is
            // mounted by the supervisor's side before the container enters its namespace.
            guard let range = plan.userNamespace else {
                throw .other("hostUsers is false but the plan has no user namespace range")
            }
            guard !plan.hostNetwork, !plan.hostIPC, !plan.hostPID else {
                throw .other("hostUsers false with hostNetwork, hostPID or hostIPC")
            }
            do {
                let made = try makeUserNamespace(start: range.start, count: range.count, owned: unshare)
                fds += made.all
                request.joinNamespaces = made.owned
                request.unshare = []
            } catch { throw .spawn(error) }
        }
        let process: SpawnedProcess
        do {
            let log = try Sys.openForAppending(state.path(.supervisorLog), mode: 0o600)
            fds.append(log)
            request.stdin = gate.read
            request.stdout = log
            request.stderr = log
            request.keepFDs = holding
            fds += try request.joinCgroup(infraCgroup, of: driver)
            process = try spawn(request)
        } catch let e as KernelError {
            throw .kernel(e)
        } catch let e as CgroupError {
            throw .cgroup(e)
        } catch let e as SpawnError {
            throw .spawn(e)
        } catch {
            throw .other("\(error)")
        }
        if let pidfd = process.pidfd { Sys.close(pidfd) }
        // pid and start time: the identity a later pass checks the supervisor by. Written
        // before the network is attached, so a pass that dies during ADD leaves a pod whose
        // supervisor (and attachment) the next pass finds and removes.
        let identity = try? ProcfsReader(roots: roots).stat(of: process.pid).map { ProcessIdentity(pid: $0.pid, startTime: $0.startTime) }
        if let identity = identity ?? nil {
            do { try state.write(SupervisorIdentity(pid: identity.pid, startTime: identity.startTime.rawValue)) } catch { throw .kernel(error) }
        }
        var plan = plan
        var go = "go\n"
        if let beforeStart {
            do throws(LaunchError) {
                if let attached = try beforeStart(process.pid) {
                    plan = attached
                    try writePlan(plan)
                    // The supervisor read the plan while it booted: "go plan" has it read it again.
                    go = "go plan\n"
                }
            } catch {
                // The gate closes without "go": the supervisor exits having started nothing.
                // Waiting for that lets the caller undo the pod with nothing running in it.
                Sys.close(gate.write)
                gateOpen = false
                let deadline = MonotonicClock.now() + 2_000_000_000
                while Sys.reapChild(process.pid) == nil, MonotonicClock.now() < deadline {
                    MonotonicClock.sleep(nanoseconds: 1_000_000)
                }
                throw error
            }
        }
        try createContainerCgroups(plan, limits: limits)
        do {
            try Sys.writeAll(gate.write, Array(go.utf8), path: "supervisor gate")
        } catch { throw .kernel(error) }
        Sys.close(gate.write)
        gateOpen = false
        return try waitForGeneration(plan.generation, timeoutMilliseconds: timeoutMilliseconds)
    }

    func createPodCgroups(limits: PodCgroupLimits) throws(LaunchError) {
        do {
            try driver.create(podCgroup)
            try driver.apply(limits.pod, to: podCgroup)
            try driver.create(infraCgroup)
        } catch { throw .cgroup(error) }
    }

    /// Each container's cgroup and limits; what exists is kept (a pass may run again).
    func createContainerCgroups(_ plan: LaunchPlan, limits: PodCgroupLimits) throws(LaunchError) {
        do {
            for c in plan.containers {
                let existed = driver.exists(c.cgroup)
                try driver.create(c.cgroup)
                if let l = limits.containers[c.name] { try driver.apply(l, to: c.cgroup) }
                // Devices: runc's allowlist for all but privileged containers, set once when
                // the cgroup is made (a running container never loses /dev/null for a moment).
                // v1 writes devices.deny and devices.allow; v2, which has no devices files,
                // attaches a BPF_PROG_TYPE_CGROUP_DEVICE program to the container's cgroup.
                if !existed, !c.privileged {
                    try driver.restrictDevices(c.cgroup, allow: DeviceRule.containerDefault)
                }
            }
        } catch { throw .cgroup(error) }
    }

    func writePlan(_ plan: LaunchPlan) throws(LaunchError) {
        do { try state.write(plan) } catch { throw .kernel(error) }
    }

    // MARK: Update

    /// Hands the running supervisor a new plan: cgroups of added containers first, then the
    /// plan, then SIGHUP; returns once it is observed. Limits are written here, in place.
    @discardableResult
    public func update(_ plan: LaunchPlan, limits: PodCgroupLimits, timeoutMilliseconds: Int64 = 10_000) throws(LaunchError) -> PodStatus {
        try createPodCgroups(limits: limits)
        try createContainerCgroups(plan, limits: limits)
        try writePlan(plan)
        try signalSupervisor(Signal.hangup)
        return try waitForGeneration(plan.generation, timeoutMilliseconds: timeoutMilliseconds)
    }

    // MARK: Observe

    /// The supervisor recorded at creation, if it still lives (same pid, same start time).
    public func supervisor() throws(LaunchError) -> ProcessIdentity? {
        do { return try state.liveSupervisor(ProcfsReader(roots: roots)) } catch { throw .other("\(error)") }
    }

    public func status() throws(LaunchError) -> PodStatus? {
        let text: String
        do {
            guard let t = try state.text(.status) else { return nil }
            text = t
        } catch { throw .kernel(error) }
        do { return try PodStatus.decode(text) } catch { throw .other("status \(state.path(.status)): \(error)") }
    }

    /// Polls the status until `observedGeneration ≥ generation`. The supervisor writes the
    /// status once per change, so the poll is short; it gives up early if the supervisor dies.
    public func waitForGeneration(_ generation: Int, timeoutMilliseconds: Int64) throws(LaunchError) -> PodStatus {
        try waitForStatus(timeoutMilliseconds: timeoutMilliseconds, what: "observedGeneration \(generation)") { $0.observedGeneration >= generation }
    }

    /// Waits until `done` holds for the status. The supervisor replaces the status file by
    /// rename, which inotify reports at once; the timeout bounds each wait, so a supervisor
    /// that died is noticed too.
    public func waitForStatus(timeoutMilliseconds: Int64, what: String, _ done: (PodStatus) -> Bool) throws(LaunchError) -> PodStatus {
        let deadline = MonotonicClock.now() + timeoutMilliseconds * 1_000_000
        let watch: DirectoryWatch
        do { watch = try DirectoryWatch(state.path) } catch { throw .kernel(error) }
        while true {
            if let s = try status(), done(s) { return s }
            let left = deadline - MonotonicClock.now()
            if left <= 0 { throw .timeout(what: what, log: supervisorLogTail()) }
            if !watch.wait(milliseconds: Int32(clamping: min(left / 1_000_000 + 1, 200))) {
                if try supervisor() == nil, let s = try status(), !done(s) { throw .supervisorDied(log: supervisorLogTail()) }
            }
        }
    }

    func supervisorLogTail() -> String {
        guard let text = (try? state.text(.supervisorLog)) ?? nil else { return "" }
        return String(text.suffix(2000))
    }

    /// SIGHUP to the supervisor, then the wait: for a plan it has not taken up.
    @discardableResult
    public func resignal(generation: Int, timeoutMilliseconds: Int64 = 10_000) throws(LaunchError) -> PodStatus {
        try signalSupervisor(Signal.hangup)
        return try waitForGeneration(generation, timeoutMilliseconds: timeoutMilliseconds)
    }

    func signalSupervisor(_ signal: Int32) throws(LaunchError) {
        guard let sup = try supervisor() else { throw .supervisorDied(log: supervisorLogTail()) }
        do { try Sys.kill(sup.pid, signal) } catch { throw .kernel(error) }
    }

    // MARK: Stop

    /// Asks the supervisor to stop the pod (SIGTERM: it stops the containers within the
    /// plan's grace period, then exits) and returns at once; false when no supervisor lives.
    /// `watch` does this, so that a pod's grace period never holds up other files' changes.
    public func requestStop() throws(LaunchError) -> Bool {
        guard try supervisor() != nil else { return false }
        try signalSupervisor(Signal.terminate)
        return true
    }

    /// Stops the pod: SIGTERM to the supervisor, which stops the containers gracefully
    /// (the plan's grace period), then waits for it to exit; after `graceMilliseconds` plus
    /// a margin it kills the pod's cgroup tree. Then the cgroups are removed. State, data
    /// and logs stay: `removeState` and `PodVolumes.teardown` are separate steps.
    public func stop(graceMilliseconds: Int64) throws(LaunchError) {
        if let sup = try supervisor() {
            // A pidfd, opened before the signal, becomes readable when the supervisor exits:
            // no polling of /proc, and no confusion with a later process of the same pid.
            let pidfd = try? Sys.pidfdOpen(sup.pid)
            defer { if let pidfd { Sys.close(pidfd) } }
            if try supervisor() != nil {
                // A grace of 0 is a kill: SIGKILL the supervisor first, so that it does not act
                // (stop containers, freeze their cgroups) while the cgroup kill below runs.
                let signal = graceMilliseconds <= 0 ? Signal.kill : Signal.terminate
                if let pidfd { try? Sys.pidfdSendSignal(pidfd, signal) } else { try? Sys.kill(sup.pid, signal) }
                // The supervisor stops the containers within the plan's grace period; a margin
                // lets it finish. A grace of 0 (`delete --grace-period 0`) waits for nothing:
                // the cgroup kill below takes the whole pod down at once.
                let wait = graceMilliseconds <= 0 ? 0 : graceMilliseconds + 2_000
                let deadline = MonotonicClock.now() + wait * 1_000_000
                while MonotonicClock.now() < deadline {
                    reapIfChild(sup.pid)
                    if try supervisor() == nil { break }
                    let left = Int32(clamping: (deadline - MonotonicClock.now()) / 1_000_000 + 1)
                    if let pidfd { _ = try? Sys.pollReadable([pidfd], timeoutMilliseconds: min(left, 100)) } else {
                        MonotonicClock.sleep(nanoseconds: 1_000_000)
                    }
                }
            }
        }
        do {
            if driver.exists(podCgroup) {
                try driver.kill(podCgroup)
                try driver.remove(podCgroup)
            }
        } catch { throw .cgroup(error) }
        if let recorded = state.supervisor() { reapIfChild(recorded.pid) }
    }

    /// A supervisor started by this process is its child until this process exits: reap it
    /// so it does not stay a zombie (tests, `watch`).
    func reapIfChild(_ pid: Int32) {
        _ = Sys.reapChild(pid)
    }

    /// Removes the pod's state dir: plan, status, supervisor file and the empty scratch dirs.
    public func removeState() throws(LaunchError) {
        do { try state.remove() } catch { throw .kernel(error) }
    }
}

public enum LaunchError: Error, Sendable, CustomStringConvertible {
    case kernel(KernelError)
    case cgroup(CgroupError)
    case spawn(SpawnError)
    case timeout(what: String, log: String)
    case supervisorDied(log: String)
    case other(String)

    public var description: String {
        switch self {
        case .kernel(let e): return e.description
        case .cgroup(let e): return e.description
        case .spawn(let e): return "starting the supervisor: \(e)"
        case .timeout(let what, let log): return "timed out waiting for \(what)" + (log.isEmpty ? "" : "; supervisor log:\n\(log)")
        case .supervisorDied(let log): return "the pod's supervisor is not running" + (log.isEmpty ? "" : "; its log:\n\(log)")
        case .other(let s): return s
        }
    }
}

extension PodStateDirectory {
    /// The supervisor recorded here, if that process still lives (same pid, same start time,
    /// not a zombie); nil without a record of one.
    public func liveSupervisor(_ procfs: ProcfsReader) throws(ProcfsError) -> ProcessIdentity? {
        guard let recorded = supervisor() else { return nil }
        let identity = ProcessIdentity(recorded)
        return try procfs.isAlive(identity) ? identity : nil
    }
}
