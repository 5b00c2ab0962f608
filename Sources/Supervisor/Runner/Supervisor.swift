import Cgroups
import Kernel
import PodContract
import Runtime
import Spawn

/// The per-pod supervisor's process side: one single-threaded event loop that owns the
/// pod's containers. It waits in `poll` on a signalfd (SIGCHLD, SIGHUP for a new plan,
/// SIGTERM/SIGINT for a stop) and on the containers' stdout and stderr pipes, and wakes
/// for the lifecycle's next deadline. Everything it decides comes from `PodLifecycle`;
/// everything it learns goes into the status file.
///
/// It runs in the pod's net, ipc and uts namespaces (and, with `shareProcessNamespace`,
/// as PID 1 of the pod's PID namespace), in the host's mount namespace, so paths in the
/// plan are host paths and `/proc` is the host's.
public final class Supervisor {
    let stateDirectory: String
    var planPath: String { stateDirectory + "/plan" }
    var statusPath: String { stateDirectory + "/status" }

    var lifecycle: PodLifecycle
    var observedGeneration: Int
    var planError: String?
    let driver: any CgroupDriver
    let hostEntries: [String: HostEntry]
    let hostPID: Int32
    var signalFD: Int32 = -1
    var nullFD: Int32 = -1
    var lastStatus = ""
    var stopRequested = false

    /// A container's current run: its log and the OOM-kill count when it started.
    struct Run {
        var pid: Int32
        var oomKillsAtStart: Int64
    }
    var runs: [String: Run] = [:]

    /// One open stdout or stderr pipe of a run, until EOF.
    final class Pipe {
        let fd: Int32
        let stream: LogStream
        let log: ContainerLog
        init(fd: Int32, stream: LogStream, log: ContainerLog) {
            self.fd = fd
            self.stream = stream
            self.log = log
        }
    }
    var pipes: [Pipe] = []
    /// One read's worth of a pipe: four pipe pages. Small, since it counts against the
    /// pod's memory budget, and a fuller pipe just means another read.
    var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 << 10, alignment: 16)

    public init(stateDirectory: String) throws(SupervisorError) {
        self.stateDirectory = stateDirectory
        let plan: LaunchPlan
        do {
            plan = try LaunchPlan.decode(try Sys.readString(stateDirectory + "/plan"))
        } catch let e as RecordError {
            throw SupervisorError("plan \(stateDirectory)/plan: \(e)")
        } catch {
            throw SupervisorError("plan \(stateDirectory)/plan: \(error)")
        }
        do { driver = try Cgroups.driver(root: plan.cgroupMount) } catch { throw SupervisorError("cgroups: \(error)") }
        hostEntries = HostSystemDirectories.probe()
        hostPID = Sys.hostPIDOfSelf()
        observedGeneration = plan.generation
        lifecycle = PodLifecycle(plan: plan, now: Self.now())
    }

    static func now() -> Instant { Instant(mono: MonotonicClock.now(), wall: WallTime(WallClock.now())) }

    /// Runs until the pod has been stopped; returns the exit code.
    public func run() throws(SupervisorError) -> Int32 {
        do {
            // Detached from the terminal and process group of the command that started it.
            try? Sys.newSession()
            // No container may reach the host's root through /proc/<supervisor>/root.
            try Sys.setDumpable(false)
            // PID 1 of the pod's PID namespace reaps by nature; otherwise orphans of the
            // containers must come to us, not to a host init that reaps every ~2 s.
            if Sys.ownPID() != 1 { try Sys.setChildSubreaper(true) }
            if !lifecycle.plan.hostNetwork { try Sys.loopbackUp() }
            Sys.ignoreSignal(Signal.pipe)
            signalFD = try Sys.signalDescriptor([Signal.child, Signal.hangup, Signal.terminate, Signal.interrupt])
            nullFD = try Sys.openNull()
        } catch {
            throw SupervisorError("setup: \(error)")
        }
        // The first status is written after the first round of starts: a waiting `apply`
        // then sees the start errors together with observedGeneration.
        while true {
            // Until nothing is left to do now (bounded: a start that fails at once is
            // retried at once a single time, then backs off).
            for _ in 0..<64 {
                let actions = lifecycle.actions(at: Self.now())
                if actions.isEmpty { break }
                for action in actions { perform(action) }
            }
            writeStatus()
            if lifecycle.stopped && pipes.isEmpty {
                writeStatus(force: true)
                return 0
            }
            wait()
        }
    }

    // MARK: Waiting

    func wait() {
        var timeout: Int32? = nil
        let now = MonotonicClock.now()
        if let deadline = lifecycle.nextDeadline(after: now) {
            let ms = (deadline - now + 999_999) / 1_000_000
            timeout = Int32(clamping: max(ms, 0))
        }
        let fds = [signalFD] + pipes.map(\.fd)
        guard let ready = try? Sys.pollReadable(fds, timeoutMilliseconds: timeout) else { return }
        // Logs first: a container's last words belong in its log before its exit is handled.
        var closed: [Int] = []
        for (i, pipe) in pipes.enumerated() where ready[i + 1] != 0 {
            if !drain(pipe) { closed.append(i) }
        }
        for i in closed.reversed() {
            let pipe = pipes.remove(at: i)
            try? pipe.log.finish(pipe.stream, now: WallTime(WallClock.now()))
            Sys.close(pipe.fd)
            if !pipes.contains(where: { $0.log === pipe.log }) { pipe.log.close() }
        }
        if ready[0] != 0 {
            for signal in Sys.pendingSignals(signalFD) {
                switch signal {
                case Signal.child: reap()
                case Signal.hangup: reloadPlan()
                case Signal.terminate, Signal.interrupt:
                    stopRequested = true
                    lifecycle.stop(at: Self.now())
                default: break
                }
            }
        }
    }

    /// Reads what is there; false at EOF (every writer gone).
    func drain(_ pipe: Pipe) -> Bool {
        while true {
            guard let n = try? Sys.readSome(pipe.fd, into: buffer) else { return true }
            if n == 0 { return false }
            try? pipe.log.append(pipe.stream, UnsafeRawBufferPointer(rebasing: buffer[0..<n]), now: WallTime(WallClock.now()))
            if n < buffer.count { return true }
        }
    }

    func reap() {
        for (pid, raw) in Sys.reapAll() {
            guard let name = runs.first(where: { $0.value.pid == pid })?.key, let run = runs[name] else { continue }
            runs[name] = nil
            let spec = lifecycle.plan.container(name)
            var oom = false
            if let spec {
                if let kills = try? driver.usage(spec.cgroup).oomKills { oom = kills > run.oomKillsAtStart }
                // The main process is gone; what it left behind (daemons, in a shared PID
                // namespace) goes with it, as runc's kill --all does.
                _ = try? driver.kill(spec.cgroup, method: .automatic)
            }
            let outcome: WaitOutcome
            switch WaitStatus(raw) {
            case .exited(let c): outcome = .exited(c)
            case .signaled(let s): outcome = .signaled(s)
            }
            lifecycle.exited(name, status: outcome, oomKilled: oom, at: Self.now())
        }
    }

    func reloadPlan() {
        do {
            let plan = try LaunchPlan.decode(try Sys.readString(planPath))
            guard plan.namespace == lifecycle.plan.namespace, plan.name == lifecycle.plan.name, plan.uid == lifecycle.plan.uid else {
                planError = "plan generation \(plan.generation) is for pod \(plan.namespace)/\(plan.name) \(plan.uid), not this one"
                return
            }
            guard plan.generation > observedGeneration else { return }
            lifecycle.apply(plan, at: Self.now())
            observedGeneration = plan.generation
            planError = nil
        } catch {
            planError = "plan \(planPath): \(error)"
        }
    }

    // MARK: Actions

    func perform(_ action: LifecycleAction) {
        switch action {
        case .start(let spec):
            start(spec)
        case .signal(let name, let signal):
            if let run = runs[name] { try? Sys.kill(run.pid, signal) }
        case .kill(let name):
            if let run = runs[name] { try? Sys.kill(run.pid, Signal.kill) }
            if let spec = lifecycle.plan.container(name) { _ = try? driver.kill(spec.cgroup, method: .automatic) }
        }
    }

    func start(_ spec: ContainerLaunch) {
        let now = Self.now()
        var out: (read: Int32, write: Int32)? = nil
        var err: (read: Int32, write: Int32)? = nil
        var cgroupFD: Int32? = nil
        defer {
            if let out { Sys.close(out.write) }
            if let err { Sys.close(err.write) }
            if let cgroupFD { Sys.close(cgroupFD) }
        }
        do {
            let plan = lifecycle.plan
            let scratch = plan.scratchDirectory + "/" + spec.name
            try Sys.mkdirs(scratch, mode: 0o700)
            let root: ContainerRoot
            switch spec.root {
            case .host: root = .host
            case .image(let rootfs, let upper, let work):
                try Sys.mkdirs(upper, mode: 0o755)
                try Sys.mkdirs(work, mode: 0o700)
                root = .image(rootfs: rootfs, upper: upper, work: work)
            }
            var request = RootfsRequest(root: root, scratch: scratch,
                                        volumes: spec.mounts.map { VolumeMount(source: $0.source, target: $0.target, readOnly: $0.readOnly, kind: $0.isFile ? .file : .directory) },
                                        sharedShm: plan.sharedShm, ownNetworkNamespace: !plan.hostNetwork, hostEntries: hostEntries)
            request.readOnlyRoot = spec.readOnlyRootFilesystem
            let rootfs = try RootfsPlanner.plan(request)

            var spawnRequest = SpawnRequest(spec.arguments.isEmpty ? [spec.executable] : spec.arguments,
                                            executable: spec.executable, environment: spec.environment)
            spawnRequest.workingDirectory = spec.workingDirectory
            spawnRequest.user = UserIdentity(uid: spec.uid ?? 0, gid: spec.gid ?? 0, groups: spec.supplementalGroups)
            if let caps = spec.capabilities {
                spawnRequest.capabilities = SpawnRequest.Capabilities(
                    bounding: CapabilitySet(rawValue: caps.bounding), effective: CapabilitySet(rawValue: caps.effective),
                    permitted: CapabilitySet(rawValue: caps.permitted), inheritable: CapabilitySet(rawValue: caps.inheritable))
            }
            spawnRequest.noNewPrivileges = spec.noNewPrivileges
            spawnRequest.unshare = .mount
            spawnRequest.newPIDNamespace = !plan.shareProcessNamespace && !plan.hostPID
            spawnRequest.mounts = rootfs.mounts
            spawnRequest.rootfs = rootfs.rootfs

            switch try driver.joinTarget(spec.cgroup) {
            case .tasksFiles(let files): spawnRequest.cgroup = .v1(tasksFiles: files)
            case .directory(let dir):
                let fd = try CgroupJoin.openDirectory(dir)
                cgroupFD = fd
                spawnRequest.cgroup = .v2(dirFD: fd, path: dir)
            }
            let oomBefore = (try? driver.usage(spec.cgroup).oomKills) ?? 0

            out = try Sys.pipe(nonBlockingRead: true)
            err = try Sys.pipe(nonBlockingRead: true)
            spawnRequest.stdin = nullFD
            spawnRequest.stdout = out!.write
            spawnRequest.stderr = err!.write

            let process = try spawn(spawnRequest)
            let host = (try? process.hostPID()) ?? process.pid
            if let pidfd = process.pidfd { Sys.close(pidfd) }
            if let adj = spec.oomScoreAdj { try? Sys.setOOMScoreAdjust(host, adj) }
            runs[spec.name] = Run(pid: process.pid, oomKillsAtStart: oomBefore)
            lifecycle.started(spec.name, pid: process.pid, hostPID: host, at: now)

            let restart = lifecycle.containerStatuses.first { $0.name == spec.name }?.restartCount ?? 0
            let log = try ContainerLog(directory: plan.logDirectory + "/" + spec.name, restart: restart)
            pipes.append(Pipe(fd: out!.read, stream: .stdout, log: log))
            pipes.append(Pipe(fd: err!.read, stream: .stderr, log: log))
            out = (-1, out!.write)
            err = (-1, err!.write)
        } catch {
            if let out, out.read >= 0 { Sys.close(out.read) }
            if let err, err.read >= 0 { Sys.close(err.read) }
            if runs[spec.name] == nil {
                lifecycle.startFailed(spec.name, message: "\(error)", at: now)
            }
        }
    }

    // MARK: Status

    func writeStatus(force: Bool = false) {
        var status = PodStatus(observedGeneration: observedGeneration, phase: lifecycle.phase, supervisorPID: hostPID,
                               updatedAt: WallTime(0), planError: planError, terminated: stopRequested && lifecycle.stopped,
                               containers: lifecycle.containerStatuses)
        let key = status.encoded()
        if key == lastStatus && !force { return }
        lastStatus = key
        status.updatedAt = WallTime(WallClock.now())
        do {
            try Sys.writeFileAtomically(statusPath, Array(status.encoded().utf8), mode: 0o600, durable: false)
        } catch {
            // Nobody reads our stdout; stderr is the pod's supervisor.log.
            Sys.printError("podrec-supervisor: writing the status: \(error)\n")
        }
    }
}

public struct SupervisorError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
