import YAML

/// Checks a document against `UpstreamSchema` and `FieldClasses`, collecting every
/// finding instead of stopping at the first, and records where each key path was written
/// so that later checks on the typed model can point at the source.
struct StructuralCheck {
    let schema: UpstreamSchema
    let file: String
    var diagnostics: [Diagnostic] = []

    init(schema: UpstreamSchema = .shared, file: String) {
        self.schema = schema
        self.file = file
    }

    mutating func error(_ mark: Mark, _ path: KeyPath, _ message: String) {
        diagnostics.append(Diagnostic(.error, file: file, mark: mark, path: path.description, message: message))
    }

    mutating func warning(_ mark: Mark, _ path: KeyPath, _ message: String) {
        diagnostics.append(Diagnostic(.warning, file: file, mark: mark, path: path.description, message: message))
    }

    /// `inherited` is the class of the nearest enclosing classified field: inside an
    /// ignored field nothing warns again, but the structure is still checked.
    mutating func check(_ node: Node, type id: Int, path: KeyPath, inherited: FieldClass = .honoured) {
        let type = schema[id]
        if node.isNull {
            if !type.nullable { error(node.mark, path, "expected \(Self.describe(type.kind)), found null") }
            return
        }
        switch type.kind {
        case .object(let fields):
            guard let pairs = node.mapping else {
                return error(node.mark, path, "expected a mapping, found \(node.kindDescription)")
            }
            var present = type.hasRequiredFields ? [Bool](repeating: false, count: fields.count) : []
            for pair in pairs {
                guard let key = stringKey(pair.key, path: path) else { continue }
                let fieldPath = path.appending(key)
                guard let index = type.fieldIndex[key] else {
                    if let name = type.name, let why = Self.newerRefused[name + "." + key] {
                        error(pair.key.mark, fieldPath, "a field newer than Kubernetes \(FieldClasses.kubernetesVersion), refused: " + why)
                        continue
                    }
                    error(pair.key.mark, fieldPath, "unknown field" + Self.suggestion(for: key, among: fields.map(\.name)))
                    continue
                }
                let field = fields[index]
                if !present.isEmpty { present[index] = true }
                var cls = inherited
                if case .honoured = inherited, let own = field.fieldClass {
                    cls = own
                    if !pair.value.isEmptyValue {
                        switch own {
                        case .honoured: break
                        case .ignored(let reason): warning(pair.key.mark, fieldPath, "ignored: \(reason)")
                        case .refused(let reason): error(pair.key.mark, fieldPath, reason)
                        }
                    }
                }
                if case .refused = cls { continue }
                check(pair.value, type: field.type, path: fieldPath, inherited: cls)
            }
            for (i, field) in fields.enumerated() where field.required && !present[i] {
                error(node.mark, path.appending(field.name), "required field is missing")
            }
            if let name = type.name, let rule = Self.oneOf[name] {
                let set = pairs.compactMap { p in p.key.scalar.map(\.value) }.filter { rule.members.contains($0) && !(node[$0]?.isNull ?? true) }
                if set.count > 1 {
                    error(node.mark, path, "may not specify more than one \(rule.what) (found \(set.joined(separator: ", ")))")
                } else if set.isEmpty && rule.required {
                    error(node.mark, path, "must specify one \(rule.what): " + rule.members.joined(separator: ", "))
                }
            }
        case .map(let values):
            guard let pairs = node.mapping else {
                return error(node.mark, path, "expected a mapping, found \(node.kindDescription)")
            }
            for pair in pairs {
                guard let key = stringKey(pair.key, path: path) else { continue }
                let entryPath = path.mapKey(key)
                check(pair.value, type: values, path: entryPath, inherited: inherited)
            }
        case .array(let items):
            guard let elements = node.sequence else {
                return error(node.mark, path, "expected a list, found \(node.kindDescription)")
            }
            for (i, element) in elements.enumerated() {
                check(element, type: items, path: path.index(i), inherited: inherited)
            }
        case .anyObject:
            if node.mapping == nil { error(node.mark, path, "expected a mapping, found \(node.kindDescription)") }
        case .string, .dateTime, .base64:
            expectString(node, path)
        case .enumeration(let values):
            if expectString(node, path), let v = node.scalar?.value, !values.contains(v) {
                error(node.mark, path, "must be " + values.map { "\"\($0)\"" }.joined(separator: " or ") + ", found \"\(v)\"")
            }
        case .int32, .int64:
            guard let value = node.integerValue else {
                return error(node.mark, path, "expected an integer, found \(node.kindDescription)" + quotedNumberHint(node))
            }
            if case .int32 = type.kind, value < Int64(Int32.min) || value > Int64(Int32.max) {
                error(node.mark, path, "\(value) does not fit in a 32-bit integer")
            }
        case .boolean:
            if case .bool = node.resolved(.kubectl) { return }
            error(node.mark, path, "expected a boolean, found \(node.kindDescription)")
        case .number:
            switch node.resolved(.kubectl) {
            case .int, .float: return
            default: error(node.mark, path, "expected a number, found \(node.kindDescription)")
            }
        case .intOrString:
            switch node.resolved(.kubectl) {
            case .int, .string: return
            default: error(node.mark, path, "expected an integer or a string, found \(node.kindDescription)")
            }
        case .quantity:
            switch node.resolved(.kubectl) {
            case .int, .float, .string: return
            default: error(node.mark, path, "expected a quantity such as 500m or 64Mi, found \(node.kindDescription)")
            }
        }
    }

    /// Fields newer than the reference schema that podrec will not honour, with the reason:
    /// still refused (the strict schema refuses them), but with the reason rather than
    /// "unknown field", since they are no typo.
    static let newerRefused: [String: String] = [
        // Kubernetes 1.34 (KEP-4317).
        "VolumeProjection.podCertificate": "pod certificates are issued by an API server's signers, and podrec has no API server",
    ]

    /// Union types: Kubernetes accepts one member, and for some exactly one.
    static let oneOf: [String: (members: [String], required: Bool, what: String)] = [
        "Probe": (["exec", "httpGet", "tcpSocket", "grpc"], true, "handler"),
        "LifecycleHandler": (["exec", "httpGet", "sleep", "tcpSocket"], true, "handler"),
        "EnvVarSource": (["configMapKeyRef", "secretKeyRef", "fieldRef", "resourceFieldRef"], true, "source"),
        "EnvFromSource": (["configMapRef", "secretRef"], true, "source"),
        // The API server: "may not specify more than 1 volume type per source"; a projection
        // with none is accepted, and projects nothing.
        "VolumeProjection": (UpstreamSchema.shared["VolumeProjection"]!.fields.map(\.name), false, "volume type"),
        // A volume with no source is an emptyDir (SetDefaults_Volume).
        "Volume": (UpstreamSchema.shared["Volume"]!.fields.map(\.name).filter { $0 != "name" }, false, "volume type"),
    ]

    @discardableResult
    mutating func expectString(_ node: Node, _ path: KeyPath) -> Bool {
        switch node.resolved(.kubectl) {
        case .string: return true
        default:
            var message = "expected a string, found \(node.kindDescription)"
            if let s = node.scalar, s.style == .plain {
                message += " (\(s.value)); quote it to keep it a string"
            }
            error(node.mark, path, message)
            return false
        }
    }

    func quotedNumberHint(_ node: Node) -> String {
        guard let s = node.scalar, s.style != .plain, Resolver.resolve(Scalar(s.value), tag: nil, schema: .kubectl).isInteger else { return "" }
        return " (\"\(s.value)\"); remove the quotes"
    }

    mutating func stringKey(_ key: Node, path: KeyPath) -> String? {
        guard let s = key.scalar else {
            error(key.mark, path, "a key must be a string, found \(key.kindDescription)")
            return nil
        }
        // A null key (`~:`, an empty key, `!!null name:`) has no JSON form: kubectl refuses
        // it ("unsupported map key"), and passing it would print a verbatim field under
        // the key "" while the checks here read its text.
        if key.isNull {
            error(key.mark, path, "a key must be a string, found null")
            return nil
        }
        // JSON object keys are strings; kubectl turns `1:` or `true:` into "1" and "true".
        return s.value
    }

    static func describe(_ kind: UpstreamSchema.Kind) -> String {
        switch kind {
        case .object, .map, .anyObject: return "a mapping"
        case .array: return "a list"
        case .string, .dateTime, .base64, .enumeration: return "a string"
        case .int32, .int64: return "an integer"
        case .boolean: return "a boolean"
        case .number: return "a number"
        case .intOrString: return "an integer or a string"
        case .quantity: return "a quantity"
        }
    }

    /// `; did you mean "limits"?` when a known name is close enough to be a typo.
    static func suggestion(for key: String, among names: [String]) -> String {
        let lower = key.lowercased()
        var best: (name: String, distance: Int)?
        for name in names {
            let d = editDistance(lower, name.lowercased())
            if best == nil || d < best!.distance { best = (name, d) }
        }
        guard let best, best.distance <= max(1, min(3, key.count / 3)) else { return "" }
        return "; did you mean \"\(best.name)\"?"
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                // A swap of two neighbours is one typo, not two.
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous[j - 1])
                }
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

/// Where a key path was written, for diagnostics found after decoding: it walks the
/// document's node tree by the path, only when a diagnostic needs a mark, so a valid
/// document pays nothing for it.
public struct SourceMap: Sendable {
    let root: Node

    init(root: Node) {
        self.root = root
    }

    enum Component {
        case key(String)
        case index(Int)
    }

    /// `spec.containers[1].resources.limits["example.com/x"]` → components. Field names
    /// contain no `.` or `[`; map keys that might are written quoted (`KeyPath.mapKey`).
    static func components(_ path: String) -> [Component] {
        var out: [Component] = []
        var rest = Substring(path)
        while !rest.isEmpty {
            if rest.hasPrefix(".") { rest = rest.dropFirst() }
            if rest.hasPrefix("[\"") {
                let body = rest.dropFirst(2)
                guard let close = body.range(of: "\"]") else { break }
                out.append(.key(String(body[..<close.lowerBound])))
                rest = body[close.upperBound...]
            } else if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]"), let i = Int(rest[rest.index(after: rest.startIndex)..<close]) else { break }
                out.append(.index(i))
                rest = rest[rest.index(after: close)...]
            } else {
                let end = rest.firstIndex { $0 == "." || $0 == "[" } ?? rest.endIndex
                out.append(.key(String(rest[..<end])))
                rest = rest[end...]
            }
        }
        return out
    }

    /// The deepest node on `path`, and the key node that names it (nil for list items and
    /// the root).
    func locate(_ path: String) -> (node: Node, key: Node?, complete: Bool) {
        var node = root
        var key: Node?
        for component in Self.components(path) {
            switch component {
            case .key(let name):
                guard let pair = node.mapping?.first(where: { $0.key.scalar?.value == name }) else { return (node, key, false) }
                key = pair.key
                node = pair.value
            case .index(let i):
                guard let items = node.sequence, items.indices.contains(i) else { return (node, key, false) }
                key = nil
                node = items[i]
            }
        }
        return (node, key, true)
    }

    /// The mark of the value at `path`, or of its nearest ancestor that exists.
    public func mark(for path: String) -> Mark {
        locate(path).node.mark
    }

    /// The mark of the key of `path` (where the field was named), else of its value.
    public func keyMark(for path: String) -> Mark {
        let found = locate(path)
        return found.complete ? (found.key?.mark ?? found.node.mark) : found.node.mark
    }
}

extension Node {
    /// A plain `~`, `null` or empty scalar: JSON null, which Kubernetes reads as absent.
    var isNull: Bool {
        guard let s = scalar, tag == nil || tag == "tag:yaml.org,2002:null" else { return false }
        if tag != nil { return true }
        return s.style == .plain && (s.value.isEmpty || s.value == "~" || s.value == "null" || s.value == "Null" || s.value == "NULL")
    }

    /// null, `{}` or `[]`: nothing to warn about even on an ignored field.
    var isEmptyValue: Bool {
        if isNull { return true }
        switch content {
        case .mapping(let pairs): return pairs.isEmpty
        case .sequence(let items): return items.isEmpty
        case .scalar: return false
        }
    }

    /// An integer as kubectl reads one: an integer, or a float with an integral value
    /// (go-yaml's `08` is the float 8, and JSON writes 8.0 as 8).
    var integerValue: Int64? {
        switch resolved(.kubectl) {
        case .int(let i): return i
        case .float(let d) where d.isFinite && d == d.rounded() && abs(d) < 9.2e18: return Int64(d)
        default: return nil
        }
    }
}

extension ResolvedScalar {
    var isInteger: Bool {
        if case .int = self { return true }
        return false
    }
}
