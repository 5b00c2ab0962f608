// The capability vocabulary, shared by Procfs (reading /proc/PID/status) and Spawn
// (capset before exec), so that one table names every bit.

/// One Linux capability: its bit number in the `Cap*` masks (`linux/capability.h`).
public struct Capability: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The bit number, 0...63.
    public var rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let chown = Capability(rawValue: 0)
    public static let dacOverride = Capability(rawValue: 1)
    public static let dacReadSearch = Capability(rawValue: 2)
    public static let fowner = Capability(rawValue: 3)
    public static let fsetid = Capability(rawValue: 4)
    public static let kill = Capability(rawValue: 5)
    public static let setgid = Capability(rawValue: 6)
    public static let setuid = Capability(rawValue: 7)
    public static let setpcap = Capability(rawValue: 8)
    public static let linuxImmutable = Capability(rawValue: 9)
    public static let netBindService = Capability(rawValue: 10)
    public static let netBroadcast = Capability(rawValue: 11)
    public static let netAdmin = Capability(rawValue: 12)
    public static let netRaw = Capability(rawValue: 13)
    public static let ipcLock = Capability(rawValue: 14)
    public static let ipcOwner = Capability(rawValue: 15)
    public static let sysModule = Capability(rawValue: 16)
    public static let sysRawio = Capability(rawValue: 17)
    public static let sysChroot = Capability(rawValue: 18)
    public static let sysPtrace = Capability(rawValue: 19)
    public static let sysPacct = Capability(rawValue: 20)
    public static let sysAdmin = Capability(rawValue: 21)
    public static let sysBoot = Capability(rawValue: 22)
    public static let sysNice = Capability(rawValue: 23)
    public static let sysResource = Capability(rawValue: 24)
    public static let sysTime = Capability(rawValue: 25)
    public static let sysTtyConfig = Capability(rawValue: 26)
    public static let mknod = Capability(rawValue: 27)
    public static let lease = Capability(rawValue: 28)
    public static let auditWrite = Capability(rawValue: 29)
    public static let auditControl = Capability(rawValue: 30)
    public static let setfcap = Capability(rawValue: 31)
    public static let macOverride = Capability(rawValue: 32)
    public static let macAdmin = Capability(rawValue: 33)
    public static let syslog = Capability(rawValue: 34)
    public static let wakeAlarm = Capability(rawValue: 35)
    public static let blockSuspend = Capability(rawValue: 36)
    public static let auditRead = Capability(rawValue: 37)
    public static let perfmon = Capability(rawValue: 38)
    public static let bpf = Capability(rawValue: 39)
    public static let checkpointRestore = Capability(rawValue: 40)

    /// The C names by bit number, as `linux/capability.h` spells them (through Linux 6.x:
    /// `CAP_LAST_CAP` is 40).
    static let names: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// Every capability this version of podrec can name, in bit order.
    public static let known: [Capability] = names.indices.map { Capability(rawValue: $0) }

    /// `CAP_SYS_ADMIN`; a bit newer than this table prints as `CAP_63`.
    public var name: String {
        Capability.names.indices.contains(rawValue) ? Capability.names[rawValue] : "CAP_\(rawValue)"
    }

    /// From `CAP_SYS_ADMIN`, or `SYS_ADMIN` as Kubernetes writes it; any case.
    public init?(name: String) {
        var upper = String(name.uppercased())
        if !upper.hasPrefix("CAP_") { upper = "CAP_" + upper }
        guard let bit = Capability.names.firstIndex(of: upper) else { return nil }
        rawValue = bit
    }

    public static func < (a: Capability, b: Capability) -> Bool { a.rawValue < b.rawValue }
    public var description: String { name }
}

/// A capability mask, as `CapInh`, `CapPrm`, `CapEff`, `CapBnd` and `CapAmb` print it.
public struct CapabilitySet: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(_ capabilities: some Sequence<Capability>) {
        rawValue = 0
        for c in capabilities { insert(c) }
    }

    public func contains(_ capability: Capability) -> Bool {
        capability.rawValue < 64 && rawValue & (1 << UInt64(capability.rawValue)) != 0
    }

    public mutating func insert(_ capability: Capability) {
        precondition(capability.rawValue >= 0 && capability.rawValue < 64, "capability bit \(capability.rawValue)")
        rawValue |= 1 << UInt64(capability.rawValue)
    }

    public mutating func remove(_ capability: Capability) {
        guard capability.rawValue >= 0 && capability.rawValue < 64 else { return }
        rawValue &= ~(1 << UInt64(capability.rawValue))
    }

    /// The set bits, lowest first.
    public var capabilities: [Capability] {
        (0..<64).filter { rawValue & (1 << UInt64($0)) != 0 }.map { Capability(rawValue: $0) }
    }

    /// `["CAP_CHOWN", "CAP_KILL"]`.
    public var names: [String] { capabilities.map(\.name) }

    /// The mask in hex, as procfs prints it: `00000000a80425fb`.
    public var hex: String {
        let digits = String(rawValue, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Every capability in `Capability.known`.
    public static let allKnown = CapabilitySet(Capability.known)

    /// The containerd/Docker default set of 14 (moby `oci/caps/defaults.go`), which
    /// ARCHITECTURE gives every container before the pod's add and drop.
    public static let containerDefault = CapabilitySet([
        .chown, .dacOverride, .fsetid, .fowner, .mknod, .netRaw, .setgid, .setuid, .setfcap,
        .setpcap, .netBindService, .sysChroot, .kill, .auditWrite,
    ])

    public var description: String { names.isEmpty ? "none" : names.joined(separator: ",") }
}
