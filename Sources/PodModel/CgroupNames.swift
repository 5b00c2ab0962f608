/// How podrec names its cgroups (ARCHITECTURE, "Flags, defaults, layout"). Pure.
///
///     <parent>/<ns>_<name>_<uid>/_infra          the pod's infra process (supervisor)
///     <parent>/<ns>_<name>_<uid>/<container>     one per container
///
/// `_infra` cannot clash with a container: container names are DNS-1123 labels, which
/// have no `_`.
public enum CgroupNames {
    /// NAME_MAX: the longest directory name the kernel accepts.
    public static let maxComponentBytes = 255
    /// Bytes of the original name kept when a name is shortened: 255 − 1 (`-`) − 16 (hash).
    public static let shortenedPrefixBytes = maxComponentBytes - 17
    public static let infra = "_infra"

    /// `name` as one path component. The shortening rule:
    ///
    /// - a name of at most 255 UTF-8 bytes is kept as it is;
    /// - a longer one becomes its longest prefix of at most 238 bytes that ends on a
    ///   character boundary, then `-`, then 16 lowercase hex digits of the FNV-1a 64-bit
    ///   hash of the *whole* name's UTF-8 bytes.
    ///
    /// So the result is at most 255 bytes, stable across runs and hosts, readable from
    /// its prefix, and two long names that share a prefix still differ (unless FNV-1a 64
    /// collides). A pod name (up to 253 bytes) with its namespace and uid can exceed 255.
    public static func component(_ name: String) -> String {
        let bytes = Array(name.utf8)
        if bytes.count <= maxComponentBytes { return name }
        var cut = shortenedPrefixBytes
        // Never split a UTF-8 sequence: back up over continuation bytes (10xxxxxx).
        while cut > 0 && bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
        return String(decoding: bytes[0..<cut], as: UTF8.self) + "-" + FNV1a.hex16(FNV1a.hash64(bytes))
    }

    /// The pod's cgroup directory name: `<ns>_<name>_<uid>`, shortened if needed.
    public static func pod(namespace: String, name: String, uid: String) -> String {
        component("\(namespace)_\(name)_\(uid)")
    }

    /// `<parent>/<ns>_<name>_<uid>`; `parent` is `--cgroup-root`, e.g. "podrec".
    public static func podPath(parent: String, namespace: String, name: String, uid: String) -> String {
        join(parent, pod(namespace: namespace, name: name, uid: uid))
    }

    /// `<parent>/<pod>/_infra`.
    public static func infraPath(parent: String, namespace: String, name: String, uid: String) -> String {
        join(podPath(parent: parent, namespace: namespace, name: name, uid: uid), infra)
    }

    /// `<parent>/<pod>/<container>`.
    public static func containerPath(parent: String, namespace: String, name: String, uid: String, container: String) -> String {
        join(podPath(parent: parent, namespace: namespace, name: name, uid: uid), component(container))
    }

    static func join(_ a: String, _ b: String) -> String {
        let trimmed = a.hasSuffix("/") ? String(a.dropLast()) : a
        return trimmed.isEmpty ? b : trimmed + "/" + b
    }
}
