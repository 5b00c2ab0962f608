/// One `grpc.health.v1.Health/Check`, as kubelet's gRPC prober makes it
/// (`pkg/probe/grpc/grpc.go`): plaintext HTTP/2 (insecure credentials, no TLS), the probe's
/// service name, the probe's timeout for the dial and the call together; SERVING is success.
enum GRPCHealthCheck {
    static func run(host: String, port: UInt16, service: String, timeoutSeconds: Int32) -> ProbeOutcome {
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
        let result = GRPCUnaryCall.call(host: host, port: port, authority: address, path: "/grpc.health.v1.Health/Check",
                                        request: HealthMessages.request(service: service),
                                        userAgent: "kube-probe/1.32", deadline: deadline)
        switch result {
        case .failure(.deadline):
            return .failure(KubeletWords.grpcRPCError(code: 4, message: "context deadline exceeded", timeoutSeconds: timeout))
        case .failure(.connection(let error)):
            // grpc-go: a transport that fails is Unavailable.
            return .failure(KubeletWords.grpcRPCError(code: 14, message: "connection error: \(error)", timeoutSeconds: timeout))
        case .success(let reply) where reply.code != 0:
            return .failure(KubeletWords.grpcRPCError(code: reply.code, message: reply.message, timeoutSeconds: timeout))
        case .success(let reply):
            guard let status = HealthMessages.status(fromResponse: reply.response ?? []) else {
                return .failure(KubeletWords.grpcRPCError(code: 13, message: "grpc: failed to unmarshal the received message",
                                                          timeoutSeconds: timeout))
            }
            return status == 1 ? .success(nil) : .failure(KubeletWords.grpcUnhealthy(status: Int(status)))
        }
    }
}
