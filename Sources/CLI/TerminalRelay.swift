import Glibc
import Kernel

/// `exec -it`: the bytes between this process's terminal and the master of the pty that a
/// command in a container has as its stdio, until that command exits. Our terminal is raw
/// meanwhile, so ^C, ^Z and arrow keys reach the container's line discipline, which turns
/// them into signals and editing there, as with `kubectl exec -it`.
struct TerminalRelay {
    var master: Int32
    /// The command's pidfd: readable once it has exited. nil: wait for the pty to close.
    var pidfd: Int32?

    /// Relays until the command exits (its last output drained) or every holder of the
    /// terminal end has closed it (EIO on the master).
    func run() throws {
        let input: Int32 = 0, output: Int32 = 1
        let settings = try Sys.makeRaw(input)
        defer { Sys.restoreTerminal(input, settings) }
        // Blocked here, read from a signalfd; the spawn shim gives the command an empty mask.
        let winch = try Sys.signalDescriptor([SIGWINCH])
        defer { Sys.close(winch) }
        // Again: ours may have changed since the command was spawned, before SIGWINCH was ours to read.
        Self.copyWindowSize(to: master)
        try Sys.setNonBlocking(master)

        var pending: [UInt8] = []
        var inputOpen = true
        var exited = false
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let ready = try Sys.poll([
                (master, Int16(POLLIN) | (pending.isEmpty ? 0 : Int16(POLLOUT))),
                (pidfd ?? -1, Int16(POLLIN)),
                // Stop reading keys while the container is not taking them.
                (inputOpen && pending.count < buffer.count ? input : -1, Int16(POLLIN)),
                (winch, Int16(POLLIN)),
            ], timeoutMilliseconds: exited ? 0 : nil)

            // The command's output, first: after it exits, what it wrote is still to come.
            var drained = true
            while true {
                let n: Int?
                do { n = try buffer.withUnsafeMutableBytes { try Sys.readSome(master, into: $0) } } catch let error as KernelError where error.errno.rawValue == EIO {
                    return // no one holds the terminal end any more
                }
                guard let n else { break }
                if n == 0 { return }
                drained = false
                try Sys.writeAll(output, Array(buffer[..<n]))
            }
            if exited && drained { return }
            if ready[1] != 0 { exited = true; continue }

            if ready[2] != 0 {
                let n = try buffer.withUnsafeMutableBytes { try Sys.readSome(input, into: $0) }
                if let n {
                    if n == 0 { inputOpen = false } else { pending += buffer[..<n] }
                }
            }
            if !pending.isEmpty {
                let written = try pending.withUnsafeBytes { try Sys.writeSome(master, $0) }
                if let written { pending.removeFirst(written) }
            }
            if ready[3] != 0 {
                _ = Sys.pendingSignals(winch)
                Self.copyWindowSize(to: master)
            }
        }
    }

    /// Our terminal's size onto the container's; the kernel signals its foreground group.
    /// Also called before the command is spawned, so that its first look (`stty size`, a
    /// shell's $COLUMNS) sees our size, not 0x0.
    static func copyWindowSize(to master: Int32) {
        guard let size = localWindowSize() else { return }
        try? Sys.setWindowSize(master, rows: size.rows, columns: size.columns)
    }

    /// Our terminal's size: stdin's, else stdout's; nil when neither is a terminal. Also
    /// what `attach -t` sends the container's terminal (`AttachRelay`).
    static func localWindowSize() -> (rows: UInt16, columns: UInt16)? { Sys.windowSize(0) ?? Sys.windowSize(1) }
}
