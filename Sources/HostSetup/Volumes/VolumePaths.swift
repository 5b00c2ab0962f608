/// The checks that stand between a name in a manifest and a path on the host. The manifest
/// layer validates the same things; these run again where the names become paths, so a
/// bug or a bypass there never writes outside a pod's data dir.
enum VolumePaths {
    /// A DNS-1123 label: 1...63 of `a-z`, `0-9` and `-`, starting and ending with a letter
    /// or digit. Such a name is a safe path component: no `/`, no `.`, never `..`.
    static func isDNS1123Label(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) }
        return alnum(bytes[0]) && alnum(bytes[bytes.count - 1]) && bytes.allSatisfy { alnum($0) || $0 == 0x2d }
    }

    /// A configMap or secret file path as kubelet's AtomicWriter accepts it (`validatePath`):
    /// relative, no `..` component, a first component not starting with `..` (reserved for
    /// `..data` and the timestamped dirs), components of at most 255 bytes, 4096 in all.
    /// Empty and `.` components are dropped, as `filepath.Clean` drops them. Returns the
    /// components.
    static func fileComponents(_ path: String) -> FilePath {
        func invalid(_ why: String) -> FilePath { .invalid(why) }
        if path.isEmpty { return invalid("must not be empty") }
        if path.hasPrefix("/") { return invalid("must be a relative path") }
        if path.utf8.count > 4096 { return invalid("must be at most 4096 bytes") }
        if path.utf8.contains(where: { $0 == 0 }) { return invalid("must not contain a NUL byte") }
        var components: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            if part == ".." { return invalid("must not contain '..'") }
            if part.utf8.count > 255 { return invalid("must have components of at most 255 bytes") }
            components.append(String(part))
        }
        guard let first = components.first else { return invalid("must name a file") }
        if first.hasPrefix("..") { return invalid("must not start with '..'") }
        return .valid(components)
    }

    enum FilePath: Equatable {
        case valid([String])
        /// Why not, as in "file path \"../x\" must not contain '..'".
        case invalid(String)
    }

    /// An absolute hostPath without `..` components (kubelet's ValidatePathNoBacksteps).
    static func hostPathProblem(_ path: String) -> String? {
        if !path.hasPrefix("/") { return "must be an absolute path" }
        if path.utf8.contains(where: { $0 == 0 }) { return "must not contain a NUL byte" }
        if path.split(separator: "/").contains("..") { return "must not contain '..'" }
        return nil
    }

    /// `/a/./b/../c` → `/a/c`; `..` never climbs above `/`.
    static func normalize(_ path: String) -> String {
        var out: [Substring] = []
        for part in path.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": _ = out.popLast()
            default: out.append(part)
            }
        }
        return "/" + out.joined(separator: "/")
    }

    /// `root` + `path` (absolute): `/` + `/etc/hosts` is `/etc/hosts`.
    static func join(root: String, _ path: String) -> String {
        var r = Substring(root)
        while r.hasSuffix("/") { r = r.dropLast() }
        return String(r) + path
    }
}
