import CKernel
import Glibc
import SystemPackage

/// The *at() calls, relative to a directory fd, so that no path is resolved through a
/// symlink that untrusted content (an image, a volume) put in a tree. Errors name
/// `describedAs`, the path a user would recognise; the fd-relative name alone says little.
extension Sys {
    /// fstatat(2) with AT_SYMLINK_NOFOLLOW: a symlink is reported, never followed.
    public static func lstatAt(_ dirfd: Int32, _ name: String, describedAs path: String) throws(KernelError) -> FileStatus {
        var st = Glibc.stat()
        _ = try check("lstat", path) { fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) }
        return FileStatus(st)
    }

    public static func fstat(_ fd: Int32, describedAs path: String) throws(KernelError) -> FileStatus {
        var st = Glibc.stat()
        _ = try check("fstat", path) { Glibc.fstat(fd, &st) }
        return FileStatus(st)
    }

    public static func mkdirAt(_ dirfd: Int32, _ name: String, mode: mode_t, describedAs path: String) throws(KernelError) {
        _ = try check("mkdir", path) { mkdirat(dirfd, name, mode) }
    }

    /// `mkdir -p` of `relative` inside the directory `base`, never through a symlink: each
    /// component is made with mkdirat and opened O_NOFOLLOW from its parent's fd, so a
    /// symlink that a container put in a volume cannot send the directories elsewhere
    /// (kubelet's SafeMakeDir). New directories get `base`'s permission bits, as kubelet
    /// gives them; `.` and `..` are refused (EINVAL).
    public static func makeDirectories(_ relative: String, beneath base: String) throws(KernelError) {
        var dir = try Sys.open(base, O_PATH | O_DIRECTORY | O_NOFOLLOW)
        defer { Sys.close(dir) }
        let mode = mode_t(try fstat(dir, describedAs: base).mode & 0o7777)
        var path = base
        for part in relative.split(separator: "/").map(String.init) {
            path += "/" + part
            if part == "." || part == ".." { throw KernelError("mkdir", path: path, errno: Errno(rawValue: EINVAL)) }
            if mkdirat(dir, part, mode) != 0, errno != EEXIST { throw KernelError("mkdir", path: path, errno: Errno(rawValue: errno)) }
            let next = try Sys.openat(dir, part, O_PATH | O_NOFOLLOW, describedAs: path)
            Sys.close(dir)
            dir = next
            // O_PATH|O_NOFOLLOW opens a symlink itself rather than failing: refuse it here.
            guard try fstat(dir, describedAs: path).isDirectory else { throw KernelError("mkdir", path: path, errno: Errno(rawValue: ENOTDIR)) }
        }
    }

    public static func symlinkAt(_ target: String, _ dirfd: Int32, _ name: String, describedAs path: String) throws(KernelError) {
        _ = try check("symlink", path, target) { symlinkat(target, dirfd, name) }
    }

    /// linkat(2) without AT_SYMLINK_FOLLOW: links the entry itself.
    public static func linkAt(_ fromDir: Int32, _ fromName: String, _ toDir: Int32, _ toName: String, describedAs path: String, target: String) throws(KernelError) {
        _ = try check("link", path, target) { linkat(fromDir, fromName, toDir, toName, 0) }
    }

    public static func unlinkAt(_ dirfd: Int32, _ name: String, directory: Bool = false, describedAs path: String) throws(KernelError) {
        _ = try check(directory ? "rmdir" : "unlink", path) { unlinkat(dirfd, name, directory ? AT_REMOVEDIR : 0) }
    }

    public static func readlinkAt(_ dirfd: Int32, _ name: String, describedAs path: String) throws(KernelError) -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = try check("readlink", path) { readlinkat(dirfd, name, &buf, buf.count - 1) }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// lchown: the owner of the entry itself, a symlink included.
    public static func lchownAt(_ dirfd: Int32, _ name: String, uid: UInt32, gid: UInt32, describedAs path: String) throws(KernelError) {
        _ = try check("lchown", path, "\(uid):\(gid)") { fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) }
    }

    public static func fchown(_ fd: Int32, uid: UInt32, gid: UInt32, describedAs path: String) throws(KernelError) {
        _ = try check("fchown", path, "\(uid):\(gid)") { Glibc.fchown(fd, uid, gid) }
    }

    public static func ftruncate(_ fd: Int32, to size: Int, describedAs path: String) throws(KernelError) {
        _ = try check("ftruncate", path, String(size)) { Glibc.ftruncate(fd, off_t(size)) }
    }

    public static func fchmod(_ fd: Int32, _ mode: mode_t, describedAs path: String) throws(KernelError) {
        _ = try check("fchmod", path, String(mode, radix: 8)) { Glibc.fchmod(fd, mode) }
    }

    /// fchmodat(2) never on a symlink: Linux cannot change a symlink's mode.
    public static func chmodAt(_ dirfd: Int32, _ name: String, _ mode: mode_t, describedAs path: String) throws(KernelError) {
        _ = try check("chmod", path, String(mode, radix: 8)) { fchmodat(dirfd, name, mode, 0) }
    }

    /// utimensat(2) with AT_SYMLINK_NOFOLLOW: sets atime and mtime of the entry itself.
    public static func setModificationTime(_ dirfd: Int32, _ name: String, _ mtime: timespec, describedAs path: String) throws(KernelError) {
        var times = [mtime, mtime]
        _ = try check("utimensat", path) { utimensat(dirfd, name, &times, AT_SYMLINK_NOFOLLOW) }
    }

    public static func futimens(_ fd: Int32, _ mtime: timespec, describedAs path: String) throws(KernelError) {
        var times = [mtime, mtime]
        _ = try check("futimens", path) { Glibc.futimens(fd, &times) }
    }

    public static func renameAt(_ fromDir: Int32, _ fromName: String, _ toDir: Int32, _ toName: String, describedAs path: String, to target: String) throws(KernelError) {
        _ = try check("rename", path, target) { renameat(fromDir, fromName, toDir, toName) }
    }

    /// flock(2) LOCK_EX on `path`, created 0600 if missing; the lock lives as long as the
    /// returned fd.
    public static func lockFile(_ path: String) throws(KernelError) -> Int32 {
        let fd = try Sys.open(path, O_RDWR | O_CREAT, mode: 0o600)
        do {
            _ = try check("flock", path, "LOCK_EX") { flock(fd, LOCK_EX) }
        } catch {
            Sys.close(fd)
            throw error
        }
        return fd
    }

    /// True unless kill(pid, 0) says ESRCH: the pid may be reused, which only delays a
    /// clean-up, never makes it wrong.
    public static func processExists(_ pid: Int32) -> Bool {
        Glibc.kill(pid, 0) == 0 || Glibc.errno != ESRCH
    }

    /// realpath(3): the absolute path with symlinks resolved, for recording where an
    /// image came from.
    public static func realPath(_ path: String) throws(KernelError) -> String {
        guard let p = realpath(path, nil) else {
            throw KernelError("realpath", path: path, errno: .init(rawValue: Glibc.errno))
        }
        defer { free(p) }
        return String(cString: p)
    }

    /// One read(2) into `buffer`; 0 at EOF.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, describedAs path: String) throws(KernelError) -> Int {
        try check("read", path) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    public static func dup(_ fd: Int32, describedAs path: String) throws(KernelError) -> Int32 {
        try check("fcntl", path, "F_DUPFD_CLOEXEC") { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
    }

    /// The names in the directory open as `dirfd`, without `.` and `..`, sorted so that
    /// copies and listings are deterministic. `dirfd` stays open and owned by the caller.
    public static func listDirectory(_ dirfd: Int32, describedAs path: String) throws(KernelError) -> [String] {
        var names: [String] = []
        try readEntries(try dup(dirfd, describedAs: path), path) { name, _ in names.append(name) }
        return names.sorted()
    }

    /// The names of the directories in `path` (not symlinks to one), sorted, from the
    /// entries' type as readdir gives it; an entry of unknown type (a filesystem without
    /// d_type) is lstat'ed. The cgroup walks list directories of ~70 knob files each: a stat
    /// per knob was most of the syscalls of a `delete`.
    public static func listSubdirectories(_ path: String) throws(KernelError) -> [String] {
        var names: [String] = []
        try readEntries(try open(path, O_RDONLY | O_DIRECTORY), path) { name, type in
            guard type == UInt8(DT_DIR) || type == UInt8(DT_UNKNOWN) else { return }
            if type == UInt8(DT_UNKNOWN), (try? stat(path + "/" + name, followSymlinks: false))?.isDirectory != true { return }
            names.append(name)
        }
        return names.sorted()
    }

    /// Each entry of the directory open as `fd` (which this takes and closes), from its
    /// start, without `.` and `..`: its name and readdir's d_type.
    static func readEntries(_ fd: Int32, _ path: String, _ body: (String, UInt8) -> Void) throws(KernelError) {
        guard let dir = fdopendir(fd) else {
            let e = Glibc.errno
            Sys.close(fd)
            throw KernelError("fdopendir", path: path, errno: .init(rawValue: e))
        }
        defer { closedir(dir) }
        rewinddir(dir)
        while true {
            Glibc.errno = 0
            guard let entry = readdir(dir) else {
                let e = Glibc.errno
                if e != 0 { throw KernelError("readdir", path: path, errno: .init(rawValue: e)) }
                break
            }
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { body(name, entry.pointee.d_type) }
        }
    }

    /// Exchanges two names atomically (renameat2 RENAME_EXCHANGE, Linux 3.15). False when
    /// the filesystem cannot, so the caller falls back to two renames.
    public static func exchange(_ a: String, _ b: String) throws(KernelError) -> Bool {
        switch retrying({ ckernel_rename_exchange(AT_FDCWD, a, AT_FDCWD, b) }) {
        case .success: return true
        case .failure(let e) where e.rawValue == EINVAL || e.rawValue == ENOSYS: return false
        case .failure(let e): throw KernelError("renameat2", path: a, argument: "RENAME_EXCHANGE \(b)", errno: e)
        }
    }

    /// Flushes the filesystem holding `fd` (syncfs): one call instead of an fsync per
    /// file of an imported tree.
    public static func syncFilesystem(_ fd: Int32, describedAs path: String) throws(KernelError) {
        _ = try check("syncfs", path) { ckernel_syncfs(fd) }
    }
}

