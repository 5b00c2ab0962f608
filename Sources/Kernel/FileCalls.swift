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

extension Sys {
    /// A fresh, empty regular file at `path` with exactly `mode` (the umask aside), owned by
    /// `owner` when given: created, or cut to nothing if a file is there (O_TRUNC), never
    /// through a symlink (O_NOFOLLOW). For the runtime's bind of a container's termination
    /// message file.
    public static func makeEmptyFile(_ path: String, mode: mode_t, owner: UInt32? = nil) throws(KernelError) {
        let fd = try open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: mode & 0o777)
        defer { close(fd) }
        try fchmod(fd, mode, describedAs: path)
        if let owner { try fchown(fd, uid: owner, gid: owner, describedAs: path) }
    }

    /// The last `max` bytes of the regular file at `path` (all of it when shorter), read
    /// with pread(2) from the end as `tail.ReadAtMost` reads them, never through a symlink.
    /// nil when there is no such file.
    public static func readTail(_ path: String, max: Int) throws(KernelError) -> [UInt8]? {
        let fd: Int32
        do { fd = try open(path, O_RDONLY | O_NOFOLLOW) } catch where error.isNotFound { return nil }
        defer { close(fd) }
        let size = Int(try fstat(fd, describedAs: path).size)
        let count = Swift.min(size, Swift.max(max, 0))
        return try readAt(fd, offset: size - count, count: count, describedAs: path)
    }

    /// Up to `count` bytes from `offset` (pread(2), until EOF or `count`).
    public static func readAt(_ fd: Int32, offset: Int, count: Int, describedAs path: String) throws(KernelError) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(count, 1), alignment: 1)
        defer { buffer.deallocate() }
        var got = 0
        while got < count {
            let at = got
            let n = try check("pread", path) { pread(fd, buffer.baseAddress! + at, count - at, off_t(offset + at)) }
            if n == 0 { break }
            got += n
        }
        return Array(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
    }
}
