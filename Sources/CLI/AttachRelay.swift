import Glibc
import Kernel
import PodModel

/// `attach`: the bytes between this process and a container's stdio, through the attach
/// socket its pod's supervisor serves (`AttachMessage`). Our stdin goes to the container
/// (with -i), its output to our stdout and stderr, and with a terminal our window size to
/// its terminal; our terminal is raw meanwhile (as `exec -it`, `TerminalRelay`).
struct AttachRelay {
    var socket: Int32
    /// Send our stdin.
    var input: Bool
    /// The container has a terminal: put ours in raw mode (with `input`, when stdin is
    /// one), watch for the detach keys, and relay our window size.
    var terminal: Bool
    var detachKeys: DetachKeys

    enum Ending {
        /// The container's run ended (or the supervisor went): the session is over.
        case ended
        /// The detach keys were typed; the container runs on.
        case detached
    }

    func run() throws -> Ending {
        let stdinFD: Int32 = 0, stdoutFD: Int32 = 1, stderrFD: Int32 = 2
        let raw = terminal && input && Sys.isTerminal(stdinFD)
        let settings = raw ? try Sys.makeRaw(stdinFD) : nil
        defer { if let settings { Sys.restoreTerminal(stdinFD, settings) } }
        let winch = terminal ? try Sys.signalDescriptor([SIGWINCH]) : -1
        defer { if winch >= 0 { Sys.close(winch) } }
        if terminal { sendWindowSize() }

        var keys = detachKeys
        var inputOpen = input
        var buffer = [UInt8](repeating: 0, count: AttachMessage.maxPacket)
        while true {
            let ready = try Sys.poll([
                (socket, Int16(POLLIN)),
                (inputOpen ? stdinFD : -1, Int16(POLLIN)),
                (winch, Int16(POLLIN)),
            ], timeoutMilliseconds: nil)
            if ready[0] != 0 {
                let n = try buffer.withUnsafeMutableBytes { try Sys.readSome(socket, into: $0) } ?? -1
                if n == 0 { return .ended }
                if n > 0 {
                    switch AttachMessage(buffer[..<n]) {
                    case .output(let bytes)?: try Sys.writeAll(stdoutFD, bytes)
                    case .errorOutput(let bytes)?: try Sys.writeAll(stderrFD, bytes)
                    default: throw CLIError("attach: unexpected message from the supervisor")
                    }
                }
            }
            if ready[1] != 0 {
                let n = try buffer.withUnsafeMutableBytes { try Sys.readSome(stdinFD, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<AttachMessage.maxPayload])) } ?? -1
                if n == 0 {
                    // kubelet's stdinOnce closes the container's stdin here.
                    inputOpen = false
                    _ = try send(.endOfInput)
                } else if n > 0 {
                    var bytes = Array(buffer[..<n])
                    var detach = false
                    if raw { (bytes, detach) = keys.scan(bytes) }
                    if try !bytes.isEmpty && !send(.input(bytes)) { inputOpen = false }
                    if detach { return .detached }
                }
            }
            if winch >= 0 && ready[2] != 0 {
                _ = Sys.pendingSignals(winch)
                sendWindowSize()
            }
        }
    }

    /// One message to the supervisor; false when the session is over on its side (the
    /// run ended while we sent): what it sent before that is still to be read.
    func send(_ message: AttachMessage) throws -> Bool {
        do { try Sys.sendPacket(socket, message.encoded) } catch where [EPIPE, ECONNRESET].contains(error.errno.rawValue) {
            return false
        }
        return true
    }

    /// Our terminal's size to the container's (`TerminalRelay.localWindowSize`).
    func sendWindowSize() {
        guard let size = TerminalRelay.localWindowSize() else { return }
        _ = try? Sys.sendPacket(socket, AttachMessage.resize(rows: size.rows, columns: size.columns).encoded)
    }
}
