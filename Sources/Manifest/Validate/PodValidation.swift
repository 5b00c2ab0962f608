/// Semantic checks on a decoded pod, as the Kubernetes API server makes them
/// (pkg/apis/core/validation), for everything podrec honours. Findings carry key paths;
/// the loader turns them into `file:line:column` through the document's `SourceMap`.
struct Finding: Sendable, Hashable {
    var severity: Diagnostic.Severity
    var path: String
    var message: String
    /// Point at the key (`limits:`) rather than at its value.
    var atKey = false
}

struct PodValidation {
    var findings: [Finding] = []
    /// The spec being validated: a volume's resourceFieldRef names one of its containers.
    var currentSpec: PodSpec?

    mutating func error(_ path: String, _ message: String, atKey: Bool = false) {
        findings.append(Finding(severity: .error, path: path, message: message, atKey: atKey))
    }

    mutating func warning(_ path: String, _ message: String, atKey: Bool = false) {
        findings.append(Finding(severity: .warning, path: path, message: message, atKey: atKey))
    }

    mutating func validate(_ pod: Pod) {
        let meta = pod.metadata
        if meta.name.isEmpty {
            error("metadata.name", "required field is missing")
        } else if let why = Names.dns1123Subdomain(meta.name) {
            error("metadata.name", why)
        }
        if let why = Names.dns1123Label(meta.namespace) { error("metadata.namespace", why) }
        for (key, value) in meta.labels {
            if let why = Names.qualifiedName(key) { error("metadata.labels", "key \"\(key)\" \(why)") }
            if let why = Names.labelValue(value) { error(KeyPath("metadata.labels").mapKey(key).description, why) }
        }
        for key in meta.annotations.keys {
            // apimachinery's ValidateAnnotations lowercases a key before IsQualifiedName, so
            // `Example.com/x` is a valid annotation key (not a valid label key).
            if let why = Names.qualifiedName(key.lowercased()) { error("metadata.annotations", "key \"\(key)\" \(why)") }
        }
        validateSpec(pod.spec, path: "spec")
    }

    mutating func validateSpec(_ spec: PodSpec, path: String) {
        currentSpec = spec
        if spec.containers.isEmpty { error(path + ".containers", "a pod needs at least one container") }

        // Volumes: unique DNS-1123 names, and sources podrec can mount.
        var volumeNames = Set<String>()
        for (i, v) in spec.volumes.enumerated() {
            let vp = "\(path).volumes[\(i)]"
            if let why = Names.dns1123Label(v.name) { error(vp + ".name", why) }
            if !volumeNames.insert(v.name).inserted { error(vp + ".name", "duplicate volume name \"\(v.name)\"") }
            validateVolume(v.source, path: vp)
        }

        // Container names are unique across init and regular containers.
        var containerNames = Set<String>()
        for (group, list) in [("initContainers", spec.initContainers), ("containers", spec.containers)] {
            for (i, c) in list.enumerated() {
                let cp = "\(path).\(group)[\(i)]"
                if !containerNames.insert(c.name).inserted { error(cp + ".name", "duplicate container name \"\(c.name)\"") }
                validateContainer(c, path: cp, isInit: group == "initContainers", spec: spec, volumes: volumeNames)
            }
        }

        if spec.hostPID && spec.shareProcessNamespace {
            error(path + ".shareProcessNamespace", "cannot be set together with hostPID, as Kubernetes refuses it")
        }
        if spec.terminationGracePeriodSeconds < 0 { error(path + ".terminationGracePeriodSeconds", "must be 0 or more") }
        // ValidatePodSpec's range. The upper bound also keeps the supervisor's deadline (a
        // time in nanoseconds) far from overflow.
        if let d = spec.activeDeadlineSeconds, d < 1 || d > Int64(Int32.max) {
            error(path + ".activeDeadlineSeconds", d < 1 ? "must be 1 or more" : "must be at most 2147483647 (2^31 - 1), as Kubernetes requires")
        }
        if let h = spec.hostname, let why = Names.dns1123Label(h) { error(path + ".hostname", why) }
        if let s = spec.subdomain, let why = Names.dns1123Label(s) { error(path + ".subdomain", why) }
        if spec.hostNetwork, spec.hostname != nil {
            warning(path + ".hostname", "has no effect with hostNetwork: the pod uses the host's UTS namespace")
        }
        for (i, alias) in spec.hostAliases.enumerated() {
            if !IP.isValid(alias.ip) { error("\(path).hostAliases[\(i)].ip", "must be a valid IP address, found \"\(alias.ip)\"") }
            for (j, h) in alias.hostnames.enumerated() where Names.dns1123Subdomain(h) != nil {
                error("\(path).hostAliases[\(i)].hostnames[\(j)]", "must be a DNS subdomain, found \"\(h)\"")
            }
        }
        let dnsPolicies = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]
        if !dnsPolicies.contains(spec.dnsPolicy) {
            error(path + ".dnsPolicy", "must be one of " + dnsPolicies.joined(separator: ", ") + ", found \"\(spec.dnsPolicy)\"")
        } else if spec.dnsPolicy == "None", (spec.dnsConfig?.nameservers ?? []).isEmpty {
            error(path + ".dnsConfig.nameservers", "dnsPolicy None needs at least one nameserver")
        }
        if let dns = spec.dnsConfig {
            if dns.nameservers.count > 3 { error(path + ".dnsConfig.nameservers", "must have at most 3 entries") }
            for (i, ns) in dns.nameservers.enumerated() where !IP.isValid(ns) {
                error("\(path).dnsConfig.nameservers[\(i)]", "must be a valid IP address, found \"\(ns)\"")
            }
            if dns.searches.count > 32 { error(path + ".dnsConfig.searches", "must have at most 32 entries") }
        }
        if let sc = spec.securityContext {
            // The API server's rule and words (validateSysctls); empty names and duplicates
            // are IgnoredFieldValidation's, with the rest of that rule.
            for (i, s) in sc.sysctls.enumerated() where !s.name.isEmpty && !Self.isSysctlName(s.name) {
                error("\(path).securityContext.sysctls[\(i)].name", APIServerWording.invalid(s.name, "must have at most 253 characters and match regex " + Self.sysctlRegex))
            }
            if let p = sc.fsGroupChangePolicy, p != "OnRootMismatch", p != "Always" {
                error(path + ".securityContext.fsGroupChangePolicy", "must be OnRootMismatch or Always, found \"\(p)\"")
            }
            validateIDs(runAsUser: sc.runAsUser, runAsGroup: sc.runAsGroup, path: path + ".securityContext")
        }
        if let os = spec.os, os != "linux" { error(path + ".os.name", "podrec runs Linux pods only, found \"\(os)\"") }
        if spec.hostUsers == false {
            // The API server's rule and words (validateHostUsers), its field names included.
            let forbidden = APIServerWording.forbidden("when `pod.Spec.HostUsers` is false")
            if spec.hostNetwork { error(path + ".hostNetwork", forbidden) }
            if spec.hostPID { error(path + ".HostPID", forbidden) }
            if spec.hostIPC { error(path + ".HostIPC", forbidden) }
        }
        if let r = spec.resources { validateResources(r, path: path + ".resources") }
    }

    mutating func validateVolume(_ source: VolumeSource, path: String) {
        switch source {
        case .emptyDir(let medium, let size):
            if medium != "", medium != "Memory" {
                error(path + ".emptyDir.medium", medium.hasPrefix("HugePages") ? "hugepage volumes are not supported yet" : "must be \"\" or Memory, found \"\(medium)\"")
            }
            if let size, size.isNegative { error(path + ".emptyDir.sizeLimit", "must not be negative") }
        case .hostPath(let p, let type):
            if !p.hasPrefix("/") { error(path + ".hostPath.path", "must be an absolute path, found \"\(p)\"") }
            if p.split(separator: "/").contains("..") { error(path + ".hostPath.path", "must not contain '..'") }
            let types = ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"]
            if !types.contains(type) { error(path + ".hostPath.type", "must be one of " + types.dropFirst().joined(separator: ", ") + ", found \"\(type)\"") }
        case .configMap(let keys):
            validateKeys(keys, path: path + ".configMap", nameField: "name")
        case .secret(let keys):
            validateKeys(keys, path: path + ".secret", nameField: "secretName")
        case .downwardAPI(let d):
            validateMode(d.defaultMode, path: path + ".downwardAPI.defaultMode")
            // Duplicate paths are not the API server's error here (only a projected volume's
            // are); kubelet keeps the last item of a path, and so does the build.
            for (i, item) in d.items.enumerated() { validateDownwardAPIFile(item, path: "\(path).downwardAPI.items[\(i)]") }
        case .projected(let p):
            validateMode(p.defaultMode, path: path + ".projected.defaultMode")
            // validateProjectionSources: every item path unique across the sources, with the
            // API server's words ("conflicting duplicate paths", its value the source's name,
            // or the path for a downwardAPI item), put at the item that repeats a path.
            var paths = Set<String>()
            for (i, source) in p.sources.enumerated() {
                let sp = "\(path).projected.sources[\(i)]"
                switch source {
                case .configMap(let keys), .secret(let keys):
                    let kind: String
                    if case .configMap = source { kind = "configMap" } else { kind = "secret" }
                    validateKeys(keys, path: "\(sp).\(kind)", nameField: "name")
                    for (j, item) in keys.items.enumerated() where !item.path.isEmpty && !paths.insert(item.path).inserted {
                        error("\(sp).\(kind).items[\(j)].path", APIServerWording.invalid(keys.name, "conflicting duplicate paths"))
                    }
                case .downwardAPI(let items):
                    for (j, item) in items.enumerated() {
                        let ip = "\(sp).downwardAPI.items[\(j)]"
                        validateDownwardAPIFile(item, path: ip)
                        if !item.path.isEmpty && !paths.insert(item.path).inserted {
                            error(ip + ".path", APIServerWording.invalid(item.path, "conflicting duplicate paths"))
                        }
                    }
                case .empty:
                    break
                }
            }
        }
    }

    mutating func validateMode(_ mode: Int32, path: String) {
        if mode < 0 || mode > 0o777 { error(path, "must be a file mode between 0 and 0777 (octal), found \(mode)") }
    }

    /// validateDownwardAPIVolumeFile: a relative path without `..`, exactly one of
    /// fieldRef and resourceFieldRef, a mode in range. A fieldRef names the pod's own
    /// metadata (the volume paths the API server allows: no spec or status fields, which
    /// only env may read); a resourceFieldRef names its container, which a volume has no
    /// default for.
    mutating func validateDownwardAPIFile(_ f: DownwardAPIFile, path: String) {
        if f.path.isEmpty {
            error(path + ".path", "required field is missing")
        } else if let why = Names.volumeFilePath(f.path) {
            error(path + ".path", why)
        }
        switch (f.fieldPath, f.resourceFieldRef) {
        case (let fieldPath?, nil):
            if f.fieldAPIVersion != "v1" { error(path + ".fieldRef.apiVersion", "must be v1, found \"\(f.fieldAPIVersion)\"") }
            if let why = Self.volumeFieldPathProblem(fieldPath) { error(path + ".fieldRef.fieldPath", why) }
        case (nil, let r?):
            if (r.containerName ?? "").isEmpty {
                error(path + ".resourceFieldRef.containerName", APIServerWording.required())
            }
            validateResourceField(r, path: path + ".resourceFieldRef")
        case (_?, _?):
            error(path, APIServerWording.invalid("resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
        case (nil, nil):
            error(path, APIServerWording.required("one of fieldRef and resourceFieldRef is required"))
        }
        if let m = f.mode { validateMode(m, path: path + ".mode") }
    }

    /// The API server's `validVolumeDownwardAPIFieldPathExpressions`, and a subscript's
    /// key checked as a label or annotation key.
    static func volumeFieldPathProblem(_ p: String) -> String? {
        let plain = ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"]
        if plain.contains(p) { return nil }
        for (prefix, isAnnotation) in [("metadata.labels['", false), ("metadata.annotations['", true)] where p.hasPrefix(prefix) && p.hasSuffix("']") && p.count > prefix.count + 2 {
            let key = String(p.dropFirst(prefix.count).dropLast(2))
            if let why = Names.qualifiedName(isAnnotation ? key.lowercased() : key) { return "key \"\(key)\" \(why)" }
            return nil
        }
        return APIServerWording.notSupported(p, plain)
    }

    /// A resourceFieldRef, in env or in a downwardAPI file: a resource kubelet can report,
    /// a container of this pod, a positive divisor.
    mutating func validateResourceField(_ r: ResourceFieldSelector, path: String, spec: PodSpec? = nil) {
        let ok = ["limits.cpu", "limits.memory", "limits.ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage"]
        if !ok.contains(r.resource) { error(path + ".resource", "must be one of " + ok.joined(separator: ", ") + ", found \"\(r.resource)\"") }
        if let container = r.containerName, !container.isEmpty, let spec = spec ?? currentSpec, !spec.allContainers.contains(where: { $0.name == container }) {
            error(path + ".containerName", "no container named \"\(container)\" in this pod")
        }
        if let divisor = r.divisor, divisor.isNegative || divisor.milliValue == 0 { error(path + ".divisor", "must be positive") }
    }

    mutating func validateKeys(_ keys: ProjectedKeys, path: String, nameField: String) {
        if keys.name.isEmpty { error("\(path).\(nameField)", "required field is missing") }
        if keys.defaultMode < 0 || keys.defaultMode > 0o777 {
            error(path + ".defaultMode", "must be a file mode between 0 and 0777 (octal), found \(keys.defaultMode)")
        }
        for (i, item) in keys.items.enumerated() {
            let ip = "\(path).items[\(i)]"
            if let why = Names.configMapKey(item.key) { error(ip + ".key", why) }
            if item.path.isEmpty { error(ip + ".path", "required field is missing") }
            if let why = Names.volumeFilePath(item.path) { error(ip + ".path", why) }
            if let m = item.mode, m < 0 || m > 0o777 { error(ip + ".mode", "must be a file mode between 0 and 0777 (octal), found \(m)") }
        }
    }

    mutating func validateContainer(_ c: Container, path: String, isInit: Bool, spec: PodSpec, volumes: Set<String>) {
        if let why = Names.dns1123Label(c.name) { error(path + ".name", why) }
        if c.image.isEmpty {
            error(path + ".image", "required: name an image from `podrec image ls`, or `host` for a read-only view of the host")
        } else if c.image.unicodeScalars.contains(where: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            error(path + ".image", "must not contain whitespace")
        }
        if let p = c.restartPolicy {
            if !isInit {
                error(path + ".restartPolicy", "may only be set on init containers (Always makes a native sidecar)")
            } else if p != "Always" {
                error(path + ".restartPolicy", "the only allowed value is Always, found \"\(p)\"")
            }
        }
        if isInit && !c.isSidecar {
            // Kubernetes: probes and postStart make no sense on a container that must exit.
            for (name, probe) in [("livenessProbe", c.livenessProbe), ("readinessProbe", c.readinessProbe), ("startupProbe", c.startupProbe)] where probe != nil {
                error("\(path).\(name)", "may not be set on an init container unless it is a sidecar (restartPolicy: Always)")
            }
        }

        var portNames = Set<String>()
        for (i, port) in c.ports.enumerated() {
            let pp = "\(path).ports[\(i)]"
            if port.containerPort < 1 || port.containerPort > 65535 { error(pp + ".containerPort", "must be between 1 and 65535, found \(port.containerPort)") }
            if let name = port.name {
                if let why = Names.ianaServiceName(name) { error(pp + ".name", why) }
                if !portNames.insert(name).inserted { error(pp + ".name", "duplicate port name \"\(name)\"") }
            }
            if !["TCP", "UDP", "SCTP"].contains(port.protocol) { error(pp + ".protocol", "must be TCP, UDP or SCTP, found \"\(port.protocol)\"") }
            if let hp = port.hostPort, hp != 0 {
                if hp < 1 || hp > 65535 {
                    error(pp + ".hostPort", "must be between 1 and 65535, found \(hp)")
                } else if spec.hostNetwork, hp != port.containerPort {
                    error(pp + ".hostPort", "must equal containerPort (\(port.containerPort)) with hostNetwork")
                }
            }
        }

        for (i, e) in c.env.enumerated() {
            let ep = "\(path).env[\(i)]"
            if let why = Names.envVarName(e.name) { error(ep + ".name", why) }
            if e.value != nil && !(e.value ?? "").isEmpty && e.valueFrom != nil {
                error(ep + ".valueFrom", "may not be set together with value")
            }
            switch e.valueFrom {
            case .field(let fieldPath, let apiVersion)?:
                if apiVersion != "v1" { error(ep + ".valueFrom.fieldRef.apiVersion", "must be v1, found \"\(apiVersion)\"") }
                if !Self.isSupportedFieldPath(fieldPath) {
                    error(ep + ".valueFrom.fieldRef.fieldPath", "unsupported field path \"\(fieldPath)\"; podrec supports metadata.name, metadata.namespace, metadata.uid, metadata.labels['KEY'], metadata.annotations['KEY'], spec.nodeName, spec.serviceAccountName, status.hostIP, status.hostIPs, status.podIP and status.podIPs")
                }
            case .resourceField(let container, let resource, let divisor)?:
                validateResourceField(ResourceFieldSelector(containerName: container, resource: resource, divisor: divisor),
                                      path: ep + ".valueFrom.resourceFieldRef", spec: spec)
            case .configMapKey(let s)?, .secretKey(let s)?:
                if let why = Names.configMapKey(s.key) { error(ep + ".valueFrom", "key \"\(s.key)\" \(why)") }
            case nil:
                break
            }
        }
        for (i, e) in c.envFrom.enumerated() {
            if let prefix = e.prefix, !prefix.isEmpty, let why = Names.envVarName(prefix) { error("\(path).envFrom[\(i)].prefix", why) }
        }

        validateResources(c.resources, path: path + ".resources")
        var resizeSeen = Set<String>()
        for (i, r) in c.resizePolicy.enumerated() {
            let rp = "\(path).resizePolicy[\(i)]"
            if r.resourceName != "cpu", r.resourceName != "memory" { error(rp + ".resourceName", "must be cpu or memory, found \"\(r.resourceName)\"") }
            if r.restartPolicy != "NotRequired", r.restartPolicy != "RestartContainer" {
                error(rp + ".restartPolicy", "must be NotRequired or RestartContainer, found \"\(r.restartPolicy)\"")
            }
            if !resizeSeen.insert(r.resourceName).inserted { error(rp + ".resourceName", "duplicate resize policy for \(r.resourceName)") }
        }

        var mountPaths = Set<String>()
        for (i, m) in c.volumeMounts.enumerated() {
            let mp = "\(path).volumeMounts[\(i)]"
            if !volumes.contains(m.name) { error(mp + ".name", "no volume named \"\(m.name)\" in spec.volumes") }
            if !m.mountPath.hasPrefix("/") {
                error(mp + ".mountPath", "must be an absolute path, found \"\(m.mountPath)\"")
            } else if !mountPaths.insert(Self.cleanPath(m.mountPath)).inserted {
                error(mp + ".mountPath", "duplicate mount path \"\(m.mountPath)\" in this container")
            }
            if let sub = m.subPath, let why = Names.safeRelativePath(sub) { error(mp + ".subPath", why) }
            if let prop = m.mountPropagation {
                if !["None", "HostToContainer", "Bidirectional"].contains(prop) {
                    error(mp + ".mountPropagation", "must be None, HostToContainer or Bidirectional, found \"\(prop)\"")
                } else if prop == "Bidirectional", c.securityContext?.privileged != true {
                    error(mp + ".mountPropagation", "Bidirectional needs a privileged container")
                }
            }
        }

        for (name, probe) in [("livenessProbe", c.livenessProbe), ("readinessProbe", c.readinessProbe), ("startupProbe", c.startupProbe)] {
            guard let probe else { continue }
            validateProbe(probe, path: "\(path).\(name)", mustSucceedOnce: name != "readinessProbe", container: c)
        }
        if let l = c.lifecycle {
            for (name, h) in [("postStart", l.postStart), ("preStop", l.preStop)] {
                switch h {
                case .exec(let cmd)?: if cmd.isEmpty { error("\(path).lifecycle.\(name).exec.command", "must not be empty") }
                case .httpGet(let a)?: validatePort(a.port, path: "\(path).lifecycle.\(name).httpGet.port", container: c)
                case .sleep(let s)?: if s < 0 { error("\(path).lifecycle.\(name).sleep.seconds", "must be 0 or more") }
                case nil: break
                }
            }
            if let sig = l.stopSignal, !Names.signals.contains(sig) {
                error(path + ".lifecycle.stopSignal", "\"\(sig)\" is not a signal name such as SIGTERM or SIGUSR1")
            }
        }
        if let sc = c.securityContext {
            for (field, caps) in [("add", sc.capabilities?.add ?? []), ("drop", sc.capabilities?.drop ?? [])] {
                for (i, cap) in caps.enumerated() {
                    let bare = cap.hasPrefix("CAP_") ? String(cap.dropFirst(4)) : cap
                    if !Names.capabilities.contains(bare.uppercased()) {
                        error("\(path).securityContext.capabilities.\(field)[\(i)]", "\"\(cap)\" is not a Linux capability")
                    }
                }
            }
            if let p = sc.procMount, p != "Default" {
                error(path + ".securityContext.procMount", p == "Unmasked" ? "Unmasked needs user namespaces, which are not supported yet" : "must be Default or Unmasked, found \"\(p)\"")
            }
            if sc.privileged == true, sc.allowPrivilegeEscalation == false {
                error(path + ".securityContext.allowPrivilegeEscalation", "cannot be false in a privileged container")
            }
            validateIDs(runAsUser: sc.runAsUser, runAsGroup: sc.runAsGroup, path: path + ".securityContext")
        }
    }

    mutating func validateProbe(_ p: Probe, path: String, mustSucceedOnce: Bool, container: Container) {
        switch p.handler {
        case .exec(let cmd): if cmd.isEmpty { error(path + ".exec.command", "must not be empty") }
        case .httpGet(let a):
            validatePort(a.port, path: path + ".httpGet.port", container: container)
            if a.scheme != "HTTP", a.scheme != "HTTPS" { error(path + ".httpGet.scheme", "must be HTTP or HTTPS, found \"\(a.scheme)\"") }
        case .tcpSocket(let port, _): validatePort(port, path: path + ".tcpSocket.port", container: container)
        case .grpc(let port, _): validatePort(.int(port), path: path + ".grpc.port", container: container)
        }
        if p.initialDelaySeconds < 0 { error(path + ".initialDelaySeconds", "must be 0 or more") }
        if p.periodSeconds < 1 { error(path + ".periodSeconds", "must be 1 or more") }
        if p.timeoutSeconds < 1 { error(path + ".timeoutSeconds", "must be 1 or more") }
        if p.failureThreshold < 1 { error(path + ".failureThreshold", "must be 1 or more") }
        if p.successThreshold < 1 { error(path + ".successThreshold", "must be 1 or more") }
        if mustSucceedOnce, p.successThreshold != 1 { error(path + ".successThreshold", "must be 1 for liveness and startup probes") }
        if let t = p.terminationGracePeriodSeconds, t < 1 { error(path + ".terminationGracePeriodSeconds", "must be 1 or more") }
    }

    mutating func validatePort(_ port: IntOrString, path: String, container: Container) {
        switch port {
        case .int(let n): if n < 1 || n > 65535 { error(path, "must be between 1 and 65535, found \(n)") }
        case .string(let name):
            if let why = Names.ianaServiceName(name) {
                error(path, why)
            } else if !container.ports.contains(where: { $0.name == name }) {
                error(path, "no port named \"\(name)\" in this container's ports")
            }
        }
    }

    mutating func validateResources(_ r: ResourceRequirements, path: String) {
        for (section, values) in [("requests", r.requests), ("limits", r.limits)] {
            for (name, q) in values {
                // The path only for a finding: most resources have none.
                func rp() -> String { KeyPath(path).appending(section).mapKey(name).description }
                switch name {
                case "cpu", "memory":
                    if q.isNegative { error(rp(), "must not be negative") }
                    if name == "cpu", q.milliValue == nil { error(rp(), "\(q.text) of CPU is too large to represent in millicores") }
                    if name == "memory", q.value == nil { error(rp(), "\(q.text) of memory is too large to represent in bytes") }
                case "ephemeral-storage":
                    warning(rp(), "ignored: ephemeral-storage is not enforced yet", atKey: true)
                default:
                    if name.hasPrefix("hugepages-") {
                        error(rp(), "hugepages are not supported yet", atKey: true)
                    } else {
                        error(rp(), "unsupported resource \"\(name)\"; podrec honours cpu and memory (extended resources need a device plugin)", atKey: true)
                    }
                }
            }
        }
        for (name, request) in r.requests {
            if let limit = r.limits[name], limit < request {
                error(KeyPath(path).appending("requests").mapKey(name).description, "must be less than or equal to the \(name) limit (\(limit.text))")
            }
        }
    }

    mutating func validateIDs(runAsUser: Int64?, runAsGroup: Int64?, path: String) {
        if let u = runAsUser, u < 0 || u > 2_147_483_647 { error(path + ".runAsUser", "must be between 0 and 2147483647") }
        if let g = runAsGroup, g < 0 || g > 2_147_483_647 { error(path + ".runAsGroup", "must be between 0 and 2147483647") }
    }

    static func isSupportedFieldPath(_ p: String) -> Bool {
        let plain = ["metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
                     "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs", "metadata.labels", "metadata.annotations"]
        if plain.contains(p) { return true }
        for prefix in ["metadata.labels['", "metadata.annotations['"] where p.hasPrefix(prefix) && p.hasSuffix("']") {
            return p.count > prefix.count + 2
        }
        return false
    }

    /// `kernel.shm_rmid_forced`, `net.ipv4.ip_local_port_range`, `net/ipv4/conf/eth0/...`:
    /// segments of `[-_a-z0-9]`, alphanumeric at both ends, joined by '.' or '/'
    /// (IsValidSysctlName).
    static let sysctlRegex = "^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$"

    static func isSysctlName(_ s: String) -> Bool {
        func alnum(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("0"..."9").contains(c) }
        return s.utf8.count <= 253 && s.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "." || $0 == "/" }).allSatisfy { part in
            let u = Array(part.unicodeScalars)
            guard let f = u.first, let l = u.last, alnum(f), alnum(l) else { return false }
            return u.allSatisfy { alnum($0) || $0 == "_" || $0 == "-" }
        }
    }

    static func cleanPath(_ p: String) -> String {
        let bytes = p.utf8
        if bytes.allSatisfy({ $0 < 0x80 }) {
            // The same steps over the bytes (in ASCII, `/` and `.` are characters of their
            // own): splitting by characters cost ~11,000 instructions a mount.
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + 1)
            for part in bytes.split(separator: UInt8(ascii: "/")) where !part.elementsEqual(CollectionOfOne(UInt8(ascii: "."))) {
                out.append(UInt8(ascii: "/"))
                out.append(contentsOf: part)
            }
            return out.isEmpty ? "/" : String(decoding: out, as: UTF8.self)
        }
        return "/" + p.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }
}

/// IPv4 and IPv6 literals, as `net.ParseIP` accepts them.
enum IP {
    static func isValid(_ s: String) -> Bool { isIPv4(s) || isIPv6(s) }

    static func isIPv4(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in
            !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCII) && p.allSatisfy(\.isNumber) && Int(p)! <= 255 && !(p.count > 1 && p.first == "0")
        }
    }

    static func isIPv6(_ s: String) -> Bool {
        guard s.contains(":"), s.count <= 45 else { return false }
        var text = Substring(s)
        var groupsNeeded = 8
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard isIPv4(String(text[text.index(after: lastColon)...])) else { return false }
            text = text[...lastColon]
            if text.hasSuffix(":") && !text.hasSuffix("::") { text = text.dropLast() }
            groupsNeeded = 6
        }
        let halves = text.components("::")
        guard halves.count <= 2 else { return false }
        func groups(_ h: Substring) -> [Substring]? {
            if h.isEmpty { return [] }
            let g = h.split(separator: ":", omittingEmptySubsequences: false)
            return g.allSatisfy { $0.count >= 1 && $0.count <= 4 && $0.allSatisfy(\.isHexDigit) } ? g : nil
        }
        guard let first = groups(halves[0]) else { return false }
        if halves.count == 1 { return first.count == groupsNeeded }
        guard let second = groups(halves[1]) else { return false }
        return first.count + second.count < groupsNeeded
    }
}
