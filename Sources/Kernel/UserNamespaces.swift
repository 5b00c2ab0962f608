import CKernel
import Glibc
import SystemPackage

/// User namespaces, as the supervisor and `exec` find a pod's.
extension Sys {
    /// An fd (close-on-exec, the caller's) of the user namespace that owns the namespace at
    /// `path` (`/proc/self/ns/net`): NS_GET_USERNS.
    public static func owningUserNamespace(of path: String) throws(KernelError) -> Int32 {
        let fd = try openForReading(path)
        defer { close(fd) }
        return try check("ioctl", path, "NS_GET_USERNS") { ckernel_ns_get_userns(fd) }
    }

    /// Whether two namespace files (`/proc/A/ns/user`, an fd's `/proc/self/fd/N`) are the
    /// same namespace: same device and inode.
    public static func sameNamespace(_ a: String, _ b: String) throws(KernelError) -> Bool {
        let x = try stat(a, followSymlinks: true)
        let y = try stat(b, followSymlinks: true)
        return x.device == y.device && x.inode == y.inode
    }
}
