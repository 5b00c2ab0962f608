import CSpawn
import Glibc
import Kernel
import PodModel
import SystemPackage

/// A process that `spawn(_:)` started and that has exec'd.
public struct SpawnedProcess: Sendable, Hashable {
    /// The pid as the caller's PID namespace numbers it: what `waitpid` and `kill` take.
    /// For a caller in the host's PID namespace it is the host pid, whatever namespace the
    /// process itself is in.
    public var pid: Int32
    /// A pidfd for the process (close-on-exec), or nil if the kernel gave none. The caller
    /// owns it and closes it.
    public var pidfd: Int32?

    public init(pid: Int32, pidfd: Int32?) {
        self.pid = pid
        self.pidfd = pidfd
    }

    /// The pid in the PID namespace of the procfs at `proc` (the host's, for the host's
    /// /proc), from the pidfd's fdinfo: a caller that is itself inside a PID namespace
    /// records this one. Without a pidfd, `pid`.
    public func hostPID(proc: String = "/proc") throws(KernelError) -> Int32 {
        guard let pidfd else { return pid }
        let path = "\(proc)/self/fdinfo/\(pidfd)"
        for line in try Sys.readString(path).split(separator: "\n") where line.hasPrefix("Pid:") {
            if let n = Int32(line.dropFirst(4).filter { !$0.isWhitespace }) { return n }
        }
        throw KernelError("read", path: path, argument: "Pid:", errno: Errno(rawValue: ENOENT))
    }
}

/// Starts a process as `request` describes, and returns once it has exec'd.
///
/// The work between clone and exec is done by the C shim (`podspawn_run`), in the order of
/// `SpawnError.Stage`. A failure in any stage comes back as that stage, what it was working
/// on, and the errno; the child has then been reaped. This function owns every pointer the
/// shim reads: all of them are allocated here, before the call, and freed here, after it.
///
/// The child is a fork-style copy of the caller (clone3 without `CLONE_VM`), so the clone
/// costs page tables in proportion to the caller's memory: spawn from a small process (the
/// per-pod supervisor), not from a large one. The call blocks until the child has exec'd
/// or failed; it is safe from any thread, and concurrent spawns do not wait for each other.
public func spawn(_ request: SpawnRequest) throws(SpawnError) -> SpawnedProcess {
    try request.validate()
    let plan = CMountSteps(request)
    let filter = try request.seccompProgram()

    var arena = CArena()
    defer { arena.free() }

    let argv = arena.array(request.arguments.map { Optional(arena.string($0)) } + [nil])!
    let envp = arena.array(request.environment.map { Optional(arena.string($0)) } + [nil])!

    var tasks: [String] = []
    var cgroupFD: Int32 = -1
    switch request.cgroup {
    case .none: break
    case .v1(let files): tasks = files
    case .v2(let fd, _): cgroupFD = fd
    }
    let cMounts = plan.steps.map { step in
        podspawn_mount(kind: Int32(step.kind.rawValue), mode: step.mode, flags: step.flags,
                       source: step.source.map { arena.string($0) }, target: arena.string(step.target),
                       fstype: step.fstype.map { arena.string($0) }, data: step.data.map { arena.string($0) },
                       if_present: step.ifPresent ? 1 : 0)
    }
    let namespaces = request.joinNamespaces.map { podspawn_namespace(fd: $0.fd, nstype: $0.kind.rawValue) }
    let newPID = request.newPIDNamespace || request.unshare.contains(.pid)
    let caps = request.capabilities

    var c = podspawn_request(
        path: arena.string(request.executable),
        argv: argv,
        envp: envp,
        cwd: request.workingDirectory.map { arena.string($0) },
        cgroup_tasks: arena.array(tasks.map { arena.string($0) }),
        cgroup_tasks_count: tasks.count,
        cgroup_fd: cgroupFD,
        namespaces: arena.array(namespaces),
        namespaces_count: namespaces.count,
        unshare_flags: request.unshare.subtracting(.pid).rawValue,
        new_pid_namespace: newPID ? 1 : 0,
        mounts: arena.array(cMounts),
        mounts_count: cMounts.count,
        rootfs: request.rootfs.map { arena.string($0) },
        hostname: request.hostname.map { arena.string($0) },
        hostname_length: request.hostname?.utf8.count ?? 0,
        set_ids: request.user == nil ? 0 : 1,
        uid: request.user?.uid ?? 0,
        gid: request.user?.gid ?? 0,
        groups: arena.array(request.user?.groups ?? []),
        groups_count: request.user?.groups.count ?? 0,
        set_capabilities: caps == nil ? 0 : 1,
        cap_bounding: caps?.bounding.rawValue ?? 0,
        cap_effective: caps?.effective.rawValue ?? 0,
        cap_permitted: caps?.permitted.rawValue ?? 0,
        cap_inheritable: caps?.inheritable.rawValue ?? 0,
        no_new_privs: request.noNewPrivileges ? 1 : 0,
        seccomp_filter: filter.map { UnsafeRawPointer(arena.array($0)!) },
        seccomp_filter_length: (filter?.count ?? 0) / 8,
        stdio: (request.stdin ?? -1, request.stdout ?? -1, request.stderr ?? -1),
        controlling_terminal: request.controllingTerminal ? 1 : 0,
        keep_fds: arena.array(request.keepFDs),
        keep_fds_count: request.keepFDs.count,
        force: request.forceFallbacks.rawValue,
        userns_fd: request.userNamespace?.fd ?? -1,
        console_socket: request.consoleSocket ?? -1
    )
    var result = podspawn_result()
    if podspawn_run(&c, &result) == 0 {
        return SpawnedProcess(pid: result.pid, pidfd: result.pidfd >= 0 ? result.pidfd : nil)
    }
    throw SpawnError(request: request, plan: plan, stage: SpawnError.Stage(c: result.stage),
                     index: Int(result.index), errno: Errno(rawValue: result.error))
}

// MARK: - The seccomp program

extension SpawnRequest {
    /// The largest classic BPF program the kernel loads (BPF_MAXINSNS), in bytes.
    static let maxSeccompProgramBytes = 4096 * 8

    /// The bytes of `seccompFilter`, read here in the caller: the child must not allocate,
    /// and a file that cannot be read is the seccomp stage's error with its errno, before
    /// any process exists. The reconciler compiled and wrote the file (libseccomp, which
    /// the supervisor does not link); this checks only that it is whole instructions and
    /// within the kernel's limit, and the kernel checks the program itself at load.
    func seccompProgram() throws(SpawnError) -> [UInt8]? {
        guard let path = seccompFilter else { return nil }
        let bytes: [UInt8]
        do { bytes = try Sys.readFile(path) } catch {
            throw SpawnError(stage: .seccomp, errno: error.errno, context: "read the seccomp program \(path)")
        }
        guard !bytes.isEmpty, bytes.count % 8 == 0, bytes.count <= Self.maxSeccompProgramBytes else {
            throw SpawnError(stage: .seccomp, errno: Errno(rawValue: EINVAL),
                             context: "the seccomp program \(path) is \(bytes.count) bytes, not 1 to 4096 instructions of 8")
        }
        return bytes
    }
}

// MARK: - Checks

extension SpawnRequest {
    /// What the kernel would accept but would be a mistake here: a NUL that would cut a
    /// string short, and a hostname or mount that would land in the host's namespace.
    func validate() throws(SpawnError) {
        func refuse(_ why: String) -> SpawnError {
            SpawnError(stage: .request, errno: Errno(rawValue: EINVAL), context: why)
        }
        if arguments.isEmpty { throw refuse("no arguments (argv[0] is required)") }
        if executable.isEmpty { throw refuse("no executable") }
        var strings = [executable] + arguments + environment
        strings += [workingDirectory, rootfs, hostname].compactMap { $0 }
        if case .v1(let files) = cgroup { strings += files }
        for step in mounts { strings += step.strings }
        if let bad = strings.first(where: { $0.utf8.contains(0) }) {
            throw refuse("a string contains a NUL byte: \(bad.debugDescription)")
        }
        let joined = Set(joinNamespaces.map(\.kind))
        if hostname != nil && !unshare.contains(.uts) && !joined.contains(.uts) {
            throw refuse("a hostname needs a UTS namespace of the container's (unshare or join uts); it would rename the host")
        }
        if (!mounts.isEmpty || rootfs != nil) && !unshare.contains(.mount) && !joined.contains(.mount) {
            throw refuse("mounts need a mount namespace of the container's (unshare or join mnt); they would change the host's")
        }
        if userNamespace != nil && user == nil {
            throw refuse("a user namespace needs the ids to set in it: the caller's host ids have none there")
        }
        if joinNamespaces.filter({ $0.kind == .pid }).count > 1 {
            throw refuse("more than one PID namespace to join")
        }
        if case .v2 = cgroup, forceFallbacks.contains(.clone) {
            throw refuse("a v2 cgroup join needs clone3 (CLONE_INTO_CGROUP); the clone fallback cannot do it")
        }
    }
}

extension MountStep {
    var strings: [String] {
        switch self {
        case .makePrivate(let p), .proc(let p), .readOnly(let p), .directory(let p, _), .file(let p, _), .idmap(nil, let p, _, _):
            return [p]
        case .bind(let from, let to, _, _), .idmap(.some(let from), let to, _, _): return [from, to]
        case .bindBeneath(let volume, let path, let to, _): return [volume, path, to]
        case .tmpfs(let at, _, _): return [at]
        case .symlink(let p, let t): return [p, t]
        case .mount(let s, let t, let f, _, let d): return [s, t, f, d].compactMap { $0 }
        case .ifPresent(let step): return step.strings
        }
    }
}

// MARK: - Mount steps to C steps

/// The C steps a request's `MountStep`s expand to, each with the step it came from and the
/// words its error is reported with.
struct CMountSteps {
    struct Step {
        var kind: podspawn_mount_kind
        var mode: UInt32 = 0
        var flags: UInt = 0
        var source: String?
        var target: String
        var fstype: String?
        var data: String?
        /// Index into `SpawnRequest.mounts`.
        var origin: Int
        var context: String
        /// From `MountStep.ifPresent`: ENOENT skips it.
        var ifPresent = false
    }

    var steps: [Step] = []

    init(_ request: SpawnRequest) {
        // Errors name a target as the container will see it, under the new root.
        func shown(_ path: String) -> String {
            guard let root = request.rootfs?.trimmingSlashes, !root.isEmpty else { return path }
            if path == root { return "/" }
            return path.hasPrefix(root + "/") ? String(path.dropFirst(root.count)) : path
        }
        for (i, step) in request.mounts.enumerated() {
            var step = step
            var ifPresent = false
            while case .ifPresent(let inner) = step {
                step = inner
                ifPresent = true
            }
            let first = steps.count
            defer { if ifPresent { for k in first..<steps.count { steps[k].ifPresent = true } } }
            switch step {
            case .makePrivate(let path):
                steps.append(Step(kind: PODSPAWN_MOUNT_CALL, flags: MountFlags([.recursive, .private]).rawValue, target: path,
                                  origin: i, context: "mount \(shown(path)) (make private, recursive)"))
            case .bind(let from, let to, let recursive, let readOnly):
                let what = recursive ? "rbind" : "bind"
                steps.append(Step(kind: PODSPAWN_MOUNT_CALL, flags: MountFlags(recursive ? [.bind, .recursive] : [.bind]).rawValue, source: from,
                                  target: to, origin: i, context: "mount \(shown(to)) (\(what) from \(from))"))
                if readOnly {
                    steps.append(Step(kind: PODSPAWN_MOUNT_READONLY_RECURSIVE, target: to, origin: i,
                                      context: "mount \(shown(to)) (read-only remount of the \(what) from \(from))"))
                }
            case .bindBeneath(let volume, let path, let to, let readOnly):
                let what = "subPath \(path) of \(volume)"
                steps.append(Step(kind: PODSPAWN_MOUNT_BIND_BENEATH, flags: MountFlags([.bind, .recursive]).rawValue, source: volume, target: to,
                                  data: path, origin: i, context: "mount \(shown(to)) (rbind of the \(what), no symlinks followed)"))
                if readOnly {
                    steps.append(Step(kind: PODSPAWN_MOUNT_READONLY_RECURSIVE, target: to, origin: i,
                                      context: "mount \(shown(to)) (read-only remount of the \(what))"))
                }
            case .tmpfs(let at, let size, let mode):
                let options = [size.map { "size=\($0)" }, mode.map { "mode=" + String($0, radix: 8) }].compactMap { $0 }
                let data = options.isEmpty ? nil : options.joined(separator: ",")
                steps.append(Step(kind: PODSPAWN_MOUNT_CALL, flags: MountFlags([.noDev, .noSuid]).rawValue, source: "tmpfs", target: at,
                                  fstype: "tmpfs", data: data, origin: i,
                                  context: "mount \(shown(at)) (tmpfs\(data.map { " " + $0 } ?? ""))"))
            case .proc(let at):
                steps.append(Step(kind: PODSPAWN_MOUNT_CALL, flags: MountFlags([.noSuid, .noDev, .noExec]).rawValue, source: "proc",
                                  target: at, fstype: "proc", origin: i, context: "mount \(shown(at)) (proc)"))
            case .readOnly(let at):
                steps.append(Step(kind: PODSPAWN_MOUNT_READONLY_RECURSIVE, target: at, origin: i,
                                  context: "mount \(shown(at)) (read-only remount, recursive)"))
            case .directory(let path, let mode):
                steps.append(Step(kind: PODSPAWN_MOUNT_MKDIR, mode: mode, target: path, origin: i,
                                  context: "mkdir \(shown(path))"))
            case .file(let path, let mode):
                steps.append(Step(kind: PODSPAWN_MOUNT_MKFILE, mode: mode, target: path, origin: i,
                                  context: "create \(shown(path))"))
            case .symlink(let path, let target):
                steps.append(Step(kind: PODSPAWN_MOUNT_SYMLINK, source: target, target: path, origin: i,
                                  context: "symlink \(shown(path)) -> \(target)"))
            case .mount(let source, let target, let fstype, let flags, let data):
                var words = [fstype ?? "no type"]
                if let source { words.append("from \(source)") }
                words.append("flags 0x" + String(flags, radix: 16))
                if let data { words.append(data) }
                steps.append(Step(kind: PODSPAWN_MOUNT_CALL, flags: flags, source: source, target: target, fstype: fstype,
                                  data: data, origin: i, context: "mount \(shown(target)) (\(words.joined(separator: " ")))"))
            case .idmap(let from, let at, let recursive, let optional):
                steps.append(Step(kind: PODSPAWN_MOUNT_IDMAP, mode: optional ? 1 : 0, flags: recursive ? MountFlags([.recursive]).rawValue : 0,
                                  source: from, target: at, origin: i,
                                  context: "mount \(shown(at)) (\(from.map { "a clone of \($0), " } ?? "")idmapped to the pod's user namespace\(recursive ? ", recursive" : ""); "
                                      + "EINVAL here is a filesystem that takes no idmapped mount: ext4, xfs and btrfs do, tmpfs from Linux 6.3, overlayfs never)"))
            case .ifPresent:
                break  // unwrapped above
            }
        }
    }
}

extension String {
    /// `/a/b/` → `/a/b`; `/` → the empty string (no target is then shown shortened).
    var trimmingSlashes: String {
        var s = Substring(self)
        while s.hasSuffix("/") { s = s.dropLast() }
        return String(s)
    }
}

// MARK: - Errors from the shim's {stage, index, errno}

extension SpawnError {
    init(request: SpawnRequest, plan: CMountSteps, stage: Stage, index: Int, errno: Errno) {
        let index = index >= 0 ? index : nil
        var context = stage.description
        var origin = index
        switch stage {
        case .request, .pipe:
            break
        case .clone:
            context = "clone3" + (request.newPIDNamespace || request.unshare.contains(.pid) ? " (CLONE_NEWPID)" : "")
        case .cgroup:
            switch request.cgroup {
            case .v1(let files):
                if let index, files.indices.contains(index) { context = "cgroup \(files[index]) (write \"0\" to tasks)" }
            case .v2(let fd, let path):
                context = "cgroup \(path ?? "fd \(fd)") (clone3 CLONE_INTO_CGROUP\(path == nil ? "" : ", fd \(fd)"))"
            case .none:
                break
            }
        case .setns, .pidNamespaceFork:
            if let index, request.joinNamespaces.indices.contains(index) {
                let join = request.joinNamespaces[index]
                let what = "\(join.kind.procName) \(join.path.map { $0 + " " } ?? "")(fd \(join.fd))"
                context = stage == .setns ? "setns \(what)" : "fork into pid namespace \(what)"
            }
        case .unshare:
            context = "unshare \(request.unshare.subtracting(.pid))"
        case .mount:
            if let index, plan.steps.indices.contains(index) {
                context = plan.steps[index].context
                origin = plan.steps[index].origin
            }
        case .pivotRoot:
            context = "pivot_root \(request.rootfs ?? "?")"
        case .hostname:
            context = "sethostname \((request.hostname ?? "").debugDescription)"
        case .capabilityBoundingSet:
            if let index { context = "drop \(Capability(rawValue: Int(index)).name) from the bounding set" }
        case .keepCapabilities:
            context = "prctl PR_SET_KEEPCAPS"
        case .setgroups:
            context = "setgroups " + ((request.user?.groups ?? []).map(String.init).joined(separator: ",")).ifEmpty("(none)")
        case .setgid:
            context = "setgid \(request.user?.gid ?? 0)"
        case .setuid:
            context = "setuid \(request.user?.uid ?? 0)"
        case .capset:
            let c = request.capabilities ?? .none
            context = "capset effective=\(c.effective) permitted=\(c.permitted) inheritable=\(c.inheritable)"
        case .ambientCapabilities:
            context = "prctl PR_CAP_AMBIENT_CLEAR_ALL"
        case .noNewPrivileges:
            context = "prctl PR_SET_NO_NEW_PRIVS"
        case .seccomp:
            context = "seccomp SECCOMP_SET_MODE_FILTER \(request.seccompFilter ?? "?")"
        case .userNamespace:
            context = "setns user \(request.userNamespace?.path.map { $0 + " " } ?? "")(fd \(request.userNamespace?.fd ?? -1))"
        case .stdio:
            if let index {
                let source = [request.stdin, request.stdout, request.stderr][index].map(String.init) ?? "?"
                context = "dup fd \(source) onto \(index)"
            }
        case .controllingTerminal:
            context = "setsid and ioctl TIOCSCTTY on fd 0"
        case .console:
            context = ["open /dev/pts/ptmx", "unlock and open the terminal of /dev/pts/ptmx", "send the terminal's master"][min(max(index ?? 0, 0), 2)]
        case .closeFileDescriptors:
            context = "close fds from 3"
        case .chdir:
            context = "chdir \(request.workingDirectory ?? "?")"
        case .exec:
            context = "exec \(request.executable)"
        }
        self.init(stage: stage, errno: errno, context: context, index: origin)
    }
}

extension String {
    fileprivate func ifEmpty(_ other: String) -> String { isEmpty ? other : self }
}

// MARK: - Memory the shim reads

/// malloc'd copies that live until `free()`: the strings and arrays of one request.
struct CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    mutating func string(_ s: String) -> UnsafePointer<CChar> {
        let p = strdup(s)!
        blocks.append(UnsafeMutableRawPointer(p))
        return UnsafePointer(p)
    }

    /// A copy of `items`; nil when empty (the shim takes NULL with a zero count).
    mutating func array<T>(_ items: [T]) -> UnsafePointer<T>? {
        if items.isEmpty { return nil }
        let raw = malloc(MemoryLayout<T>.stride * items.count)!
        blocks.append(raw)
        let typed = raw.bindMemory(to: T.self, capacity: items.count)
        typed.initialize(from: items, count: items.count)
        return UnsafePointer(typed)
    }

    func free() {
        for block in blocks { Glibc.free(block) }
    }
}
