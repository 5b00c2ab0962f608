import Kernel
import PodModel
import Spawn

/// Runs CNI plugins, and the iptables commands of podrec's own checks, the way the CNI
/// spec says a runtime does: an executable found in the bin dirs, `CNI_*` in its
/// environment, the config on stdin, the result or an error object on stdout.
public struct CNIRunner: Sendable {
    /// Searched in order for a plugin; also `CNI_PATH`, for the plugins that run others
    /// (bridge runs its IPAM plugin).
    public var binDirectories: [String]
    /// A net namespace (a path: a pin, `/proc/PID/ns/net`) that every plugin and iptables
    /// runs in instead of the caller's. Tests set it, so that the bridge, its veths and the
    /// rules land in a namespace the test made, never the host's; production leaves it nil.
    public var runIn: String?
    /// A plugin that runs longer is killed (SIGKILL, by pid) and the call fails saying so.
    public var timeoutMilliseconds: Int32
    /// The plugins' `PATH`: portmap, bridge and firewall run `iptables`.
    public var path: String
    /// Told of each plugin run (the watcher's metrics).
    public var timed: Timing?

    /// A plugin run's command, its plugin's type, its time in seconds and whether it succeeded.
    public typealias Timing = @Sendable (_ command: Command, _ plugin: String, _ seconds: Double, _ ok: Bool) -> Void

    public init(binDirectories: [String], runIn: String? = nil, timeoutMilliseconds: Int32 = 10_000,
                path: String = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") {
        self.binDirectories = binDirectories
        self.runIn = runIn
        self.timeoutMilliseconds = timeoutMilliseconds
        self.path = path
    }

    public enum Command: String, Sendable {
        case add = "ADD", del = "DEL", check = "CHECK"
    }

    /// The executable for a plugin `type`: the first in `binDirectories` that this process
    /// may execute.
    public func find(_ type: String) -> String? {
        binDirectories.lazy.map { $0 + "/" + type }.first { Sys.isExecutable($0) }
    }

    /// Runs one plugin: `config` on its stdin, the `CNI_*` variables in its environment. ADD
    /// returns its result (an object); DEL and CHECK return nil. A failure carries the
    /// plugin's error object (`msg`, `details`, `code`), else its exit status and stderr.
    public func invoke(_ command: Command, type: String, config: JSON, containerID: String, netns: String,
                       ifName: String, args: String) throws(NetworkError) -> JSON? {
        guard let timed else { return try invokeOnce(command, type: type, config: config, containerID: containerID, netns: netns, ifName: ifName, args: args) }
        let start = MonotonicClock.now()
        func seconds() -> Double { Double(MonotonicClock.now() - start) / 1e9 }
        do {
            let result = try invokeOnce(command, type: type, config: config, containerID: containerID, netns: netns, ifName: ifName, args: args)
            timed(command, type, seconds(), true)
            return result
        } catch {
            timed(command, type, seconds(), false)
            throw error
        }
    }

    func invokeOnce(_ command: Command, type: String, config: JSON, containerID: String, netns: String,
                    ifName: String, args: String) throws(NetworkError) -> JSON? {
        func fail(_ reason: PluginFailure.Reason) -> NetworkError {
            .plugin(PluginFailure(plugin: type, command: command.rawValue, reason: reason))
        }
        guard let executable = find(type) else { throw fail(.notFound(directories: binDirectories)) }
        let environment = [
            "CNI_COMMAND=" + command.rawValue,
            "CNI_CONTAINERID=" + containerID,
            "CNI_NETNS=" + netns,
            "CNI_IFNAME=" + ifName,
            "CNI_ARGS=" + args,
            "CNI_PATH=" + binDirectories.joined(separator: ":"),
            "PATH=" + path,
        ]
        let output: Output
        do { output = try run([executable], environment: environment, stdin: config.bytes) } catch {
            switch error {
            case .timeout(let ms): throw fail(.timeout(milliseconds: ms))
            case .failed(let why): throw fail(.spawn(why))
            }
        }
        let stdout = output.stdout.filter { !isWhitespace($0) }.isEmpty ? nil : (try? JSON.parse(output.stdout))
        guard output.status == .exited(0) else {
            // The spec's error object: {"code", "msg", "details"}; anything else is reported
            // as the exit status with the tail of stderr.
            if let e = stdout, let msg = e["msg"]?.string {
                throw fail(.error(code: e["code"]?.int ?? 0, message: msg, details: e["details"]?.string ?? ""))
            }
            let text = String(decoding: output.stderr.isEmpty ? output.stdout : output.stderr, as: UTF8.self)
            throw fail(.exit(status: output.status.description, stderr: text))
        }
        guard command == .add else { return nil }
        guard let result = stdout, case .object = result else {
            let text = String(decoding: output.stdout.prefix(200), as: UTF8.self)
            throw fail(.badOutput(text.isEmpty ? "nothing on stdout" : "not a JSON object: \(text)"))
        }
        return result
    }

    private func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0a || b == 0x0d || b == 0x09 }

    // MARK: Processes

    public struct Output: Sendable {
        public var status: WaitStatus
        public var stdout: [UInt8]
        public var stderr: [UInt8]
    }

    public enum RunError: Error, Sendable {
        case timeout(Int32)
        case failed(String)
    }

    /// Runs `argv` in `runIn` (or here), feeds `stdin`, collects stdout and stderr until it
    /// exits; past the timeout it is killed by pid and reaped. stdin is a memory file, so a
    /// config of any size needs no writer; one poll loop reads both pipes and the pidfd.
    public func run(_ argv: [String], environment: [String], stdin: [UInt8] = []) throws(RunError) -> Output {
        var toClose: [Int32] = []
        defer { for fd in toClose { Sys.close(fd) } }
        func pipe(nonBlockingRead: Bool) throws(RunError) -> (read: Int32, write: Int32) {
            do {
                let p = try Sys.pipe(nonBlockingRead: nonBlockingRead)
                toClose += [p.read, p.write]
                return p
            } catch { throw .failed("\(error)") }
        }
        let input: Int32
        do { input = try Sys.memoryFile("stdin", stdin) } catch { throw .failed("\(error)") }
        toClose.append(input)
        let out = try pipe(nonBlockingRead: true)
        let err = try pipe(nonBlockingRead: true)
        var request = SpawnRequest(argv, environment: environment)
        request.stdin = input
        request.stdout = out.write
        request.stderr = err.write
        if let runIn {
            let fd: Int32
            do { fd = try Sys.openForReading(runIn) } catch { throw .failed("\(error)") }
            toClose.append(fd)
            request.joinNamespaces = [NamespaceJoin(.network, fd: fd, path: runIn)]
        }
        let process: SpawnedProcess
        do { process = try spawn(request) } catch { throw .failed("\(error)") }
        if let pidfd = process.pidfd { toClose.append(pidfd) }

        // Only the child may hold these ends now: its EOF on stdout is our EOF.
        func closeNow(_ fd: Int32) {
            Sys.close(fd)
            toClose.removeAll { $0 == fd }
        }
        closeNow(out.write)
        closeNow(err.write)

        var stdout: [UInt8] = [], stderr: [UInt8] = []
        var outOpen = true, errOpen = true
        var status: Int32?
        var buffer = [UInt8](repeating: 0, count: 16384)
        /// Reads what `fd` has now; false at EOF (or a read error, which ends it too).
        func drain(_ fd: Int32, into sink: inout [UInt8]) -> Bool {
            while true {
                let r = buffer.withUnsafeMutableBytes { b in Result { () throws(KernelError) in try Sys.readSome(fd, into: b) } }
                switch r {
                case .success(nil): return true
                case .success(0), .failure: return false
                case .success(let n?): sink += buffer[0..<n]
                }
            }
        }
        let deadline = MonotonicClock.now() + Int64(timeoutMilliseconds) * 1_000_000
        // Until it exits (its pidfd turns readable), or, without a pidfd, until both pipes
        // close. A process it left behind may keep the pipes open: its exit is the end.
        while status == nil && (process.pidfd != nil || outOpen || errOpen) {
            let left = deadline - MonotonicClock.now()
            if left <= 0 {
                try? Sys.kill(process.pid, Signal.kill)
                _ = try? Sys.wait(process.pid)
                throw .timeout(timeoutMilliseconds)
            }
            let fds: [(fd: Int32, events: Int16)] = [
                (outOpen ? out.read : -1, Sys.pollReadableEvent),
                (errOpen ? err.read : -1, Sys.pollReadableEvent),
                (process.pidfd ?? -1, Sys.pollReadableEvent),
            ]
            let ready: [Int16]
            do { ready = try Sys.poll(fds, timeoutMilliseconds: Int32(min(left / 1_000_000 + 1, 1000))) } catch {
                try? Sys.kill(process.pid, Signal.kill)
                _ = try? Sys.wait(process.pid)
                throw .failed("\(error)")
            }
            if outOpen && ready[0] != 0 { outOpen = drain(out.read, into: &stdout) }
            if errOpen && ready[1] != 0 { errOpen = drain(err.read, into: &stderr) }
            if ready[2] != 0 { status = Sys.reapChild(process.pid) }
        }
        if status == nil {
            do { status = try Sys.wait(process.pid) } catch { throw .failed("\(error)") }
        }
        // Whatever it wrote before exiting is in the pipes.
        if outOpen { _ = drain(out.read, into: &stdout) }
        if errOpen { _ = drain(err.read, into: &stderr) }
        return Output(status: WaitStatus(status!), stdout: stdout, stderr: stderr)
    }
}
