import CKernel
import Glibc

/// The calls the image store needs beyond the others: extended attributes, the overlayfs
/// whiteout node, shared and non-blocking locks.
extension Sys {
    /// fsetxattr(2).
    public static func setXattr(_ fd: Int32, _ name: String, _ value: [UInt8], describedAs path: String) throws(KernelError) {
        _ = try check("setxattr", path, name) { value.withUnsafeBytes { ckernel_fsetxattr(fd, name, $0.baseAddress, $0.count) } }
    }

    /// fgetxattr(2); nil when the attribute is not set (ENODATA).
    public static func getXattr(_ fd: Int32, _ name: String, describedAs path: String) throws(KernelError) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 256)
        switch retrying({ buffer.withUnsafeMutableBytes { ckernel_fgetxattr(fd, name, $0.baseAddress, $0.count) } }) {
        case .success(let n): return Array(buffer[0..<n])
        case .failure(let e) where e.rawValue == ENODATA: return nil
        case .failure(let e): throw KernelError("getxattr", path: path, argument: name, errno: e)
        }
    }

    /// mknodat(2) of a character device `major:minor` (0:0 is overlayfs's whiteout).
    public static func mknodCharacterAt(_ dirfd: Int32, _ name: String, mode: mode_t, major: UInt32, minor: UInt32, describedAs path: String) throws(KernelError) {
        _ = try check("mknod", path) { ckernel_mknodat_char(dirfd, name, mode, major, minor) }
    }

    /// flock(2) on `path`, created 0600 if missing: shared or exclusive, waiting or not.
    /// nil when `wait` is false and another holder has it. The lock lives as long as the fd.
    public static func lockFile(_ path: String, shared: Bool, wait: Bool = true) throws(KernelError) -> Int32? {
        let fd = try Sys.open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode: 0o600)
        let op = (shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB)
        switch retrying({ flock(fd, op) }) {
        case .success: return fd
        case .failure(let e):
            Sys.close(fd)
            if e.rawValue == EWOULDBLOCK && !wait { return nil }
            throw KernelError("flock", path: path, argument: shared ? "LOCK_SH" : "LOCK_EX", errno: e)
        }
    }

    /// lseek(fd, 0, SEEK_CUR): how far a file was written.
    public static func position(_ fd: Int32, describedAs path: String) throws(KernelError) -> Int64 {
        Int64(try check("lseek", path) { lseek(fd, 0, SEEK_CUR) })
    }
}
