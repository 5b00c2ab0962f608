import Cgroups
import Kernel
import PodModel
import ContainerRuntime
import Spawn

/// The probes in flight, inside the supervisor's single-threaded loop, each bounded by its
/// `timeoutSeconds`:
/// - `tcpSocket`: a non-blocking connect from the pod's network namespace (the
///   supervisor's own); success is a connection.
/// - `httpGet`: the same, then `GET path HTTP/1.1` with kubelet's headers
///   (`User-Agent: kube-probe/1.32`, `Accept: */*`, `Connection: close`) and the probe's
///   own; success is a status from 200 to 399, as kubelet's prober has it.
/// - `exec`: a process in the container (`ContainerJoin`); success is exit status 0. The
///   supervisor reaps it like any child and hands the status here.
/// - `grpc`, and `httpGet` with `scheme: HTTPS`: `podrec-probe`, a helper process started
///   for the one run (in the supervisor's own namespaces and cgroup: from the pod's network
///   namespace, as the other network probes), because gRPC's and TLS's stacks would not fit
///   the supervisor's 1 MiB. Its exit status is the result and its stdout kubelet's message
///   (`ProbeHelperCall`); it keeps to the probe's timeout itself, and is killed a little
///   after it if it does not.
final class ProbeRunner {
    /// The `podrec-probe` executable; nil: such probes fail, saying so.
    let helper: String?

    init(helper: String? = nil) { self.helper = helper }

    /// How long past the probe's timeout a helper may take to say so itself, in its own words.
    static let helperGraceNanoseconds: Int64 = 2_000_000_000
    /// The most of a helper's stdout kept: one message.
    static let helperOutputLimit = 4096

    struct Key: Hashable {
        var container: String
        var check: Check
    }

    /// A probe of a kind, or a hook.
    enum Check: Hashable {
        case probe(ProbeSpec.Kind)
        case hook(Hook)
    }

    struct Result {
        var key: Key
        var success: Bool
        var message: String?
        /// The probe could not be run for want of the supervisor's own resources (fds,
        /// memory, a fork): kubelet's prober error, whose result is thrown away rather than
        /// counted as a failure of the container.
        var errored = false
    }

    /// The errno of a failed syscall (`EMFILE`), for the errors that carry one.
    static func errnoSymbol(_ error: any Error) -> String? {
        switch error {
        case let e as KernelError: e.errno.symbol
        case let e as SpawnError: e.errno.symbol
        default: nil
        }
    }

    /// The errnos that say the prober, not the container, is short of something.
    static func isProberError(_ error: any Error) -> Bool {
        errnoSymbol(error).map { ["EMFILE", "ENFILE", "ENOMEM", "EAGAIN"].contains($0) } ?? false
    }

    enum Work {
        case connecting(fd: Int32, request: [UInt8]?)
        case sending(fd: Int32, pending: ArraySlice<UInt8>)
        case reading(fd: Int32, response: [UInt8])
        case process(pid: Int32)
        /// A `podrec-probe` run: its stdout (-1 once at EOF) and what it said so far.
        case helper(pid: Int32, fd: Int32, output: [UInt8])
        /// A hook's `sleep`: done, with success, at the deadline.
        case timer
    }

    struct InFlight {
        var key: Key
        var deadline: Int64
        var timeoutSeconds: Int32
        var work: Work
        /// `host:port`, or the command, for messages.
        var target: String = ""
        var isHTTP = false
        var path = "/"

        /// As kubelet words a timeout.
        var timeoutMessage: String {
            switch work {
            case .process: return "command timed out after \(timeoutSeconds)s"
            case .helper: return "podrec-probe did not finish within \(timeoutSeconds)s"
            case .timer: return "slept \(timeoutSeconds)s"
            default:
                return isHTTP ? "Get \"http://\(target)\(path)\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
                              : "dial tcp \(target): i/o timeout"
            }
        }
    }

    var inFlight: [InFlight] = []

    /// Starts one probe; a result now when it cannot even start.
    func start(_ key: Key, _ spec: ProbeSpec, container: ContainerLaunch, hostPID: Int32?, driver: (any CgroupDriver)?,
               nullFD: Int32, now: Int64) -> Result? {
        start(key, spec.action, timeoutSeconds: Int64(spec.timeoutSeconds), container: container, hostPID: hostPID,
              driver: driver, nullFD: nullFD, now: now)
    }

    /// Starts one probe or hook action, bounded by `timeoutSeconds` (a hook's `sleep` is its
    /// own length).
    func start(_ key: Key, _ action: HandlerAction, timeoutSeconds: Int64, container: ContainerLaunch, hostPID: Int32?,
               driver: (any CgroupDriver)?, nullFD: Int32, now: Int64) -> Result? {
        let timeout = Int32(clamping: max(timeoutSeconds, 1))
        let deadline = now + Int64(timeout) * 1_000_000_000
        // gRPC and HTTPS: the helper's (`ProbeHelperCall` says which actions need it).
        if let call = ProbeHelperCall(action, timeoutSeconds: timeout) {
            return startHelper(key, call, nullFD: nullFD, deadline: deadline)
        }
        switch action {
        case .tcpSocket(let host, let port):
            return connect(key, host: host, port: port, request: nil, path: nil, deadline: deadline, timeout: timeout)
        case .grpc:
            preconditionFailure("podrec bug: a grpc probe is the helper's")
        case .httpGet(let get):
            return connect(key, host: get.host, port: get.port, request: Self.request(get), path: get.path, deadline: deadline, timeout: timeout)
        case .exec(let argv):
            guard let hostPID, let driver else { return Result(key: key, success: false, message: "the container is not running") }
            do {
                var (request, fds) = try ContainerJoin.request(argv, in: container, hostPID: hostPID, driver: driver)
                defer { for fd in fds { Sys.close(fd) } }
                (request.stdin, request.stdout, request.stderr) = (nullFD, nullFD, nullFD)
                let process = try spawn(request)
                if let fd = process.pidfd { Sys.close(fd) }
                inFlight.append(InFlight(key: key, deadline: deadline, timeoutSeconds: timeout, work: .process(pid: process.pid)))
                return nil
            } catch {
                return Result(key: key, success: false, message: "exec: \(error)", errored: Self.isProberError(error))
            }
        case .sleep(let seconds):
            if seconds <= 0 { return Result(key: key, success: true, message: nil) }
            inFlight.append(InFlight(key: key, deadline: now + seconds * 1_000_000_000, timeoutSeconds: Int32(clamping: seconds), work: .timer))
            return nil
        }
    }

    func connect(_ key: Key, host: String, port: UInt16, request: [UInt8]?, path: String?, deadline: Int64, timeout: Int32) -> Result? {
        func flight(_ work: Work) -> InFlight {
            InFlight(key: key, deadline: deadline, timeoutSeconds: timeout, work: work, target: "\(host):\(port)", isHTTP: path != nil, path: path ?? "/")
        }
        let address = host == "localhost" ? "127.0.0.1" : host
        do {
            let (fd, connected) = try Sys.connectTCP(address, port: port)
            if connected {
                guard let request else {
                    Sys.close(fd)
                    return Result(key: key, success: true, message: nil)
                }
                inFlight.append(flight(.sending(fd: fd, pending: request[...])))
            } else {
                inFlight.append(flight(.connecting(fd: fd, request: request)))
            }
            return nil
        } catch {
            return Result(key: key, success: false, message: "dial tcp \(host):\(port): connect: \(error.errno.message.lowercased())",
                          errored: Self.isProberError(error))
        }
    }

    /// Starts `podrec-probe` for one call, its stdout on a pipe that joins the poll set.
    func startHelper(_ key: Key, _ call: ProbeHelperCall, nullFD: Int32, deadline: Int64) -> Result? {
        guard let helper else { return Result(key: key, success: false, message: "podrec-probe was not found beside podrec-supervisor") }
        do {
            let out = try Sys.pipe(nonBlockingRead: true)
            defer { Sys.close(out.write) }
            var request = SpawnRequest([helper] + call.arguments, executable: helper, environment: [])
            (request.stdin, request.stdout) = (nullFD, out.write)
            let process: SpawnedProcess
            do { process = try spawn(request) } catch {
                Sys.close(out.read)
                throw error
            }
            if let fd = process.pidfd { Sys.close(fd) }
            inFlight.append(InFlight(key: key, deadline: deadline + Self.helperGraceNanoseconds, timeoutSeconds: call.timeoutSeconds,
                                     work: .helper(pid: process.pid, fd: out.read, output: [])))
            return nil
        } catch {
            return Result(key: key, success: false, message: "podrec-probe: \(error)", errored: Self.isProberError(error))
        }
    }

    /// Reads what a helper said; false at EOF (or an error, which ends its output too).
    static func readHelper(_ fd: Int32, into output: inout [UInt8]) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 1024)
        while true {
            let n: Int?
            do { n = try buffer.withUnsafeMutableBytes { try Sys.readSome(fd, into: $0) } } catch { return false }
            guard let n else { return true }
            if n == 0 { return false }
            output += buffer[..<min(n, max(helperOutputLimit - output.count, 0))]
        }
    }

    /// A helper's result from its exit and its words.
    static func helperResult(_ key: Key, status: WaitStatus, output: [UInt8]) -> Result {
        var text = String(decoding: output, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        let message = text.isEmpty ? nil : text
        switch status {
        case .exited(ProbeHelperCall.success): return Result(key: key, success: true, message: message)
        case .exited(ProbeHelperCall.failure): return Result(key: key, success: false, message: message)
        case .exited(let code): return Result(key: key, success: false, message: "podrec-probe exited with status \(code)" + (message.map { ": " + $0 } ?? ""))
        case .signaled(let s): return Result(key: key, success: false, message: "podrec-probe killed by signal \(s)")
        }
    }

    static func request(_ get: HTTPGet) -> [UInt8] {
        let lines = ["GET \(get.path.isEmpty ? "/" : get.path) HTTP/1.1"]
            + HTTPGet.requestHeaders(get.headers, authority: "\(get.host):\(get.port)").map { "\($0.name): \($0.value)" }
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    /// The fds to poll, and for what.
    var pollSet: [(fd: Int32, events: Int16)] {
        inFlight.compactMap { f in
            switch f.work {
            case .connecting(let fd, _), .sending(let fd, _): return (fd, Sys.pollWritable)
            case .reading(let fd, _): return (fd, Sys.pollReadableEvent)
            case .helper(_, let fd, _) where fd >= 0: return (fd, Sys.pollReadableEvent)
            case .process, .helper, .timer: return nil
            }
        }
    }

    /// Moves every socket that poll reported on; returns the probes that finished.
    func progress(ready: Set<Int32>) -> [Result] {
        var done: [Result] = []
        var i = 0
        while i < inFlight.count {
            var f = inFlight[i]
            var result: Result?
            switch f.work {
            case .connecting(let fd, let request) where ready.contains(fd):
                if let error = Sys.socketError(fd) {
                    result = Result(key: f.key, success: false, message: "dial tcp \(f.target): connect: \(error.message.lowercased())")
                } else if let request {
                    f.work = .sending(fd: fd, pending: request[...])
                } else {
                    result = Result(key: f.key, success: true, message: nil)
                }
            case .sending(let fd, var pending) where ready.contains(fd):
                // nil: the socket is full (EAGAIN); an error (the server reset) counts as 0.
                let n: Int?
                do { n = try pending.withUnsafeBytes { try Sys.writeSome(fd, $0) } } catch { n = 0 }
                if let n, n > 0 {
                    pending = pending.dropFirst(n)
                    f.work = pending.isEmpty ? .reading(fd: fd, response: []) : .sending(fd: fd, pending: pending)
                } else if n == nil {
                    // EAGAIN: poll again.
                } else {
                    result = Result(key: f.key, success: false, message: "write: connection closed")
                }
            case .reading(let fd, var response) where ready.contains(fd):
                var buffer = [UInt8](repeating: 0, count: 4096)
                // nil: nothing yet (EAGAIN); 0: the server closed; an error counts as closed.
                let n: Int?
                do { n = try buffer.withUnsafeMutableBytes { try Sys.readSome(fd, into: $0) } } catch { n = 0 }
                if let n, n > 0 { response += buffer[..<n] }
                if let status = Self.statusCode(response) {
                    let ok = (200...399).contains(status)
                    result = Result(key: f.key, success: ok, message: ok ? nil : "HTTP probe failed with statuscode: \(status)")
                } else if n == 0 {
                    result = Result(key: f.key, success: false, message: "HTTP probe: no status line")
                } else if response.count > 10 << 10 {
                    result = Result(key: f.key, success: false, message: "HTTP probe: no status line in 10 KiB")
                }
                if result == nil { f.work = .reading(fd: fd, response: response) }
            case .helper(let pid, let fd, var output) where fd >= 0 && ready.contains(fd):
                // Its result waits for its exit (`reaped`); EOF only closes the pipe.
                if Self.readHelper(fd, into: &output) {
                    f.work = .helper(pid: pid, fd: fd, output: output)
                } else {
                    Sys.close(fd)
                    f.work = .helper(pid: pid, fd: -1, output: output)
                }
            default:
                break
            }
            if let result {
                close(f)
                inFlight.remove(at: i)
                done.append(result)
            } else {
                inFlight[i] = f
                i += 1
            }
        }
        return done
    }

    /// `HTTP/1.x NNN ...` once the first line is in.
    static func statusCode(_ response: [UInt8]) -> Int? {
        guard let end = response.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = String(decoding: response[..<end], as: UTF8.self)
        let words = line.split(separator: " ")
        guard words.count >= 2, words[0].hasPrefix("HTTP/"), let code = Int(words[1]) else { return 0 }
        return code
    }

    /// An exec probe's process was reaped: its result, if it was one.
    func reaped(_ pid: Int32, status: WaitStatus) -> Result? {
        guard let i = inFlight.firstIndex(where: {
            switch $0.work {
            case .process(let p), .helper(let p, _, _): p == pid
            default: false
            }
        }) else { return nil }
        let f = inFlight.remove(at: i)
        if case .helper(_, let fd, var output) = f.work {
            // Whatever it wrote is in the pipe now: the last of it, then the result.
            if fd >= 0 {
                _ = Self.readHelper(fd, into: &output)
                Sys.close(fd)
            }
            return Self.helperResult(f.key, status: status, output: output)
        }
        switch status {
        case .exited(0): return Result(key: f.key, success: true, message: nil)
        case .exited(let code): return Result(key: f.key, success: false, message: "command exited with status \(code)")
        case .signaled(let s): return Result(key: f.key, success: false, message: "command killed by signal \(s)")
        }
    }

    /// Probes past their timeout: failed. An exec probe's process is killed; its exit,
    /// reaped later, is then no probe's any more.
    func expire(now: Int64) -> [Result] {
        var done: [Result] = []
        inFlight.removeAll { f in
            guard f.deadline <= now else { return false }
            close(f)
            if case .timer = f.work {
                done.append(Result(key: f.key, success: true, message: nil))
            } else {
                done.append(Result(key: f.key, success: false, message: f.timeoutMessage))
            }
            return true
        }
        return done
    }

    /// A container's run ended: its probes in flight are dropped.
    func cancel(container: String) {
        inFlight.removeAll { f in
            guard f.key.container == container else { return false }
            close(f)
            return true
        }
    }

    /// The supervisor is done: every probe in flight ends, and the processes it started
    /// (exec probes, helpers) are killed and reaped, so that none outlives the pod in its
    /// `_infra` cgroup, which the reconciler removes next.
    func stopAll() {
        for f in inFlight {
            close(f)
            switch f.work {
            case .process(let pid), .helper(let pid, _, _): _ = try? Sys.wait(pid)
            default: break
            }
        }
        inFlight.removeAll()
    }

    var nextDeadline: Int64? { inFlight.map(\.deadline).min() }

    func close(_ f: InFlight) {
        switch f.work {
        case .connecting(let fd, _), .sending(let fd, _), .reading(let fd, _): Sys.close(fd)
        case .process(let pid): try? Sys.kill(pid, Signal.kill)
        case .helper(let pid, let fd, _):
            try? Sys.kill(pid, Signal.kill)
            if fd >= 0 { Sys.close(fd) }
        case .timer: break
        }
    }
}
