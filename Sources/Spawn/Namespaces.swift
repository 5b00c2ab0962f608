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

    /// The name under `/proc/PID/ns/`: `mnt`, `uts`, `ipc`, `net`, `pid`, `cgroup`.
    public var procName: String {
        switch self {
        case .mount: return "mnt"
        case .uts: return "uts"
        case .ipc: return "ipc"
        case .network: return "net"
        case .pid: return "pid"
        case .cgroup: return "cgroup"
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
