import CSpawn
import Kernel
import SystemPackage

/// A spawn that failed: the stage, what it was working on, and the errno.
///
/// Reads as `mount /data (bind from /var/lib/podrec/pods/x/volumes/data): ENOENT (No such
/// file or directory)` or `exec /bin/nope: ENOENT (No such file or directory)`.
public struct SpawnError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stages, in the order the child runs them (`enum podspawn_stage` in the C shim),
    /// after the checks and the parent's own steps.
    public enum Stage: Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// The request was refused before any process started (Swift's checks).
        case request
        /// The error pipe: pipe2, or reading it.
        case pipe
        /// clone3 (or clone) in the parent.
        case clone
        /// Joining the cgroup: a v1 `tasks` write, or clone3 `CLONE_INTO_CGROUP` on v2.
        case cgroup
        /// setns of one of `joinNamespaces`.
        case setns
        /// The second clone that puts the process in a joined PID namespace.
        case pidNamespaceFork
        case unshare
        /// One of `mounts`.
        case mount
        case pivotRoot
        case hostname
        /// `PR_CAPBSET_DROP`.
        case capabilityBoundingSet
        /// `PR_SET_KEEPCAPS`.
        case keepCapabilities
        case setgroups
        case setgid
        case setuid
        case capset
        /// `PR_CAP_AMBIENT_CLEAR_ALL`.
        case ambientCapabilities
        /// `PR_SET_NO_NEW_PRIVS`.
        case noNewPrivileges
        /// Reading the seccomp program's file (in the caller), or loading it (in the child).
        case seccomp
        /// setns into the pod's user namespace; or, making one (`makeUserNamespace`), its
        /// uid_map and gid_map or the fds of its namespaces.
        case userNamespace
        /// dup of one of stdin, stdout, stderr.
        case stdio
        /// setsid and TIOCSCTTY: stdin as the controlling terminal.
        case controllingTerminal
        /// The container's terminal from its devpts, and the master sent to the caller.
        case console
        /// Closing the fds above 2.
        case closeFileDescriptors
        case chdir
        case exec

        init(c: Int32) {
            switch UInt32(bitPattern: c) {
            case PODSPAWN_STAGE_PIPE.rawValue: self = .pipe
            case PODSPAWN_STAGE_CLONE.rawValue: self = .clone
            case PODSPAWN_STAGE_CGROUP.rawValue: self = .cgroup
            case PODSPAWN_STAGE_SETNS.rawValue: self = .setns
            case PODSPAWN_STAGE_PID_FORK.rawValue: self = .pidNamespaceFork
            case PODSPAWN_STAGE_UNSHARE.rawValue: self = .unshare
            case PODSPAWN_STAGE_MOUNT.rawValue: self = .mount
            case PODSPAWN_STAGE_PIVOT_ROOT.rawValue: self = .pivotRoot
            case PODSPAWN_STAGE_HOSTNAME.rawValue: self = .hostname
            case PODSPAWN_STAGE_CAP_BOUNDING.rawValue: self = .capabilityBoundingSet
            case PODSPAWN_STAGE_KEEP_CAPS.rawValue: self = .keepCapabilities
            case PODSPAWN_STAGE_SETGROUPS.rawValue: self = .setgroups
            case PODSPAWN_STAGE_SETGID.rawValue: self = .setgid
            case PODSPAWN_STAGE_SETUID.rawValue: self = .setuid
            case PODSPAWN_STAGE_CAPSET.rawValue: self = .capset
            case PODSPAWN_STAGE_AMBIENT.rawValue: self = .ambientCapabilities
            case PODSPAWN_STAGE_NO_NEW_PRIVS.rawValue: self = .noNewPrivileges
            case PODSPAWN_STAGE_SECCOMP.rawValue: self = .seccomp
            case PODSPAWN_STAGE_USERNS.rawValue: self = .userNamespace
            case PODSPAWN_STAGE_STDIO.rawValue: self = .stdio
            case PODSPAWN_STAGE_CONTROLLING_TTY.rawValue: self = .controllingTerminal
            case PODSPAWN_STAGE_CONSOLE.rawValue: self = .console
            case PODSPAWN_STAGE_CLOSE_FDS.rawValue: self = .closeFileDescriptors
            case PODSPAWN_STAGE_CHDIR.rawValue: self = .chdir
            case PODSPAWN_STAGE_EXEC.rawValue: self = .exec
            default: self = .clone  // the shim reports only the stages above
            }
        }

        public var description: String {
            switch self {
            case .request: return "request"
            case .pipe: return "pipe"
            case .clone: return "clone"
            case .cgroup: return "cgroup"
            case .setns: return "setns"
            case .pidNamespaceFork: return "pid namespace fork"
            case .unshare: return "unshare"
            case .mount: return "mount"
            case .pivotRoot: return "pivot_root"
            case .hostname: return "hostname"
            case .capabilityBoundingSet: return "capability bounding set"
            case .keepCapabilities: return "keepcaps"
            case .setgroups: return "setgroups"
            case .setgid: return "setgid"
            case .setuid: return "setuid"
            case .capset: return "capset"
            case .ambientCapabilities: return "ambient capabilities"
            case .noNewPrivileges: return "no_new_privs"
            case .seccomp: return "seccomp"
            case .userNamespace: return "user namespace"
            case .stdio: return "stdio"
            case .controllingTerminal: return "controlling terminal"
            case .console: return "console"
            case .closeFileDescriptors: return "close fds"
            case .chdir: return "chdir"
            case .exec: return "exec"
            }
        }
    }

    public var stage: Stage
    public var errno: Errno
    /// The operation and its argument: `exec /bin/nope`, `mount /data (bind from /x)`,
    /// `setns net /proc/42/ns/net (fd 7)`, `setuid 1000`.
    public var context: String
    /// The position in the request's list the stage was working on: the tasks file, the
    /// namespace join, the `MountStep` (not the C step it expanded to), the stdio fd (0, 1
    /// or 2), or the capability number. nil for stages without a list.
    public var index: Int?

    public init(stage: Stage, errno: Errno, context: String, index: Int? = nil) {
        self.stage = stage
        self.errno = errno
        self.context = context
        self.index = index
    }

    public var description: String {
        if stage == .request { return "spawn request: \(context)" }
        return "\(context): \(errno.symbol) (\(errno.message))"
    }
}
