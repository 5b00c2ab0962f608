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
public enum ProbeHelper {
    /// Runs the probe and hands its outcome to `finish`, which ends the process: from inside
    /// the client's scope, so that no time goes to closing connections and event loops
    /// nobody will use again.
    public static func run(_ call: ProbeHelperCall, finish: @escaping @Sendable (ProbeOutcome) -> Never) async -> Never {
        switch call {
        case .grpc(let timeout, let host, let port, let service):
            finish(await GRPCHealthCheck.run(host: host, port: port, service: service, timeoutSeconds: timeout, finish: finish))
        case .https(let timeout, let get):
            let fields = HTTPGetFields(host: get.host, port: get.port, path: get.path.isEmpty ? "/" : get.path,
                                       headers: get.headers.map { ($0.name, $0.value) })
            finish(await HTTPSGet.run(fields, timeoutSeconds: timeout, finish: finish))
        }
    }
}
