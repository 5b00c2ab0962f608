/// One line of `/proc/PID/cgroup`: where the process sits in one hierarchy.
///
/// v1: `4:memory:/process_api/x`, `2:cpu,cpuacct:/`, `9:name=systemd:/`; the cgroup v2
/// (unified) hierarchy: `0::/path`.
public struct CgroupMembership: Sendable, Hashable {
    /// 0 for the unified (v2) hierarchy.
    public var hierarchyID: Int
    /// The v1 controllers bound to the hierarchy, in the kernel's order; empty for v2 and
    /// for a named hierarchy without controllers.
    public var controllers: [String]
    /// A named v1 hierarchy: `systemd` for `name=systemd`.
    public var name: String?
    /// The cgroup's path from the hierarchy's root, as seen from the reader's cgroup namespace.
    public var path: String
    /// v2 only: the kernel appends ` (deleted)` when the cgroup was removed under a
    /// process still in it (a zombie, typically). `path` is without the suffix.
    public var isDeleted: Bool

    public init(hierarchyID: Int, controllers: [String], name: String? = nil, path: String, isDeleted: Bool = false) {
        self.hierarchyID = hierarchyID
        self.controllers = controllers
        self.name = name
        self.path = path
        self.isDeleted = isDeleted
    }

    /// The cgroup v2 line, `0::/path`.
    public var isUnified: Bool { hierarchyID == 0 && controllers.isEmpty && name == nil }
}

extension Array where Element == CgroupMembership {
    /// The path in the v1 hierarchy that has `controller` (`memory`, `pids`, ...).
    public func path(controller: String) -> String? {
        first { $0.controllers.contains(controller) }?.path
    }

    /// The path in the v1 hierarchy named `name` (`systemd`).
    public func path(named name: String) -> String? {
        first { $0.name == name }?.path
    }

    /// The `0::` path: the whole membership on v2; on a hybrid host, the cgroup2 mount's.
    public var unifiedPath: String? {
        first { $0.isUnified }?.path
    }
}

extension ProcParser {
    /// Parses `/proc/PID/cgroup`: one `id:controllers:path` line per hierarchy. The path
    /// may itself contain colons, so a line splits at its first two only.
    public static func cgroup(_ text: String) throws(ProcfsParseError) -> [CgroupMembership] {
        try withBytes(text, parseCgroup)
    }

    public static func cgroup(_ bytes: [UInt8]) throws(ProcfsParseError) -> [CgroupMembership] {
        try withBytes(bytes, parseCgroup)
    }

    static func parseCgroup(_ b: Bytes) throws(ProcfsParseError) -> [CgroupMembership] {
        var out: [CgroupMembership] = []
        var lineNumber = 0
        for line in Lines(b) {
            lineNumber += 1
            if line.isEmpty { continue }
            func fail(_ reason: String) -> ProcfsParseError {
                ProcfsParseError(file: "cgroup", line: lineNumber, reason: reason + ": \"\(b.string(line))\"")
            }
            let first = b.firstIndex(of: ASCII.colon, in: line)
            let second = b.firstIndex(of: ASCII.colon, in: min(first + 1, line.upperBound)..<line.upperBound)
            guard second < line.upperBound else { throw fail("expected id:controllers:path") }
            guard let id = b.int(line.lowerBound..<first), id >= 0 else { throw fail("bad hierarchy id") }
            var controllers: [String] = []
            var name: String?
            if second > first + 1 {
                for piece in Pieces(b, first + 1..<second, separator: ASCII.comma) {
                    guard !piece.isEmpty else { throw fail("empty controller") }
                    if piece.count > 5 && b.matches(piece.lowerBound..<piece.lowerBound + 5, "name=") {
                        name = b.string(piece.lowerBound + 5..<piece.upperBound)
                    } else {
                        controllers.append(b.string(piece))
                    }
                }
            }
            var path = b.string(second + 1..<line.upperBound)
            guard path.hasPrefix("/") else { throw fail("path is not absolute") }
            var deleted = false
            if id == 0 && path.hasSuffix(" (deleted)") {
                path.removeLast(" (deleted)".count)
                deleted = true
            }
            out.append(CgroupMembership(hierarchyID: id, controllers: controllers, name: name, path: path, isDeleted: deleted))
        }
        return out
    }

    /// Parses a `cgroup.procs` (or `tasks`) file: one pid a line. v1 does not promise them
    /// sorted or unique; pids outside the reader's pid namespace, printed as 0 by v2, are
    /// left out.
    public static func cgroupProcs(_ text: String) throws(ProcfsParseError) -> [Int32] {
        try withBytes(text, parseCgroupProcs)
    }

    public static func cgroupProcs(_ bytes: [UInt8]) throws(ProcfsParseError) -> [Int32] {
        try withBytes(bytes, parseCgroupProcs)
    }

    static func parseCgroupProcs(_ b: Bytes) throws(ProcfsParseError) -> [Int32] {
        var out: [Int32] = []
        var lineNumber = 0
        for line in Lines(b) {
            lineNumber += 1
            let r = b.trimmed(line)
            if r.isEmpty { continue }
            guard let pid = b.int32(r), pid >= 0 else {
                throw ProcfsParseError(file: "cgroup.procs", line: lineNumber, reason: "not a pid: \"\(b.string(line))\"")
            }
            if pid > 0 { out.append(pid) }
        }
        return out
    }
}
