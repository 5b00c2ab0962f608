import CSpawn

/// Everything about one process to start, prepared before the fork: argv, environment,
/// identity, namespaces, mounts, cgroup. `spawn(_:)` hands it to the C shim, which applies
/// it between clone and exec in a fixed order (see `SpawnError.Stage`).
///
/// Nothing here is resolved for the caller: `executable` is not searched in `PATH`, mount
/// targets are paths as the child sees them before `pivot_root` (so under `rootfs`), and
/// fds belong to the caller, who closes them after `spawn` returns.
public struct SpawnRequest: Sendable, Hashable {
    /// The file to execve; absolute, or relative to `workingDirectory`.
    public var executable: String
    /// argv, including argv[0].
    public var arguments: [String]
    /// `NAME=value` strings, exactly as the program will see them.
    public var environment: [String]
    /// chdir after `pivot_root` and the id change. nil keeps the current directory (after a
    /// pivot, the new root).
    public var workingDirectory: String?

    /// setgroups, setgid and setuid. nil keeps the caller's ids.
    public var user: UserIdentity?
    /// The capability sets after the id change. nil keeps them all, bounding set included.
    public var capabilities: Capabilities?
    /// `PR_SET_NO_NEW_PRIVS`: execve never grants privileges again (setuid bits, file caps).
    public var noNewPrivileges: Bool = false
    /// A file holding a classic BPF seccomp program (`struct sock_filter[]`, as
    /// `seccomp_export_bpf` writes it), loaded as the last stage that can load it: right
    /// after no_new_privs, or before the id change without it. nil: no filter.
    public var seccompFilter: String?

    /// fds that become 0, 1 and 2. nil inherits the caller's.
    public var stdin: Int32?
    public var stdout: Int32?
    public var stderr: Int32?
    /// A new session whose controlling terminal is stdin, which must be a terminal.
    public var controllingTerminal: Bool = false
    /// A unix socket over which the child sends the master of a new terminal of its root's
    /// `/dev/pts` (the container's own devpts), whose other end becomes its stdin, stdout
    /// and stderr (replacing those above). nil: no terminal.
    public var consoleSocket: Int32?
    /// Fds above 2 the program keeps, at the same numbers; every other one is closed at exec.
    public var keepFDs: [Int32] = []

    /// Namespaces to join, in this order; a PID namespace is always entered first.
    ///
    /// Joining a PID namespace takes an intermediate process (setns moves only a process's
    /// future children), which clones the final one with `CLONE_PARENT`: the final process
    /// is still the caller's child, to wait for and signal. One consequence: when that
    /// namespace's init dies, its exit waits until every process of the namespace is gone,
    /// zombies included, so the caller must reap such a child before it blocks waiting for
    /// the init.
    public var joinNamespaces: [NamespaceJoin] = []
    /// Namespaces to create with `unshare(2)`, after the joins. `.pid` here means the same
    /// as `newPIDNamespace`.
    public var unshare: Namespaces = []
    /// The process is PID 1 of a new PID namespace. It is created there by clone3 with
    /// `CLONE_NEWPID` (nested in a joined PID namespace if there is one): unshare would move
    /// only its future children.
    public var newPIDNamespace: Bool = false

    /// Mount steps, run in order in the child's mount namespace, which must be new or
    /// joined (`unshare: .mount`, or a `.mount` join).
    public var mounts: [MountStep] = []
    /// A mount point to `pivot_root` into after the mounts; the old root is detached.
    public var rootfs: String?
    /// Set in the child's UTS namespace, which must be new or joined.
    public var hostname: String?
    /// The pod's user namespace (an fd the caller owns), entered after the mounts, the
    /// pivot and the hostname, before seccomp and the id change; `user` is then in its ids
    /// and must be set. `MountStep.idmap` maps with it. nil: the caller's user namespace.
    public var userNamespace: NamespaceJoin?

    /// The cgroup the process starts in; joined before anything else.
    public var cgroup: CgroupJoin = .none

    /// Fallbacks forced on a kernel that has the newer call; for tests of the fallbacks.
    public var forceFallbacks: Fallbacks = []

    /// `executable` defaults to `arguments[0]`.
    public init(_ arguments: [String], executable: String? = nil, environment: [String] = []) {
        self.arguments = arguments
        self.executable = executable ?? arguments.first ?? ""
        self.environment = environment
    }
}

/// Numeric ids for the process; no names are looked up.
public struct UserIdentity: Sendable, Hashable {
    public var uid: UInt32
    public var gid: UInt32
    /// Supplementary groups; empty clears them.
    public var groups: [UInt32]

    public init(uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }
}

/// Older code paths a test can force on a kernel that does not need them.
public struct Fallbacks: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// clone(2) instead of clone3: kernels before 5.3, or a seccomp profile that answers
    /// ENOSYS to clone3 (Docker's). Not with `CgroupJoin.v2`, which needs clone3.
    public static let clone = Fallbacks(rawValue: PODSPAWN_FORCE_CLONE.rawValue)
    /// A read-only remount of every submount instead of `mount_setattr` (before 5.12).
    public static let remountEachSubmount = Fallbacks(rawValue: PODSPAWN_FORCE_REMOUNT_EACH.rawValue)
    /// close(2) of every fd up to the limit instead of `close_range` (before 5.9/5.11).
    public static let closeFdsOneByOne = Fallbacks(rawValue: PODSPAWN_FORCE_CLOSE_LOOP.rawValue)
}

/// One step of setting up the child's mount namespace. Paths are as the child sees them
/// before `pivot_root`.
public enum MountStep: Sendable, Hashable {
    /// Stops mount propagation, recursively, both ways: nothing the child mounts reaches
    /// the host, and `pivot_root` accepts the tree. Usually the first step, on `/`.
    /// `mount(NULL, path, NULL, MS_REC|MS_PRIVATE, NULL)`.
    case makePrivate(String)
    /// A bind mount (`MS_BIND`, with `MS_REC` when recursive), then, when read-only, the
    /// whole bound tree made read-only as `readOnly(at:)` does.
    case bind(from: String, to: String, recursive: Bool = true, readOnly: Bool = false)
    /// A recursive bind of `path`, relative, found inside the directory `volume` without
    /// following any symlink on the way (a symlink, `.` or `..` fails the step), then
    /// read-only as `bind` does. For a subPath: the container may have replaced a part of
    /// it with a symlink to anywhere since the plan resolved it.
    case bindBeneath(volume: String, path: String, to: String, readOnly: Bool = false)
    /// A tmpfs, always `nodev,nosuid`; `size` in bytes, `mode` of its root.
    case tmpfs(at: String, size: UInt64? = nil, mode: UInt32? = nil)
    /// procfs (`nosuid,nodev,noexec`). It shows the PID namespace of the process that
    /// execs, which is already in place when the mounts run.
    case proc(at: String)
    /// The mount at the path and every mount below it read-only: `mount_setattr`
    /// (`AT_RECURSIVE`, `MOUNT_ATTR_RDONLY`; Linux 5.12), else a read-only bind remount of
    /// each submount that keeps its nosuid, nodev, noexec and atime flags.
    case readOnly(at: String)
    /// A directory, for a mount point; one that exists is fine.
    case directory(String, mode: UInt32 = 0o755)
    /// An empty file, as the mount point of a file bind; one that exists is fine.
    case file(String, mode: UInt32 = 0o644)
    /// A symbolic link at `path` that points to `target`.
    case symlink(String, target: String)
    /// An idmapped clone (with the request's `userNamespace`) of `from` mounted at `at`,
    /// or, without `from`, the mount at `at` replaced by such a clone of itself; with the
    /// mounts below when recursive. Files owned by host id 0 show as owned by that
    /// namespace's 0. `optional`: where the filesystem cannot be idmapped, `from` is bound
    /// unmapped (a plain bind), a mount in place is left as it was.
    case idmap(from: String? = nil, at: String, recursive: Bool, optional: Bool = false)
    /// Any other mount(2), as given.
    case mount(source: String?, target: String, fstype: String?, flags: UInt, data: String?)
    /// The step, skipped when its path does not exist (ENOENT): for procfs and sysfs
    /// entries, which vary with the kernel and its configuration.
    indirect case ifPresent(MountStep)
}

extension SpawnRequest {
    /// How the process joins its cgroup, prepared by the cgroup driver. (Nested: Cgroups has
    /// its own top-level `CgroupJoin`, which names the paths this is made from.)
    public enum CgroupJoin: Sendable, Hashable {
        /// Stays in the caller's cgroups.
        case none
        /// Cgroup v1 (and hybrid): the child, still single-threaded, writes `0` to each of
        /// these `tasks` files first thing. That moves only itself, which the kernel does
        /// without the global threadgroup lock: no RCU grace period, unlike `cgroup.procs`.
        case v1(tasksFiles: [String])
        /// Cgroup v2: an fd of the cgroup directory, for clone3 `CLONE_INTO_CGROUP` (Linux
        /// 5.7). The process is born in the cgroup. `path` only names it in errors.
        case v2(dirFD: Int32, path: String? = nil)
    }
}
