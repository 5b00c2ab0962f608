// The capability vocabulary lives inside SpawnRequest: Procfs has its own top-level
// Capability, CapabilitySet and Capabilities (for /proc/PID/status), and a file importing
// both modules would otherwise have to qualify every use. One shared type in Kernel would
// be better still.

extension SpawnRequest {
    /// One Linux capability, by number. Numbers the kernel does not know (above
    /// `/proc/sys/kernel/cap_last_cap`) are representable, and fail at `capset`.
    public struct Capability: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// `CAP_CHOWN`.
        public static let chown = Capability(rawValue: 0)
        /// `CAP_DAC_OVERRIDE`.
        public static let dacOverride = Capability(rawValue: 1)
        /// `CAP_DAC_READ_SEARCH`.
        public static let dacReadSearch = Capability(rawValue: 2)
        /// `CAP_FOWNER`.
        public static let fowner = Capability(rawValue: 3)
        /// `CAP_FSETID`.
        public static let fsetid = Capability(rawValue: 4)
        /// `CAP_KILL`.
        public static let kill = Capability(rawValue: 5)
        /// `CAP_SETGID`.
        public static let setgid = Capability(rawValue: 6)
        /// `CAP_SETUID`.
        public static let setuid = Capability(rawValue: 7)
        /// `CAP_SETPCAP`.
        public static let setpcap = Capability(rawValue: 8)
        /// `CAP_LINUX_IMMUTABLE`.
        public static let linuxImmutable = Capability(rawValue: 9)
        /// `CAP_NET_BIND_SERVICE`.
        public static let netBindService = Capability(rawValue: 10)
        /// `CAP_NET_BROADCAST`.
        public static let netBroadcast = Capability(rawValue: 11)
        /// `CAP_NET_ADMIN`.
        public static let netAdmin = Capability(rawValue: 12)
        /// `CAP_NET_RAW`.
        public static let netRaw = Capability(rawValue: 13)
        /// `CAP_IPC_LOCK`.
        public static let ipcLock = Capability(rawValue: 14)
        /// `CAP_IPC_OWNER`.
        public static let ipcOwner = Capability(rawValue: 15)
        /// `CAP_SYS_MODULE`.
        public static let sysModule = Capability(rawValue: 16)
        /// `CAP_SYS_RAWIO`.
        public static let sysRawio = Capability(rawValue: 17)
        /// `CAP_SYS_CHROOT`.
        public static let sysChroot = Capability(rawValue: 18)
        /// `CAP_SYS_PTRACE`.
        public static let sysPtrace = Capability(rawValue: 19)
        /// `CAP_SYS_PACCT`.
        public static let sysPacct = Capability(rawValue: 20)
        /// `CAP_SYS_ADMIN`.
        public static let sysAdmin = Capability(rawValue: 21)
        /// `CAP_SYS_BOOT`.
        public static let sysBoot = Capability(rawValue: 22)
        /// `CAP_SYS_NICE`.
        public static let sysNice = Capability(rawValue: 23)
        /// `CAP_SYS_RESOURCE`.
        public static let sysResource = Capability(rawValue: 24)
        /// `CAP_SYS_TIME`.
        public static let sysTime = Capability(rawValue: 25)
        /// `CAP_SYS_TTY_CONFIG`.
        public static let sysTtyConfig = Capability(rawValue: 26)
        /// `CAP_MKNOD`.
        public static let mknod = Capability(rawValue: 27)
        /// `CAP_LEASE`.
        public static let lease = Capability(rawValue: 28)
        /// `CAP_AUDIT_WRITE`.
        public static let auditWrite = Capability(rawValue: 29)
        /// `CAP_AUDIT_CONTROL`.
        public static let auditControl = Capability(rawValue: 30)
        /// `CAP_SETFCAP`.
        public static let setfcap = Capability(rawValue: 31)
        /// `CAP_MAC_OVERRIDE`.
        public static let macOverride = Capability(rawValue: 32)
        /// `CAP_MAC_ADMIN`.
        public static let macAdmin = Capability(rawValue: 33)
        /// `CAP_SYSLOG`.
        public static let syslog = Capability(rawValue: 34)
        /// `CAP_WAKE_ALARM`.
        public static let wakeAlarm = Capability(rawValue: 35)
        /// `CAP_BLOCK_SUSPEND`.
        public static let blockSuspend = Capability(rawValue: 36)
        /// `CAP_AUDIT_READ`.
        public static let auditRead = Capability(rawValue: 37)
        /// `CAP_PERFMON`.
        public static let perfmon = Capability(rawValue: 38)
        /// `CAP_BPF`.
        public static let bpf = Capability(rawValue: 39)
        /// `CAP_CHECKPOINT_RESTORE`.
        public static let checkpointRestore = Capability(rawValue: 40)

        /// Every capability Linux 6.1 knows, `CAP_CHOWN` through `CAP_CHECKPOINT_RESTORE`.
        public static let known: [Capability] = (0..<Int32(names.count)).map { Capability(rawValue: $0) }

        static let names: [String] = [
            "CAP_CHOWN",
            "CAP_DAC_OVERRIDE",
            "CAP_DAC_READ_SEARCH",
            "CAP_FOWNER",
            "CAP_FSETID",
            "CAP_KILL",
            "CAP_SETGID",
            "CAP_SETUID",
            "CAP_SETPCAP",
            "CAP_LINUX_IMMUTABLE",
            "CAP_NET_BIND_SERVICE",
            "CAP_NET_BROADCAST",
            "CAP_NET_ADMIN",
            "CAP_NET_RAW",
            "CAP_IPC_LOCK",
            "CAP_IPC_OWNER",
            "CAP_SYS_MODULE",
            "CAP_SYS_RAWIO",
            "CAP_SYS_CHROOT",
            "CAP_SYS_PTRACE",
            "CAP_SYS_PACCT",
            "CAP_SYS_ADMIN",
            "CAP_SYS_BOOT",
            "CAP_SYS_NICE",
            "CAP_SYS_RESOURCE",
            "CAP_SYS_TIME",
            "CAP_SYS_TTY_CONFIG",
            "CAP_MKNOD",
            "CAP_LEASE",
            "CAP_AUDIT_WRITE",
            "CAP_AUDIT_CONTROL",
            "CAP_SETFCAP",
            "CAP_MAC_OVERRIDE",
            "CAP_MAC_ADMIN",
            "CAP_SYSLOG",
            "CAP_WAKE_ALARM",
            "CAP_BLOCK_SUSPEND",
            "CAP_AUDIT_READ",
            "CAP_PERFMON",
            "CAP_BPF",
            "CAP_CHECKPOINT_RESTORE",
        ]

        /// The C name, `CAP_NET_ADMIN`; `CAP_63` for one without a name.
        public var name: String {
            rawValue >= 0 && Int(rawValue) < Self.names.count ? Self.names[Int(rawValue)] : "CAP_\(rawValue)"
        }

        /// Parses `CAP_NET_ADMIN` or `NET_ADMIN`, in any case, as Kubernetes' `add`/`drop` lists do.
        public init?(name: String) {
            var upper = name.uppercased()
            if !upper.hasPrefix("CAP_") { upper = "CAP_" + upper }
            guard let i = Self.names.firstIndex(of: upper) else { return nil }
            rawValue = Int32(i)
        }

        public var description: String { name }

        public static func < (a: Capability, b: Capability) -> Bool { a.rawValue < b.rawValue }
    }

    /// A set of capabilities as the kernel stores one: a 64-bit mask.
    public struct CapabilitySet: OptionSet, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }

        public init(_ capabilities: some Sequence<Capability>) {
            rawValue = capabilities.reduce(0) { $0 | Self.bit($1) }
        }

        public func contains(_ capability: Capability) -> Bool { rawValue & Self.bit(capability) != 0 }
        public mutating func insert(_ capability: Capability) { self.formUnion(CapabilitySet([capability])) }
        public mutating func remove(_ capability: Capability) { self.subtract(CapabilitySet([capability])) }

        /// The members, lowest number first.
        public var members: [Capability] {
            (0..<64).filter { rawValue & (1 << UInt64($0)) != 0 }.map { Capability(rawValue: Int32($0)) }
        }

        /// Every capability in `Capability.known`.
        public static let allKnown = CapabilitySet(Capability.known)

        /// The containerd/Docker default set of 14 (moby `oci/caps/defaults.go`), which
        /// ARCHITECTURE gives every container before the pod's add and drop.
        public static let containerDefault = CapabilitySet([
            .chown, .dacOverride, .fsetid, .fowner, .mknod, .netRaw, .setgid, .setuid, .setfcap,
            .setpcap, .netBindService, .sysChroot, .kill, .auditWrite,
        ])

        public var description: String { members.isEmpty ? "none" : members.map(\.name).joined(separator: ",") }

        static func bit(_ c: Capability) -> UInt64 {
            precondition((0..<64).contains(c.rawValue), "capability \(c.rawValue) is outside 0..<64")
            return 1 << UInt64(c.rawValue)
        }
    }

    /// The capability sets the process that execs is given, `capset(2)` after `setuid`.
    ///
    /// The ambient set is always cleared. For a non-root uid that means nothing survives
    /// `execve` but the bounding set (the kernel recomputes permitted from file capabilities),
    /// which is what runc and Docker do without an ambient list.
    public struct Capabilities: Sendable, Hashable {
        /// Everything else is dropped from the bounding set (`PR_CAPBSET_DROP`), for good.
        public var bounding: CapabilitySet
        public var effective: CapabilitySet
        public var permitted: CapabilitySet
        public var inheritable: CapabilitySet

        public init(bounding: CapabilitySet, effective: CapabilitySet, permitted: CapabilitySet, inheritable: CapabilitySet = []) {
            self.bounding = bounding
            self.effective = effective
            self.permitted = permitted
            self.inheritable = inheritable
        }

        /// `set` as the bounding, effective and permitted sets, and an empty inheritable set:
        /// since CVE-2022-29162 runc and Docker no longer fill the inheritable set, which would
        /// let a file's inheritable capabilities grant more than the container was given.
        public static func only(_ set: CapabilitySet) -> Capabilities {
            Capabilities(bounding: set, effective: set, permitted: set, inheritable: [])
        }

        /// `only(CapabilitySet(capabilities))`.
        public static func only(_ capabilities: [Capability]) -> Capabilities {
            only(CapabilitySet(capabilities))
        }

        /// No capability at all, in any set.
        public static let none = Capabilities.only(CapabilitySet())
    }
}
