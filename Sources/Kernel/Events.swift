import CKernel
import Glibc
import SystemPackage

/// What an event loop without Dispatch needs: signals as an fd, pipes, poll, and
/// non-blocking reads. The supervisor waits in one `poll` on all of them.
extension Sys {
    /// Blocks `signals` and returns a signalfd that reads them (CLOEXEC, non-blocking).
    /// Spawned children start with an empty mask again (the spawn shim resets it).
    public static func signalDescriptor(_ signals: [Int32]) throws(KernelError) -> Int32 {
        let fd = signals.withUnsafeBufferPointer { ckernel_signalfd($0.baseAddress, Int32($0.count)) }
        if fd < 0 { throw KernelError("signalfd", path: nil, argument: signals.map(String.init).joined(separator: ","), errno: Errno(rawValue: errno)) }
        return fd
    }

    /// Blocks `signals` in this thread, and so in every thread it starts from now on: a
    /// process that reads them from a signalfd must block them before it starts threads
    /// (a library's event loop), or one of those threads takes the signal's default action.
    public static func blockSignals(_ signals: [Int32]) throws(KernelError) {
        let rc = signals.withUnsafeBufferPointer { ckernel_block_signals($0.baseAddress, Int32($0.count)) }
        if rc != 0 { throw KernelError("sigprocmask", path: nil, argument: signals.map(String.init).joined(separator: ","), errno: Errno(rawValue: errno)) }
    }

    /// Every signal pending on a signalfd, in arrival order (several of one kind merge).
    public static func pendingSignals(_ fd: Int32) -> [Int32] {
        var out: [Int32] = []
        while true {
            let s = ckernel_signalfd_read(fd)
            if s < 0 { break }
            out.append(s)
        }
        return out
    }

    /// A pipe, both ends close-on-exec: `read` for the parent, `write` to hand to a child
    /// (the spawn shim's dup2 onto 1 or 2 clears the flag there). With `nonBlockingRead`
    /// only the read end is non-blocking: a child writing a full pipe must block, not fail.
    public static func pipe(nonBlockingRead: Bool = false) throws(KernelError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try check("pipe2", nil) { fds.withUnsafeMutableBufferPointer { ckernel_pipe_cloexec($0.baseAddress) } }
        if nonBlockingRead {
            do { _ = try check("fcntl", nil, "O_NONBLOCK") { ckernel_set_nonblocking(fds[0]) } } catch {
                close(fds[0]); close(fds[1])
                throw error
            }
        }
        return (fds[0], fds[1])
    }

    /// One read(2) into `buffer`: the byte count, 0 at end of file, nil when a non-blocking
    /// fd has nothing now (EAGAIN).
    public static func readSome(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, describedAs path: String? = nil) throws(KernelError) -> Int? {
        switch retrying({ Glibc.read(fd, buffer.baseAddress, buffer.count) }) {
        case .success(let n): return n
        case .failure(let e) where e.rawValue == EAGAIN: return nil
        case .failure(let e): throw KernelError("read", path: path, errno: e)
        }
    }

    /// poll(2) on `fds` for reading; returns the revents of each, in order. A timeout of
    /// nil waits for ever. EINTR counts as "nothing ready".
    public static func pollReadable(_ fds: [Int32], timeoutMilliseconds: Int32?) throws(KernelError) -> [Int16] {
        try poll(fds.map { ($0, Int16(POLLIN)) }, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// poll(2) on `(fd, events)` pairs (a negative fd is skipped, as poll does); the revents
    /// of each, in order. A timeout of nil waits for ever. EINTR counts as "nothing ready".
    public static func poll(_ fds: [(fd: Int32, events: Int16)], timeoutMilliseconds: Int32?) throws(KernelError) -> [Int16] {
        var entries = fds.map { pollfd(fd: $0.fd, events: $0.events, revents: 0) }
        let r = entries.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), timeoutMilliseconds ?? -1) }
        if r < 0 {
            if errno == EINTR { return Array(repeating: 0, count: fds.count) }
            throw KernelError("poll", path: nil, errno: Errno(rawValue: errno))
        }
        return entries.map(\.revents)
    }

    /// poll(2)'s POLLIN and POLLOUT, for callers that import no Glibc.
    public static let pollReadableEvent = Int16(POLLIN)
    public static let pollWritable = Int16(POLLOUT)

    public static func setNonBlocking(_ fd: Int32) throws(KernelError) {
        _ = try check("fcntl", nil, "O_NONBLOCK") { ckernel_set_nonblocking(fd) }
    }

    /// One write(2): the byte count, or nil when a non-blocking fd is full (EAGAIN).
    public static func writeSome(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, describedAs path: String? = nil) throws(KernelError) -> Int? {
        switch retrying({ Glibc.write(fd, bytes.baseAddress, bytes.count) }) {
        case .success(let n): return n
        case .failure(let e) where e.rawValue == EAGAIN: return nil
        case .failure(let e): throw KernelError("write", path: path, errno: e)
        }
    }

    /// Brings `lo` up in the caller's network namespace.
    public static func loopbackUp() throws(KernelError) {
        _ = try check("ioctl", "lo", "SIOCSIFFLAGS IFF_UP") { ckernel_loopback_up() }
    }

    /// `/proc/PID/oom_score_adj`. Root without CAP_SYS_RESOURCE may only raise it.
    public static func setOOMScoreAdjust(_ pid: Int32, _ value: Int32, proc: String = "/proc") throws(KernelError) {
        try writeString("\(proc)/\(pid)/oom_score_adj", String(value))
    }

    /// waitpid(-1, WNOHANG) with the rusage-free status: every child that has exited,
    /// reaped. The supervisor is PID 1 or a subreaper, so orphans come here too.
    public static func reapAll() -> [(pid: Int32, status: Int32)] {
        var out: [(pid: Int32, status: Int32)] = []
        while let r = reapAny() { out.append(r) }
        return out
    }
}

extension Sys {
    /// SIG_IGN for `signal`: the supervisor ignores SIGPIPE, so a closed log pipe is an
    /// EPIPE, not a death. The spawn shim resets every disposition in its children.
    public static func ignoreSignal(_ signal: Int32) {
        _ = Glibc.signal(signal, SIG_IGN)
    }

    /// This process's pid in the host's PID namespace: `/proc/self` of the host's procfs
    /// (the supervisor stays in the host mount namespace, so its `/proc` is the host's).
    public static func hostPIDOfSelf(proc: String = "/proc") -> Int32 {
        (try? readlink(proc + "/self")).flatMap { Int32($0) } ?? getpid()
    }

    /// getpid(2): in the caller's own PID namespace (1 for a namespace's init).
    public static func ownPID() -> Int32 { getpid() }
}

extension Sys {
    /// Writes `text` to stderr, unbuffered: the supervisor has no Foundation and no stdio.
    public static func printError(_ text: String) {
        _ = try? writeAll(2, Array(text.utf8), path: "stderr")
    }

    public static func exit(_ code: Int32) -> Never { Glibc.exit(code) }
}

/// Signal numbers for code that imports no Glibc.
public enum Signal {
    public static let hangup = SIGHUP
    public static let interrupt = SIGINT
    public static let kill = SIGKILL
    public static let pipe = SIGPIPE
    public static let terminate = SIGTERM
    public static let child = SIGCHLD
    public static let quit = SIGQUIT
    public static let user1 = SIGUSR1
    public static let user2 = SIGUSR2

    /// `SIGTERM` → 15, `TERM` → 15; nil for a name it does not know.
    public static func number(_ name: String) -> Int32? {
        let n = name.hasPrefix("SIG") ? String(name.dropFirst(3)) : name
        let table: [String: Int32] = [
            "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "TRAP": SIGTRAP, "ABRT": SIGABRT,
            "BUS": SIGBUS, "FPE": SIGFPE, "KILL": SIGKILL, "USR1": SIGUSR1, "SEGV": SIGSEGV, "USR2": SIGUSR2,
            "PIPE": SIGPIPE, "ALRM": SIGALRM, "TERM": SIGTERM, "STKFLT": 16, "CHLD": SIGCHLD, "CONT": SIGCONT,
            "STOP": SIGSTOP, "TSTP": SIGTSTP, "TTIN": SIGTTIN, "TTOU": SIGTTOU, "URG": SIGURG, "XCPU": SIGXCPU,
            "XFSZ": SIGXFSZ, "VTALRM": SIGVTALRM, "PROF": SIGPROF, "WINCH": SIGWINCH, "IO": SIGIO, "PWR": SIGPWR,
            "SYS": SIGSYS,
        ]
        return table[n]
    }
}

extension Sys {
    /// `/dev/null` for reading and writing: a container's stdin.
    public static func openNull() throws(KernelError) -> Int32 { try open("/dev/null", O_RDWR) }
}

extension Sys {
    /// waitpid(pid, WNOHANG): reaps `pid` if it is an exited child of ours; the raw status,
    /// or nil (still running, or not our child).
    @discardableResult
    public static func reapChild(_ pid: Int32) -> Int32? {
        var status: Int32 = 0
        return Glibc.waitpid(pid, &status, WNOHANG) == pid ? status : nil
    }
}

extension Sys {
    /// setsid(2): a session and process group of its own, so that a terminal's hangup or
    /// ^C that reaches the command which started the supervisor never reaches the pod.
    public static func newSession() throws(KernelError) {
        _ = try check("setsid", nil) { Glibc.setsid() }
    }
}

/// inotify on one directory, for waiting on a file that another process replaces by
/// rename (the supervisor's status): woken at the rename itself, not by a polling tick.
///
/// Every watch of the process shares one inotify instance that is never closed: closing
/// an instance waits for an SRCU grace period in the kernel (fsnotify's group teardown),
/// measured here at 15–20 ms, which would land on every `apply`. Removing a watch does
/// not wait. A side effect: two threads waiting at once may take each other's events; each
/// then wakes at its timeout instead, which is why callers bound each wait.
public struct DirectoryWatch: ~Copyable {
    static let instance: Int32 = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))

    /// Opens the shared instance now: for leak checks, which must not count this one fd,
    /// held for the life of the process, as a leak of the first test that waits.
    public static func openSharedInstance() { _ = instance }

    public let fd: Int32
    let wd: Int32

    /// Watches `directory` for files renamed into it or closed after writing.
    public init(_ directory: String) throws(KernelError) {
        let fd = Self.instance
        if fd < 0 { throw KernelError("inotify_init1", path: directory, errno: Errno(rawValue: ENOMEM)) }
        wd = try Sys.check("inotify_add_watch", directory) {
            inotify_add_watch(fd, directory, UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE))
        }
        self.fd = fd
    }

    /// Waits up to `milliseconds` for an event; true if one came. Pending events are drained.
    public func wait(milliseconds: Int32) -> Bool {
        let ready = (try? Sys.pollReadable([fd], timeoutMilliseconds: milliseconds))?.first ?? 0
        guard ready != 0 else { return false }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ (try? Sys.readSome(fd, into: $0)) ?? nil }) ?? 0 > 0 {}
        return true
    }

    deinit { _ = inotify_rm_watch(fd, wd) }
}

extension Sys {
    /// dup2(2): `fd` also as `target`, which is closed first if open (stdin replaced by
    /// /dev/null once it has served its purpose).
    public static func duplicate(_ fd: Int32, onto target: Int32) throws(KernelError) {
        _ = try check("dup2", nil, "\(fd) onto \(target)") { Glibc.dup2(fd, target) }
    }
}

extension Sys {
    /// A memory file (memfd_create, close-on-exec) holding `bytes`, its offset back at 0: a
    /// child's stdin that needs no writer. A pipe would need one as long as the input is
    /// larger than its buffer, and a SIGPIPE if the child exits without reading.
    public static func memoryFile(_ name: String, _ bytes: [UInt8]) throws(KernelError) -> Int32 {
        let fd = try check("memfd_create", name) { ckernel_memfd(name) }
        do {
            try writeAll(fd, bytes, path: "memfd:" + name)
            _ = try check("lseek", "memfd:" + name, "0") { Glibc.lseek(fd, 0, SEEK_SET) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }
}
