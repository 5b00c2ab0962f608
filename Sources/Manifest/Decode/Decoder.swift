import YAML

/// Builds the typed model from a document that passed `StructuralCheck`.
///
/// Because the structure is already checked, the accessors here never report type
/// errors; they read what is there and leave defaults for what is absent or null. The
/// values that need more than structure (quantities, base64) report through `errors`.
struct Decoder {
    let file: String
    var diagnostics: [Diagnostic] = []

    init(file: String) {
        self.file = file
    }

    mutating func error(_ node: Node, _ path: KeyPath, _ message: String) {
        diagnostics.append(Diagnostic(.error, file: file, mark: node.mark, path: path.description, message: message))
    }

    // MARK: Objects

    mutating func pod(_ root: Node) -> Pod {
        let meta = objectMeta(root["metadata"])
        var spec = PodSpec()
        if let s = root["spec"], !s.isNull { spec = podSpec(s, path: KeyPath("spec")) }
        return Pod(metadata: meta, spec: spec)
    }

    func objectMeta(_ node: Node?) -> ObjectMeta {
        ObjectMeta(
            name: node?["name"]?.string ?? "",
            namespace: node?["namespace"]?.string ?? "",
            labels: node?["labels"]?.stringMap ?? [:],
            annotations: node?["annotations"]?.stringMap ?? [:])
    }

    mutating func podSpec(_ n: Node, path: KeyPath) -> PodSpec {
        var s = PodSpec()
        s.containers = list(n["containers"]) { d, c, i in d.container(c, path: path.appending("containers").index(i)) }
        s.initContainers = list(n["initContainers"]) { d, c, i in d.container(c, path: path.appending("initContainers").index(i)) }
        s.volumes = list(n["volumes"]) { d, v, i in d.volume(v, path: path.appending("volumes").index(i)) }
        if let p = n["restartPolicy"]?.string, let policy = RestartPolicy(rawValue: p) { s.restartPolicy = policy }
        if let p = n["restartPolicy"]?.string, RestartPolicy(rawValue: p) == nil {
            error(n["restartPolicy"]!, path.appending("restartPolicy"), "must be Always, OnFailure or Never, found \"\(p)\"")
        }
        s.terminationGracePeriodSeconds = n["terminationGracePeriodSeconds"]?.int ?? 30
        s.activeDeadlineSeconds = n["activeDeadlineSeconds"]?.int
        s.hostNetwork = n["hostNetwork"]?.bool ?? false
        s.hostPID = n["hostPID"]?.bool ?? false
        s.hostIPC = n["hostIPC"]?.bool ?? false
        s.shareProcessNamespace = n["shareProcessNamespace"]?.bool ?? false
        s.hostname = n["hostname"]?.string
        s.subdomain = n["subdomain"]?.string
        s.hostAliases = list(n["hostAliases"]) { _, a, _ in HostAlias(ip: a["ip"]?.string ?? "", hostnames: a["hostnames"]?.stringList ?? []) }
        s.dnsPolicy = n["dnsPolicy"]?.string ?? "ClusterFirst"
        if let d = n["dnsConfig"], !d.isNull {
            s.dnsConfig = PodDNSConfig(
                nameservers: d["nameservers"]?.stringList ?? [], searches: d["searches"]?.stringList ?? [],
                options: list(d["options"]) { _, o, _ in PodDNSConfig.DNSOption(name: o["name"]?.string ?? "", value: o["value"]?.string) })
        }
        if let c = n["securityContext"], !c.isNull {
            var sc = PodSecurityContext()
            sc.runAsUser = c["runAsUser"]?.int
            sc.runAsGroup = c["runAsGroup"]?.int
            sc.runAsNonRoot = c["runAsNonRoot"]?.bool
            sc.fsGroup = c["fsGroup"]?.int
            sc.fsGroupChangePolicy = c["fsGroupChangePolicy"]?.string
            sc.supplementalGroups = c["supplementalGroups"]?.sequence?.compactMap(\.int) ?? []
            sc.sysctls = list(c["sysctls"]) { _, x, _ in PodSecurityContext.Sysctl(name: x["name"]?.string ?? "", value: x["value"]?.string ?? "") }
            sc.seccompProfile = seccompProfile(c["seccompProfile"])
            s.securityContext = sc
        }
        if let r = n["resources"], !r.isNull { s.resources = resources(r, path: path.appending("resources")) }
        s.os = n["os"]?["name"]?.string
        s.hostUsers = n["hostUsers"]?.bool
        s.imagePullSecrets = list(n["imagePullSecrets"]) { _, r, _ in r["name"]?.string ?? "" }
        s.ignored = ignoredFields(n, type: Self.podSpecType)
        return s
    }

    mutating func container(_ n: Node, path: KeyPath) -> Container {
        var c = Container(name: n["name"]?.string ?? "", image: n["image"]?.string ?? "")
        c.command = n["command"].flatMap { $0.isNull ? nil : $0.stringList }
        c.args = n["args"].flatMap { $0.isNull ? nil : $0.stringList }
        c.workingDir = n["workingDir"]?.string
        c.imagePullPolicy = n["imagePullPolicy"]?.string ?? ""
        // The API server defaults an empty (or absent) value.
        if let path = n["terminationMessagePath"]?.string, !path.isEmpty { c.terminationMessagePath = path }
        if let policy = n["terminationMessagePolicy"]?.string, !policy.isEmpty { c.terminationMessagePolicy = policy }
        c.ports = list(n["ports"]) { _, p, _ in
            var port = ContainerPort(containerPort: Int32(truncatingIfNeeded: p["containerPort"]?.int ?? 0))
            port.name = p["name"]?.string
            port.hostPort = p["hostPort"]?.int.map { Int32(truncatingIfNeeded: $0) }
            port.hostIP = p["hostIP"]?.string
            port.protocol = p["protocol"]?.string ?? "TCP"
            return port
        }
        c.env = list(n["env"]) { d, e, i in d.envVar(e, path: path.appending("env").index(i)) }
        c.envFrom = list(n["envFrom"]) { _, e, _ in
            let source: EnvFromSource.Source
            if let s = e["secretRef"], !s.isNull {
                source = .secret(name: s["name"]?.string ?? "", optional: s["optional"]?.bool ?? false)
            } else {
                let m = e["configMapRef"]
                source = .configMap(name: m?["name"]?.string ?? "", optional: m?["optional"]?.bool ?? false)
            }
            return EnvFromSource(prefix: e["prefix"]?.string, source: source)
        }
        if let r = n["resources"], !r.isNull { c.resources = resources(r, path: path.appending("resources")) }
        c.resizePolicy = list(n["resizePolicy"]) { _, p, _ in
            ContainerResizePolicy(resourceName: p["resourceName"]?.string ?? "", restartPolicy: p["restartPolicy"]?.string ?? "")
        }
        c.restartPolicy = n["restartPolicy"]?.string
        c.volumeMounts = list(n["volumeMounts"]) { _, m, _ in
            VolumeMount(
                name: m["name"]?.string ?? "", mountPath: m["mountPath"]?.string ?? "", subPath: m["subPath"]?.string.flatMap { $0.isEmpty ? nil : $0 },
                readOnly: m["readOnly"]?.bool ?? false, mountPropagation: m["mountPropagation"]?.string)
        }
        c.livenessProbe = probe(n["livenessProbe"])
        c.readinessProbe = probe(n["readinessProbe"])
        c.startupProbe = probe(n["startupProbe"])
        if let l = n["lifecycle"], !l.isNull {
            c.lifecycle = Lifecycle(postStart: lifecycleHandler(l["postStart"]), preStop: lifecycleHandler(l["preStop"]), stopSignal: l["stopSignal"]?.string)
        }
        if let s = n["securityContext"], !s.isNull {
            var sc = SecurityContext()
            sc.privileged = s["privileged"]?.bool
            sc.allowPrivilegeEscalation = s["allowPrivilegeEscalation"]?.bool
            sc.readOnlyRootFilesystem = s["readOnlyRootFilesystem"]?.bool
            sc.runAsUser = s["runAsUser"]?.int
            sc.runAsGroup = s["runAsGroup"]?.int
            sc.runAsNonRoot = s["runAsNonRoot"]?.bool
            sc.procMount = s["procMount"]?.string
            sc.seccompProfile = seccompProfile(s["seccompProfile"])
            if let caps = s["capabilities"], !caps.isNull {
                sc.capabilities = SecurityContext.Capabilities(add: caps["add"]?.stringList ?? [], drop: caps["drop"]?.stringList ?? [])
            }
            c.securityContext = sc
        }
        c.tty = n["tty"]?.bool ?? false
        c.stdin = n["stdin"]?.bool ?? false
        c.stdinOnce = n["stdinOnce"]?.bool ?? false
        c.ignored = ignoredFields(n, type: Self.containerType)
        return c
    }

    mutating func envVar(_ e: Node, path: KeyPath) -> EnvVar {
        var v = EnvVar(name: e["name"]?.string ?? "", value: e["value"]?.string)
        guard let from = e["valueFrom"], !from.isNull else { return v }
        func selector(_ s: Node) -> KeySelector {
            KeySelector(name: s["name"]?.string ?? "", key: s["key"]?.string ?? "", optional: s["optional"]?.bool ?? false)
        }
        if let s = from["configMapKeyRef"], !s.isNull {
            v.valueFrom = .configMapKey(selector(s))
        } else if let s = from["secretKeyRef"], !s.isNull {
            v.valueFrom = .secretKey(selector(s))
        } else if let f = from["fieldRef"], !f.isNull {
            v.valueFrom = .field(path: f["fieldPath"]?.string ?? "", apiVersion: f["apiVersion"]?.string ?? "v1")
        } else if let r = from["resourceFieldRef"], !r.isNull {
            var divisor: Quantity?
            if let d = r["divisor"], !d.isNull { divisor = quantity(d, path: path.appending("valueFrom.resourceFieldRef.divisor")) }
            v.valueFrom = .resourceField(containerName: r["containerName"]?.string, resource: r["resource"]?.string ?? "", divisor: divisor)
        }
        return v
    }

    func seccompProfile(_ n: Node?) -> SeccompProfile? {
        guard let n, !n.isNull, let type = n["type"]?.string else { return nil }
        return SeccompProfile(type: type, localhostProfile: n["localhostProfile"]?.string)
    }

    mutating func resources(_ r: Node, path: KeyPath) -> ResourceRequirements {
        var out = ResourceRequirements()
        for (key, target) in [("requests", \ResourceRequirements.requests), ("limits", \ResourceRequirements.limits)] {
            for pair in r[key]?.mapping ?? [] {
                guard let name = pair.key.scalar?.value, !pair.value.isNull else { continue }
                if let q = quantity(pair.value, path: path.appending(key).mapKey(name)) {
                    out[keyPath: target][name] = q
                }
            }
        }
        return out
    }

    /// `path` is made only for an error (most quantities are valid, and a resource name's
    /// path took more time than parsing the quantity).
    mutating func quantity(_ node: Node, path: @autoclosure () -> KeyPath) -> Quantity? {
        guard var text = node.scalar?.value else { return nil }
        // A plain number is resolved as kubectl resolves it before it becomes a quantity:
        // `cpu: 010` is octal 8, `1_000` is 1000; quoted, "010" is ten.
        if case .int(let i) = node.resolved(.kubectl) { text = String(i) }
        do {
            return try Quantity(parsing: text)
        } catch {
            self.error(node, path(), "invalid quantity \"\(text)\": \(error.reason)")
            return nil
        }
    }

    func probe(_ node: Node?) -> Probe? {
        guard let n = node, !n.isNull else { return nil }
        let handler: ProbeHandler
        if let e = n["exec"], !e.isNull {
            handler = .exec(command: e["command"]?.stringList ?? [])
        } else if let h = n["httpGet"], !h.isNull {
            handler = .httpGet(httpGet(h))
        } else if let t = n["tcpSocket"], !t.isNull {
            handler = .tcpSocket(port: intOrString(t["port"]), host: t["host"]?.string)
        } else if let g = n["grpc"], !g.isNull {
            handler = .grpc(port: Int32(truncatingIfNeeded: g["port"]?.int ?? 0), service: g["service"]?.string)
        } else {
            return nil  // no handler, or a refused one: StructuralCheck reported it
        }
        var p = Probe(handler: handler)
        if let v = n["initialDelaySeconds"]?.int { p.initialDelaySeconds = Int32(truncatingIfNeeded: v) }
        if let v = n["periodSeconds"]?.int { p.periodSeconds = Int32(truncatingIfNeeded: v) }
        if let v = n["timeoutSeconds"]?.int { p.timeoutSeconds = Int32(truncatingIfNeeded: v) }
        if let v = n["successThreshold"]?.int { p.successThreshold = Int32(truncatingIfNeeded: v) }
        if let v = n["failureThreshold"]?.int { p.failureThreshold = Int32(truncatingIfNeeded: v) }
        p.terminationGracePeriodSeconds = n["terminationGracePeriodSeconds"]?.int
        return p
    }

    func lifecycleHandler(_ node: Node?) -> LifecycleHandler? {
        guard let n = node, !n.isNull else { return nil }
        if let e = n["exec"], !e.isNull { return .exec(command: e["command"]?.stringList ?? []) }
        if let h = n["httpGet"], !h.isNull { return .httpGet(httpGet(h)) }
        if let s = n["sleep"], !s.isNull { return .sleep(seconds: s["seconds"]?.int ?? 0) }
        return nil
    }

    func httpGet(_ h: Node) -> HTTPGetAction {
        var a = HTTPGetAction(port: intOrString(h["port"]))
        a.path = h["path"]?.string ?? "/"
        a.host = h["host"]?.string
        a.scheme = h["scheme"]?.string ?? "HTTP"
        a.httpHeaders = h["httpHeaders"]?.sequence?.map {
            HTTPGetAction.HTTPHeader(name: $0["name"]?.string ?? "", value: $0["value"]?.string ?? "")
        } ?? []
        return a
    }

    func intOrString(_ node: Node?) -> IntOrString {
        guard let node else { return .int(0) }
        if let i = node.int { return .int(Int32(truncatingIfNeeded: i)) }
        return .string(node.scalar?.value ?? "")
    }

    mutating func volume(_ v: Node, path: KeyPath) -> Volume {
        let name = v["name"]?.string ?? ""
        func keys(_ n: Node, nameKey: String) -> ProjectedKeys {
            var k = ProjectedKeys(name: n[nameKey]?.string ?? "")
            k.items = n["items"]?.sequence?.map {
                KeyToPath(key: $0["key"]?.string ?? "", path: $0["path"]?.string ?? "", mode: $0["mode"]?.int.map { Int32(truncatingIfNeeded: $0) })
            } ?? []
            if let m = n["defaultMode"]?.int { k.defaultMode = Int32(truncatingIfNeeded: m) }
            k.optional = n["optional"]?.bool ?? false
            return k
        }
        if let e = v["emptyDir"], !e.isNull {
            var limit: Quantity?
            if let s = e["sizeLimit"], !s.isNull { limit = quantity(s, path: path.appending("emptyDir.sizeLimit")) }
            return Volume(name: name, source: .emptyDir(medium: e["medium"]?.string ?? "", sizeLimit: limit))
        }
        if let h = v["hostPath"], !h.isNull { return Volume(name: name, source: .hostPath(path: h["path"]?.string ?? "", type: h["type"]?.string ?? "")) }
        if let c = v["configMap"], !c.isNull { return Volume(name: name, source: .configMap(keys(c, nameKey: "name"))) }
        if let s = v["secret"], !s.isNull { return Volume(name: name, source: .secret(keys(s, nameKey: "secretName"))) }
        if let d = v["downwardAPI"], !d.isNull {
            var out = DownwardAPIVolume()
            out.items = downwardAPIFiles(d["items"], path: path.appending("downwardAPI.items"))
            if let m = d["defaultMode"]?.int { out.defaultMode = Int32(truncatingIfNeeded: m) }
            return Volume(name: name, source: .downwardAPI(out))
        }
        if let p = v["projected"], !p.isNull {
            var out = ProjectedVolume()
            if let m = p["defaultMode"]?.int { out.defaultMode = Int32(truncatingIfNeeded: m) }
            for (i, src) in (p["sources"]?.sequence ?? []).enumerated() {
                let sp = path.appending("projected.sources").index(i)
                if let c = src["configMap"], !c.isNull {
                    out.sources.append(.configMap(keys(c, nameKey: "name")))
                } else if let s = src["secret"], !s.isNull {
                    out.sources.append(.secret(keys(s, nameKey: "name")))
                } else if let d = src["downwardAPI"], !d.isNull {
                    out.sources.append(.downwardAPI(downwardAPIFiles(d["items"], path: sp.appending("downwardAPI.items"))))
                } else {
                    out.sources.append(.empty)
                }
            }
            return Volume(name: name, source: .projected(out))
        }
        // Kubernetes defaults a volume with no source to an emptyDir.
        return Volume(name: name, source: .emptyDir(medium: "", sizeLimit: nil))
    }

    mutating func downwardAPIFiles(_ items: Node?, path: KeyPath) -> [DownwardAPIFile] {
        (items?.sequence ?? []).enumerated().map { i, n in
            var f = DownwardAPIFile(path: n["path"]?.string ?? "", mode: n["mode"]?.int.map { Int32(truncatingIfNeeded: $0) })
            if let r = n["fieldRef"], !r.isNull {
                f.fieldPath = r["fieldPath"]?.string ?? ""
                f.fieldAPIVersion = r["apiVersion"]?.string ?? "v1"
            }
            if let r = n["resourceFieldRef"], !r.isNull {
                var divisor: Quantity?
                if let d = r["divisor"], !d.isNull { divisor = quantity(d, path: path.index(i).appending("resourceFieldRef.divisor")) }
                f.resourceFieldRef = ResourceFieldSelector(containerName: r["containerName"]?.string, resource: r["resource"]?.string ?? "", divisor: divisor)
            }
            return f
        }
    }

    // MARK: ConfigMap and Secret

    mutating func configMap(_ root: Node) -> ConfigMap {
        let meta = objectMeta(root["metadata"])
        var cm = ConfigMap(name: meta.name, namespace: meta.namespace)
        cm.data = root["data"]?.stringMap ?? [:]
        for pair in root["binaryData"]?.mapping ?? [] {
            guard let key = pair.key.scalar?.value else { continue }
            if let bytes = base64(pair.value, path: KeyPath("binaryData").mapKey(key)) { cm.binaryData[key] = bytes }
        }
        cm.immutable = root["immutable"]?.bool ?? false
        return cm
    }

    mutating func secret(_ root: Node) -> Secret {
        let meta = objectMeta(root["metadata"])
        var s = Secret(name: meta.name, namespace: meta.namespace)
        for pair in root["data"]?.mapping ?? [] {
            guard let key = pair.key.scalar?.value else { continue }
            if let bytes = base64(pair.value, path: KeyPath("data").mapKey(key)) { s.data[key] = bytes }
        }
        // The API server merges stringData over data, stringData winning.
        for (key, value) in root["stringData"]?.stringMap ?? [:] { s.data[key] = Array(value.utf8) }
        s.type = root["type"]?.string ?? "Opaque"
        s.immutable = root["immutable"]?.bool ?? false
        return s
    }

    mutating func base64(_ node: Node, path: @autoclosure () -> KeyPath) -> [UInt8]? {
        guard let text = node.scalar?.value else { return nil }
        guard let bytes = Base64.decode(text) else {
            // Never echo the value: it may be a secret.
            error(node, path(), "not valid base64")
            return nil
        }
        return bytes
    }

    // MARK: Helpers

    static let podSpecType = UpstreamSchema.shared["PodSpec"]!
    static let containerType = UpstreamSchema.shared["Container"]!

    mutating func list<T>(_ node: Node?, _ body: (inout Decoder, Node, Int) -> T) -> [T] {
        guard let items = node?.sequence else { return [] }
        var out: [T] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() { out.append(body(&self, item, i)) }
        return out
    }

    /// The fields of `node` that `FieldClasses` marks ignored, as written.
    ///
    /// The class comes from the schema's field, where `UpstreamSchema` stored
    /// `FieldClasses.classOf` once: asking `classOf` here built `"Container." + key` (an
    /// allocation) and hashed it for every field of every container. Every entry of the
    /// table names a field of the schema (FieldClassTests), so a key that is not a field
    /// has no class either way.
    func ignoredFields(_ node: Node, type: UpstreamSchema.TypeDef) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for pair in node.mapping ?? [] {
            guard let key = pair.key.scalar?.value, !pair.value.isEmptyValue,
                case .ignored = type.field(key)?.fieldClass
            else { continue }
            out[key] = pair.value.json(.kubectl)
        }
        return out
    }
}

extension Node {
    var string: String? {
        guard !isNull, case .string(let s) = resolved(.kubectl) else { return nil }
        return s
    }

    var int: Int64? { isNull ? nil : integerValue }

    var bool: Bool? {
        if case .bool(let b) = resolved(.kubectl) { return b }
        return nil
    }

    var stringList: [String]? { sequence?.compactMap(\.string) }

    var stringMap: [String: String]? {
        guard let pairs = mapping else { return nil }
        var out: [String: String] = [:]
        for pair in pairs {
            if let k = pair.key.scalar?.value, let v = pair.value.string { out[k] = v }
        }
        return out
    }

}
