import Cgroups
import ContainerLogs
import Kernel
import PodModel
import PodState
import ContainerRuntime
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
    let state: PodStateDirectory
    var planPath: String { state.path(.plan) }

    var lifecycle: PodLifecycle
    var observedGeneration: Int
    var planError: String?
    let driver: any CgroupDriver
    /// CPU samples for `top` (`UsageSampler`).
    var usage = UsageSampler()
    let hostEntries: [String: HostEntry]
    let hostPID: Int32
    /// The supervisor is PID 1 of the pod's PID namespace (shareProcessNamespace).
    let pidNamespaced: Bool
    var signalFD: Int32 = -1
    var nullFD: Int32 = -1
    /// The pod's user namespace (`hostUsers: false`), which every container enters; -1 without.
    var userNamespaceFD: Int32 = -1
    var lastStatus = ""
    /// The last status write failed (no fd left, a full disk): it is tried again soon,
    /// whether or not anything changes meanwhile.
    var statusWriteFailed = false
    /// An fd held in reserve (/dev/null) for the status write: at the open-files limit it is
    /// closed for the moment of the write, so that the supervisor can still say what the
    /// limit does to its pod (the classic reserve-fd answer to EMFILE).
    var reserveFD: Int32 = -1
    var pollFailed = false
    static let statusRetryMilliseconds: Int32 = 500
    var stopRequested = false

    /// A container's current run: its pid, its cgroup (kept here: a container removed from
    /// the plan is still stopped and cleaned up by it), and the OOM-kill and refused-fork
    /// counts at its start.
    struct Run {
        var pid: Int32
        var cgroup: String
        var oomKillsAtStart: Int64
        var forksRefusedAtStart: Int64 = 0
        /// Termination messages are collected (a plan that says where); the host file bound
        /// at the container's `terminationMessagePath` for this run, if it could be made.
        var terminationMessages = false
        var terminationFile: String?
        var terminationPolicy: TerminationMessagePolicy = .file
        /// This run's log: `<log dir>/<container>/<restart>.log`.
        var logRestart: Int = 0
    }
    var runs: [String: Run] = [:]
    /// Probes in flight (tcpSocket, httpGet, exec, and grpc and HTTPS through the helper).
    let probes: ProbeRunner
    /// The attach socket (`AttachSessions`), its clients, the consoles (terminal masters and
    /// stdin pipes) of the running containers that have one, and each container's current
    /// run's log, which identifies the run that a session attaches to.
    var attachFD: Int32 = -1
    var sessions: [Session] = []
    var consoles: [String: Console] = [:]
    var currentLogs: [String: RunLog] = [:]

    /// One run's log, opened at its first output: making the dir and the file is then off
    /// the path of a start. Output that cannot be written (a full disk, no fd left, a log
    /// dir gone) is dropped instead, so that the container never blocks (or dies of
    /// SIGPIPE) for want of a reader; each new output tries again. The trouble is an event
    /// when it begins and one when it ends, never one per write. On a nearly full disk it
    /// can come and go (a short record fits where a long one did not): the events'
    /// messages stay the same, so such a spell shows as one event of each kind with a
    /// count, as kubelet aggregates events.
    final class RunLog {
        let container: String
        let directory: String
        let restart: Int
        var log: ContainerLog?
        /// Set from the first failed open or write until one succeeds.
        var failing = false

        /// A change worth an event.
        enum Change {
            case failed(String)
            case resumed
        }

        init(container: String, directory: String, restart: Int) {
            self.container = container
            self.directory = directory
            self.restart = restart
        }

        func append(_ stream: LogStream, _ bytes: UnsafeRawBufferPointer) -> Change? {
            record { (log: ContainerLog) throws(KernelError) in try log.append(stream, bytes, now: WallTime(WallClock.now())) }
        }

        func finish(_ stream: LogStream) -> Change? {
            guard log != nil || failing else { return nil }
            return record { (log: ContainerLog) throws(KernelError) in try log.finish(stream, now: WallTime(WallClock.now())) }
        }

        func record(_ write: (ContainerLog) throws(KernelError) -> Void) -> Change? {
            do {
                if log == nil {
                    log = try ContainerLog(directory: directory, restart: restart)
                    // As kubelet keeps one dead container per name: this run's log and the
                    // previous one (`logs --previous`), so a crash loop does not fill the disk.
                    _ = try? ContainerLog.removeOldRestarts(directory: directory, current: restart)
                }
                try write(log!)
            } catch {
                if failing { return nil }
                failing = true
                return .failed("\(error)")
            }
            guard failing else { return nil }
            failing = false
            return .resumed
        }

        func close() { log?.close() }
    }

    /// One open stdout or stderr pipe of a run, until EOF; or the master of its terminal,
    /// the one stream of a `tty` container, logged as stdout (as containerd and CRI-O do).
    final class Pipe {
        let fd: Int32
        let stream: LogStream
        let log: RunLog
        /// A terminal's master: EIO is its EOF (no process holds the terminal end any more).
        let terminal: Bool
        init(fd: Int32, stream: LogStream, log: RunLog, terminal: Bool = false) {
            self.fd = fd
            self.stream = stream
            self.log = log
            self.terminal = terminal
        }
    }
    var pipes: [Pipe] = []
    /// One read's worth of a pipe: four pipe pages. Small, since it counts against the
    /// pod's memory budget, and a fuller pipe just means another read.
    var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 << 10, alignment: 16)

    /// Whether stdin is the launcher's gate (see `waitAtGate`).
    let gate: Bool

    /// `probeHelper`: the `podrec-probe` executable, for gRPC and HTTPS probes and hooks.
    public init(stateDirectory: String, gate: Bool = false, probeHelper: String? = nil) throws(SupervisorError) {
        self.state = PodStateDirectory(path: stateDirectory)
        self.gate = gate
        self.probes = ProbeRunner(helper: probeHelper)
        let planPath = state.path(.plan)
        let plan: LaunchPlan
        do {
            plan = try LaunchPlan.decode(try Sys.readString(planPath))
        } catch let e as RecordError {
            throw SupervisorError("plan \(planPath): \(e)")
        } catch {
            throw SupervisorError("plan \(planPath): \(error)")
        }
        do { driver = try Cgroups.driver(root: plan.cgroupMount) } catch { throw SupervisorError("cgroups: \(error)") }
        hostEntries = HostSystemDirectories.probe()
        hostPID = Sys.hostPIDOfSelf()
        pidNamespaced = Sys.ownPID() != hostPID
        observedGeneration = plan.generation
        lifecycle = PodLifecycle(plan: plan, now: Self.now(), probesEnabled: true)
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
            if !pidNamespaced { try Sys.setChildSubreaper(true) }
            if !lifecycle.plan.hostNetwork { try Sys.loopbackUp() }
            Sys.ignoreSignal(Signal.pipe)
            signalFD = try Sys.signalDescriptor([Signal.child, Signal.hangup, Signal.terminate, Signal.interrupt])
            nullFD = try Sys.openNull()
            reserveFD = try Sys.openNull()
            if !lifecycle.plan.hostUsers {
                // The reconciler made the pod's namespaces in its user namespace: the one
                // that owns our network namespace. Never the host's own.
                userNamespaceFD = try Sys.owningUserNamespace(of: "/proc/self/ns/net")
                if try Sys.sameNamespace("/proc/self/fd/\(userNamespaceFD)", "/proc/self/ns/user") {
                    throw SupervisorError("hostUsers is false but the pod's network namespace belongs to the host's user namespace")
                }
            }
        } catch {
            throw SupervisorError("setup: \(error)")
        }
        listenForAttach()
        if gate { try waitAtGate() }
        // The first status is written after the first round of starts: a waiting `apply`
        // then sees the start errors together with observedGeneration.
        while true {
            // Until nothing is left to do now (bounded: a start that fails at once is
            // retried at once a single time, then backs off).
            for _ in 0..<64 {
                let actions = lifecycle.actions(at: Self.now())
                if actions.isEmpty { break }
                perform(actions)
            }
            writeStatus()
            // A pod stopped by its active deadline stays, Failed, until it is deleted: its
            // supervisor keeps its status (and tells `apply` it is alive and as meant).
            if stopRequested && lifecycle.stopped && pipes.isEmpty {
                probes.stopAll()
                writeStatus(force: true)
                if attachFD >= 0 { _ = try? Sys.unlinkIfPresent(state.path(.attach)) }
                return 0
            }
            wait()
        }
    }

    /// Reads stdin until the launcher's "go" (the containers' cgroups exist), then puts
    /// /dev/null in its place. EOF before "go" means the launcher gave up: nothing starts.
    /// "go plan" says the plan was written again while we waited (the network gave the pod
    /// its IPs): it is read again before anything starts.
    func waitAtGate() throws(SupervisorError) {
        var said: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16)
        while !said.contains(UInt8(ascii: "\n")) && said.count < 64 {
            let got = chunk.withUnsafeMutableBytes { (try? Sys.readSome(0, into: $0)) ?? 0 }
            if got <= 0 { break }
            said += chunk[0..<got]
        }
        do { try Sys.duplicate(nullFD, onto: 0) } catch { throw SupervisorError("stdin: \(error)") }
        if said.starts(with: Array("go plan\n".utf8)) {
            let plan: LaunchPlan
            do { plan = try LaunchPlan.decode(try Sys.readString(planPath)) } catch {
                throw SupervisorError("plan \(planPath): \(error)")
            }
            observedGeneration = plan.generation
            lifecycle = PodLifecycle(plan: plan, now: Self.now(), probesEnabled: true)
            return
        }
        guard said.starts(with: Array("go\n".utf8)) else {
            throw SupervisorError("the launcher closed the gate without \"go\": not starting the pod")
        }
    }

    // MARK: Waiting

    func wait() {
        var timeout: Int32? = nil
        let now = MonotonicClock.now()
        let sampleDue = lifecycle.stopped ? nil : usage.sampleIfDue(now: now, plan: lifecycle.plan, driver: driver, state: state)
        if let deadline = [lifecycle.nextDeadline(), probes.nextDeadline, sampleDue].compactMap({ $0 }).min() {
            let ms = (deadline - now + 999_999) / 1_000_000
            timeout = Int32(clamping: max(ms, 0))
        }
        if statusWriteFailed { timeout = min(timeout ?? Self.statusRetryMilliseconds, Self.statusRetryMilliseconds) }
        let probeFDs = probes.pollSet
        let sessionsPolled = sessions, consoleNames = consoleOrder
        let fds = [(signalFD, Sys.pollReadableEvent)] + pipes.map { ($0.fd, Sys.pollReadableEvent) } + probeFDs + attachPollSet
        guard let ready = try? Sys.poll(fds, timeoutMilliseconds: timeout) else {
            // poll itself fails when it is given more fds than RLIMIT_NOFILE allows (EINVAL):
            // wait a little rather than spin, until the limit is raised again.
            if !pollFailed { Sys.printError("podrec-supervisor: poll of \(fds.count) fds failed; retrying\n") }
            pollFailed = true
            MonotonicClock.sleep(nanoseconds: 100_000_000)
            return
        }
        pollFailed = false
        // Probes: sockets that moved, then timeouts.
        var moved = Set<Int32>()
        for (i, p) in probeFDs.enumerated() where ready[1 + pipes.count + i] != 0 { moved.insert(p.fd) }
        for r in probes.progress(ready: moved) + probes.expire(now: MonotonicClock.now()) { report(r) }
        // Attach: input and new clients before output, so that a client's typing reaches
        // the container before the echo of the output read below.
        serveAttach(ready[(1 + pipes.count + probeFDs.count)...], consoleNames: consoleNames, sessionsPolled: sessionsPolled)
        // Logs first: a container's last words belong in its log before its exit is handled.
        var closed: [Int] = []
        for (i, pipe) in pipes.enumerated() where ready[i + 1] != 0 {
            if !drain(pipe) { closed.append(i) }
        }
        closePipes(at: closed)
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

    /// Pipes at EOF: their logs finish (a last unterminated line is written), and close.
    func closePipes(at closed: [Int]) {
        for i in closed.sorted().reversed() {
            let pipe = pipes.remove(at: i)
            note(pipe.log, pipe.log.finish(pipe.stream))
            Sys.close(pipe.fd)
            if !pipes.contains(where: { $0.log === pipe.log }) {
                pipe.log.close()
                runOutputEnded(pipe.log)
            }
        }
    }

    /// Reads what is there; false at EOF (every writer gone).
    func drain(_ pipe: Pipe) -> Bool {
        while true {
            let read: Int?
            do { read = try Sys.readSome(pipe.fd, into: buffer) } catch {
                // A terminal whose every holder has gone answers EIO, not 0.
                return !(pipe.terminal && error.errno.symbol == "EIO")
            }
            guard let n = read else { return true }
            if n == 0 { return false }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            note(pipe.log, pipe.log.append(pipe.stream, bytes))
            forward(pipe.log, pipe.stream, bytes)
            if n < buffer.count { return true }
        }
    }

    /// A log that began or stopped failing, as an event.
    func note(_ log: RunLog, _ change: RunLog.Change?) {
        switch change {
        case .failed(let message)?: lifecycle.logWriteFailed(log.container, message: message, at: Self.now())
        case .resumed?: lifecycle.logWriteResumed(log.container, at: Self.now())
        case nil: break
        }
    }

    func reap() {
        for (pid, raw) in Sys.reapAll() {
            if let r = probes.reaped(pid, status: WaitStatus(raw)) {
                report(r)
                continue
            }
            guard let name = runs.first(where: { $0.value.pid == pid })?.key, let run = runs[name] else { continue }
            runs[name] = nil
            probes.cancel(container: name)
            var oom = false
            if let kills = try? driver.oomKills(run.cgroup) ?? nil { oom = kills > run.oomKillsAtStart }
            // A pids limit reached shows only as a failed fork inside the container (EAGAIN,
            // "Cannot fork"): say so next to the exit it likely caused.
            if let refused = try? driver.pidsMaxEvents(run.cgroup) ?? nil, refused > run.forksRefusedAtStart {
                var limit = "the pids.max of a parent cgroup"
                if case .value(let v)? = try? driver.limits(run.cgroup).pids { limit = "its cgroup's pids.max is \(v)" }
                lifecycle.forksRefused(name, count: refused - run.forksRefusedAtStart, limit: limit, at: Self.now())
            }
            // The main process is gone; what it left behind (daemons, in a shared PID
            // namespace) goes with it, as runc's kill --all does. Mostly there is nothing.
            if let left = try? driver.processes(run.cgroup), !left.isEmpty {
                _ = try? driver.kill(run.cgroup, method: .automatic)
            }
            let outcome: WaitOutcome
            let exitCode: Int32
            switch WaitStatus(raw) {
            case .exited(let c): outcome = .exited(c); exitCode = c
            case .signaled(let s): outcome = .signaled(s); exitCode = 128 + s
            }
            lifecycle.exited(name, status: outcome, oomKilled: oom, message: terminationMessage(name, run, exitCode: exitCode), at: Self.now())
        }
    }

    /// What the run left at its `terminationMessagePath`, as kubelet reads it when it sees the
    /// container exited (getTerminationMessage): the file's last 4096 bytes; with
    /// `FallbackToLogsOnError`, a failed exit and nothing in the file, the log's last 80
    /// lines, at most 2048 bytes. The run's pipes are drained first, so that its last words
    /// are in the log (and an unterminated last line, once its pipes are at EOF).
    func terminationMessage(_ name: String, _ run: Run, exitCode: Int32) -> String? {
        guard run.terminationMessages else { return nil }
        var closed: [Int] = []
        for (i, pipe) in pipes.enumerated() where pipe.log.container == name && pipe.log.restart == run.logRestart {
            if !drain(pipe) { closed.append(i) }
        }
        closePipes(at: closed)
        // No file (it could not be made): as kubelet without the mount, only the log.
        var bytes: [UInt8]?
        if let file = run.terminationFile {
            do { bytes = try Sys.readTail(file, max: TerminationMessage.maxFileBytes) } catch {
                return "Error on reading termination log \(file): \(error)"
            }
        }
        return TerminationMessage.message(file: bytes, policy: run.terminationPolicy, exitCode: exitCode, started: true) {
            do { return try LogTail.terminationMessage(directory: lifecycle.plan.logDirectory + "/" + name, restart: run.logRestart) } catch {
                return "Error on reading termination message from logs: \(error)"
            }
        }
    }

    /// Starts a probe or a hook of a running container; an outcome known at once is reported.
    func check(_ name: String, _ check: ProbeRunner.Check, _ action: HandlerAction, timeoutSeconds: Int64) {
        guard let container = lifecycle.plan.container(name) else { return }
        if let r = probes.start(.init(container: name, check: check), action, timeoutSeconds: timeoutSeconds, container: container,
                                hostPID: lifecycle.hostPID(name), driver: driver, nullFD: nullFD, now: MonotonicClock.now()) {
            report(r)
        }
    }

    /// A probe's or a hook's outcome, to the lifecycle.
    func report(_ r: ProbeRunner.Result) {
        switch r.key.check {
        case .probe(let kind) where r.errored: lifecycle.probeErrored(r.key.container, kind: kind, message: r.message ?? "", at: Self.now())
        case .probe(let kind): lifecycle.probeResult(r.key.container, kind: kind, success: r.success, message: r.message, at: Self.now())
        case .hook(let hook): lifecycle.hookResult(r.key.container, hook: hook, success: r.success, message: r.message, at: Self.now())
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

    /// Carries out one batch of actions. Starts are spawned one after the other: spawning
    /// the main containers of a batch from a thread each was measured slower here (their
    /// mount setups serialize in the kernel, and the threads cost on top).
    func perform(_ actions: [LifecycleAction]) {
        var starts: [ContainerLaunch] = []
        for action in actions {
            switch action {
            case .start(let spec):
                starts.append(spec)
            case .signal(let name, let signal):
                if let run = runs[name] { try? Sys.kill(run.pid, signal) }
            case .kill(let name):
                if let run = runs[name] {
                    try? Sys.kill(run.pid, Signal.kill)
                    _ = try? driver.kill(run.cgroup, method: .automatic)
                }
            case .probe(let name, let kind, let spec):
                check(name, .probe(kind), spec.action, timeoutSeconds: Int64(spec.timeoutSeconds))
            case .hook(let name, let hook, let action, let timeout):
                check(name, .hook(hook), action, timeoutSeconds: timeout)
            }
        }
        let now = Self.now()
        for spec in starts {
            let p: Prepared
            do { p = try prepare(spec) } catch {
                lifecycle.startFailed(spec.name, message: startMessage(error), at: now)
                continue
            }
            finish(p, Result { () throws(SpawnError) in try spawn(p.request) }, at: now)
        }
    }

    /// A start error as the status shows it. EMFILE is this supervisor's own fd limit, not
    /// the container's: say whose, or the message sends the reader to the container.
    /// A fork into the container's cgroup refused with EAGAIN is its pids limit (clone3 into
    /// the cgroup on v2, the second fork for a PID namespace on v1).
    func startMessage(_ error: any Error) -> String {
        if ProbeRunner.errnoSymbol(error) == "EMFILE" {
            return "\(error): podrec-supervisor (pid \(hostPID)) is at its limit of open files"
        }
        if let e = error as? SpawnError, e.errno.symbol == "EAGAIN", [.clone, .cgroup, .pidNamespaceFork].contains(e.stage) {
            return "\(error): the container's cgroup (or the pod's) is at its pids limit"
        }
        return "\(error)"
    }

    /// One container's spawn, ready to go: the request and the fds it hands over.
    struct Prepared {
        var spec: ContainerLaunch
        var request: SpawnRequest
        /// -1s with a terminal, whose master comes back over `console`.
        var stdout: (read: Int32, write: Int32)
        var stderr: (read: Int32, write: Int32)
        /// Without a terminal, with `stdin`: the pipe the container reads (-1s otherwise).
        var stdin: (read: Int32, write: Int32) = (-1, -1)
        /// With a terminal: our end of the pair the spawn shim sends the master over.
        var console: (ours: Int32, child: Int32) = (-1, -1)
        var cgroupFDs: [Int32]
        var oomKillsAtStart: Int64
        var forksRefusedAtStart: Int64
        var terminationFile: String?
    }

    /// Runs of each container so far: names each run's termination message file.
    var runSerial: [String: Int] = [:]

    func prepare(_ spec: ContainerLaunch) throws -> Prepared {
        let plan = lifecycle.plan
        let scratch = plan.scratchDirectory + "/" + spec.name
        try Sys.mkdirs(scratch, mode: 0o700)
        let root: ContainerRoot
        switch spec.root {
        case .host: root = .host
        case .image(let layers, let upper, let work):
            try Sys.mkdirs(upper, mode: 0o755)
            // The root of the container's `/` (ContainerRootfs: the upper dir is not idmapped).
            if userNamespaceFD >= 0, let owner = plan.userNamespace?.start { try Sys.chown(upper, uid: owner, gid: owner) }
            try Sys.mkdirs(work, mode: 0o700)
            root = .image(layers: layers, upper: upper, work: work)
        }
        var volumes = spec.mounts.map { VolumeMount(source: $0.source, target: $0.target, readOnly: $0.readOnly, kind: $0.isFile ? .file : .directory, beneath: $0.beneath) }
        // As kubelet's makeMounts: a new empty file for each run, mode 0666 so that any user
        // of the container may write it (and owned by the user namespace's root, with one),
        // bound at terminationMessagePath. It is on the host, in the data dir, so it works
        // with a read-only root; the last run's file was read at its exit and goes now.
        // A file that cannot be made (a full or read-only data dir) fails nothing: kubelet
        // logs the error and starts the container without the mount, and so do we.
        var terminationFile: String?
        if let dir = spec.terminationMessageDirectory {
            let serial = runSerial[spec.name, default: 0]
            runSerial[spec.name] = serial + 1
            let file = dir + "/" + String(serial)
            do {
                try Sys.mkdirs(dir, mode: 0o700)
                for old in (try? Sys.listDirectory(dir)) ?? [] { try? Sys.unlinkIfPresent(dir + "/" + old) }
                try Sys.makeEmptyFile(file, mode: 0o666, owner: userNamespaceFD >= 0 ? plan.userNamespace?.start : nil)
                volumes.append(VolumeMount(source: file, target: spec.terminationMessagePath, readOnly: false, kind: .file))
                terminationFile = file
            } catch {
                Sys.printError("podrec-supervisor: container \(spec.name): the termination message file: \(error); started without it\n")
            }
        }
        var rootRequest = RootfsRequest(root: root, scratch: scratch,
                                        volumes: volumes,
                                        sharedShm: plan.sharedShm, ownNetworkNamespace: !plan.hostNetwork, hostEntries: hostEntries)
        rootRequest.readOnlyRoot = spec.readOnlyRootFilesystem
        rootRequest.maskKernelPaths = !spec.privileged
        if userNamespaceFD >= 0 { rootRequest.userNamespaceRoot = plan.userNamespace?.start }
        let rootfs = try ContainerRootfs.mounts(rootRequest)

        var request = SpawnRequest(spec.arguments.isEmpty ? [spec.executable] : spec.arguments,
                                   executable: spec.executable, environment: spec.environment)
        request.workingDirectory = spec.workingDirectory
        request.takeIdentity(of: spec)
        request.unshare = .mount
        request.newPIDNamespace = !plan.shareProcessNamespace && !plan.hostPID
        request.mounts = rootfs.mounts
        request.rootfs = rootfs.rootfs
        if userNamespaceFD >= 0 { request.userNamespace = NamespaceJoin(.user, fd: userNamespaceFD, path: "the pod's user namespace") }

        let cgroupFDs = try request.joinCgroup(spec.cgroup, of: driver)
        let oomBefore = (try? driver.oomKills(spec.cgroup)) ?? 0
        let refusedBefore = (try? driver.pidsMaxEvents(spec.cgroup)) ?? 0
        var out: (read: Int32, write: Int32) = (-1, -1)
        var err: (read: Int32, write: Int32) = (-1, -1)
        var input: (read: Int32, write: Int32) = (-1, -1)
        var console: (ours: Int32, child: Int32) = (-1, -1)
        do {
            if spec.tty {
                // kubelet's tty: the container's own devpts gives the terminal (the shim
                // opens it in the new root); stdin, stdout and stderr are its terminal end.
                console = try Sys.seqpacketPair()
            } else {
                out = try Sys.pipe(nonBlockingRead: true)
                err = try Sys.pipe(nonBlockingRead: true)
                if spec.stdin {
                    // Ours is the write end, non-blocking: a container that does not read
                    // never blocks the supervisor. Its read end stays blocking.
                    input = try Sys.pipe()
                    try Sys.setNonBlocking(input.write)
                }
            }
        } catch {
            for fd in [out.read, out.write, err.read, err.write, input.read, input.write, console.ours, console.child] where fd >= 0 { Sys.close(fd) }
            for fd in cgroupFDs { Sys.close(fd) }
            throw error
        }
        if spec.tty {
            request.consoleSocket = console.child
            request.controllingTerminal = true
        } else {
            request.stdin = spec.stdin ? input.read : nullFD
            request.stdout = out.write
            request.stderr = err.write
        }
        return Prepared(spec: spec, request: request, stdout: out, stderr: err, stdin: input, console: console, cgroupFDs: cgroupFDs,
                        oomKillsAtStart: oomBefore, forksRefusedAtStart: refusedBefore, terminationFile: terminationFile)
    }

    func finish(_ p: Prepared, _ result: Result<SpawnedProcess, SpawnError>, at now: Instant) {
        // The child has its own copies of the write ends (or never will): ours go now, so
        // that the read ends see EOF when the container's last writer exits.
        for fd in [p.stdout.write, p.stderr.write, p.stdin.read, p.console.child] where fd >= 0 { Sys.close(fd) }
        for fd in p.cgroupFDs { Sys.close(fd) }
        // The master, sent before exec: here already if the spawn got that far.
        var master: Int32? = nil
        if p.console.ours >= 0 {
            master = Sys.receiveDescriptor(p.console.ours)
            Sys.close(p.console.ours)
        }
        let process: SpawnedProcess
        switch result {
        case .success(let started): process = started
        case .failure(let error):
            for fd in [p.stdout.read, p.stderr.read, p.stdin.write, master ?? -1] where fd >= 0 { Sys.close(fd) }
            lifecycle.startFailed(p.spec.name, message: startMessage(error), at: now)
            return
        }
        let name = p.spec.name
        // In the host's PID namespace the pid is the host's already; as PID 1 of the pod's
        // namespace the host's comes from the pidfd's fdinfo.
        let host = pidNamespaced ? ((try? process.hostPID()) ?? process.pid) : process.pid
        if let pidfd = process.pidfd { Sys.close(pidfd) }
        if let adj = p.spec.oomScoreAdj { try? Sys.setOOMScoreAdjust(host, adj) }
        lifecycle.started(name, pid: process.pid, hostPID: host, at: now)
        let restart = lifecycle.containerStatuses.first { $0.name == name }?.restartCount ?? 0
        runs[name] = Run(pid: process.pid, cgroup: p.spec.cgroup, oomKillsAtStart: p.oomKillsAtStart, forksRefusedAtStart: p.forksRefusedAtStart,
                         terminationMessages: p.spec.terminationMessageDirectory != nil, terminationFile: p.terminationFile,
                         terminationPolicy: p.spec.terminationMessagePolicy, logRestart: restart)

        let log = RunLog(container: name, directory: lifecycle.plan.logDirectory + "/" + name, restart: restart)
        currentLogs[name] = log
        if let old = consoles.removeValue(forKey: name) { old.closeInput() }
        if let master {
            try? Sys.setNonBlocking(master)
            pipes.append(Pipe(fd: master, stream: .stdout, log: log, terminal: true))
            consoles[name] = Console(container: name, log: log, terminal: master, input: p.spec.stdin ? master : -1, ownsInput: false,
                                     stdinOnce: p.spec.stdinOnce)
        } else if p.spec.tty {
            Sys.printError("podrec-supervisor: container \(name) started without its terminal's master\n")
        } else {
            pipes.append(Pipe(fd: p.stdout.read, stream: .stdout, log: log))
            pipes.append(Pipe(fd: p.stderr.read, stream: .stderr, log: log))
            if p.stdin.write >= 0 {
                consoles[name] = Console(container: name, log: log, terminal: nil, input: p.stdin.write, ownsInput: true, stdinOnce: p.spec.stdinOnce)
            }
        }
    }

    // MARK: Status

    func writeStatus(force: Bool = false) {
        var status = PodStatus(observedGeneration: observedGeneration, phase: lifecycle.phase, supervisorPID: hostPID,
                               updatedAt: WallTime(0), planError: planError, terminated: stopRequested && lifecycle.stopped,
                               containers: lifecycle.containerStatuses, events: lifecycle.events)
        if lifecycle.deadlineExceeded {
            status.reason = ActiveDeadline.reason
            status.message = ActiveDeadline.message
        }
        status.startTime = lifecycle.plan.startTime
        let key = status.encoded()
        if key == lastStatus && !force && !statusWriteFailed { return }
        status.updatedAt = WallTime(WallClock.now())
        let text = status.encoded()
        // A reserve that could not be opened again after its last use is tried anew.
        if reserveFD < 0 { reserveFD = (try? Sys.openNull()) ?? -1 }
        do {
            do { try state.replace(.status, text) } catch where error.errno.symbol == "EMFILE" && reserveFD >= 0 {
                Sys.close(reserveFD)
                defer { reserveFD = (try? Sys.openNull()) ?? -1 }
                try state.replace(.status, text)
            }
            // Only a status that reached the file counts as written: one that failed is
            // written again at the next wake, not only once something changes.
            lastStatus = key
            if statusWriteFailed { Sys.printError("podrec-supervisor: the status is written again\n") }
            statusWriteFailed = false
        } catch {
            // Nobody reads our stdout; stderr is the pod's supervisor.log. Once per spell.
            if !statusWriteFailed { Sys.printError("podrec-supervisor: writing the status: \(error); retrying\n") }
            statusWriteFailed = true
        }
    }
}

public struct SupervisorError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
