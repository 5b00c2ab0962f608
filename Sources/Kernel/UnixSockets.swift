import CKernel
import Glibc
import SystemPackage

/// Unix seqpacket sockets: a pod's attach socket (the supervisor listens in the pod's state
/// dir, `podrec attach` connects), and the pair over which the spawn shim hands back the
/// master of a container's terminal. Packets keep their bounds, so a message never needs
/// a length prefix, and a peer that closed reads as 0 bytes.
extension Sys {
    /// A listening, non-blocking socket at `path`. The path goes through `/proc/self/fd` of
    /// its directory, so sun_path's 108 bytes bound only that short form, not the state
    /// dir's length. Its mode is `mode` (0600: the caller's user only).
    public static func listenUnix(directory: String, name: String, mode: UInt32 = 0o600) throws(KernelError) -> Int32 {
        let dir = try open(directory, ckernel_o_path() | O_DIRECTORY)
        defer { close(dir) }
        let short = "/proc/self/fd/\(dir)/\(name)"
        _ = try? unlinkIfPresent(directory + "/" + name)
        var fd: Int32 = -1
        let r = ckernel_unix_listen(short, &fd)
        if r != 0 { throw KernelError("bind/listen", path: directory + "/" + name, errno: Errno(rawValue: r)) }
        do { _ = try check("chmod", directory + "/" + name) { Glibc.chmod(short, mode_t(mode)) } } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// A blocking connection to the socket `name` in `directory`.
    public static func connectUnix(directory: String, name: String) throws(KernelError) -> Int32 {
        let dir = try open(directory, ckernel_o_path() | O_DIRECTORY)
        defer { close(dir) }
        var fd: Int32 = -1
        let r = ckernel_unix_connect("/proc/self/fd/\(dir)/\(name)", &fd)
        if r != 0 { throw KernelError("connect", path: directory + "/" + name, errno: Errno(rawValue: r)) }
        return fd
    }

    /// A waiting connection, non-blocking; nil when there is none.
    public static func acceptUnix(_ fd: Int32) throws(KernelError) -> Int32? {
        let s = ckernel_unix_accept(fd)
        if s >= 0 { return s }
        if errno == EAGAIN || errno == EINTR || errno == ECONNABORTED { return nil }
        throw KernelError("accept", path: nil, errno: Errno(rawValue: errno))
    }

    /// A connected pair, both ends close-on-exec.
    public static func seqpacketPair() throws(KernelError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try check("socketpair", nil) { fds.withUnsafeMutableBufferPointer { ckernel_seqpacket_pair($0.baseAddress) } }
        return (fds[0], fds[1])
    }

    /// One packet. Blocking unless `nonBlocking`; then false when the socket is full
    /// (EAGAIN). A peer that has gone is EPIPE, never SIGPIPE.
    @discardableResult
    public static func sendPacket(_ fd: Int32, _ bytes: [UInt8], nonBlocking: Bool = false) throws(KernelError) -> Bool {
        let r = retrying { bytes.withUnsafeBytes { ckernel_send_packet(fd, $0.baseAddress, UInt($0.count), nonBlocking ? 1 : 0) } }
        switch r {
        case .success: return true
        case .failure(let e) where e.rawValue == EAGAIN: return false
        case .failure(let e): throw KernelError("send", path: nil, errno: e)
        }
    }

    /// The fd a peer sent with SCM_RIGHTS, if one is waiting.
    public static func receiveDescriptor(_ socket: Int32) -> Int32? {
        let fd = ckernel_receive_fd(socket)
        return fd >= 0 ? fd : nil
    }
}
