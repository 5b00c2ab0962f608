import Glibc

/// File calls for callers that import no Glibc (the supervisor): the flags are spelled
/// here, so that the caller never needs libc's constants.
extension Sys {
    /// open(2) with O_WRONLY|O_APPEND|O_CREAT|O_NOFOLLOW, created with `mode` (less the
    /// umask) if missing. O_APPEND puts every write at the end, so a reader or a second
    /// writer never sees one record overwrite another; O_NOFOLLOW refuses a symlink left
    /// where a log file should be.
    public static func openForAppending(_ path: String, mode: mode_t) throws(KernelError) -> Int32 {
        try open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, mode: mode)
    }

    /// access(2) X_OK: whether this process may execute `path`.
    public static func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }

    /// open(2) read-only.
    public static func openForReading(_ path: String) throws(KernelError) -> Int32 {
        try open(path, O_RDONLY)
    }

    /// unlink(2) that treats a missing file as done: false when there was nothing to
    /// remove. For clean-ups that may race with another clean-up or run twice.
    @discardableResult
    public static func unlinkIfPresent(_ path: String) throws(KernelError) -> Bool {
        switch retrying({ Glibc.unlink(path) }) {
        case .success: return true
        case .failure(let e) where e.rawValue == ENOENT: return false
        case .failure(let e): throw KernelError("unlink", path: path, errno: e)
        }
    }
}

extension Sys {
    /// The CPUs online now (`sysconf(_SC_NPROCESSORS_ONLN)`): the node's allocatable CPU.
    public static func onlineCPUs() -> Int {
        Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }
}
