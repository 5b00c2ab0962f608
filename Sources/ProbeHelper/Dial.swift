#if canImport(Glibc)
import Glibc
#endif
import Kernel

/// One TCP connect with a deadline, made before the protocol's client connects, so that the
/// helper can tell a dial failure from a later one in kubelet's words: Go's net/http reports
/// a refused connection at once (`dial tcp ...: connect: connection refused`), and grpc-go's
/// blocking dial keeps trying until the probe's timeout. The socket is closed again; the
/// client makes its own connection.
enum Dial {
    enum Outcome: Equatable {
        case connected
        /// The errno's text as Go prints it (`connection refused`).
        case failed(String)
        case timedOut
    }

    /// Monotonic nanoseconds, the helper's deadlines' clock.
    static func now() -> Int64 { MonotonicClock.now() }

    /// Tries once, or (`retryRefused`) again every 100 ms while the port refuses, until
    /// `deadline`.
    static func connect(host: String, port: UInt16, deadline: Int64, retryRefused: Bool) -> Outcome {
        while true {
            let outcome = once(host: host, port: port, deadline: deadline)
            guard retryRefused, case .failed = outcome else { return outcome }
            let left = deadline - now()
            if left <= 0 { return .timedOut }
            MonotonicClock.sleep(nanoseconds: min(left, 100_000_000))
        }
    }

    static func once(host: String, port: UInt16, deadline: Int64) -> Outcome {
        var storage = sockaddr_storage()
        var length: socklen_t
        let family: Int32
        if host.contains(":") {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &a.sin6_addr) == 1 else { return .failed("invalid address \(host)") }
            withUnsafeBytes(of: a) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            family = AF_INET6
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            let name = host == "localhost" ? "127.0.0.1" : host
            guard inet_pton(AF_INET, name, &a.sin_addr) == 1 else { return .failed("invalid address \(host)") }
            withUnsafeBytes(of: a) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            family = AF_INET
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { return .failed(errorText(errno)) }
        defer { close(fd) }
        let r = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) } }
        if r == 0 { return .connected }
        guard errno == EINPROGRESS else { return .failed(errorText(errno)) }
        while true {
            let left = deadline - now()
            if left <= 0 { return .timedOut }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let n = poll(&p, 1, Int32(clamping: (left + 999_999) / 1_000_000))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { continue }
            var error: Int32 = 0
            var size = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
            return error == 0 ? .connected : .failed(errorText(error))
        }
    }

    /// strerror in lower case, as Go's syscall errors read.
    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code)).lowercased()
    }
}
