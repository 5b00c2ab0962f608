import Glibc
import SystemPackage

/// A failed system call, with what it was called on.
///
/// Reads as `write /sys/fs/cgroup/memory/podrec/x/memory.limit_in_bytes "67108864": EBUSY
/// (Device or resource busy)`: the operation, the path, the argument when there is one
/// that matters, and the errno by name.
public struct KernelError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The call, spelled as in C: `open`, `write`, `mkdir`, `mount`, `setns`, ...
    public var operation: String
    public var path: String?
    /// The data written, a flag set, a pid: what makes the failure reproducible. Callers
    /// never pass secrets here.
    public var argument: String?
    public var errno: Errno

    public init(_ operation: String, path: String? = nil, argument: String? = nil, errno: Errno) {
        self.operation = operation
        self.path = path
        self.argument = argument
        self.errno = errno
    }

    public var description: String {
        var s = operation
        if let path { s += " " + path }
        if let argument { s += " \"" + argument + "\"" }
        return s + ": " + errno.symbol + " (" + errno.message + ")"
    }
}

extension Errno {
    /// The C name, `ENOENT`, for messages that users search for.
    public var symbol: String {
        switch rawValue {
        case Glibc.EPERM: return "EPERM"
        case Glibc.ENOENT: return "ENOENT"
        case Glibc.ESRCH: return "ESRCH"
        case Glibc.EINTR: return "EINTR"
        case Glibc.EIO: return "EIO"
        case Glibc.ENXIO: return "ENXIO"
        case Glibc.E2BIG: return "E2BIG"
        case Glibc.ENOEXEC: return "ENOEXEC"
        case Glibc.EBADF: return "EBADF"
        case Glibc.ECHILD: return "ECHILD"
        case Glibc.EAGAIN: return "EAGAIN"
        case Glibc.ENOMEM: return "ENOMEM"
        case Glibc.EACCES: return "EACCES"
        case Glibc.EFAULT: return "EFAULT"
        case Glibc.EBUSY: return "EBUSY"
        case Glibc.EEXIST: return "EEXIST"
        case Glibc.EXDEV: return "EXDEV"
        case Glibc.ENODEV: return "ENODEV"
        case Glibc.ENOTDIR: return "ENOTDIR"
        case Glibc.EISDIR: return "EISDIR"
        case Glibc.EINVAL: return "EINVAL"
        case Glibc.ENFILE: return "ENFILE"
        case Glibc.EMFILE: return "EMFILE"
        case Glibc.ETXTBSY: return "ETXTBSY"
        case Glibc.EFBIG: return "EFBIG"
        case Glibc.ENOSPC: return "ENOSPC"
        case Glibc.ESPIPE: return "ESPIPE"
        case Glibc.EROFS: return "EROFS"
        case Glibc.EMLINK: return "EMLINK"
        case Glibc.EPIPE: return "EPIPE"
        case Glibc.ERANGE: return "ERANGE"
        case Glibc.ENAMETOOLONG: return "ENAMETOOLONG"
        case Glibc.ENOSYS: return "ENOSYS"
        case Glibc.ENOTEMPTY: return "ENOTEMPTY"
        case Glibc.ELOOP: return "ELOOP"
        case Glibc.EOPNOTSUPP: return "EOPNOTSUPP"
        case Glibc.EOVERFLOW: return "EOVERFLOW"
        case Glibc.EDQUOT: return "EDQUOT"
        case Glibc.EADDRINUSE: return "EADDRINUSE"
        case Glibc.EADDRNOTAVAIL: return "EADDRNOTAVAIL"
        case Glibc.EAFNOSUPPORT: return "EAFNOSUPPORT"
        default: return "errno \(rawValue)"
        }
    }

    /// strerror's text.
    public var message: String {
        guard let s = strerror(rawValue) else { return "unknown error" }
        return String(cString: s)
    }
}
