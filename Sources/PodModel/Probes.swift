/// What a probe or a lifecycle hook does, resolved for the supervisor: a named port is a
/// number, an httpGet's host is filled in. The supervisor runs it from the pod's network
/// namespace (it lives there), or, for `exec`, inside the container.
public enum HandlerAction: Sendable, Hashable {
    /// argv, run in the container's namespaces, root and cgroup, with its ids.
    case exec([String])
    case httpGet(HTTPGet)
    case tcpSocket(host: String, port: UInt16)
    /// Probes only: `grpc.health.v1.Health/Check` for `service` (empty: the server as a
    /// whole), over plaintext HTTP/2, as kubelet's gRPC prober.
    case grpc(host: String, port: UInt16, service: String)
    /// Hooks only (Kubernetes 1.30's `sleep` action).
    case sleep(seconds: Int64)
}

/// An HTTP GET as kubelet's prober makes it: success is a status from 200 to 399.
public struct HTTPGet: Sendable, Hashable {
    public var host: String
    public var port: UInt16
    public var path: String
    public var https: Bool
    /// `(name, value)`, in the manifest's order.
    public var headers: [HTTPHeaderField]

    public init(host: String, port: UInt16, path: String = "/", https: Bool = false, headers: [HTTPHeaderField] = []) {
        self.host = host
        self.port = port
        self.path = path
        self.https = https
        self.headers = headers
    }
}

extension HTTPGet {
    /// The header fields of a probe's request as kubelet's prober sends them
    /// (`pkg/probe/http/request.go`): `Host` (`authority`), `User-Agent: kube-probe/1.32` and
    /// `Accept: */*` unless the probe gives its own, `Connection: close` (no keep-alive), then
    /// the probe's, in order. The supervisor's plain HTTP and `podrec-probe`'s HTTPS send these.
    public static func requestHeaders(_ probe: [HTTPHeaderField], authority: String) -> [HTTPHeaderField] {
        let names = Set(probe.map { $0.name.lowercased() })
        var out: [HTTPHeaderField] = []
        if !names.contains("host") { out.append(HTTPHeaderField(name: "Host", value: authority)) }
        if !names.contains("user-agent") { out.append(HTTPHeaderField(name: "User-Agent", value: "kube-probe/1.32")) }
        if !names.contains("accept") { out.append(HTTPHeaderField(name: "Accept", value: "*/*")) }
        return out + [HTTPHeaderField(name: "Connection", value: "close")] + probe
    }
}

public struct HTTPHeaderField: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One probe of a container, with Kubernetes' parameters (defaults applied).
public struct ProbeSpec: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case startup, liveness, readiness
    }

    public var action: HandlerAction
    public var initialDelaySeconds: Int32
    public var periodSeconds: Int32
    public var timeoutSeconds: Int32
    public var successThreshold: Int32
    public var failureThreshold: Int32
    /// A liveness or startup failure's own grace period, if the probe sets one.
    public var terminationGracePeriodSeconds: Int64?

    public init(action: HandlerAction, initialDelaySeconds: Int32 = 0, periodSeconds: Int32 = 10, timeoutSeconds: Int32 = 1,
                successThreshold: Int32 = 1, failureThreshold: Int32 = 3, terminationGracePeriodSeconds: Int64? = nil) {
        self.action = action
        self.initialDelaySeconds = initialDelaySeconds
        self.periodSeconds = periodSeconds
        self.timeoutSeconds = timeoutSeconds
        self.successThreshold = successThreshold
        self.failureThreshold = failureThreshold
        self.terminationGracePeriodSeconds = terminationGracePeriodSeconds
    }
}

// MARK: - Text form, inside a container block of the launch plan

/// Each probe and hook as lines keyed `<name>.<what>`: `livenessProbe.timing` (initial
/// delay, period, timeout, success and failure thresholds, grace or `-`), then its action:
/// `.exec` once per argument, `.tcp` (host, port), `.http` (host, port, path, scheme) with
/// `.header` (name, value) lines, `.grpc` (host, port, service), or `.sleep` (seconds).
enum HandlerRecords {
    static func write(_ name: String, _ probe: ProbeSpec, into w: inout RecordWriter) {
        let grace = probe.terminationGracePeriodSeconds.map(String.init) ?? "-"
        w.line(name + ".timing", [probe.initialDelaySeconds, probe.periodSeconds, probe.timeoutSeconds,
                                  probe.successThreshold, probe.failureThreshold].map(String.init).joined(separator: "\t") + "\t" + grace)
        write(name, probe.action, into: &w)
    }

    static func write(_ name: String, _ action: HandlerAction, into w: inout RecordWriter) {
        switch action {
        case .exec(let argv):
            // An empty argv still needs a line to say "exec".
            if argv.isEmpty { w.line(name + ".exec", "") }
            for a in argv { w.line(name + ".exec", a) }
        case .tcpSocket(let host, let port):
            w.line(name + ".tcp", "\(host)\t\(port)")
        case .httpGet(let h):
            w.line(name + ".http", "\(h.host)\t\(h.port)\t\(h.https ? "HTTPS" : "HTTP")\t\(h.path)")
            for header in h.headers { w.line(name + ".header", "\(header.name)\t\(header.value)") }
        case .grpc(let host, let port, let service):
            w.line(name + ".grpc", "\(host)\t\(port)\t\(service)")
        case .sleep(let seconds):
            w.line(name + ".sleep", seconds)
        }
    }

    /// The names the container block may hold.
    static let probeNames = ["startupProbe": ProbeSpec.Kind.startup, "livenessProbe": .liveness, "readinessProbe": .readiness]
    static let hookNames = ["postStart", "preStop"]

    /// Reads one `<name>.<what>` record into `builders`; false when the key is not one.
    static func read(_ r: Record, into builders: inout [String: Builder]) throws(RecordError) -> Bool {
        guard let dot = r.key.firstIndex(of: ".") else { return false }
        let name = String(r.key[..<dot]), what = String(r.key[r.key.index(after: dot)...])
        guard probeNames[name] != nil || hookNames.contains(name) else { return false }
        var b = builders[name] ?? Builder()
        switch what {
        case "timing":
            let f = try r.fields(6)
            guard let i = Int32(f[0]), let p = Int32(f[1]), let t = Int32(f[2]), let s = Int32(f[3]), let fail = Int32(f[4]) else {
                throw RecordError(line: r.line, reason: "\(r.key): five numbers expected")
            }
            b.timing = (i, p, t, s, fail, f[5] == "-" ? nil : Int64(f[5]))
        case "exec":
            if case .exec(let argv)? = b.action {
                b.action = .exec(argv + [r.value])
            } else {
                b.action = .exec(r.value.isEmpty ? [] : [r.value])
            }
        case "tcp":
            let f = try r.fields(2)
            guard let port = UInt16(f[1]) else { throw RecordError(line: r.line, reason: "\(r.key): a port expected") }
            b.action = .tcpSocket(host: f[0], port: port)
        case "http":
            // The path last: it may hold anything, tabs included.
            let parts = r.value.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 4, let port = UInt16(parts[1]) else { throw RecordError(line: r.line, reason: "\(r.key): host, port, scheme, path expected") }
            b.action = .httpGet(HTTPGet(host: parts[0], port: port, path: parts[3], https: parts[2] == "HTTPS", headers: b.headers))
        case "grpc":
            // The service last: it may hold anything, tabs included, or be empty.
            let parts = r.value.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, let port = UInt16(parts[1]) else { throw RecordError(line: r.line, reason: "\(r.key): host, port, service expected") }
            b.action = .grpc(host: parts[0], port: port, service: parts[2])
        case "header":
            guard let tab = r.value.firstIndex(of: "\t") else { throw RecordError(line: r.line, reason: "\(r.key): a name and a value expected") }
            let header = HTTPHeaderField(name: String(r.value[..<tab]), value: String(r.value[r.value.index(after: tab)...]))
            b.headers.append(header)
            if case .httpGet(var h)? = b.action {
                h.headers.append(header)
                b.action = .httpGet(h)
            }
        case "sleep":
            b.action = .sleep(seconds: try r.int64())
        default:
            return false
        }
        builders[name] = b
        return true
    }

    struct Builder {
        var timing: (Int32, Int32, Int32, Int32, Int32, Int64?)?
        var action: HandlerAction?
        var headers: [HTTPHeaderField] = []

        func probe(line: Int, name: String) throws(RecordError) -> ProbeSpec {
            guard let action, let t = timing else { throw RecordError(line: line, reason: "\(name): its timing and an action expected") }
            return ProbeSpec(action: action, initialDelaySeconds: t.0, periodSeconds: t.1, timeoutSeconds: t.2,
                             successThreshold: t.3, failureThreshold: t.4, terminationGracePeriodSeconds: t.5)
        }
    }
}
