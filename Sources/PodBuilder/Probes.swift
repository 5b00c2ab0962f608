import Manifest
import PodModel

/// A container's probes and hooks, resolved for the supervisor. A named port is looked up
/// among the container's `ports` here, once (validation has refused a name the container
/// does not have, where kubelet would fail every probe later). The host defaults to the pod's
/// IP, as kubelet's prober's does (a token until the network gives it; loopback for a pod with
/// only `lo`); the supervisor probes from the pod's network namespace (gRPC and HTTPS through
/// its `podrec-probe` helper, which it starts there). Probe commands are not
/// `$(VAR)`-expanded, as in Kubernetes.
enum ProbeBuilder {
    static func apply(_ c: Manifest.Container, to launch: inout ContainerLaunch, at path: String, podAddress: String) throws(BuildError) {
        launch.startupProbe = try c.startupProbe.map { p throws(BuildError) in try probe(p, c, podAddress: podAddress, at: path + ".startupProbe") }
        launch.livenessProbe = try c.livenessProbe.map { p throws(BuildError) in try probe(p, c, podAddress: podAddress, at: path + ".livenessProbe") }
        launch.readinessProbe = try c.readinessProbe.map { p throws(BuildError) in try probe(p, c, podAddress: podAddress, at: path + ".readinessProbe") }
        launch.postStart = try c.lifecycle?.postStart.map { h throws(BuildError) in try hook(h, c, podAddress: podAddress, at: path + ".lifecycle.postStart") }
        launch.preStop = try c.lifecycle?.preStop.map { h throws(BuildError) in try hook(h, c, podAddress: podAddress, at: path + ".lifecycle.preStop") }
    }

    static func probe(_ p: Probe, _ c: Manifest.Container, podAddress: String, at path: String) throws(BuildError) -> ProbeSpec {
        let action: HandlerAction
        switch p.handler {
        case .exec(let command): action = .exec(command)
        case .httpGet(let h): action = .httpGet(try http(h, c, podAddress: podAddress, at: path + ".httpGet"))
        case .tcpSocket(let port, let host):
            action = .tcpSocket(host: nonEmpty(host) ?? podAddress, port: try number(port, c, at: path + ".tcpSocket.port"))
        case .grpc(let port, let service):
            // kubelet's gRPC prober always dials the pod IP: the API has no `host` for it.
            action = .grpc(host: podAddress, port: try number(.int(port), c, at: path + ".grpc.port"), service: service ?? "")
        }
        return ProbeSpec(action: action, initialDelaySeconds: p.initialDelaySeconds, periodSeconds: p.periodSeconds,
                         timeoutSeconds: p.timeoutSeconds, successThreshold: p.successThreshold,
                         failureThreshold: p.failureThreshold, terminationGracePeriodSeconds: p.terminationGracePeriodSeconds)
    }

    static func hook(_ h: LifecycleHandler, _ c: Manifest.Container, podAddress: String, at path: String) throws(BuildError) -> HandlerAction {
        switch h {
        case .exec(let command): return .exec(command)
        case .httpGet(let g): return .httpGet(try http(g, c, podAddress: podAddress, at: path + ".httpGet"))
        case .sleep(let seconds): return .sleep(seconds: seconds)
        }
    }

    static func http(_ h: HTTPGetAction, _ c: Manifest.Container, podAddress: String, at path: String) throws(BuildError) -> HTTPGet {
        return HTTPGet(host: nonEmpty(h.host) ?? podAddress, port: try number(h.port, c, at: path + ".port"),
                path: h.path.isEmpty ? "/" : h.path, https: h.scheme.uppercased() == "HTTPS",
                headers: h.httpHeaders.map { HTTPHeaderField(name: $0.name, value: $0.value) })
    }

    static func number(_ port: IntOrString, _ c: Manifest.Container, at path: String) throws(BuildError) -> UInt16 {
        switch port {
        case .int(let n):
            guard let p = UInt16(exactly: n), p > 0 else { throw BuildError(path: path, message: "port \(n) is not between 1 and 65535") }
            return p
        case .string(let name):
            guard let found = c.ports.first(where: { $0.name == name }), let p = UInt16(exactly: found.containerPort) else {
                let names = c.ports.compactMap(\.name)
                throw BuildError(path: path, message: "\"\(name)\" is not a named port of container \(c.name)"
                                 + (names.isEmpty ? " (it names none)" : " (it has \(names.joined(separator: ", ")))"))
            }
            return p
        }
    }

    static func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }
}
