import Glibc
import Kernel

/// A port on 127.0.0.1 that is free now, from the kernel's ephemeral range (bound to port
/// 0, read back, closed). Another process may take it before the caller binds it.
public func freeLoopbackPort(udp: Bool = false) throws -> Int {
    let fd = try Sys.bindPort(udp ? .udp : .tcp, address: "127.0.0.1", port: 0)
    defer { Sys.close(fd) }
    var a = sockaddr_in()
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: a.sin_port))
}
