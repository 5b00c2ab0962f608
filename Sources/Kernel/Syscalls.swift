import CKernel
import Glibc
import SystemPackage

/// The one place podrec calls libc for files, directories and signals. Each function
/// retries EINTR, turns `-1`/errno into a `KernelError` that names the path, and traps on
/// EBADF and EFAULT, which are bugs in podrec rather than conditions of the host.
///
/// Callers never read `errno`. Namespaces, mounts and process creation live in the spawn
/// shim, whose child cannot run Swift.
public enum Sys {
    /// Runs `body` until it stops failing with EINTR; returns its result or the errno.
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ body: () -> T) -> Result<T, Errno> {
        while true {
            let r = body()
            if r != -1 { return .success(r) }
            let e = Glibc.errno
            if e == EINTR { continue }
            precondition(e != EBADF && e != EFAULT, "podrec bug: \(Errno(rawValue: e).symbol) from a system call")
            return .failure(Errno(rawValue: e))
        }
    }

    @inline(__always)
    static func check<T: BinaryInteger>(_ op: String, _ path: String?, _ argument: String? = nil, _ body: () -> T) throws(KernelError) -> T {
        switch retrying(body) {
        case .success(let v): return v
        case .failure(let e): throw KernelError(op, path: path, argument: argument, errno: e)
        }
    }

    // MARK: File descriptors

    /// The corresponding C function is `open`. Always adds O_CLOEXEC: no fd of podrec's
    /// may leak into a container.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(KernelError) -> Int32 {
        try check("open", path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// The corresponding C function is `openat`.
    public static func openat(_ dirfd: Int32, _ path: String, _ flags: Int32, mode: mode_t = 0, describedAs name: String? = nil) throws(KernelError) -> Int32 {
        try check("openat", name ?? path) { Glibc.openat(dirfd, path, flags | O_CLOEXEC, mode) }
    }

    public static func close(_ fd: Int32) {
        // Linux closes the fd even when close reports EINTR; never retry it.
        _ = Glibc.close(fd)
    }

    /// Reads until EOF.
    public static func readAll(_ fd: Int32, path: String? = nil) throws(KernelError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let r = chunk.withUnsafeMutableBytes { buf in retrying { Glibc.read(fd, buf.baseAddress, buf.count) } }
            guard case .success(let n) = r else {
                if case .failure(let e) = r { throw KernelError("read", path: path, errno: e) }
                return out
            }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
            if n == chunk.count && chunk.count < 1 << 20 { chunk = [UInt8](repeating: 0, count: chunk.count * 4) }
        }
    }

    /// Writes all of `bytes`; a short write continues where it stopped.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String? = nil, argument: String? = nil) throws(KernelError) {
        // withUnsafeBytes rethrows untyped errors, so carry the typed one out in a Result.
        let r = bytes.withUnsafeBytes { buf in
            Result { () throws(KernelError) in try writeAll(fd, buf, describedAs: path, argument: argument) }
        }
        try r.get()
    }

    /// Writes all of `bytes`; a short write continues where it stopped. The error names
    /// `path` and, when given, `argument` (the value written to a knob).
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, describedAs path: String?, argument: String? = nil) throws(KernelError) {
        var offset = 0
        while offset < bytes.count {
            offset += try check("write", path, argument) { Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
        }
    }

    public static func fsync(_ fd: Int32, path: String? = nil) throws(KernelError) {
        _ = try check("fsync", path) { Glibc.fsync(fd) }
    }

    // MARK: Whole files

    public static func readFile(_ path: String) throws(KernelError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        return try readAll(fd, path: path)
    }

    public static func readString(_ path: String) throws(KernelError) -> String {
        String(decoding: try readFile(path), as: UTF8.self)
    }

    /// One `write` of `value` to an existing file: what cgroupfs and procfs knobs expect.
    /// The error carries the value, so a refused limit says which.
    public static func writeString(_ path: String, _ value: String) throws(KernelError) {
        let fd = try open(path, O_WRONLY)
        defer { close(fd) }
        try writeAll(fd, Array(value.utf8), path: path, argument: value)
    }

    /// Replaces `path` atomically: a temp file in the same directory, written, renamed over
    /// the target, so a reader sees the old file or the new one, never a torn one.
    ///
    /// `durable` adds an fsync of the file before the rename and of the directory after it,
    /// so that a crash of the machine leaves one or the other too. That costs milliseconds on
    /// a disk and buys nothing for files that a reboot discards anyway (the state under
    /// `/run`, a pod's `/etc/hosts`): those pass false.
    public static func writeFileAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600, durable: Bool = true) throws(KernelError) {
        let dir = parentDirectory(path)
        let temp = "\(dir)/.\(baseName(path)).tmp.\(getpid())"
        let fd = try open(temp, O_WRONLY | O_CREAT | O_TRUNC, mode: mode)
        do {
            defer { close(fd) }
            _ = try check("fchmod", temp) { Glibc.fchmod(fd, mode) }  // the umask does not decide
            try writeAll(fd, bytes, path: temp)
            if durable { try fsync(fd, path: temp) }
        } catch {
            _ = Glibc.unlink(temp)
            throw error
        }
        do { try rename(temp, path) } catch {
            _ = Glibc.unlink(temp)
            throw error
        }
        guard durable else { return }
        let dfd = try open(dir, O_RDONLY | O_DIRECTORY)
        defer { close(dfd) }
        try fsync(dfd, path: dir)
    }

    // MARK: Directories and names

    public static func mkdir(_ path: String, mode: mode_t = 0o700) throws(KernelError) {
        _ = try check("mkdir", path) { Glibc.mkdir(path, mode) }
    }

    /// mkdir -p; directories that exist are fine.
    public static func mkdirs(_ path: String, mode: mode_t = 0o700) throws(KernelError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            switch retrying({ Glibc.mkdir(prefix, mode) }) {
            case .success: continue
            case .failure(let e) where e.rawValue == EEXIST: continue
            case .failure(let e): throw KernelError("mkdir", path: prefix, errno: e)
            }
        }
    }

    public static func rmdir(_ path: String) throws(KernelError) {
        _ = try check("rmdir", path) { Glibc.rmdir(path) }
    }

    public static func unlink(_ path: String) throws(KernelError) {
        _ = try check("unlink", path) { Glibc.unlink(path) }
    }

    public static func rename(_ from: String, _ to: String) throws(KernelError) {
        _ = try check("rename", from, to) { Glibc.rename(from, to) }
    }

    public static func symlink(_ target: String, _ path: String) throws(KernelError) {
        _ = try check("symlink", path, target) { Glibc.symlink(target, path) }
    }

    public static func readlink(_ path: String) throws(KernelError) -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = try check("readlink", path) { Glibc.readlink(path, &buf, buf.count - 1) }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The names in a directory, without `.` and `..`, sorted.
    public static func listDirectory(_ path: String) throws(KernelError) -> [String] {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        return try listDirectory(fd, describedAs: path)
    }

    /// What `stat`, `lstat`, `fstatat` or `fstat` says about one file.
    public struct FileStatus: Sendable, Hashable {
        public var device: UInt64
        public var inode: UInt64
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        public var size: Int64
        public var links: UInt64
        public var mtimeSeconds: Int64
        public var mtimeNanoseconds: Int64

        public init(_ st: Glibc.stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            mode = st.st_mode
            uid = st.st_uid
            gid = st.st_gid
            size = Int64(st.st_size)
            links = UInt64(st.st_nlink)
            mtimeSeconds = Int64(st.st_mtim.tv_sec)
            mtimeNanoseconds = Int64(st.st_mtim.tv_nsec)
        }

        /// The file type bits, `S_IFREG`, `S_IFDIR`, ...
        public var type: UInt32 { mode & S_IFMT }
        public var isDirectory: Bool { type == S_IFDIR }
        public var isRegularFile: Bool { type == S_IFREG }
        public var isSymlink: Bool { type == S_IFLNK }
        public var permissions: UInt32 { mode & 0o7777 }
        public var mtime: timespec { timespec(tv_sec: Int(mtimeSeconds), tv_nsec: Int(mtimeNanoseconds)) }
    }

    /// The corresponding C function is `stat`, or `lstat` with `followSymlinks: false`.
    public static func stat(_ path: String, followSymlinks: Bool = true) throws(KernelError) -> FileStatus {
        var st = Glibc.stat()
        _ = try check(followSymlinks ? "stat" : "lstat", path) { fstatat(AT_FDCWD, path, &st, followSymlinks ? 0 : AT_SYMLINK_NOFOLLOW) }
        return FileStatus(st)
    }

    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    // MARK: Processes and signals

    /// The corresponding C function is `kill`. Only for processes podrec started.
    public static func kill(_ pid: Int32, _ signal: Int32) throws(KernelError) {
        _ = try check("kill", "pid \(pid)", "signal \(signal)") { Glibc.kill(pid, signal) }
    }

    /// A pidfd for `pid` (pidfd_open, Linux 5.3): signals through it can never reach a
    /// recycled pid.
    public static func pidfdOpen(_ pid: Int32) throws(KernelError) -> Int32 {
        try check("pidfd_open", "pid \(pid)") { ckernel_pidfd_open(pid, 0) }
    }

    public static func pidfdSendSignal(_ pidfd: Int32, _ signal: Int32) throws(KernelError) {
        _ = try check("pidfd_send_signal", "pidfd \(pidfd)", "signal \(signal)") {
            ckernel_pidfd_send_signal(pidfd, signal)
        }
    }

    public static var pid: Int32 { getpid() }

    /// PR_SET_CHILD_SUBREAPER: orphans below us are reparented to us, not to the host's
    /// PID 1 (which here reaps only every ~2 s). Supervisors and test runners use it.
    public static func setChildSubreaper(_ on: Bool = true) throws(KernelError) {
        _ = try check("prctl", nil, "PR_SET_CHILD_SUBREAPER \(on ? 1 : 0)") { ckernel_set_child_subreaper(on ? 1 : 0) }
    }

    /// PR_SET_DUMPABLE: 0 keeps containers from reaching the host through /proc/<pid>/root.
    public static func setDumpable(_ on: Bool) throws(KernelError) {
        _ = try check("prctl", nil, "PR_SET_DUMPABLE \(on ? 1 : 0)") { ckernel_set_dumpable(on ? 1 : 0) }
    }

    /// Reaps one child without blocking; nil when none has exited.
    public static func reapAny() -> (pid: Int32, status: Int32)? {
        var status: Int32 = 0
        let pid = Glibc.waitpid(-1, &status, WNOHANG)
        return pid > 0 ? (pid, status) : nil
    }

    /// Waits for `pid` (a child of ours) and returns its raw wait status.
    public static func wait(_ pid: Int32) throws(KernelError) -> Int32 {
        var status: Int32 = 0
        _ = try check("waitpid", "pid \(pid)") { Glibc.waitpid(pid, &status, 0) }
        return status
    }
}

/// How a child ended, decoded from a raw wait status (WIFEXITED / WIFSIGNALED).
public enum WaitStatus: Sendable, Hashable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public init(_ raw: Int32) {
        self = raw & 0x7f == 0 ? .exited((raw >> 8) & 0xff) : .signaled(raw & 0x7f)
    }

    public var description: String {
        switch self {
        case .exited(let c): return "exit \(c)"
        case .signaled(let s): return "signal \(s)"
        }
    }
}

/// `a/b/c` → `a/b`; `c` → `.`; `/c` → `/`.
public func parentDirectory(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// `a/b/c` → `c`.
public func baseName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}
