import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf

/// One `grpc.health.v1.Health/Check`, as kubelet's gRPC prober makes it
/// (`pkg/probe/grpc/grpc.go`): plaintext HTTP/2 (insecure credentials, no TLS), the probe's
/// service name, the probe's timeout for the dial and the call together; SERVING is success.
enum GRPCHealthCheck {
    /// An outcome before the client exists is returned; one from the call goes to `finish`.
    static func run(host: String, port: UInt16, service: String, timeoutSeconds: Int32,
                    finish: @escaping @Sendable (ProbeOutcome) -> Never) async -> ProbeOutcome {
        let timeout = Int64(timeoutSeconds)
        let deadline = Dial.now() + timeout * 1_000_000_000
        let address = KubeletWords.hostPort(host, port)
        // grpc-go's blocking dial: a refused port is tried again until the deadline.
        switch Dial.connect(host: host, port: port, deadline: deadline, retryRefused: true) {
        case .connected: break
        case .timedOut: return .failure(KubeletWords.grpcConnectTimeout(address: address, timeoutSeconds: timeout))
        case .failed(let reason):
            return .failure(KubeletWords.grpcConnectError(address: address, error: KubeletWords.dialError(address: address, reason)))
        }
        let target: any ResolvableTarget = host.contains(":") ? .ipv6(address: host, port: Int(port))
            : (host.allSatisfy { $0.isNumber || $0 == "." } ? .ipv4(address: host, port: Int(port)) : .dns(host: host, port: Int(port)))
        var options = CallOptions.defaults
        options.timeout = .nanoseconds(max(deadline - Dial.now(), 1))
        // As grpc-go's blocking dial: wait for the connection rather than fail fast.
        options.waitForReady = true
        do {
            let transport = try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext)
            return try await withGRPCClient(transport: transport) { client -> ProbeOutcome in
                let outcome: ProbeOutcome
                do {
                    let status = try await client.unary(
                        request: ClientRequest(message: HealthCheckRequest(service: service),
                                               metadata: ["user-agent": "kube-probe/1.32"]),
                        descriptor: MethodDescriptor(fullyQualifiedService: "grpc.health.v1.Health", method: "Check"),
                        serializer: ProtobufSerializer<HealthCheckRequest>(),
                        deserializer: ProtobufDeserializer<HealthCheckResponse>(),
                        options: options
                    ) { try $0.message.status }
                    outcome = status == 1 ? .success(nil) : .failure(KubeletWords.grpcUnhealthy(status: Int(status)))
                } catch let error as RPCError {
                    outcome = .failure(KubeletWords.grpcRPCError(code: error.code.rawValue, message: error.message, timeoutSeconds: timeout))
                }
                finish(outcome)
            }
        } catch {
            return .failure("error: health rpc probe failed: \(error)")
        }
    }
}
