import CKernel
import Glibc
import SystemPackage

/// Pseudo-terminals and the caller's own terminal, for `podrec exec -t`.
extension Sys {
    /// A new pseudo-terminal of the devpts instance at `<root>/dev/pts` (a container's, seen
    /// from the host through `/proc/PID/root`): the master, and the terminal end that the
    /// command gets as its stdio. The path is resolved with `root` as "/" (openat2
    /// RESOLVE_IN_ROOT) and the terminal end is opened from the master, not by name, so
    /// nothing a container put in its `/dev` can lead outside it. Both fds are close-on-exec.
    public static func openPseudoTerminal(root: String) throws(KernelError) -> (master: Int32, terminal: Int32) {
        let rootFD = try open(root, ckernel_o_path() | O_DIRECTORY)
        defer { close(rootFD) }
        let ptmx = root + "/dev/pts/ptmx"
        let master = try check("openat2", ptmx) { ckernel_openat2_in_root(rootFD, "dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC) }
        do {
            _ = try check("ioctl", ptmx, "TIOCSPTLCK") { ckernel_pty_unlock(master) }
            let terminal = try check("ioctl", ptmx, "TIOCGPTPEER") { ckernel_pty_peer(master) }
            return (master, terminal)
        } catch {
            close(master)
            throw error
        }
    }

    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// The rows and columns of a terminal; nil when `fd` is none.
    public static func windowSize(_ fd: Int32) -> (rows: UInt16, columns: UInt16)? {
        var rows: UInt16 = 0, columns: UInt16 = 0
        guard ckernel_get_window_size(fd, &rows, &columns) == 0 else { return nil }
        return (rows, columns)
    }

    /// Sets a terminal's size; the kernel sends SIGWINCH to its foreground process group.
    public static func setWindowSize(_ fd: Int32, rows: UInt16, columns: UInt16) throws(KernelError) {
        _ = try check("ioctl", nil, "TIOCSWINSZ \(rows)x\(columns)") { ckernel_set_window_size(fd, rows, columns) }
    }

    /// A terminal's settings, kept to be put back with `restoreTerminal`.
    public struct TerminalSettings: @unchecked Sendable {
        fileprivate var value: termios
    }

    /// Puts a terminal in raw mode (cfmakeraw: no echo, no line editing, no signals from
    /// keys), so that every key reaches the program on the other side, and returns the
    /// settings it had.
    public static func makeRaw(_ fd: Int32) throws(KernelError) -> TerminalSettings {
        var saved = termios()
        _ = try check("tcgetattr", nil, "\(fd)") { tcgetattr(fd, &saved) }
        var raw = saved
        cfmakeraw(&raw)
        _ = try check("tcsetattr", nil, "\(fd)") { tcsetattr(fd, TCSANOW, &raw) }
        return TerminalSettings(value: saved)
    }

    public static func restoreTerminal(_ fd: Int32, _ settings: TerminalSettings) {
        var value = settings.value
        _ = tcsetattr(fd, TCSANOW, &value)
    }
}
