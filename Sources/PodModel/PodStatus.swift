/// What the supervisor reports: written atomically as `<root>/pods/<ns>_<name>/status`
/// after every change. Times are wall-clock nanoseconds since the epoch (`WallTime`).
public struct PodStatus: Sendable, Hashable {
    /// The plan generation the supervisor has applied. `apply` waits for it.
    public var observedGeneration: Int
    public var phase: PodPhase
    /// The supervisor's pid in the host's PID namespace.
    public var supervisorPID: Int32
    public var updatedAt: WallTime
    /// Why the last plan could not be applied (unreadable, wrong pod); nil when it was.
    public var planError: String?
    /// Set once the pod has been stopped for good (SIGTERM to the supervisor).
    public var terminated: Bool
    public var containers: [ContainerStatus]
    /// What happened to the pod, as kubectl's events: the latest, repeats counted.
    public var events: [PodEvent] = []
    /// The pod's own `status.reason` and `status.message`: `DeadlineExceeded` and kubelet's
    /// words once its active deadline has passed; nil otherwise.
    public var reason: String?
    public var message: String?
    /// `status.startTime`, from the plan.
    public var startTime: WallTime?

    public init(observedGeneration: Int = 0, phase: PodPhase = .pending, supervisorPID: Int32 = 0, updatedAt: WallTime = WallTime(0),
                planError: String? = nil, terminated: Bool = false, containers: [ContainerStatus] = [], events: [PodEvent] = []) {
        self.observedGeneration = observedGeneration
        self.phase = phase
        self.supervisorPID = supervisorPID
        self.updatedAt = updatedAt
        self.planError = planError
        self.terminated = terminated
        self.containers = containers
        self.events = events
    }

    public func container(_ name: String) -> ContainerStatus? { containers.first { $0.name == name } }

    /// kubectl's READY: the ready containers, init ones aside, of all of them. Ready is the
    /// supervisor's verdict (probes included); a status without one counts running ones.
    public var readyContainers: (ready: Int, of: Int) {
        let counted = containers.filter { $0.kind != .initContainer }
        return (counted.filter { $0.ready ?? ($0.state == .running) }.count, counted.count)
    }
}

public enum PodPhase: String, Sendable, Hashable, CaseIterable {
    case pending = "Pending"
    case running = "Running"
    case succeeded = "Succeeded"
    case failed = "Failed"
}

public enum ContainerState: String, Sendable, Hashable, CaseIterable {
    case waiting
    case running
    case terminated
}

/// One kind of event, as kubectl shows it: `Warning Unhealthy ... (x3 over 20s)`.
public struct PodEvent: Sendable, Hashable {
    /// `Normal` or `Warning`.
    public var type: String
    /// `Started`, `Killing`, `Unhealthy`, `BackOff`, ...
    public var reason: String
    public var message: String
    public var count: Int
    public var first: WallTime
    public var last: WallTime

    public init(type: String, reason: String, message: String, count: Int = 1, first: WallTime, last: WallTime) {
        self.type = type
        self.reason = reason
        self.message = message
        self.count = count
        self.first = first
        self.last = last
    }
}

/// A probe's last result and its failures in a row, for `describe`.
public struct ProbeReport: Sendable, Hashable {
    public var kind: ProbeSpec.Kind
    /// nil: not run yet.
    public var success: Bool?
    public var failures: Int
    public var message: String?

    public init(kind: ProbeSpec.Kind, success: Bool?, failures: Int, message: String?) {
        self.kind = kind
        self.success = success
        self.failures = failures
        self.message = message
    }
}

/// One run of a container that has ended.
public struct Termination: Sendable, Hashable {
    public var exitCode: Int32
    /// The signal that killed it, if one did; `exitCode` is then 128 + signal.
    public var signal: Int32?
    /// `Completed` (exit 0), `Error`, `OOMKilled`, `StartError`.
    public var reason: String
    public var startedAt: WallTime?
    public var finishedAt: WallTime
    /// `terminated.message`: what the container wrote at its `terminationMessagePath` (the
    /// last 4096 bytes), or its log's tail under `FallbackToLogsOnError` (`TerminationMessage`).
    public var message: String?

    public init(exitCode: Int32, signal: Int32? = nil, reason: String, startedAt: WallTime?, finishedAt: WallTime, message: String? = nil) {
        self.exitCode = exitCode
        self.signal = signal
        self.reason = reason
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.message = message
    }
}

public struct ContainerStatus: Sendable, Hashable {
    public var name: String
    public var kind: ContainerKind
    /// The spec hash of the container as it runs (or last ran).
    public var specHash: String
    public var state: ContainerState
    /// waiting: `ContainerCreating`, `PodInitializing`, `CrashLoopBackOff`, `StartError`;
    /// terminated: as `Termination.reason`. nil while running.
    public var reason: String?
    /// A start error's text (`exec /bin/nope: ENOENT ...`), or the backoff left.
    public var message: String?
    /// Host pid while running.
    public var pid: Int32?
    public var restartCount: Int
    public var startedAt: WallTime?
    /// The current run's end, when `state` is terminated.
    public var termination: Termination?
    /// The run before this one, as kubelet's `lastState`.
    public var lastTermination: Termination?
    /// When a waiting container starts again (its backoff), if it will.
    public var nextStartAt: WallTime?
    /// Kubernetes' `ready`: running, its startup probe passed, and its readiness probe (if
    /// any) passing. nil from a supervisor that does not run probes.
    public var ready: Bool?
    /// This run's probes.
    public var probes: [ProbeReport] = []

    public init(name: String, kind: ContainerKind, specHash: String, state: ContainerState = .waiting, reason: String? = nil,
                message: String? = nil, pid: Int32? = nil, restartCount: Int = 0, startedAt: WallTime? = nil,
                termination: Termination? = nil, lastTermination: Termination? = nil, nextStartAt: WallTime? = nil) {
        self.name = name
        self.kind = kind
        self.specHash = specHash
        self.state = state
        self.reason = reason
        self.message = message
        self.pid = pid
        self.restartCount = restartCount
        self.startedAt = startedAt
        self.termination = termination
        self.lastTermination = lastTermination
        self.nextStartAt = nextStartAt
    }
}

// MARK: - Text form

extension PodStatus {
    public static let header = "podrec-pod-status"
    public static let version = 1

    public func encoded() -> String {
        var w = RecordWriter(header: Self.header, version: Self.version)
        w.line("observedGeneration", observedGeneration)
        w.line("phase", phase.rawValue)
        w.line("supervisorPID", supervisorPID)
        w.line("updatedAt", updatedAt.nanoseconds)
        w.optional("planError", planError)
        w.line("terminated", terminated)
        w.optional("reason", reason)
        w.optional("message", message)
        w.optional("startTime", startTime?.nanoseconds)
        for e in events {
            w.line("event", "\(e.type)\t\(e.reason)\t\(e.count)\t\(e.first.nanoseconds)\t\(e.last.nanoseconds)\t\(e.message)")
        }
        for c in containers {
            w.line("container", c.name)
            w.line("kind", c.kind.rawValue)
            w.line("specHash", c.specHash)
            w.line("state", c.state.rawValue)
            if let ready = c.ready { w.line("ready", ready) }
            w.optional("reason", c.reason)
            w.optional("message", c.message)
            w.optional("pid", c.pid)
            w.line("restartCount", c.restartCount)
            w.optional("startedAt", c.startedAt?.nanoseconds)
            if let t = c.termination { w.line("termination", t.field) }
            if let t = c.lastTermination { w.line("lastTermination", t.field) }
            w.optional("nextStartAt", c.nextStartAt?.nanoseconds)
            for p in c.probes {
                let result = p.success.map { $0 ? "success" : "failure" } ?? "unknown"
                w.line("probe", "\(p.kind.rawValue)\t\(result)\t\(p.failures)\t\(p.message ?? "")")
            }
            w.line("end", "")
        }
        return w.text
    }

    public static func decode(_ text: String) throws(RecordError) -> PodStatus {
        let records = try RecordReader.records(text, header: header, version: version)
        var status = PodStatus()
        let (top, blocks) = try RecordReader.blocks(records, opener: "container")
        for r in top {
            switch r.key {
            case "observedGeneration": status.observedGeneration = try r.int()
            case "phase":
                guard let p = PodPhase(rawValue: r.value) else { throw RecordError(line: r.line, reason: "unknown phase \(r.value)") }
                status.phase = p
            case "supervisorPID": status.supervisorPID = Int32(try r.int())
            case "updatedAt": status.updatedAt = WallTime(try r.int64())
            case "planError": status.planError = r.value
            case "terminated": status.terminated = try r.bool()
            case "reason": status.reason = r.value
            case "message": status.message = r.value
            case "startTime": status.startTime = WallTime(try r.int64())
            case "event":
                // The message last: it may hold tabs.
                let f = r.value.split(separator: "\t", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
                guard f.count == 6, let count = Int(f[2]), let first = Int64(f[3]), let last = Int64(f[4]) else {
                    throw RecordError(line: r.line, reason: "event: type, reason, count, first, last, message expected")
                }
                status.events.append(PodEvent(type: f[0], reason: f[1], message: f[5], count: count, first: WallTime(first), last: WallTime(last)))
            default: break
            }
        }
        for (opener, body) in blocks {
            var c = ContainerStatus(name: opener.value, kind: .main, specHash: "")
            for r in body {
                switch r.key {
                case "kind":
                    guard let k = ContainerKind(rawValue: r.value) else { throw RecordError(line: r.line, reason: "unknown kind \(r.value)") }
                    c.kind = k
                case "specHash": c.specHash = r.value
                case "ready": c.ready = try r.bool()
                case "state":
                    guard let s = ContainerState(rawValue: r.value) else { throw RecordError(line: r.line, reason: "unknown state \(r.value)") }
                    c.state = s
                case "reason": c.reason = r.value
                case "message": c.message = r.value
                case "pid": c.pid = Int32(try r.int())
                case "restartCount": c.restartCount = try r.int()
                case "startedAt": c.startedAt = WallTime(try r.int64())
                case "termination": c.termination = try Termination(r)
                case "lastTermination": c.lastTermination = try Termination(r)
                case "nextStartAt": c.nextStartAt = WallTime(try r.int64())
                case "probe":
                    let f = r.value.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
                    guard f.count == 4, let kind = ProbeSpec.Kind(rawValue: f[0]), let failures = Int(f[2]) else {
                        throw RecordError(line: r.line, reason: "probe: kind, result, failures, message expected")
                    }
                    c.probes.append(ProbeReport(kind: kind, success: f[1] == "unknown" ? nil : f[1] == "success", failures: failures,
                                                message: f[3].isEmpty ? nil : f[3]))
                default: break  // a newer writer's key
                }
            }
            status.containers.append(c)
        }
        return status
    }
}

extension Termination {
    /// `exitCode \t signal \t reason \t startedAt \t finishedAt [\t message]`; empty for
    /// nil. The message last, whole (it may hold tabs); a status written before messages has
    /// five fields.
    var field: String {
        "\(exitCode)\t\(signal.map(String.init) ?? "")\t\(reason)\t\(startedAt.map { String($0.nanoseconds) } ?? "")\t\(finishedAt.nanoseconds)"
            + (message.map { "\t" + $0 } ?? "")
    }

    init(_ r: Record) throws(RecordError) {
        let f = r.value.split(separator: "\t", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
        guard f.count >= 5, let code = Int32(f[0]), let finished = Int64(f[4]) else {
            throw RecordError(line: r.line, reason: "\(r.key): exit code and finish time expected")
        }
        self.init(exitCode: code, signal: f[1].isEmpty ? nil : Int32(f[1]), reason: f[2],
                  startedAt: f[3].isEmpty ? nil : Int64(f[3]).map(WallTime.init), finishedAt: WallTime(finished),
                  message: f.count == 6 ? f[5] : nil)
    }
}
