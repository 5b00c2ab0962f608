import PodModel
import YAML

/// The one spec hash, used by the reconciler to decide that a container changed and by
/// the supervisor to report which spec a running container has (ARCHITECTURE, "Spec hash").
///
/// Input: the container's canonical form with its environment resolved, so a changed
/// ConfigMap or Secret value restarts the containers that read it through env.
/// Left out:
/// - `imagePullPolicy`, which says when the image is fetched, not what runs;
/// - `resources` of each resource (cpu, memory) whose resize policy is NotRequired, since
///   those change in place;
/// - the contents of mounted configMap, secret, downwardAPI and projected volumes, which
///   are updated in place through the `..data` symlink swap, as kubelet does (only their
///   names are in the spec; the pod's labels and annotations, which downwardAPI files
///   show, are not in a container's spec at all).
///
/// Added: the SHA-256 of the container's compiled seccomp program, when it has one. That is
/// the effective profile (a pod-level one reaches every container through it), the
/// capabilities RuntimeDefault depends on, and a Localhost profile's file contents: any
/// change to the filter the container would run under restarts it. Unconfined adds nothing,
/// so the hash of an unconfined container is what it was before seccomp was honoured.
///
/// The digest is 64-bit FNV-1a over the compact JSON, printed as 16 hex digits. It detects
/// change; it is not a security boundary.
public enum SpecHash {
    public static func of(_ container: Container, resolvedEnv: [ResolvedEnvVar], seccomp: String? = nil) -> String {
        var hashed = ResourceRequirements()
        for name in ["cpu", "memory"] where container.resizePolicy(for: name) == "RestartContainer" {
            hashed.requests[name] = container.resources.requests[name]
            hashed.limits[name] = container.resources.limits[name]
        }
        // Resources other than cpu and memory cannot be resized, so they count.
        for (name, q) in container.resources.requests where name != "cpu" && name != "memory" { hashed.requests[name] = q }
        for (name, q) in container.resources.limits where name != "cpu" && name != "memory" { hashed.limits[name] = q }

        guard case .object(var members) = container.canonicalJSON(resources: hashed) else { return "" }
        // The pull policy says when to fetch the image, not what runs: changing it alone
        // restarts nothing (and pods made before it was honoured keep their hash).
        members.removeAll { $0.key == "imagePullPolicy" }
        // The termination message's path and policy are part of the container as kubelet
        // hashes it, so a change restarts it; at their defaults they add nothing, so that
        // containers made before they were honoured keep their hash and are not restarted.
        members.removeAll { m in
            (m.key == "terminationMessagePath" && m.value == .string(Container.defaultTerminationMessagePath))
                || (m.key == "terminationMessagePolicy" && m.value == .string("File"))
        }
        members.append(JSONMember("resolvedEnv", .array(resolvedEnv.map {
            .object([JSONMember("name", .string($0.name)), JSONMember("value", .string($0.value))])
        })))
        if let seccomp { members.append(JSONMember("seccompProgram", .string(seccomp))) }
        return FNV1a.hex16(FNV1a.hash64(JSONValue.object(members).serialized().utf8))
    }
}

/// One environment variable with its value known, or the reference kept when the value
/// only exists at run time (`metadata.uid`, `status.podIP`, resource fields).
public struct ResolvedEnvVar: Sendable, Hashable {
    public var name: String
    public var value: String
    /// True when `value` came from a Secret: never print it.
    public var isSecret: Bool

    public init(name: String, value: String, isSecret: Bool = false) {
        self.name = name
        self.value = value
        self.isSecret = isSecret
    }
}

public enum EnvResolver {
    /// The container's environment in Kubernetes order: `envFrom` sources first, in order,
    /// then `env`, later names overriding earlier ones. Missing optional references are
    /// skipped; references that are not optional were checked by validation.
    /// `$(VAR)` expansion and run-time fields are left for the runtime.
    public static func resolve(_ c: Container, namespace: String, configMaps: [String: ConfigMap], secrets: [String: Secret]) -> [ResolvedEnvVar] {
        var out: [ResolvedEnvVar] = []
        var index: [String: Int] = [:]
        func set(_ v: ResolvedEnvVar) {
            if let i = index[v.name] { out[i] = v } else {
                index[v.name] = out.count
                out.append(v)
            }
        }
        for from in c.envFrom {
            let prefix = from.prefix ?? ""
            switch from.source {
            case .configMap(let name, _):
                guard let cm = configMaps["\(namespace)/\(name)"] else { continue }
                for key in cm.data.keys.sorted() { set(ResolvedEnvVar(name: prefix + key, value: cm.data[key]!)) }
            case .secret(let name, _):
                guard let s = secrets["\(namespace)/\(name)"] else { continue }
                for key in s.data.keys.sorted() {
                    set(ResolvedEnvVar(name: prefix + key, value: String(decoding: s.data[key]!, as: UTF8.self), isSecret: true))
                }
            }
        }
        for e in c.env {
            switch e.valueFrom {
            case nil:
                set(ResolvedEnvVar(name: e.name, value: e.value ?? ""))
            case .configMapKey(let sel)?:
                if let v = configMaps["\(namespace)/\(sel.name)"]?.data[sel.key] { set(ResolvedEnvVar(name: e.name, value: v)) }
            case .secretKey(let sel)?:
                if let v = secrets["\(namespace)/\(sel.name)"]?.data[sel.key] {
                    set(ResolvedEnvVar(name: e.name, value: String(decoding: v, as: UTF8.self), isSecret: true))
                }
            case .field(let path, _)?:
                set(ResolvedEnvVar(name: e.name, value: "$(fieldRef:\(path))"))
            case .resourceField(let container, let resource, let divisor)?:
                set(ResolvedEnvVar(name: e.name, value: "$(resourceFieldRef:\(container ?? ""):\(resource):\(divisor?.canonical ?? "1"))"))
            }
        }
        return out
    }
}
