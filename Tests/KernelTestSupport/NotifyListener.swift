import Glibc
import Kernel

/// A unix datagram socket bound at a path, standing in for systemd's notify socket: what
/// a service sends with sd_notify(3) arrives here, one message per datagram.
public final class NotifyListener {
    public let path: String
    let fd: Int32

    public init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw KernelError("socket", path: path, errno: .init(rawValue: errno)) }
        self.path = path
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let r = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard r == 0 else {
            let e = errno
            Glibc.close(fd)
            throw KernelError("bind", path: path, errno: .init(rawValue: e))
        }
    }

    /// The next message, or nil when none came within `milliseconds`.
    public func receive(milliseconds: Int32) -> String? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, milliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n < 0 ? nil : String(decoding: buffer[..<n], as: UTF8.self)
    }

    /// Messages until one contains `field` (a whole line), or nil after `milliseconds`
    /// with none: the messages before it too, in order.
    public func receive(until field: String, milliseconds: Int64) -> [String]? {
        let deadline = MonotonicClock.now() + milliseconds * 1_000_000
        var seen: [String] = []
        while MonotonicClock.now() < deadline {
            guard let m = receive(milliseconds: Int32(max(1, (deadline - MonotonicClock.now()) / 1_000_000))) else { continue }
            seen.append(m)
            if m.split(separator: "\n").contains(Substring(field)) { return seen }
        }
        return nil
    }

    public func close() {
        Glibc.close(fd)
        unlink(path)
    }
}
