import Glibc
import Kernel
import PodModel

/// The host ports a pod publishes, bound and held for the pod's life, as kubelet's
/// hostport manager did: the DNAT rule alone would let a second pod's rule win silently
/// (cri-o#2342); a held port makes the second pod fail with "address already in use".
public enum HostPorts {
    /// Binds each mapping's port (TCP: listening; UDP: bound) on its hostIP, or on every
    /// address; the fds are close-on-exec and the caller's, to hand to the supervisor on
    /// purpose. On any failure the ones bound so far are closed and the error names the
    /// port, protocol and address. SCTP is not held: opening an SCTP socket loads the
    /// kernel's sctp module on the host, which kubelet avoided too; its DNAT still applies.
    public static func bind(_ mappings: [PortMapping]) throws(NetworkError) -> [Int32] {
        var fds: [Int32] = []
        for m in mappings {
            let proto: Sys.PortProtocol
            switch m.proto {
            case "tcp": proto = .tcp
            case "udp": proto = .udp
            default: continue
            }
            do throws(KernelError) {
                guard let port = UInt16(exactly: m.hostPort), port > 0 else {
                    throw KernelError("bind", argument: "\(m.proto) port \(m.hostPort)", errno: .init(rawValue: EINVAL))
                }
                fds.append(try Sys.bindPort(proto, address: m.hostIP.isEmpty ? nil : m.hostIP, port: port))
            } catch {
                for fd in fds { Sys.close(fd) }
                throw error.isAddressInUse ? .hostPortInUse(m, error) : .hostPort(m, error)
            }
        }
        return fds
    }
}
