import Cgroups
import Glibc
import Kernel
import PodModel
import ContainerRuntime
import HostSetup

/// Set by SIGINT, SIGTERM or SIGHUP: the loops stop at the next run and clean up.
nonisolated(unsafe) var interrupted: sig_atomic_t = 0

func installInterruptHandlers() {
    for s in [SIGINT, SIGTERM, SIGHUP] {
        _ = signal(s) { _ in interrupted = 1 }
    }
}

func checkInterrupted() throws(BenchError) {
    if interrupted != 0 { throw BenchError("interrupted") }
}

/// The benchmark's world: its own state, data and log roots under a temp dir, its own
/// cgroup parent (`podrec-bench-<pid>`), and every pod it started, so that `finish` can
/// stop and remove all of it. The process is a child subreaper, so supervisors and any
/// orphaned container processes are reaped here, never by the host's init.
final class BenchLab {
    let tmp: String
    let cgroupParent: String
    let driver: any CgroupDriver
    let supervisorExecutable: String
    /// Pods created and not yet stopped and removed.
    var live: [String: PodLauncher] = [:]

    /// The containerd/Docker default capability set (14): CHOWN, DAC_OVERRIDE, FOWNER,
    /// FSETID, KILL, SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD,
    /// AUDIT_WRITE, SETFCAP.
    static let defaultCapabilities: UInt64 = [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31].reduce(0) { $0 | (1 << UInt64($1)) }

    init(supervisorExecutable: String) throws {
        guard access(supervisorExecutable, X_OK) == 0 else { throw BenchError("supervisor: \(supervisorExecutable) is not executable") }
        self.supervisorExecutable = supervisorExecutable
        try Sys.setChildSubreaper()
        var template = Array("/tmp/podrec-bench-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw BenchError("mkdtemp /tmp: errno \(errno)")
        }
        tmp = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        try Sys.chmod(tmp, 0o755)
        cgroupParent = "podrec-bench-\(getpid())"
        driver = try Cgroups.driver()
        if driver.exists(cgroupParent) { throw BenchError("cgroup \(cgroupParent) exists already; not touching it") }
    }

    func layout(_ name: String) -> PodLayout {
        PodLayout(root: tmp + "/run", dataRoot: tmp + "/data", logRoot: tmp + "/log", cgroupParent: cgroupParent,
                  namespace: "bench", name: name, uid: "uid-\(name)")
    }

    /// A busybox `sleep 3600` from the host's /bin (`image: host`).
    static func sleeper(_ name: String) -> ContainerLaunch {
        ContainerLaunch(name: name, specHash: "h-\(name)", restartPolicy: .always, executable: "/bin/busybox",
                        arguments: ["sleep", "3600"], environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                        capabilities: CapabilityMasks(defaultCapabilities), cgroup: "")
    }

    /// A pod of `containers` busybox sleepers, with its launcher, cgroup paths filled in.
    /// `seccomp`: every container's program (RuntimeDefault, compiled once by `main`); nil
    /// leaves them unconfined.
    /// `userNamespace`: the pod gets a user namespace with these host ids (`hostUsers: false`).
    func pod(_ name: String, containers: [String], seccomp: SeccompFilterRef? = nil, userNamespace: IDRange? = nil) -> (PodLauncher, LaunchPlan) {
        let layout = layout(name)
        let launcher = PodLauncher(layout: layout, supervisorExecutable: supervisorExecutable, driver: driver)
        var plan = LaunchPlan(generation: 1, namespace: layout.namespace, name: layout.name, uid: layout.uid,
                              // 0: the stop SIGKILLs at once, as `podlb down` does. busybox sleep is
                              // PID 1 of its own PID namespace here and ignores SIGTERM, so any grace
                              // period would be waited out in full between two runs.
                              hostname: layout.name, terminationGracePeriodSeconds: 0,
                              logDirectory: layout.logDirectory, scratchDirectory: layout.state.scratchDirectory,
                              cgroupMount: driver.setup.root, containers: containers.map(Self.sleeper))
        if let userNamespace {
            plan.hostUsers = false
            plan.userNamespace = userNamespace
        }
        for i in plan.containers.indices {
            plan.containers[i].cgroup = launcher.containerCgroup(plan.containers[i].name)
            plan.containers[i].seccomp = seccomp
        }
        return (launcher, plan)
    }

    /// Creates the pod and checks that every container runs (has exec'd). The time is that
    /// of `PodLauncher.create` alone, in nanoseconds: from just before it creates the
    /// pod's dirs and cgroups until it returns, when the supervisor's status says that
    /// every container of the plan has exec'd.
    @discardableResult
    func create(_ launcher: PodLauncher, _ plan: LaunchPlan, limits: PodCgroupLimits) throws -> (status: PodStatus, nanoseconds: Int64) {
        live[launcher.layout.name] = launcher
        let t0 = MonotonicClock.now()
        let status = try launcher.create(plan, limits: limits)
        let t1 = MonotonicClock.now()
        let running = status.containers.filter { $0.state == .running && $0.pid != nil }
        guard status.observedGeneration >= plan.generation, running.count == plan.containers.count else {
            throw BenchError("pod \(plan.name) did not start: \(status.encoded())")
        }
        return (status, t1 - t0)
    }

    /// Stops the pod (SIGTERM to the supervisor, which stops its containers), removes its
    /// cgroups, state dir and log dir, and reaps what came to us.
    func destroy(_ launcher: PodLauncher) throws {
        try launcher.stop(graceMilliseconds: 2_000)
        try launcher.removeState()
        try Sys.removeTree(launcher.layout.logDirectory)
        live[launcher.layout.name] = nil
        _ = Sys.reapAll()
    }

    /// The supervisor's pid from `<state>/pods/<ns>_<name>/supervisor` ("pid starttime").
    func supervisorPID(_ launcher: PodLauncher) -> Int32? {
        guard let text = try? Sys.readString(launcher.layout.state.path(.supervisor)) else { return nil }
        return text.split(separator: " ").first.flatMap { Int32($0) }
    }

    /// Stops and removes every pod still live, the cgroup parent, the temp dir; waits for
    /// the last children. Returns what could not be cleaned (empty when all went).
    func finish() -> [String] {
        var problems: [String] = []
        for (name, launcher) in live.sorted(by: { $0.key < $1.key }) {
            do { try destroy(launcher) } catch { problems.append("pod \(name): \(error)") }
        }
        if driver.exists(cgroupParent) {
            // Only our own pods' processes can be under our own parent.
            do { try driver.kill(cgroupParent) } catch { problems.append("kill cgroup \(cgroupParent): \(error)") }
        }
        reapChildren()
        if driver.exists(cgroupParent) {
            do { try driver.remove(cgroupParent) } catch { problems.append("remove cgroup \(cgroupParent): \(error)") }
        }
        do { try Sys.removeTree(tmp) } catch { problems.append("remove \(tmp): \(error)") }
        return problems
    }

    /// Reaps until no child is left, for up to 2 s; true when none is left.
    @discardableResult
    func reapChildren() -> Bool {
        for _ in 0..<200 {
            var status: Int32 = 0
            let r = waitpid(-1, &status, WNOHANG)
            if r < 0 && errno == ECHILD { return true }
            if r > 0 { continue }
            MonotonicClock.sleep(nanoseconds: 10_000_000)
        }
        return false
    }
}

/// Kilobytes from a `/proc` file line such as `Pss:   123 kB` or `MemAvailable: 5 kB`.
func kilobytes(_ path: String, _ key: String) -> Int? {
    guard let text = try? Sys.readString(path) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
        let fields = line.dropFirst(key.count + 1).split(separator: " ")
        return fields.first.flatMap { Int($0) }
    }
    return nil
}
