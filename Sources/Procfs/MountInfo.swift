/// A device number, `major:minor`.
public struct DeviceNumber: Sendable, Hashable, CustomStringConvertible {
    public var major: UInt32
    public var minor: UInt32

    public init(major: UInt32, minor: UInt32) {
        self.major = major
        self.minor = minor
    }

    public var description: String { "\(major):\(minor)" }
}

/// An optional field of a mountinfo line (shared subtrees, `Documentation/filesystems/
/// sharedsubtree.rst`).
public enum MountPropagation: Sendable, Hashable, CustomStringConvertible {
    /// `shared:N`: a member of peer group N.
    case shared(peerGroup: Int)
    /// `master:N`: a slave of peer group N.
    case master(peerGroup: Int)
    /// `propagate_from:N`: a slave receiving from peer group N, the closest dominant one
    /// visible in this process's root.
    case propagateFrom(peerGroup: Int)
    /// `unbindable`
    case unbindable
    /// A tag a newer kernel added, kept as written.
    case other(String)

    public var description: String {
        switch self {
        case .shared(let n): return "shared:\(n)"
        case .master(let n): return "master:\(n)"
        case .propagateFrom(let n): return "propagate_from:\(n)"
        case .unbindable: return "unbindable"
        case .other(let s): return s
        }
    }
}

/// One line of `/proc/PID/mountinfo` (proc(5)):
///
///     36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
///     (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)    (10)         (11)
///
/// The kernel escapes space, tab, newline and backslash in paths and names as `\040`,
/// `\011`, `\012` and `\134`; every string here is unescaped.
public struct MountInfo: Sendable, Hashable {
    /// (1) Unique while mounted; reused after.
    public var mountID: Int
    /// (2) The parent mount's id; the mount's own id for the root of the namespace.
    public var parentID: Int
    /// (3) `st_dev` of files on this filesystem.
    public var device: DeviceNumber
    /// (4) The directory of the filesystem mounted here: `/` or a bind mount's source dir.
    public var root: String
    /// (5) Relative to the process's root.
    public var mountPoint: String
    /// (6) Per-mount options: `rw`, `nosuid`, `relatime`, ...
    public var options: [String]
    /// (7) Zero or more, up to the `-` separator.
    public var propagation: [MountPropagation]
    /// (9) `ext4`, `cgroup2`, `fuse.sshfs`, ...
    public var filesystemType: String
    /// (10) Filesystem-specific; `none` when there is none.
    public var source: String
    /// (11) Per-superblock options.
    public var superOptions: [String]

    public init(mountID: Int, parentID: Int, device: DeviceNumber, root: String, mountPoint: String, options: [String],
                propagation: [MountPropagation], filesystemType: String, source: String, superOptions: [String]) {
        self.mountID = mountID
        self.parentID = parentID
        self.device = device
        self.root = root
        self.mountPoint = mountPoint
        self.options = options
        self.propagation = propagation
        self.filesystemType = filesystemType
        self.source = source
        self.superOptions = superOptions
    }

    /// `ro` among the per-mount options.
    public var isReadOnly: Bool { options.contains("ro") }
}

extension ProcParser {
    /// Parses `/proc/PID/mountinfo`, one `MountInfo` a line, in the kernel's order (parents
    /// before children).
    public static func mountinfo(_ text: String) throws(ProcfsParseError) -> [MountInfo] {
        try withBytes(text, parseMountinfo)
    }

    public static func mountinfo(_ bytes: [UInt8]) throws(ProcfsParseError) -> [MountInfo] {
        try withBytes(bytes, parseMountinfo)
    }

    static func parseMountinfo(_ b: Bytes) throws(ProcfsParseError) -> [MountInfo] {
        var out: [MountInfo] = []
        var lineNumber = 0
        for line in Lines(b) {
            lineNumber += 1
            if line.isEmpty { continue }
            out.append(try parseMountinfoLine(b, line, lineNumber))
        }
        return out
    }

    static func parseMountinfoLine(_ b: Bytes, _ line: Range<Int>, _ lineNumber: Int) throws(ProcfsParseError) -> MountInfo {
        func fail(_ reason: String) -> ProcfsParseError {
            ProcfsParseError(file: "mountinfo", line: lineNumber, reason: reason)
        }
        // Fields are separated by single spaces; spaces inside fields are escaped.
        var fields = Pieces(b, line, separator: ASCII.space)
        func next(_ what: String) throws(ProcfsParseError) -> Range<Int> {
            guard let f = fields.next() else { throw fail("missing \(what)") }
            return f
        }
        let idField = try next("mount id")
        guard let mountID = b.int(idField) else { throw fail("bad mount id \"\(b.string(idField))\"") }
        let parentField = try next("parent id")
        guard let parentID = b.int(parentField) else { throw fail("bad parent id \"\(b.string(parentField))\"") }
        let devField = try next("major:minor")
        let colon = b.firstIndex(of: ASCII.colon, in: devField)
        guard let major = b.uint32(devField.lowerBound..<colon),
              let minor = b.uint32(min(colon + 1, devField.upperBound)..<devField.upperBound)
        else { throw fail("bad major:minor \"\(b.string(devField))\"") }
        let root = unescapeOctal(b, try next("root"))
        let mountPoint = unescapeOctal(b, try next("mount point"))
        let options = splitOptions(b, try next("mount options"))
        var propagation: [MountPropagation] = []
        while true {
            let f = try next("the \"-\" separator")
            if f.count == 1 && b[f.lowerBound] == ASCII.dash { break }
            let colon = b.firstIndex(of: ASCII.colon, in: f)
            let tag = f.lowerBound..<colon
            let group = colon < f.upperBound ? b.int(colon + 1..<f.upperBound) : nil
            if b.matches(tag, "shared"), let group {
                propagation.append(.shared(peerGroup: group))
            } else if b.matches(tag, "master"), let group {
                propagation.append(.master(peerGroup: group))
            } else if b.matches(tag, "propagate_from"), let group {
                propagation.append(.propagateFrom(peerGroup: group))
            } else if b.matches(f, "unbindable") {
                propagation.append(.unbindable)
            } else {
                propagation.append(.other(b.string(f)))
            }
        }
        let type = unescapeOctal(b, try next("filesystem type"))
        let source = unescapeOctal(b, try next("source"))
        let superOptions = fields.next().map { splitOptions(b, $0) } ?? []
        return MountInfo(mountID: mountID, parentID: parentID, device: DeviceNumber(major: major, minor: minor), root: root,
                         mountPoint: mountPoint, options: options, propagation: propagation, filesystemType: type,
                         source: source, superOptions: superOptions)
    }

    /// Options split at commas, each unescaped after splitting (a comma inside a value is
    /// escaped, so it never splits).
    static func splitOptions(_ b: Bytes, _ r: Range<Int>) -> [String] {
        guard !r.isEmpty else { return [] }
        var out: [String] = []
        for piece in Pieces(b, r, separator: ASCII.comma) { out.append(unescapeOctal(b, piece)) }
        return out
    }

    /// Undoes the kernel's `mangle()`: `\ooo` (three octal digits) is one byte. A backslash
    /// not followed by three octal digits stays as it is.
    static func unescapeOctal(_ b: Bytes, _ r: Range<Int>) -> String {
        guard b.firstIndex(of: ASCII.backslash, in: r) < r.upperBound else { return b.string(r) }
        var out: [UInt8] = []
        out.reserveCapacity(r.count)
        var i = r.lowerBound
        while i < r.upperBound {
            if b[i] == ASCII.backslash, let byte = octal(b, i + 1, end: r.upperBound) {
                out.append(byte)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
