import YAML

/// The normalized form of the model: defaults filled in, fields in Kubernetes' order,
/// maps sorted by key, empty lists and absent optionals left out. `validate -o json`
/// prints it, and the spec hash is computed over it.
extension Pod {
    public var canonicalJSON: JSONValue {
        .object([
            JSONMember("apiVersion", .string("v1")),
            JSONMember("kind", .string("Pod")),
            JSONMember("metadata", metadata.canonicalJSON),
            JSONMember("spec", spec.canonicalJSON),
        ])
    }
}

extension ObjectMeta {
    public var canonicalJSON: JSONValue {
        var o = JSONObject()
        o["name"] = .string(name)
        o["namespace"] = .string(namespace)
        if !labels.isEmpty { o["labels"] = .stringMap(labels) }
        if !annotations.isEmpty { o["annotations"] = .stringMap(annotations) }
        return o.value
    }
}

extension PodSpec {
    public var canonicalJSON: JSONValue {
        var o = JSONObject()
        if !volumes.isEmpty { o["volumes"] = .array(volumes.map(\.canonicalJSON)) }
        if !initContainers.isEmpty { o["initContainers"] = .array(initContainers.map(\.canonicalJSON)) }
        o["containers"] = .array(containers.map(\.canonicalJSON))
        o["restartPolicy"] = .string(restartPolicy.rawValue)
        o["terminationGracePeriodSeconds"] = .int(terminationGracePeriodSeconds)
        if let d = activeDeadlineSeconds { o["activeDeadlineSeconds"] = .int(d) }
        o["dnsPolicy"] = .string(dnsPolicy)
        if hostNetwork { o["hostNetwork"] = .bool(true) }
        if hostPID { o["hostPID"] = .bool(true) }
        if hostIPC { o["hostIPC"] = .bool(true) }
        if shareProcessNamespace { o["shareProcessNamespace"] = .bool(true) }
        if let securityContext { o["securityContext"] = securityContext.canonicalJSON }
        if let hostname { o["hostname"] = .string(hostname) }
        if let subdomain { o["subdomain"] = .string(subdomain) }
        if !hostAliases.isEmpty {
            o["hostAliases"] = .array(hostAliases.map { .object([JSONMember("ip", .string($0.ip)), JSONMember("hostnames", .strings($0.hostnames))]) })
        }
        if let dns = dnsConfig {
            var d = JSONObject()
            if !dns.nameservers.isEmpty { d["nameservers"] = .strings(dns.nameservers) }
            if !dns.searches.isEmpty { d["searches"] = .strings(dns.searches) }
            if !dns.options.isEmpty {
                d["options"] = .array(dns.options.map { opt in
                    var x = JSONObject()
                    x["name"] = .string(opt.name)
                    if let v = opt.value { x["value"] = .string(v) }
                    return x.value
                })
            }
            o["dnsConfig"] = d.value
        }
        if let resources { o["resources"] = resources.canonicalJSON }
        if let os { o["os"] = .object([JSONMember("name", .string(os))]) }
        if let hostUsers { o["hostUsers"] = .bool(hostUsers) }
        if !imagePullSecrets.isEmpty { o["imagePullSecrets"] = .array(imagePullSecrets.map { .object([JSONMember("name", .string($0))]) }) }
        for key in ignored.keys.sorted() { o[key] = ignored[key] }
        return o.value
    }
}

extension PodSecurityContext {
    var canonicalJSON: JSONValue {
        var o = JSONObject()
        if let v = runAsUser { o["runAsUser"] = .int(v) }
        if let v = runAsGroup { o["runAsGroup"] = .int(v) }
        if let v = runAsNonRoot { o["runAsNonRoot"] = .bool(v) }
        if !supplementalGroups.isEmpty { o["supplementalGroups"] = .array(supplementalGroups.map { .int($0) }) }
        if let v = fsGroup { o["fsGroup"] = .int(v) }
        if let v = fsGroupChangePolicy { o["fsGroupChangePolicy"] = .string(v) }
        if !sysctls.isEmpty {
            o["sysctls"] = .array(sysctls.map { .object([JSONMember("name", .string($0.name)), JSONMember("value", .string($0.value))]) })
        }
        if let p = seccompProfile { o["seccompProfile"] = p.canonicalJSON }
        return o.value
    }
}

extension Container {
    public var canonicalJSON: JSONValue { canonicalJSON(resources: resources) }

    func canonicalJSON(resources: ResourceRequirements?) -> JSONValue {
        var o = JSONObject()
        o["name"] = .string(name)
        o["image"] = .string(image)
        if !imagePullPolicy.isEmpty { o["imagePullPolicy"] = .string(imagePullPolicy) }
        if let command { o["command"] = .strings(command) }
        if let args { o["args"] = .strings(args) }
        if let workingDir { o["workingDir"] = .string(workingDir) }
        if !ports.isEmpty {
            o["ports"] = .array(ports.map { p in
                var x = JSONObject()
                if let n = p.name { x["name"] = .string(n) }
                x["containerPort"] = .int(Int64(p.containerPort))
                if let h = p.hostPort { x["hostPort"] = .int(Int64(h)) }
                if let ip = p.hostIP { x["hostIP"] = .string(ip) }
                x["protocol"] = .string(p.protocol)
                return x.value
            })
        }
        if !envFrom.isEmpty {
            o["envFrom"] = .array(envFrom.map { e in
                var x = JSONObject()
                if let p = e.prefix { x["prefix"] = .string(p) }
                switch e.source {
                case .configMap(let n, let opt): x["configMapRef"] = .ref(name: n, optional: opt)
                case .secret(let n, let opt): x["secretRef"] = .ref(name: n, optional: opt)
                }
                return x.value
            })
        }
        if !env.isEmpty { o["env"] = .array(env.map(\.canonicalJSON)) }
        if let resources, !resources.isEmpty { o["resources"] = resources.canonicalJSON }
        if !resizePolicy.isEmpty {
            o["resizePolicy"] = .array(resizePolicy.map {
                .object([JSONMember("resourceName", .string($0.resourceName)), JSONMember("restartPolicy", .string($0.restartPolicy))])
            })
        }
        if let restartPolicy { o["restartPolicy"] = .string(restartPolicy) }
        if !volumeMounts.isEmpty {
            o["volumeMounts"] = .array(volumeMounts.map { m in
                var x = JSONObject()
                x["name"] = .string(m.name)
                if m.readOnly { x["readOnly"] = .bool(true) }
                x["mountPath"] = .string(m.mountPath)
                if let s = m.subPath { x["subPath"] = .string(s) }
                if let p = m.mountPropagation { x["mountPropagation"] = .string(p) }
                return x.value
            })
        }
        if let p = livenessProbe { o["livenessProbe"] = p.canonicalJSON }
        if let p = readinessProbe { o["readinessProbe"] = p.canonicalJSON }
        if let p = startupProbe { o["startupProbe"] = p.canonicalJSON }
        if let l = lifecycle {
            var x = JSONObject()
            if let h = l.postStart { x["postStart"] = h.canonicalJSON }
            if let h = l.preStop { x["preStop"] = h.canonicalJSON }
            if let s = l.stopSignal { x["stopSignal"] = .string(s) }
            o["lifecycle"] = x.value
        }
        if let s = securityContext { o["securityContext"] = s.canonicalJSON }
        o["terminationMessagePath"] = .string(terminationMessagePath)
        o["terminationMessagePolicy"] = .string(terminationMessagePolicy)
        // Only when set: the hash of a container without them is what it was before they
        // were honoured (kubelet restarts a container when they change: they are in its hash).
        if stdin { o["stdin"] = .bool(true) }
        if stdinOnce { o["stdinOnce"] = .bool(true) }
        if tty { o["tty"] = .bool(true) }
        for key in ignored.keys.sorted() { o[key] = ignored[key] }
        return o.value
    }
}

extension EnvVar {
    var canonicalJSON: JSONValue {
        var x = JSONObject()
        x["name"] = .string(name)
        if let value { x["value"] = .string(value) }
        switch valueFrom {
        case .configMapKey(let s)?: x["valueFrom"] = .object([JSONMember("configMapKeyRef", s.canonicalJSON)])
        case .secretKey(let s)?: x["valueFrom"] = .object([JSONMember("secretKeyRef", s.canonicalJSON)])
        case .field(let path, let api)?:
            x["valueFrom"] = .object([JSONMember("fieldRef", .object([JSONMember("apiVersion", .string(api)), JSONMember("fieldPath", .string(path))]))])
        case .resourceField(let c, let r, let d)?:
            var f = JSONObject()
            if let c { f["containerName"] = .string(c) }
            f["resource"] = .string(r)
            if let d { f["divisor"] = .string(d.canonical) }
            x["valueFrom"] = .object([JSONMember("resourceFieldRef", f.value)])
        case nil: break
        }
        return x.value
    }
}

extension KeySelector {
    var canonicalJSON: JSONValue {
        var x = JSONObject()
        x["name"] = .string(name)
        x["key"] = .string(key)
        if optional { x["optional"] = .bool(true) }
        return x.value
    }
}

extension ResourceRequirements {
    public var canonicalJSON: JSONValue {
        var o = JSONObject()
        // One spelling per amount, as the runtime uses it: CPU in cores or millicores,
        // memory in bytes. So `1Gi` and `1073741824`, or `1` and `1000m`, hash the same.
        func spelled(_ name: String, _ q: Quantity) -> String {
            switch name {
            case "cpu":
                guard let m = q.milliValue else { return q.canonical }
                return m % 1000 == 0 ? String(m / 1000) : "\(m)m"
            case "memory":
                return q.value.map { String($0) } ?? q.canonical
            default:
                return q.canonical
            }
        }
        func list(_ m: [String: Quantity]) -> JSONValue {
            .object(m.keys.sorted().map { JSONMember($0, .string(spelled($0, m[$0]!))) })
        }
        if !limits.isEmpty { o["limits"] = list(limits) }
        if !requests.isEmpty { o["requests"] = list(requests) }
        return o.value
    }
}

extension Probe {
    var canonicalJSON: JSONValue {
        var o = JSONObject()
        switch handler {
        case .exec(let cmd): o["exec"] = .object([JSONMember("command", .strings(cmd))])
        case .httpGet(let a): o["httpGet"] = a.canonicalJSON
        case .tcpSocket(let port, let host):
            var t = JSONObject()
            if let host { t["host"] = .string(host) }
            t["port"] = port.canonicalJSON
            o["tcpSocket"] = t.value
        case .grpc(let port, let service):
            o["grpc"] = .object([JSONMember("port", .int(Int64(port))), JSONMember("service", .string(service ?? ""))])
        }
        o["initialDelaySeconds"] = .int(Int64(initialDelaySeconds))
        o["timeoutSeconds"] = .int(Int64(timeoutSeconds))
        o["periodSeconds"] = .int(Int64(periodSeconds))
        o["successThreshold"] = .int(Int64(successThreshold))
        o["failureThreshold"] = .int(Int64(failureThreshold))
        if let t = terminationGracePeriodSeconds { o["terminationGracePeriodSeconds"] = .int(t) }
        return o.value
    }
}

extension LifecycleHandler {
    var canonicalJSON: JSONValue {
        switch self {
        case .exec(let cmd): return .object([JSONMember("exec", .object([JSONMember("command", .strings(cmd))]))])
        case .httpGet(let a): return .object([JSONMember("httpGet", a.canonicalJSON)])
        case .sleep(let s): return .object([JSONMember("sleep", .object([JSONMember("seconds", .int(s))]))])
        }
    }
}

extension HTTPGetAction {
    var canonicalJSON: JSONValue {
        var o = JSONObject()
        o["path"] = .string(path)
        o["port"] = port.canonicalJSON
        if let host { o["host"] = .string(host) }
        o["scheme"] = .string(scheme)
        if !httpHeaders.isEmpty {
            o["httpHeaders"] = .array(httpHeaders.map { .object([JSONMember("name", .string($0.name)), JSONMember("value", .string($0.value))]) })
        }
        return o.value
    }
}

extension IntOrString {
    var canonicalJSON: JSONValue {
        switch self {
        case .int(let i): return .int(Int64(i))
        case .string(let s): return .string(s)
        }
    }
}

extension SecurityContext {
    var canonicalJSON: JSONValue {
        var o = JSONObject()
        if let c = capabilities {
            var x = JSONObject()
            if !c.add.isEmpty { x["add"] = .strings(c.add) }
            if !c.drop.isEmpty { x["drop"] = .strings(c.drop) }
            o["capabilities"] = x.value
        }
        if let v = privileged { o["privileged"] = .bool(v) }
        if let v = runAsUser { o["runAsUser"] = .int(v) }
        if let v = runAsGroup { o["runAsGroup"] = .int(v) }
        if let v = runAsNonRoot { o["runAsNonRoot"] = .bool(v) }
        if let v = readOnlyRootFilesystem { o["readOnlyRootFilesystem"] = .bool(v) }
        if let v = allowPrivilegeEscalation { o["allowPrivilegeEscalation"] = .bool(v) }
        if let v = procMount { o["procMount"] = .string(v) }
        if let p = seccompProfile { o["seccompProfile"] = p.canonicalJSON }
        return o.value
    }
}

extension Volume {
    public var canonicalJSON: JSONValue {
        var o = JSONObject()
        o["name"] = .string(name)
        switch source {
        case .emptyDir(let medium, let size):
            var x = JSONObject()
            if !medium.isEmpty { x["medium"] = .string(medium) }
            if let size { x["sizeLimit"] = .string(size.canonical) }
            o["emptyDir"] = x.value
        case .hostPath(let path, let type):
            o["hostPath"] = .object([JSONMember("path", .string(path)), JSONMember("type", .string(type))])
        case .configMap(let k): o["configMap"] = k.canonicalJSON(nameKey: "name")
        case .secret(let k): o["secret"] = k.canonicalJSON(nameKey: "secretName")
        case .downwardAPI(let d):
            var x = JSONObject()
            if !d.items.isEmpty { x["items"] = .array(d.items.map(\.canonicalJSON)) }
            x["defaultMode"] = .int(Int64(d.defaultMode))
            o["downwardAPI"] = x.value
        case .projected(let p):
            var x = JSONObject()
            x["sources"] = .array(p.sources.map { source in
                var y = JSONObject()
                switch source {
                case .configMap(let k): y["configMap"] = k.canonicalJSON(nameKey: "name", defaultMode: false)
                case .secret(let k): y["secret"] = k.canonicalJSON(nameKey: "name", defaultMode: false)
                case .downwardAPI(let items):
                    var z = JSONObject()
                    if !items.isEmpty { z["items"] = .array(items.map(\.canonicalJSON)) }
                    y["downwardAPI"] = z.value
                case .empty: break
                }
                return y.value
            })
            x["defaultMode"] = .int(Int64(p.defaultMode))
            o["projected"] = x.value
        }
        return o.value
    }
}

extension DownwardAPIFile {
    var canonicalJSON: JSONValue {
        var x = JSONObject()
        x["path"] = .string(path)
        if let fieldPath {
            x["fieldRef"] = .object([JSONMember("apiVersion", .string(fieldAPIVersion)), JSONMember("fieldPath", .string(fieldPath))])
        }
        if let r = resourceFieldRef {
            var f = JSONObject()
            if let c = r.containerName { f["containerName"] = .string(c) }
            f["resource"] = .string(r.resource)
            if let d = r.divisor { f["divisor"] = .string(d.canonical) }
            x["resourceFieldRef"] = f.value
        }
        if let mode { x["mode"] = .int(Int64(mode)) }
        return x.value
    }
}

extension ProjectedKeys {
    /// `defaultMode: false` for a projection's configMap or secret, which has none.
    func canonicalJSON(nameKey: String, defaultMode withMode: Bool = true) -> JSONValue {
        var o = JSONObject()
        o[nameKey] = .string(name)
        if !items.isEmpty {
            o["items"] = .array(items.map { i in
                var x = JSONObject()
                x["key"] = .string(i.key)
                x["path"] = .string(i.path)
                if let m = i.mode { x["mode"] = .int(Int64(m)) }
                return x.value
            })
        }
        if withMode { o["defaultMode"] = .int(Int64(defaultMode)) }
        if optional { o["optional"] = .bool(true) }
        return o.value
    }
}

extension ConfigMap {
    public var canonicalJSON: JSONValue {
        var o = JSONObject()
        o["apiVersion"] = .string("v1")
        o["kind"] = .string("ConfigMap")
        o["metadata"] = ObjectMeta(name: name, namespace: namespace).canonicalJSON
        if !data.isEmpty { o["data"] = .stringMap(data) }
        if !binaryData.isEmpty { o["binaryData"] = .object(binaryData.keys.sorted().map { JSONMember($0, .string(Base64.encode(binaryData[$0]!))) }) }
        if immutable { o["immutable"] = .bool(true) }
        return o.value
    }
}

extension Secret {
    /// Values are always masked: podrec never prints a secret.
    public var canonicalJSON: JSONValue {
        var o = JSONObject()
        o["apiVersion"] = .string("v1")
        o["kind"] = .string("Secret")
        o["metadata"] = ObjectMeta(name: name, namespace: namespace).canonicalJSON
        o["type"] = .string(type)
        if !data.isEmpty { o["data"] = .object(data.keys.sorted().map { JSONMember($0, .string("*** (\(data[$0]!.count) bytes)")) }) }
        if immutable { o["immutable"] = .bool(true) }
        return o.value
    }
}

/// An ordered JSON object under construction.
struct JSONObject {
    var members: [JSONMember] = []

    subscript(key: String) -> JSONValue? {
        get { members.first { $0.key == key }?.value }
        set {
            if let i = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[i].value = newValue } else { members.remove(at: i) }
            } else if let newValue {
                members.append(JSONMember(key, newValue))
            }
        }
    }

    var value: JSONValue { .object(members) }
}

extension JSONValue {
    static func strings(_ s: [String]) -> JSONValue { .array(s.map { .string($0) }) }

    static func stringMap(_ m: [String: String]) -> JSONValue {
        .object(m.keys.sorted().map { JSONMember($0, .string(m[$0]!)) })
    }

    static func ref(name: String, optional: Bool) -> JSONValue {
        optional ? .object([JSONMember("name", .string(name)), JSONMember("optional", .bool(true))]) : .object([JSONMember("name", .string(name))])
    }
}
