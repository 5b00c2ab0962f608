import PodModel

/// A probe run's outcome: success (with kubelet's warning, if any) or failure with its
/// message.
public enum ProbeOutcome: Sendable, Equatable {
    case success(String?)
    case failure(String)

    public var exitStatus: Int32 { if case .success = self { ProbeHelperCall.success } else { ProbeHelperCall.failure } }
    public var message: String? {
        switch self {
        case .success(let m): m
        case .failure(let m): m
        }
    }
}

/// `podrec-probe`'s work: the call (`ProbeHelperCall`, from the supervisor) → one probe.
/// The caller exits with the outcome at once: the process is the unit of cleanup, so no
/// time goes to closing connections and event loops nobody will use again.
public enum ProbeHelper {
    public static func run(_ call: ProbeHelperCall) -> ProbeOutcome {
        switch call {
        case .grpc(let timeout, let host, let port, let service):
            return GRPCHealthCheck.run(host: host, port: port, service: service, timeoutSeconds: timeout)
        case .https(let timeout, let get):
            var get = get
            if get.path.isEmpty { get.path = "/" }
            return HTTPSGet.run(get, timeoutSeconds: timeout)
        }
    }
}
