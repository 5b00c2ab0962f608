import PodModel

/// kubelet's words for a probe's outcome (`pkg/probe/grpc/grpc.go`, `pkg/probe/http/http.go`),
/// which Go prints with its own formats: durations as `1s` and `1m30s`, enum values by
/// name, gRPC status codes by their Go names. Pure, so that tests pin them down.
public enum KubeletWords {
    /// Go's `time.Duration.String()` of whole seconds: `1s`, `1m0s`, `1h0m0s`.
    public static func duration(seconds: Int64) -> String {
        if seconds == 0 { return "0s" }
        let h = seconds / 3600, m = (seconds % 3600) / 60, s = seconds % 60
        if h > 0 { return "\(h)h\(m)m\(s)s" }
        if m > 0 { return "\(m)m\(s)s" }
        return "\(s)s"
    }

    /// `grpc.health.v1.HealthCheckResponse.ServingStatus` by its proto name; Go prints an
    /// unknown value as its number.
    public static func servingStatus(_ value: Int) -> String {
        switch value {
        case 0: "UNKNOWN"
        case 1: "SERVING"
        case 2: "NOT_SERVING"
        case 3: "SERVICE_UNKNOWN"
        default: String(value)
        }
    }

    /// grpc-go's `codes.Code.String()`.
    public static func grpcCode(_ raw: Int) -> String {
        let names = ["OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
                     "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
                     "Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated"]
        return names.indices.contains(raw) ? names[raw] : "Code(\(raw))"
    }

    /// `net.JoinHostPort`: an IPv6 address in brackets.
    public static func hostPort(_ host: String, _ port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    // MARK: gRPC (pkg/probe/grpc/grpc.go)

    public static func grpcUnhealthy(status: Int) -> String {
        "service unhealthy (responded with \(GoFormat.quoted(servingStatus(status))))"
    }

    /// The dial did not finish in time (grpc-go's blocking dial retries a refused connection
    /// until then).
    public static func grpcConnectTimeout(address: String, timeoutSeconds: Int64) -> String {
        "timeout: failed to connect service \(GoFormat.quoted(address)) within \(duration(seconds: timeoutSeconds)): context deadline exceeded"
    }

    public static func grpcConnectError(address: String, error: String) -> String {
        "error: failed to connect service at \(GoFormat.quoted(address)): \(error)"
    }

    /// The health RPC failed with a gRPC status.
    public static func grpcRPCError(code: Int, message: String, timeoutSeconds: Int64) -> String {
        switch code {
        case 12: return "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): \(message)"
        case 4: return "timeout: health rpc did not complete within \(duration(seconds: timeoutSeconds))"
        default: return "error: health rpc probe failed: rpc error: code = \(grpcCode(code)) desc = \(message)"
        }
    }

    // MARK: HTTP(S) (pkg/probe/http/http.go, and Go's net/http errors)

    public static func url(_ host: String, _ port: UInt16, _ path: String, scheme: String = "https") -> String {
        "\(scheme)://\(hostPort(host, port))\(path.hasPrefix("/") ? path : "/" + path)"
    }

    /// `client.Do`'s error: `Get "URL": ...`.
    public static func httpGetError(url: String, _ error: String) -> String { "Get \(GoFormat.quoted(url)): \(error)" }

    public static func httpTimeout(url: String) -> String {
        httpGetError(url: url, "context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
    }

    public static func httpStatusFailure(_ code: Int) -> String { "HTTP probe failed with statuscode: \(code)" }

    /// A 3xx that was not followed (another host, or no Location): kubelet's Warning, a success.
    public static func httpRedirectWarning(body: String) -> String { "Probe terminated redirects, Response body: \(body)" }

    public static func httpTooManyRedirects(url: String) -> String { httpGetError(url: url, "stopped after 10 redirects") }

    /// Go's dial error: `dial tcp 127.0.0.1:8443: connect: connection refused`.
    public static func dialError(address: String, _ reason: String) -> String { "dial tcp \(address): connect: \(reason)" }
}
