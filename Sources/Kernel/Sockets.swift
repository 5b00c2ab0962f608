import CKernel
import Glibc
import SystemPackage

/// TCP for the supervisor's probes: non-blocking, IPv4, no name lookup (a pod has no DNS
/// of its own; probes name an address).
extension Sys {
    /// Starts a connection: the fd, and whether it is connected already (else poll for
    /// POLLOUT, then `socketError`).
    public static func connectTCP(_ ipv4: String, port: UInt16) throws(KernelError) -> (fd: Int32, connected: Bool) {
        var fd: Int32 = -1
        let r = ckernel_tcp_connect(ipv4, port, &fd)
        switch r {
        case 0: return (fd, true)
        case EINPROGRESS: return (fd, false)
        default: throw KernelError("connect", path: nil, argument: "\(ipv4):\(port)", errno: Errno(rawValue: r))
        }
    }

    /// How a non-blocking connect ended: nil when connected, else its error.
    public static func socketError(_ fd: Int32) -> Errno? {
        let e = ckernel_socket_error(fd)
        return e == 0 ? nil : Errno(rawValue: e)
    }
}
