import ContainerLogs
import Kernel
import PodModel
import PodState

/// `podrec attach`: the supervisor's side. It holds each running container's terminal
/// master (`tty`) or the write end of its stdin pipe (`stdin` without `tty`), and serves
/// the pod's attach socket: a client names a container and gets its output from then on
/// (as kubectl attach, nothing from before: the log has that), sends its input and its
/// window size. Non-blocking throughout, in the supervisor's one poll loop.
extension Supervisor {
    /// One run's input side.
    final class Console {
        let container: String
        /// The run's log: a console and its sessions belong to one run.
        let log: RunLog
        /// The terminal's master; its output is read as a `Pipe` (which closes it at EOF).
        let terminal: Int32?
        /// Where input goes: the master (with `stdin`), the pipe's write end, or -1 (none,
        /// or closed by `stdinOnce`).
        var input: Int32
        /// `input` is the pipe's write end, ours to close.
        let ownsInput: Bool
        let stdinOnce: Bool
        /// Input waiting for room in the pipe or terminal; while there is some, the sessions
        /// of this container are not read (backpressure, not an unbounded buffer).
        var pending: [UInt8] = []

        init(container: String, log: RunLog, terminal: Int32?, input: Int32, ownsInput: Bool, stdinOnce: Bool) {
            self.container = container
            self.log = log
            self.terminal = terminal
            self.input = input
            self.ownsInput = ownsInput
            self.stdinOnce = stdinOnce
        }

        /// kubelet's StdinOnce: the container's stdin is closed when the first session
        /// that had it ends. A pipe's write end closes (the container reads EOF); a
        /// terminal takes no more input (its master stays: it is also the output).
        func closeInput() {
            if ownsInput, input >= 0 { Sys.close(input) }
            input = -1
            pending = []
        }
    }

    /// One client of the attach socket.
    final class Session {
        let fd: Int32
        /// Set by its hello: the container, and the run it attached to (`RunLog` is per run).
        var container: String?
        var run: RunLog?
        var stdin = false

        init(fd: Int32) { self.fd = fd }
    }

    /// The socket in the pod's state dir (owner: the supervisor; mode 0600, like conmon's).
    func listenForAttach() {
        do { attachFD = try Sys.listenUnix(directory: state.path, name: PodStateDirectory.File.attach.rawValue) } catch {
            // The pod runs without attach rather than not at all.
            Sys.printError("podrec-supervisor: attach socket: \(error)\n")
        }
    }

    /// The poll entries of attach: the listener, each session (unless its container's input
    /// is backed up), and each console with input waiting for room.
    var attachPollSet: [(fd: Int32, events: Int16)] {
        [(attachFD, Sys.pollReadableEvent)]
            + sessions.map { s in
                let stalled = console(of: s).map { !$0.pending.isEmpty } ?? false
                return (stalled ? -1 : s.fd, Sys.pollReadableEvent)
            }
            + consoleOrder.map { name in
                let c = consoles[name]!
                return (c.pending.isEmpty ? -1 : c.input, Sys.pollWritable)
            }
    }

    /// The consoles in a fixed order for one poll.
    var consoleOrder: [String] { consoles.keys.sorted() }

    /// What the poll found ready, in `attachPollSet`'s order.
    func serveAttach(_ ready: ArraySlice<Int16>, consoleNames: [String], sessionsPolled: [Session]) {
        var i = ready.startIndex
        let listenerReady = ready[i] != 0
        i += 1
        for s in sessionsPolled {
            if ready[i] != 0 { readSession(s) }
            i += 1
        }
        for name in consoleNames {
            if ready[i] != 0, let c = consoles[name] { flushInput(c) }
            i += 1
        }
        if listenerReady {
            while let fd = (try? Sys.acceptUnix(attachFD)) ?? nil { sessions.append(Session(fd: fd)) }
        }
    }

    func readSession(_ s: Session) {
        guard sessions.contains(where: { $0 === s }) else { return }
        let packet: [UInt8]
        do {
            guard let n = try Sys.readSome(s.fd, into: buffer) else { return }
            if n == 0 { return endSession(s) }
            packet = Array(buffer[0..<n])
        } catch { return endSession(s) }
        guard let message = AttachMessage(packet) else { return endSession(s) }
        switch message {
        case .hello(let name, let stdin):
            guard s.container == nil else { return endSession(s) }
            if let refusal = refusal(name, stdin: stdin) {
                _ = try? Sys.sendPacket(s.fd, AttachMessage.refused(refusal).encoded, nonBlocking: true)
                return endSession(s)
            }
            s.container = name
            s.run = currentLogs[name]
            s.stdin = stdin
            if (try? Sys.sendPacket(s.fd, AttachMessage.accepted.encoded, nonBlocking: true)) != true { endSession(s) }
        case .input(let bytes):
            guard s.stdin, let c = console(of: s), c.input >= 0 else { return }
            c.pending += bytes
            flushInput(c)
        case .endOfInput:
            guard s.stdin else { return }
            s.stdin = false
            if let c = console(of: s), c.stdinOnce { c.closeInput() }
        case .resize(let rows, let columns):
            guard let master = console(of: s)?.terminal else { return }
            try? Sys.setWindowSize(master, rows: rows, columns: columns)
        case .accepted, .refused, .output, .errorOutput:
            endSession(s)
        }
    }

    /// Why `container` cannot be attached to now; nil when it can.
    func refusal(_ container: String, stdin: Bool) -> String? {
        guard let spec = lifecycle.plan.container(container) else { return "container \(container) is not valid for pod \(lifecycle.plan.name)" }
        guard runs[container] != nil, currentLogs[container] != nil else { return "container \(container) is not running" }
        if stdin && !spec.stdin { return "Unable to use stdin - container \(container) did not allocate one" }
        return nil
    }

    /// A session is over: its client left, detached, or spoke something else.
    func endSession(_ s: Session) {
        guard let i = sessions.firstIndex(where: { $0 === s }) else { return }
        sessions.remove(at: i)
        Sys.close(s.fd)
        if s.stdin, let c = console(of: s), c.stdinOnce { c.closeInput() }
    }

    /// The console of the run a session attached to, while that run lasts.
    func console(of s: Session) -> Console? {
        guard let name = s.container, let c = consoles[name], c.log === s.run else { return nil }
        return c
    }

    /// As much pending input as the pipe or terminal takes now.
    func flushInput(_ c: Console) {
        while !c.pending.isEmpty && c.input >= 0 {
            let written: Int?
            do { written = try c.pending.withUnsafeBytes { try Sys.writeSome(c.input, $0) } } catch {
                // The container closed its stdin (EPIPE): input has nowhere to go.
                c.pending = []
                return
            }
            guard let written, written > 0 else { return }
            c.pending.removeFirst(written)
        }
    }

    /// A run's output, to each session attached to it. A client too slow to take it loses
    /// it (the log has it); the container never waits for a client.
    func forward(_ log: RunLog, _ stream: LogStream, _ bytes: UnsafeRawBufferPointer) {
        guard sessions.contains(where: { $0.run === log }) else { return }
        var start = 0
        while start < bytes.count {
            let end = min(start + AttachMessage.maxPayload, bytes.count)
            let payload = Array(bytes[start..<end])
            let packet = (stream == .stderr ? AttachMessage.errorOutput(payload) : .output(payload)).encoded
            for s in sessions where s.run === log {
                do { try Sys.sendPacket(s.fd, packet, nonBlocking: true) } catch { endSession(s) }
            }
            start = end
        }
    }

    /// A run's output has closed (the container exited): its console goes, and its
    /// sessions end, so that their clients see the end.
    func runOutputEnded(_ log: RunLog) {
        if let c = consoles[log.container], c.log === log {
            consoles[log.container] = nil
            c.closeInput()
        }
        if currentLogs[log.container] === log { currentLogs[log.container] = nil }
        for s in sessions where s.run === log { endSession(s) }
    }
}
