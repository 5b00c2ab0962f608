import CKernel
import Glibc
import SystemPackage

/// One datagram to a unix socket by path: the systemd notify protocol (`$NOTIFY_SOCKET`).
extension Sys {
    /// Sends `bytes` in one datagram to the socket at `path`; a path that starts with `@`
    /// names an abstract socket (the `@` stands for the leading NUL, as systemd writes it).
    public static func sendUnixDatagram(_ bytes: [UInt8], to path: String) throws(KernelError) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var name = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !name.isEmpty, name.count < capacity else {
            throw KernelError("sendto", path: path, errno: Errno(rawValue: ENAMETOOLONG))
        }
        if name[0] == UInt8(ascii: "@") { name[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: name)
        }
        // An abstract name is exactly its bytes; a path is NUL-terminated (the tuple is zeroed).
        let length = socklen_t(MemoryLayout<sa_family_t>.size + name.count + (name[0] == 0 ? 0 : 1))
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw KernelError("socket", path: path, errno: Errno(rawValue: errno)) }
        defer { close(fd) }
        let sent = bytes.withUnsafeBytes { data in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, data.baseAddress, data.count, Int32(MSG_NOSIGNAL), $0, length)
                }
            }
        }
        guard sent == bytes.count else { throw KernelError("sendto", path: path, errno: Errno(rawValue: sent < 0 ? errno : EMSGSIZE)) }
    }
}
