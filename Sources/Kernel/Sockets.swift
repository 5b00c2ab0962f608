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

/// Sockets that hold a port: a pod's hostPorts, bound by the reconciler and handed to the
/// supervisor, so that no other process can take the port while the pod lives.
extension Sys {
    public enum PortProtocol: String, Sendable, Hashable {
        case tcp, udp
    }

    /// A socket bound to `address` (nil: every address) and `port`, listening for TCP; the
    /// fd is close-on-exec and the caller's. An address with a `:` is IPv6; nil binds `::`
    /// with IPV6_V6ONLY cleared, so IPv4 too, or `0.0.0.0` on a host without IPv6. The
    /// error names the protocol, address and port: `bind "tcp 0.0.0.0:8080": EADDRINUSE`.
    public static func bindPort(_ proto: PortProtocol, address: String?, port: UInt16) throws(KernelError) -> Int32 {
        let type = proto == .tcp ? Int32(SOCK_STREAM.rawValue) : Int32(SOCK_DGRAM.rawValue)
        func attempt(_ family: Int32) -> (fd: Int32, errno: Int32) {
            var fd: Int32 = -1
            let r = ckernel_bind_port(family, type, address, port, &fd)
            return (fd, r)
        }
        let v6 = address?.contains(":") ?? true
        var r = attempt(v6 ? AF_INET6 : AF_INET)
        var shown = address.map { v6 ? "[\($0)]" : $0 } ?? "[::]"
        if address == nil && r.errno == EAFNOSUPPORT {
            r = attempt(AF_INET)
            shown = "0.0.0.0"
        }
        if r.errno != 0 {
            throw KernelError(proto == .tcp ? "bind/listen" : "bind", path: nil, argument: "\(proto.rawValue) \(shown):\(port)", errno: Errno(rawValue: r.errno))
        }
        return r.fd
    }
}

extension KernelError {
    /// EADDRINUSE: another socket holds the address and port.
    public var isAddressInUse: Bool { errno.rawValue == EADDRINUSE }
}
