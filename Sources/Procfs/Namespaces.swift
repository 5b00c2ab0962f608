/// The namespaces `/proc/PID/ns` links to, by the names of their links.
public enum NamespaceKind: String, CaseIterable, Sendable, Hashable {
    case net, ipc, uts, pid, mnt, cgroup, user, time
}

/// The nsfs inode of each namespace of a process: two processes share a namespace exactly
/// when the inodes are equal.
///
/// A kind is nil when its link cannot be read: a zombie keeps only `pid` and `user`, and a
/// kernel may predate a kind (`time` is 5.6+).
public struct NamespaceInodes: Sendable, Hashable {
    public var net: UInt64?
    public var ipc: UInt64?
    public var uts: UInt64?
    public var pid: UInt64?
    public var mnt: UInt64?
    public var cgroup: UInt64?
    public var user: UInt64?
    public var time: UInt64?

    public init(net: UInt64? = nil, ipc: UInt64? = nil, uts: UInt64? = nil, pid: UInt64? = nil, mnt: UInt64? = nil,
                cgroup: UInt64? = nil, user: UInt64? = nil, time: UInt64? = nil) {
        self.net = net
        self.ipc = ipc
        self.uts = uts
        self.pid = pid
        self.mnt = mnt
        self.cgroup = cgroup
        self.user = user
        self.time = time
    }

    public subscript(kind: NamespaceKind) -> UInt64? {
        get {
            switch kind {
            case .net: return net
            case .ipc: return ipc
            case .uts: return uts
            case .pid: return pid
            case .mnt: return mnt
            case .cgroup: return cgroup
            case .user: return user
            case .time: return time
            }
        }
        set {
            switch kind {
            case .net: net = newValue
            case .ipc: ipc = newValue
            case .uts: uts = newValue
            case .pid: pid = newValue
            case .mnt: mnt = newValue
            case .cgroup: cgroup = newValue
            case .user: user = newValue
            case .time: time = newValue
            }
        }
    }
}

/// A parsed `/proc/PID/ns/*` link target.
public struct NamespaceLink: Sendable, Hashable {
    public var kind: NamespaceKind
    public var inode: UInt64

    public init(kind: NamespaceKind, inode: UInt64) {
        self.kind = kind
        self.inode = inode
    }
}

extension ProcParser {
    /// Parses a namespace link's target, `net:[4026531840]`.
    public static func namespaceLink(_ target: String) throws(ProcfsParseError) -> NamespaceLink {
        try withBytes(target) { b throws(ProcfsParseError) -> NamespaceLink in
            func fail() -> ProcfsParseError { ProcfsParseError(file: "ns", reason: "not a namespace link: \"\(target)\"") }
            let colon = b.firstIndex(of: ASCII.colon, in: 0..<b.count)
            guard colon + 2 < b.count, b[colon + 1] == ASCII.openBracket, b[b.count - 1] == ASCII.closeBracket,
                  let kind = NamespaceKind(rawValue: b.string(0..<colon)),
                  let inode = b.unsigned(colon + 2..<b.count - 1)
            else { throw fail() }
            return NamespaceLink(kind: kind, inode: inode)
        }
    }
}
