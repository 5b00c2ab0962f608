/// The command line between the supervisor and `podrec-probe`, the helper it starts for one
/// probe run over gRPC or HTTPS (protocols whose stacks would not fit the supervisor's
/// 1 MiB). The one owner of that format: the supervisor writes it, the helper reads it.
///
///     podrec-probe grpc  TIMEOUT HOST PORT SERVICE
///     podrec-probe https TIMEOUT HOST PORT PATH [NAME VALUE]...
///
/// TIMEOUT is the probe's `timeoutSeconds`. The answer is the exit status (0 success, 1
/// failure, 2 a call the helper could not read) and one line on stdout in kubelet's words:
/// the failure's message, or for a success a warning (an HTTPS redirect not followed), or
/// nothing.
public enum ProbeHelperCall: Sendable, Hashable {
    case grpc(timeoutSeconds: Int32, host: String, port: UInt16, service: String)
    case https(timeoutSeconds: Int32, get: HTTPGet)

    /// The executable's name: the supervisor finds it beside its own.
    public static let executableName = "podrec-probe"

    /// The helper beside `executable` (a path as in argv[0]; no directory: the current one).
    public static func path(beside executable: String) -> String {
        guard let slash = executable.lastIndex(of: "/") else { return "./" + executableName }
        return String(executable[...slash]) + executableName
    }

    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    public static let usage: Int32 = 2

    /// The helper's call for an action, if the action needs the helper.
    public init?(_ action: HandlerAction, timeoutSeconds: Int32) {
        switch action {
        case .grpc(let host, let port, let service):
            self = .grpc(timeoutSeconds: timeoutSeconds, host: host, port: port, service: service)
        case .httpGet(let get) where get.https:
            self = .https(timeoutSeconds: timeoutSeconds, get: get)
        default:
            return nil
        }
    }

    /// argv after the executable.
    public var arguments: [String] {
        switch self {
        case .grpc(let t, let host, let port, let service):
            return ["grpc", String(t), host, String(port), service]
        case .https(let t, let get):
            return ["https", String(t), get.host, String(get.port), get.path] + get.headers.flatMap { [$0.name, $0.value] }
        }
    }

    /// argv after the executable, read back; nil for anything else.
    public init?(arguments a: [String]) {
        guard a.count >= 5, let t = Int32(a[1]), t > 0, let port = UInt16(a[3]), port > 0 else { return nil }
        switch a[0] {
        case "grpc" where a.count == 5:
            self = .grpc(timeoutSeconds: t, host: a[2], port: port, service: a[4])
        case "https" where (a.count - 5) % 2 == 0:
            let headers = stride(from: 5, to: a.count, by: 2).map { HTTPHeaderField(name: a[$0], value: a[$0 + 1]) }
            self = .https(timeoutSeconds: t, get: HTTPGet(host: a[2], port: port, path: a[4], https: true, headers: headers))
        default:
            return nil
        }
    }

    public var timeoutSeconds: Int32 {
        switch self {
        case .grpc(let t, _, _, _), .https(let t, _): t
        }
    }
}
