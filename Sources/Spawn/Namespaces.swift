import CSpawn
import SystemPackage

/// A kind of Linux namespace (Procfs names the `/proc/PID/ns` links with its own
/// `NamespaceKind`). The raw value is its `CLONE_NEW*` flag.
public enum Namespace: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Mounts. The C name is `CLONE_NEWNS`.
    case mount = 0x0002_0000
    /// Hostname and NIS domain name. The C name is `CLONE_NEWUTS`.
    case uts = 0x0400_0000
    /// System V IPC and POSIX message queues. The C name is `CLONE_NEWIPC`.
    case ipc = 0x0800_0000
    /// Network devices, addresses, routes, ports. The C name is `CLONE_NEWNET`.
    case network = 0x4000_0000
    /// Process ids. The C name is `CLONE_NEWPID`.
    case pid = 0x2000_0000
    /// The cgroup root a process sees. The C name is `CLONE_NEWCGROUP`.
    case cgroup = 0x0200_0000
    /// User and group ids and capabilities. The C name is `CLONE_NEWUSER`. Never unshared
    /// by a spawn: `makeUserNamespace` makes a pod's, `SpawnRequest.userNamespace` enters it.
    case user = 0x1000_0000

    /// The name under `/proc/PID/ns/`: `mnt`, `uts`, `ipc`, `net`, `pid`, `cgroup`.
    public var procName: String {
        switch self {
        case .mount: return "mnt"
        case .uts: return "uts"
        case .ipc: return "ipc"
        case .network: return "net"
        case .pid: return "pid"
        case .cgroup: return "cgroup"
        case .user: return "user"
        }
    }

    public var description: String { procName }
}

/// A set of namespace kinds, as the flags of `unshare(2)` and `clone(2)`.
public struct Namespaces: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public init(_ kind: Namespace) { rawValue = kind.rawValue }

    /// `CLONE_NEWNS`.
    public static let mount = Namespaces(.mount)
    /// `CLONE_NEWUTS`.
    public static let uts = Namespaces(.uts)
    /// `CLONE_NEWIPC`.
    public static let ipc = Namespaces(.ipc)
    /// `CLONE_NEWNET`.
    public static let network = Namespaces(.network)
    /// `CLONE_NEWPID`.
    public static let pid = Namespaces(.pid)
    /// `CLONE_NEWCGROUP`.
    public static let cgroup = Namespaces(.cgroup)

    public func contains(_ kind: Namespace) -> Bool { contains(Namespaces(kind)) }

    /// `mnt,net`, in the order of `Namespace.allCases`; unknown bits in hex.
    public var description: String {
        var names = Namespace.allCases.filter { contains($0) }.map(\.procName)
        let unknown = rawValue & ~Namespace.allCases.reduce(0) { $0 | $1.rawValue }
        if unknown != 0 { names.append("0x" + String(UInt32(bitPattern: unknown), radix: 16)) }
        return names.isEmpty ? "none" : names.joined(separator: ",")
    }
}

/// A namespace to join with `setns(2)`.
public struct NamespaceJoin: Sendable, Hashable {
    public var kind: Namespace
    /// An fd of `/proc/PID/ns/KIND`, owned by the caller, who closes it after `spawn`.
    public var fd: Int32
    /// Where the fd came from, for error messages: `/proc/1234/ns/net`.
    public var path: String?

    public init(_ kind: Namespace, fd: Int32, path: String? = nil) {
        self.kind = kind
        self.fd = fd
        self.path = path
    }
}

/// A pod's user namespace, made by `makeUserNamespace`, and the namespaces it owns; every
/// fd is the caller's to close.
public struct UserNamespaceFDs: Sendable, Hashable {
    public var user: NamespaceJoin
    /// net, uts, ipc: those asked for, in that order, to join with setns.
    public var owned: [NamespaceJoin]

    public var all: [Int32] { [user.fd] + owned.map(\.fd) }
}

/// A new user namespace whose ids 0..<count are the host's `start..<start+count`, with
/// `owned` (of network, uts, ipc) made in it, owned by it. A short-lived child of the
/// caller makes them (clone with `CLONE_NEWUSER` and the others), the caller writes the
/// maps (as host root: setgroups stays allowed in the namespace) and opens the fds, and the
/// child exits: the namespaces live on as long as the fds or a process in them.
public func makeUserNamespace(start: UInt32, count: UInt32, owned: Namespaces) throws(SpawnError) -> UserNamespaceFDs {
    var fds: (Int32, Int32, Int32, Int32) = (-1, -1, -1, -1)
    var result = podspawn_result()
    let flags = owned.intersection([.network, .uts, .ipc]).rawValue
    let r = withUnsafeMutablePointer(to: &fds) { p in
        p.withMemoryRebound(to: Int32.self, capacity: 4) { podspawn_userns(start, count, flags, $0, &result) }
    }
    if r != 0 {
        let stage = SpawnError.Stage(c: result.stage)
        let what = ["uid_map", "gid_map", "ns/user", "ns/net", "ns/uts", "ns/ipc"]
        let context = stage == .userNamespace && what.indices.contains(Int(result.index))
            ? "write or open /proc/CHILD/\(what[Int(result.index)]) of a new user namespace (0 \(start) \(count))"
            : "clone a new user namespace (0 \(start) \(count)) with \(owned)"
        throw SpawnError(stage: stage, errno: Errno(rawValue: result.error), context: context)
    }
    var owners: [NamespaceJoin] = []
    let list = [fds.1, fds.2, fds.3]
    for (i, kind) in [Namespace.network, .uts, .ipc].enumerated() where list[i] >= 0 {
        owners.append(NamespaceJoin(kind, fd: list[i], path: "the pod's \(kind.procName) namespace"))
    }
    return UserNamespaceFDs(user: NamespaceJoin(.user, fd: fds.0, path: "the pod's user namespace"), owned: owners)
}
