import Kernel
import PodModel

/// The host dirs an `image: host` container sees, read-only (ARCHITECTURE, "Containers").
public enum HostSystemDirectories {
    /// In the order they are mounted: `usr` first, which the `/lib*` symlinks point into.
    public static let allowlist = ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt"]

    /// Which of `allowlist` exist under `root` (the host's `/`), without following
    /// symlinks. Anything else (a file, a socket) is left out, as a missing dir is.
    public static func probe(root: String = "/") -> [String: HostEntry] {
        let base = root.hasSuffix("/") ? root : root + "/"
        var out: [String: HostEntry] = [:]
        for name in allowlist {
            guard let st = try? Sys.stat(base + name, followSymlinks: false) else { continue }
            if st.isDirectory {
                out[name] = .directory
            } else if st.isSymlink, let target = try? Sys.readlink(base + name) {
                out[name] = .symlink(target: target)
            }
        }
        return out
    }
}
