import YAML

/// One input file, already read. The manifest layer does no I/O of its own: callers read
/// files (or stdin) and hand over the bytes, so `validate` gives the same answer on every
/// machine.
public struct ManifestFile: Sendable {
    public var name: String
    public var bytes: [UInt8]

    public init(name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }
}

/// A pod and where it was defined.
public struct SourcedPod: Sendable {
    public var pod: Pod
    public var file: String
    public var mark: Mark
}

/// Everything one input (a file, or all the files of a directory) defines.
public struct ManifestSet: Sendable {
    public var pods: [SourcedPod] = []
    public var configMaps: [String: ConfigMap] = [:]
    public var secrets: [String: Secret] = [:]
    public var diagnostics: [Diagnostic] = []
    /// Files with at least one error. Nothing in them should be acted on.
    public var invalidFiles: Set<String> = []

    public var isValid: Bool { invalidFiles.isEmpty }

    /// The environment of `container` in `pod`, with ConfigMap and Secret values filled in.
    public func resolvedEnv(_ container: Container, in pod: Pod) -> [ResolvedEnvVar] {
        EnvResolver.resolve(container, namespace: pod.metadata.namespace, configMaps: configMaps, secrets: secrets)
    }

    public func specHash(_ container: Container, in pod: Pod) -> String {
        SpecHash.of(container, resolvedEnv: resolvedEnv(container, in: pod))
    }
}

public enum ManifestLoader {
    /// Parses, decodes, defaults and validates every file, then checks the references
    /// between them: a ConfigMap or Secret named by a pod must be in the same input unless
    /// the reference is optional.
    public static func load(_ files: [ManifestFile], limits: Limits = .default) -> ManifestSet {
        var set = ManifestSet()
        var podSources: [(SourcedPod, SourceMap)] = []
        var seen: [String: (file: String, mark: Mark)] = [:]

        for file in files {
            var fileDiagnostics: [Diagnostic] = []
            let documents: [Document]
            do {
                documents = try YAMLParser.parse(file.bytes, file: file.name, limits: limits)
            } catch {
                fileDiagnostics.append(Diagnostic(.error, file: file.name, mark: error.mark, path: "", message: error.message))
                finish(file.name, fileDiagnostics, into: &set)
                continue
            }
            if documents.allSatisfy({ $0.root.isNull }) {
                fileDiagnostics.append(Diagnostic(.error, file: file.name, mark: Mark(line: 1, column: 1), path: "", message: "no Kubernetes objects in this file"))
            }
            for document in documents where !document.root.isNull {
                let result = decodeDocument(document, file: file.name)
                fileDiagnostics += result.diagnostics
                guard !result.diagnostics.hasErrors, let object = result.object else { continue }
                let (key, kind) = object.identity
                if let previous = seen[kind + " " + key] {
                    fileDiagnostics.append(Diagnostic(.error, file: file.name, mark: document.root.mark, path: "metadata.name",
                        message: "\(kind) \(key) is defined twice (first at \(previous.file):\(previous.mark))"))
                    continue
                }
                seen[kind + " " + key] = (file.name, document.root.mark)
                switch object {
                case .pod(let pod, let map): podSources.append((SourcedPod(pod: pod, file: file.name, mark: document.root.mark), map))
                case .configMap(let cm): set.configMaps[cm.id] = cm
                case .secret(let s): set.secrets[s.id] = s
                }
            }
            finish(file.name, fileDiagnostics, into: &set)
        }

        for (sourced, map) in podSources where !set.invalidFiles.contains(sourced.file) {
            let refs = referenceFindings(sourced.pod, configMaps: set.configMaps, secrets: set.secrets)
            let diagnostics = refs.map { Diagnostic($0.severity, file: sourced.file, mark: $0.atKey ? map.keyMark(for: $0.path) : map.mark(for: $0.path), path: $0.path, message: $0.message) }
            finish(sourced.file, diagnostics, into: &set)
        }
        set.pods = podSources.map(\.0).filter { !set.invalidFiles.contains($0.file) }
        set.diagnostics.sort { ($0.file, $0.mark) < ($1.file, $1.mark) }
        return set
    }

    static func finish(_ file: String, _ diagnostics: [Diagnostic], into set: inout ManifestSet) {
        set.diagnostics += diagnostics
        if diagnostics.hasErrors { set.invalidFiles.insert(file) }
    }

    enum Object {
        case pod(Pod, SourceMap)
        case configMap(ConfigMap)
        case secret(Secret)

        var identity: (String, String) {
            switch self {
            case .pod(let p, _): return (p.id, "Pod")
            case .configMap(let c): return (c.id, "ConfigMap")
            case .secret(let s): return (s.id, "Secret")
            }
        }
    }

    /// One document: kind and apiVersion first (they pick the schema), then the
    /// structural check, then decoding, defaults and validation.
    static func decodeDocument(_ document: Document, file: String) -> (object: Object?, diagnostics: [Diagnostic]) {
        let root = document.root
        func fail(_ mark: Mark, _ path: String, _ message: String) -> (Object?, [Diagnostic]) {
            (nil, [Diagnostic(.error, file: file, mark: mark, path: path, message: message)])
        }
        guard root.mapping != nil else {
            return fail(root.mark, "", "expected a Kubernetes object (a mapping with apiVersion and kind), found \(root.kindDescription)")
        }
        guard let kindNode = root["kind"], let kind = kindNode.string else {
            return fail(root.mark, "kind", "required field is missing")
        }
        guard let schemaID = UpstreamSchema.shared.rootByKind[kind] else {
            return fail(kindNode.mark, "kind", "podrec reads v1 Pod, ConfigMap and Secret objects, found \"\(kind)\"")
        }
        guard let apiNode = root["apiVersion"] else {
            return fail(root.mark, "apiVersion", "required field is missing (\(kind) is apiVersion: v1)")
        }
        guard apiNode.string == "v1" else {
            return fail(apiNode.mark, "apiVersion", "\(kind) is apiVersion: v1, found \(apiNode.scalar.map { "\"\($0.value)\"" } ?? apiNode.kindDescription)")
        }
        var check = StructuralCheck(file: file)
        check.check(root, type: schemaID, path: KeyPath())
        // Decode and validate even after structural errors, so that one run reports every
        // error in the file; but drop findings at or under a path that is already wrong,
        // which would only repeat it.
        let broken = check.diagnostics.errors.map(\.path)
        func isUnderBroken(_ path: String) -> Bool {
            broken.contains { b in path == b || path.hasPrefix(b + ".") || path.hasPrefix(b + "[") }
        }
        var decoder = Decoder(file: file)
        var diagnostics = check.diagnostics
        let map = SourceMap(root: root)
        let object: Object
        switch kind {
        case "Pod":
            var pod = decoder.pod(root)
            Defaults.apply(&pod)
            var validation = PodValidation()
            validation.validate(pod)
            // The fields podrec ignores are still checked as the API server checks them,
            // so that an accepted file moves to a cluster unchanged.
            var ignored = IgnoredFieldValidation()
            ignored.validate(root)
            diagnostics += (validation.findings + ignored.findings).filter { !isUnderBroken($0.path) }.map {
                Diagnostic($0.severity, file: file, mark: $0.atKey ? map.keyMark(for: $0.path) : map.mark(for: $0.path), path: $0.path, message: $0.message)
            }
            object = .pod(pod, map)
        case "ConfigMap":
            let cm = decoder.configMap(root)
            diagnostics += objectNameFindings(cm.name, cm.namespace, map: map, file: file)
            diagnostics += keyFindings(Array(cm.data.keys) + Array(cm.binaryData.keys), field: "data", map: map, file: file)
            object = .configMap(defaulted(cm))
        default:
            let s = decoder.secret(root)
            diagnostics += objectNameFindings(s.name, s.namespace, map: map, file: file)
            diagnostics += keyFindings(Array(s.data.keys), field: "data", map: map, file: file)
            object = .secret(defaulted(s))
        }
        diagnostics += decoder.diagnostics.filter { !isUnderBroken($0.path) }
        return (diagnostics.hasErrors ? nil : object, diagnostics)
    }

    static func defaulted(_ cm: ConfigMap) -> ConfigMap {
        var cm = cm
        if cm.namespace.isEmpty { cm.namespace = "default" }
        return cm
    }

    static func defaulted(_ s: Secret) -> Secret {
        var s = s
        if s.namespace.isEmpty { s.namespace = "default" }
        return s
    }

    static func objectNameFindings(_ name: String, _ namespace: String, map: SourceMap, file: String) -> [Diagnostic] {
        var out: [Diagnostic] = []
        if name.isEmpty {
            out.append(Diagnostic(.error, file: file, mark: map.mark(for: "metadata"), path: "metadata.name", message: "required field is missing"))
        } else if let why = Names.dns1123Subdomain(name) {
            out.append(Diagnostic(.error, file: file, mark: map.mark(for: "metadata.name"), path: "metadata.name", message: why))
        }
        if !namespace.isEmpty, let why = Names.dns1123Label(namespace) {
            out.append(Diagnostic(.error, file: file, mark: map.mark(for: "metadata.namespace"), path: "metadata.namespace", message: why))
        }
        return out
    }

    static func keyFindings(_ keys: [String], field: String, map: SourceMap, file: String) -> [Diagnostic] {
        keys.compactMap { key in
            Names.configMapKey(key).map {
                let path = KeyPath(field).mapKey(key).description
                return Diagnostic(.error, file: file, mark: map.keyMark(for: path), path: path, message: "key \($0)")
            }
        }
    }

    /// References from a pod to ConfigMaps and Secrets, resolved within the input.
    static func referenceFindings(_ pod: Pod, configMaps: [String: ConfigMap], secrets: [String: Secret]) -> [Finding] {
        let ns = pod.metadata.namespace
        var out: [Finding] = []
        /// `kind` "name" must exist in the namespace and hold each wanted key, unless optional.
        func require(_ kind: String, _ name: String, optional: Bool, namePath: String, keys wanted: [(key: String, path: String)] = []) {
            guard !optional else { return }
            let have: Set<String>? = kind == "ConfigMap"
                ? configMaps["\(ns)/\(name)"].map { Set($0.data.keys).union($0.binaryData.keys) }
                : secrets["\(ns)/\(name)"].map { Set($0.data.keys) }
            guard let have else {
                out.append(Finding(severity: .error, path: namePath,
                    message: "\(kind) \"\(name)\" is not defined in this input (namespace \(ns)); define it alongside the pod, or mark the reference optional: true"))
                return
            }
            for w in wanted where !have.contains(w.key) {
                out.append(Finding(severity: .error, path: w.path, message: "\(kind) \"\(name)\" has no key \"\(w.key)\""))
            }
        }
        for (i, v) in pod.spec.volumes.enumerated() {
            let vp = "spec.volumes[\(i)]"
            switch v.source {
            case .configMap(let k):
                require("ConfigMap", k.name, optional: k.optional, namePath: vp + ".configMap.name",
                        keys: k.items.enumerated().map { ($1.key, "\(vp).configMap.items[\($0)].key") })
            case .secret(let k):
                require("Secret", k.name, optional: k.optional, namePath: vp + ".secret.secretName",
                        keys: k.items.enumerated().map { ($1.key, "\(vp).secret.items[\($0)].key") })
            case .projected(let p):
                for (j, source) in p.sources.enumerated() {
                    let sp = "\(vp).projected.sources[\(j)]"
                    switch source {
                    case .configMap(let k):
                        require("ConfigMap", k.name, optional: k.optional, namePath: sp + ".configMap.name",
                                keys: k.items.enumerated().map { ($1.key, "\(sp).configMap.items[\($0)].key") })
                    case .secret(let k):
                        require("Secret", k.name, optional: k.optional, namePath: sp + ".secret.name",
                                keys: k.items.enumerated().map { ($1.key, "\(sp).secret.items[\($0)].key") })
                    case .downwardAPI, .empty: break
                    }
                }
            default: break
            }
        }
        for (group, list) in [("initContainers", pod.spec.initContainers), ("containers", pod.spec.containers)] {
            for (i, c) in list.enumerated() {
                let cp = "spec.\(group)[\(i)]"
                for (j, e) in c.env.enumerated() {
                    let ep = "\(cp).env[\(j)].valueFrom"
                    switch e.valueFrom {
                    case .configMapKey(let sel)?:
                        require("ConfigMap", sel.name, optional: sel.optional, namePath: ep + ".configMapKeyRef.name", keys: [(sel.key, ep + ".configMapKeyRef.key")])
                    case .secretKey(let sel)?:
                        require("Secret", sel.name, optional: sel.optional, namePath: ep + ".secretKeyRef.name", keys: [(sel.key, ep + ".secretKeyRef.key")])
                    default: break
                    }
                }
                for (j, e) in c.envFrom.enumerated() {
                    switch e.source {
                    case .configMap(let name, let optional):
                        require("ConfigMap", name, optional: optional, namePath: "\(cp).envFrom[\(j)].configMapRef.name")
                    case .secret(let name, let optional):
                        require("Secret", name, optional: optional, namePath: "\(cp).envFrom[\(j)].secretRef.name")
                    }
                }
            }
        }
        return out
    }

    /// The file-name rule for manifest directories: `*.yaml`, `*.yml` and `*.json`, except
    /// dotfiles and editor temp and backup files (`*~`, `*.swp`, `4913`, `*.bak`, `*.orig`,
    /// `*.dpkg-*`). kubelet reads `x.yaml.bak`; that is a known bug we do not copy.
    public static func isManifestFileName(_ name: String) -> Bool {
        if name.hasPrefix(".") || name.hasSuffix("~") || name == "4913" { return false }
        for bad in [".swp", ".bak", ".orig"] where name.hasSuffix(bad) { return false }
        if name.contains(".dpkg-") { return false }
        return name.hasSuffix(".yaml") || name.hasSuffix(".yml") || name.hasSuffix(".json")
    }
}
