import Manifest
import PodModel
import YAML

/// kubelet's `$(VAR)` expansion (kubernetes third_party/forked/golang/expansion), used for
/// env values and for `command` and `args`:
///
/// - `$(NAME)` becomes NAME's value when `mapping` knows it, and stays as written when not;
/// - `$$` becomes `$` (so `$$(NAME)` is the literal `$(NAME)`);
/// - a `$` before anything else, a `$(` with no `)`, and a final `$` stay as written.
public enum EnvExpansion {
    public static func expand(_ input: String, _ mapping: (String) -> String?) -> String {
        let dollar = UInt8(ascii: "$"), open = UInt8(ascii: "("), close = UInt8(ascii: ")")
        let b = Array(input.utf8)
        guard b.contains(dollar) else { return input }
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        while i < b.count {
            guard b[i] == dollar, i + 1 < b.count else {
                out.append(b[i])
                i += 1
                continue
            }
            let next = b[i + 1]
            if next == dollar {
                out.append(dollar)
                i += 2
            } else if next == open {
                if let end = b[(i + 2)...].firstIndex(of: close) {
                    let name = String(decoding: b[(i + 2)..<end], as: UTF8.self)
                    if let value = mapping(name) { out += value.utf8 } else { out += b[i...end] }
                    i = end + 1
                } else {
                    out += [dollar, open]
                    i += 2
                }
            } else {
                out += [dollar, next]
                i += 2
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Names in first-set order, later values replacing earlier ones in place: the merge
/// containerd does of its defaults, the image's env and the container's
/// (`replaceOrAppendEnvValues`).
struct OrderedEnvironment {
    private(set) var names: [String] = []
    private(set) var values: [String: String] = [:]
    /// Names whose value holds a Secret's data: taken from one, or `$(VAR)`-expanded from
    /// such a name. `diff` and `describe` never show these values.
    private(set) var secret: Set<String> = []

    mutating func set(_ name: String, _ value: String, secret isSecret: Bool = false) {
        if values.updateValue(value, forKey: name) == nil { names.append(name) }
        if isSecret { secret.insert(name) } else { secret.remove(name) }
    }

    /// `$(VAR)` expansion against these values; `usedSecret` tells whether a secret's
    /// value went in.
    func expand(_ text: String) -> (value: String, usedSecret: Bool) {
        var usedSecret = false
        let value = EnvExpansion.expand(text) { name in
            guard let v = values[name] else { return nil }
            if secret.contains(name) { usedSecret = true }
            return v
        }
        return (value, usedSecret)
    }

    subscript(name: String) -> String? { values[name] }

    var entries: [String] { names.map { "\($0)=\(values[$0]!)" } }
}

/// One container's environment, the kubelet way (`makeEnvironmentVariables`), then merged
/// over the runtime's defaults and the image's env the containerd way.
struct EnvironmentBuilder {
    /// containerd's default (oci `defaultUnixEnv`), when neither image nor manifest sets PATH.
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    var pod: Manifest.Pod
    var uid: String
    var configMaps: [String: ConfigMap]
    var secrets: [String: Secret]
    var node: NodeFacts
    var podIP: String
    /// `status.podIPs`: the addresses joined by commas.
    var podIPs: String
    var hostname: String

    /// Where a probe or hook without `host` connects: the pod's IP, as kubelet's prober.
    var probeAddress: String { podIP }

    /// The variables kubelet hands the runtime, in podrec's deterministic order:
    ///
    /// 1. `envFrom`, source by source, each source's keys in sorted order (kubelet walks a
    ///    map), with the prefix; keys that are not valid variable names are skipped (kubelet
    ///    skips them and records an event); a missing optional source adds nothing. Only a
    ///    ConfigMap's `data` counts, not its `binaryData`, as in kubelet.
    /// 2. `env`, in order: a literal value is `$(VAR)`-expanded against what is defined so
    ///    far (envFrom and earlier env entries; never the image's env, which kubelet cannot
    ///    see); a `valueFrom` is resolved; a missing optional key leaves the name unset.
    ///
    /// A name set again keeps its first position and takes the last value (kubelet keeps a
    /// map, so only the value is defined; the position is podrec's choice).
    func kubeletEnvironment(_ c: Manifest.Container, at path: String) throws(BuildError) -> OrderedEnvironment {
        var env = OrderedEnvironment()
        let ns = pod.metadata.namespace
        for (i, from) in c.envFrom.enumerated() {
            let prefix = from.prefix ?? ""
            switch from.source {
            case .configMap(let name, let optional):
                guard let cm = configMaps["\(ns)/\(name)"] else {
                    if optional { continue }
                    throw BuildError(path: "\(path).envFrom[\(i)].configMapRef.name", message: "ConfigMap \"\(name)\" is not defined in namespace \(ns)")
                }
                for key in cm.data.keys.sorted() where Self.isEnvVarName(prefix + key) {
                    env.set(prefix + key, cm.data[key]!)
                }
            case .secret(let name, let optional):
                guard let s = secrets["\(ns)/\(name)"] else {
                    if optional { continue }
                    throw BuildError(path: "\(path).envFrom[\(i)].secretRef.name", message: "Secret \"\(name)\" is not defined in namespace \(ns)")
                }
                for key in s.data.keys.sorted() where Self.isEnvVarName(prefix + key) {
                    env.set(prefix + key, String(decoding: s.data[key]!, as: UTF8.self), secret: true)
                }
            }
        }
        for (i, e) in c.env.enumerated() {
            let ep = "\(path).env[\(i)].valueFrom"
            let value: String
            var isSecret = false
            switch e.valueFrom {
            case nil:
                (value, isSecret) = env.expand(e.value ?? "")
            case .configMapKey(let sel)?:
                guard let cm = configMaps["\(ns)/\(sel.name)"], let v = cm.data[sel.key] else {
                    if sel.optional { continue }
                    throw BuildError(path: ep + ".configMapKeyRef", message: "ConfigMap \"\(sel.name)\" in namespace \(ns) has no key \"\(sel.key)\"")
                }
                value = v
            case .secretKey(let sel)?:
                guard let s = secrets["\(ns)/\(sel.name)"], let v = s.data[sel.key] else {
                    if sel.optional { continue }
                    throw BuildError(path: ep + ".secretKeyRef", message: "Secret \"\(sel.name)\" in namespace \(ns) has no key \"\(sel.key)\"")
                }
                value = String(decoding: v, as: UTF8.self)
                isSecret = true
            case .field(let fieldPath, _)?:
                guard let v = fieldValue(fieldPath) else {
                    throw BuildError(path: ep + ".fieldRef.fieldPath", message: "unsupported field path \"\(fieldPath)\"")
                }
                value = v
            case .resourceField(let container, let resource, let divisor)?:
                value = try resourceValue(container: container, resource: resource, divisor: divisor, current: c, at: ep + ".resourceFieldRef")
            }
            env.set(e.name, value, secret: isSecret)
        }
        return env
    }

    /// The environment the process gets: containerd's default `PATH`, then `HOSTNAME`, then
    /// the image's env, then kubelet's variables, each name replaced in place when set again.
    func environment(_ c: Manifest.Container, imageEnv: [String], at path: String) throws(BuildError) -> (entries: [String], secret: [String], kubelet: OrderedEnvironment, path: String) {
        var out = OrderedEnvironment()
        out.set("PATH", Self.defaultPath)
        out.set("HOSTNAME", hostname)
        for entry in imageEnv {
            guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex else { continue }
            out.set(String(entry[..<eq]), String(entry[entry.index(after: eq)...]))
        }
        let kubelet = try kubeletEnvironment(c, at: path)
        for name in kubelet.names { out.set(name, kubelet[name]!, secret: kubelet.secret.contains(name)) }
        return (out.entries, out.names.filter(out.secret.contains), kubelet, out["PATH"]!)
    }

    /// kubelet `podFieldSelectorRuntimeValue` and `fieldpath.ExtractFieldPathAsString`.
    ///
    /// - `spec.nodeName` is the host's name (`NodeFacts.name`).
    /// - `spec.serviceAccountName` is the manifest's (kept, ignored, in `spec.ignored`), or
    ///   `default`, which the API server's admission would have set.
    /// - `status.hostIP(s)` is `NodeFacts.hostIP`; `status.podIP(s)` is the pod network's
    ///   address (a token until the attachment gives it: `LaunchPlan.podIPToken`), the host IP
    ///   with hostNetwork, and `127.0.0.1` for a pod with only `lo` (`--pod-network none`).
    func fieldValue(_ path: String) -> String? {
        let meta = pod.metadata
        switch path {
        case "metadata.name": return meta.name
        case "metadata.namespace": return meta.namespace
        case "metadata.uid": return uid
        case "metadata.labels": return Self.formatMap(meta.labels)
        case "metadata.annotations": return Self.formatMap(meta.annotations)
        case "spec.nodeName": return node.name
        case "spec.serviceAccountName":
            for key in ["serviceAccountName", "serviceAccount"] {
                if case .string(let s)? = pod.spec.ignored[key], !s.isEmpty { return s }
            }
            return "default"
        case "status.hostIP", "status.hostIPs": return node.hostIP
        case "status.podIP": return podIP
        case "status.podIPs": return podIPs
        default:
            for (prefix, map) in [("metadata.labels['", meta.labels), ("metadata.annotations['", meta.annotations)]
            where path.hasPrefix(prefix) && path.hasSuffix("']") && path.count > prefix.count + 2 {
                return map[String(path.dropFirst(prefix.count).dropLast(2))] ?? ""
            }
            return nil
        }
    }

    /// kubelet `containerResourceRuntimeValue`: the named container's (or this one's) value,
    /// where a limit that is not set (or zero) is the node's allocatable
    /// (`defaultPodLimitsForDownwardAPI`) and a request that is not set is 0; divided by
    /// the divisor (default 1) and rounded up.
    func resourceValue(container name: String?, resource: String, divisor: Quantity?, current: Manifest.Container, at path: String) throws(BuildError) -> String {
        var target = current
        if let name, !name.isEmpty {
            guard let found = (pod.spec.containers + pod.spec.initContainers).first(where: { $0.name == name }) else {
                throw BuildError(path: path + ".containerName", message: "no container named \"\(name)\" in this pod")
            }
            target = found
        }
        let r = target.resources
        func limit(_ key: String, _ unit: (Quantity) -> Int64?, node: Int64) -> Int64 {
            guard let q = r.limits[key], !q.isZero, let v = unit(q) else { return node }
            return v
        }
        func request(_ key: String, _ unit: (Quantity) -> Int64?) -> Int64 {
            r.requests[key].flatMap(unit) ?? 0
        }
        let milli: (Quantity) -> Int64? = { $0.milliValue }
        let bytes: (Quantity) -> Int64? = { $0.value }
        let cpuDivisor = divisor.map { $0.milliValue ?? Int64.max } ?? 1000
        let byteDivisor = divisor.map { $0.value ?? Int64.max } ?? 1
        let result: Int64
        switch resource {
        case "limits.cpu": result = Self.ceilDiv(limit("cpu", milli, node: node.milliCPU), cpuDivisor)
        case "requests.cpu": result = Self.ceilDiv(request("cpu", milli), cpuDivisor)
        case "limits.memory": result = Self.ceilDiv(limit("memory", bytes, node: node.memoryBytes), byteDivisor)
        case "requests.memory": result = Self.ceilDiv(request("memory", bytes), byteDivisor)
        case "limits.ephemeral-storage": result = Self.ceilDiv(limit("ephemeral-storage", bytes, node: node.ephemeralStorageBytes), byteDivisor)
        case "requests.ephemeral-storage": result = Self.ceilDiv(request("ephemeral-storage", bytes), byteDivisor)
        default: throw BuildError(path: path + ".resource", message: "unsupported resource \"\(resource)\"")
        }
        return String(result)
    }

    static func ceilDiv(_ a: Int64, _ b: Int64) -> Int64 {
        guard b > 0 else { return 0 }
        guard a > 0 else { return 0 }
        return a / b + (a % b == 0 ? 0 : 1)
    }

    /// `[-._a-zA-Z][-._a-zA-Z0-9]*`, kubelet's `IsEnvVarName` (the manifest layer's rule).
    static func isEnvVarName(_ s: String) -> Bool {
        var first = true
        for u in s.utf8 {
            switch u {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."):
                break
            case UInt8(ascii: "0")...UInt8(ascii: "9") where !first:
                break
            default:
                return false
            }
            first = false
        }
        return !first
    }

    /// kubelet `fieldpath.FormatMap`: `key="value"` lines in key order, values quoted as
    /// Go's `%q` does, no final newline.
    static func formatMap(_ m: [String: String]) -> String {
        m.keys.sorted().map { "\($0)=\(GoFormat.quoted(m[$0]!))" }.joined(separator: "\n")
    }
}
