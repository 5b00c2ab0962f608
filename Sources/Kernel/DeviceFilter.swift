import CKernel
import Glibc
import SystemPackage

/// One allow rule of a cgroup v2 device filter: `c 1:3 rw` is
/// `DeviceFilterRule(.char, major: 1, minor: 3, access: [.read, .write])`. A nil major or
/// minor is `*`.
public struct DeviceFilterRule: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case char, block
        /// Any device, char or block (major and minor still apply when given).
        case all
    }

    /// What a process may do with the device. A request is allowed when every bit it asks
    /// for is in the rule's set.
    public struct Access: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let mknod = Access(rawValue: UInt32(CKERNEL_DEVICE_MKNOD))
        public static let read = Access(rawValue: UInt32(CKERNEL_DEVICE_READ))
        public static let write = Access(rawValue: UInt32(CKERNEL_DEVICE_WRITE))
        public static let all: Access = [.read, .write, .mknod]
    }

    public var kind: Kind
    public var major: Int?
    public var minor: Int?
    public var access: Access

    public init(_ kind: Kind, major: Int?, minor: Int?, access: Access) {
        self.kind = kind
        self.major = major
        self.minor = minor
        self.access = access
    }
}

extension Sys {
    /// Allows only the devices `rules` allow to processes in the cgroup v2 directory
    /// `cgroupDirectory` and below: builds a BPF_PROG_TYPE_CGROUP_DEVICE program (default
    /// deny; see CKernel's devicefilter.c), loads it and attaches it with BPF_F_ALLOW_MULTI.
    /// A refused open(2) or mknod(2) then fails with EPERM.
    ///
    /// Each call attaches one more program, and every program of the cgroup and its
    /// ancestors must allow a device: a second call can narrow the list, never widen it.
    /// The cgroup drops its programs when it is removed; no fd stays open.
    ///
    /// Errors name the step: `bpf BPF_PROG_LOAD` (with the first and last lines of the
    /// verifier's log, when it wrote one) or `bpf BPF_PROG_ATTACH` (EBADF there: the
    /// directory is not on a cgroup2 mount), and the cgroup directory.
    public static func attachDeviceFilter(cgroupDirectory: String, rules: [DeviceFilterRule]) throws(KernelError) {
        // O_RDONLY, not O_PATH: BPF_PROG_ATTACH resolves the fd with fdget, which refuses
        // O_PATH fds.
        let dirfd = try open(cgroupDirectory, O_RDONLY | O_DIRECTORY)
        defer { close(dirfd) }
        let cRules = rules.map { rule in
            ckernel_device_rule(
                type: CChar(UInt8(ascii: rule.kind == .char ? "c" : rule.kind == .block ? "b" : "a")),
                major: rule.major.map(Int64.init) ?? -1,
                minor: rule.minor.map(Int64.init) ?? -1,
                access: rule.access.rawValue)
        }
        // Room for the verifier's log of a failed load; a load that succeeds writes none.
        var log = [CChar](repeating: 0, count: 64 * 1024)
        var step: Int32 = 0
        let r = cRules.withUnsafeBufferPointer { rulesBuffer in
            log.withUnsafeMutableBufferPointer { logBuffer in
                ckernel_device_filter_attach(dirfd, rulesBuffer.baseAddress, rulesBuffer.count,
                                             logBuffer.baseAddress, logBuffer.count, &step)
            }
        }
        if r == 0 { return }
        let errno = Errno(rawValue: Glibc.errno)
        let text = log.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let what = "\(rules.count) rule\(rules.count == 1 ? "" : "s")"
        switch step {
        case CKERNEL_DEVICE_FILTER_ATTACH:
            throw KernelError("bpf BPF_PROG_ATTACH", path: cgroupDirectory, argument: "BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI", errno: errno)
        case CKERNEL_DEVICE_FILTER_LOAD:
            let log = verifierSummary(text)
            throw KernelError("bpf BPF_PROG_LOAD", path: cgroupDirectory,
                              argument: "BPF_PROG_TYPE_CGROUP_DEVICE, \(what)" + (log.isEmpty ? "" : "; verifier: " + log), errno: errno)
        default:
            // Refused before any system call: an invalid rule (the C side says which).
            throw KernelError("bpf BPF_PROG_LOAD", path: cgroupDirectory,
                              argument: text.isEmpty ? "building the device filter, \(what)" : text, errno: errno)
        }
    }

    /// The verifier's log on one line: its first lines (the program as it read it) and its
    /// last (where the reason is, followed by the "processed N insns" summary).
    static func verifierSummary(_ log: String) -> String {
        let lines = log.split(separator: "\n").map { String($0.trimmingSpaces().prefix(160)) }.filter { !$0.isEmpty }
        if lines.count <= 6 { return lines.joined(separator: " | ") }
        return (lines.prefix(2) + ["…"] + lines.suffix(4)).joined(separator: " | ")
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
