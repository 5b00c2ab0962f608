import Glibc

/// mount(2) flags, by the names `mount(8)` prints.
public struct MountFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }

    public static let readOnly = MountFlags(rawValue: UInt(MS_RDONLY))
    public static let noSuid = MountFlags(rawValue: UInt(MS_NOSUID))
    public static let noDev = MountFlags(rawValue: UInt(MS_NODEV))
    public static let noExec = MountFlags(rawValue: UInt(MS_NOEXEC))
    public static let remount = MountFlags(rawValue: UInt(MS_REMOUNT))
    public static let bind = MountFlags(rawValue: UInt(MS_BIND))
    public static let recursive = MountFlags(rawValue: UInt(MS_REC))
    public static let `private` = MountFlags(rawValue: UInt(MS_PRIVATE))

    static let names: [(MountFlags, String)] = [
        (.readOnly, "ro"), (.noSuid, "nosuid"), (.noDev, "nodev"), (.noExec, "noexec"), (.remount, "remount"),
        (.bind, "bind"), (.recursive, "rec"), (.private, "private"),
    ]

    /// `nosuid,nodev`; `none` for no flags, and the bits this table does not name in hex.
    public var description: String {
        var rest = rawValue
        var parts: [String] = []
        for (flag, name) in Self.names where contains(flag) {
            parts.append(name)
            rest &= ~flag.rawValue
        }
        if rest != 0 { parts.append("0x" + String(rest, radix: 16)) }
        return parts.isEmpty ? "none" : parts.joined(separator: ",")
    }
}

extension Sys {
    /// mount(2). The error names `target` and, as its argument, the filesystem type, the
    /// source, the flags and the options: `mount /x "tmpfs podrec nosuid,nodev size=1024"`.
    /// Callers never pass secrets in `data`.
    public static func mount(source: String, target: String, fstype: String?, flags: MountFlags, data: String?) throws(KernelError) {
        let argument = "\(fstype ?? "-") \(source) \(flags) \(data ?? "-")"
        _ = try check("mount", target, argument) {
            Glibc.mount(source, target, fstype, flags.rawValue, data)
        }
    }

    /// umount2(2), never following a symlink in the last component (UMOUNT_NOFOLLOW), so a
    /// name a container could replace never redirects the unmount; `detach` (MNT_DETACH)
    /// takes the mount out of the tree now and frees it when it is no longer busy.
    public static func unmount(_ target: String, detach: Bool = false) throws(KernelError) {
        let flags = Int32(UMOUNT_NOFOLLOW) | (detach ? Int32(MNT_DETACH) : 0)
        _ = try check("umount2", target, detach ? "MNT_DETACH" : nil) { umount2(target, flags) }
    }

    /// Whether `path` is the root of a mount whose filesystem differs from its parent's
    /// (`st_dev` differs), as `mountpoint -q` decides for the usual case. A bind mount of a
    /// dir of the same filesystem is not seen; `mounts(proc:)` sees every mount.
    public static func isMountPoint(_ path: String) throws(KernelError) -> Bool {
        let own = try stat(path, followSymlinks: false)
        guard own.isDirectory else { return false }
        let parent = try stat(path + "/..")
        return own.device != parent.device || own.inode == parent.inode
    }

    public static func chmod(_ path: String, _ mode: mode_t) throws(KernelError) {
        _ = try check("chmod", path, String(mode, radix: 8)) { Glibc.chmod(path, mode) }
    }

    /// chown(2): follows a symlink; `lchownAt` changes the link itself.
    public static func chown(_ path: String, uid: UInt32, gid: UInt32) throws(KernelError) {
        _ = try check("chown", path, "\(uid):\(gid)") { Glibc.chown(path, uid, gid) }
    }

    /// One mount of a mount namespace, from a line of `/proc/PID/mountinfo` (proc(5)): what
    /// clean-ups need, the mount point, the filesystem and its options.
    public struct MountEntry: Sendable, Hashable {
        /// Field 5, unescaped: relative to the reading process's root.
        public var mountPoint: String
        /// Field 9: `tmpfs`, `ext4`, ...
        public var filesystemType: String
        /// Field 10.
        public var source: String
        /// Field 6: per-mount options, `rw,nosuid,nodev,relatime`.
        public var mountOptions: [String]
        /// Field 11: per-superblock options; tmpfs shows `size=65536k,mode=1777` here.
        public var superOptions: [String]

        public init(mountPoint: String, filesystemType: String, source: String, mountOptions: [String], superOptions: [String]) {
            self.mountPoint = mountPoint
            self.filesystemType = filesystemType
            self.source = source
            self.mountOptions = mountOptions
            self.superOptions = superOptions
        }

        /// `size=65536k` of a tmpfs, in bytes; nil when the mount shows no size.
        public var tmpfsSize: Int64? {
            guard let option = superOptions.first(where: { $0.hasPrefix("size=") }) else { return nil }
            var digits = option.dropFirst("size=".count)
            var unit: Int64 = 1
            switch digits.last {
            case "k": unit = 1 << 10
            case "m": unit = 1 << 20
            case "g": unit = 1 << 30
            default: break
            }
            if unit != 1 { digits = digits.dropLast() }
            return Int64(digits).map { $0 * unit }
        }

        /// Parses one mountinfo line; nil for a line that does not have the fields.
        public init?(mountinfoLine line: Substring) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count >= 10, let dash = fields[6...].firstIndex(of: "-"), dash + 2 < fields.count else { return nil }
            mountPoint = Self.unescape(fields[4])
            mountOptions = fields[5].split(separator: ",").map(String.init)
            filesystemType = Self.unescape(fields[dash + 1])
            source = Self.unescape(fields[dash + 2])
            superOptions = dash + 3 < fields.count ? fields[dash + 3].split(separator: ",").map(String.init) : []
        }

        /// The kernel writes space, tab, newline and backslash in names as `\040`, `\011`,
        /// `\012` and `\134`.
        static func unescape(_ field: Substring) -> String {
            guard field.contains("\\") else { return String(field) }
            var out: [UInt8] = []
            let bytes = Array(field.utf8)
            var i = 0
            while i < bytes.count {
                if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count, bytes[(i + 1)..<(i + 4)].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }) {
                    let v = bytes[(i + 1)..<(i + 4)].reduce(0) { $0 * 8 + Int($1 - UInt8(ascii: "0")) }
                    out.append(UInt8(truncatingIfNeeded: v))
                    i += 4
                } else {
                    out.append(bytes[i])
                    i += 1
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// The mounts of this process's mount namespace (`<proc>/self/mountinfo`), parents
    /// before children, as the kernel lists them.
    public static func mounts(proc: String = "/proc") throws(KernelError) -> [MountEntry] {
        try readString("\(proc)/self/mountinfo").split(separator: "\n").compactMap { MountEntry(mountinfoLine: $0) }
    }
}
