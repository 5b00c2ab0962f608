/// A JSON value with ordered object keys: the data model that Kubernetes objects (and
/// YAML 1.2 documents without complex keys) share.
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case array([JSONValue])
    case object([JSONMember])

    /// Equality as JSON sees it: object members unordered, `1` equal to `1.0`.
    public func isEquivalent(to other: JSONValue) -> Bool {
        switch (self, other) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.int(let a), .float(let b)), (.float(let b), .int(let a)): return Double(a) == b
        case (.float(let a), .float(let b)): return a == b || (a.isNaN && b.isNaN)
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.isEquivalent(to: $1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            var byKey: [String: JSONValue] = [:]
            for m in b { byKey[m.key] = m.value }
            return a.allSatisfy { m in byKey[m.key].map { m.value.isEquivalent(to: $0) } ?? false }
        default: return false
        }
    }

    /// Compact (`indent: nil`) or pretty JSON text. Non-finite floats, which JSON cannot
    /// hold, are written as `null`.
    public func serialized(indent: Int? = nil) -> String {
        var out = ""
        write(to: &out, indent: indent, level: 0)
        return out
    }

    private func write(to out: inout String, indent: Int?, level: Int) {
        func newline(_ level: Int) {
            guard let indent else { return }
            out.append("\n")
            out.append(String(repeating: " ", count: indent * level))
        }
        switch self {
        case .null: out.append("null")
        case .bool(let b): out.append(b ? "true" : "false")
        case .int(let i): out.append(String(i))
        case .float(let d):
            if !d.isFinite {
                out.append("null")
            } else if d == d.rounded(), abs(d) < 1e15 {
                out.append(String(Int64(d)))
            } else {
                out.append(String(d))
            }
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            if items.isEmpty { out.append("[]"); return }
            out.append("[")
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(",") }
                newline(level + 1)
                item.write(to: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out.append("]")
        case .object(let members):
            if members.isEmpty { out.append("{}"); return }
            out.append("{")
            for (i, m) in members.enumerated() {
                if i > 0 { out.append(",") }
                newline(level + 1)
                JSONValue.writeString(m.key, to: &out)
                out.append(indent == nil ? ":" : ": ")
                m.value.write(to: &out, indent: indent, level: level + 1)
            }
            newline(level)
            out.append("}")
        }
    }

    public static func writeString(_ s: String, to out: inout String) {
        out.append("\"")
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            default:
                // Besides what JSON requires (below 0x20), escape what libyaml cannot read
                // back raw, even inside a quoted scalar, since podrec reads its own JSON with
                // it (`validate -o json` output, image config.json): C1 controls and the
                // non-characters U+FFFE/U+FFFF are refused, NEL, LS and PS are line breaks.
                // DEL and the BOM would read back, but are invisible.
                let v = scalar.value
                if v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029 || v == 0xFEFF || v == 0xFFFE || v == 0xFFFF {
                    let hex = String(scalar.value, radix: 16)
                    out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
    }
}

public struct JSONMember: Sendable, Hashable {
    public var key: String
    public var value: JSONValue

    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

extension Node {
    /// The node as JSON under `schema`. Keys are the scalar keys' text; a non-scalar key
    /// (legal YAML, not representable in JSON) makes the result nil.
    public func json(_ schema: ScalarSchema) -> JSONValue? {
        switch content {
        case .scalar:
            switch resolved(schema) {
            case .null: return .null
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .float(let d): return .float(d)
            case .string(let s): return .string(s)
            }
        case .sequence(let items):
            var out: [JSONValue] = []
            out.reserveCapacity(items.count)
            for item in items {
                guard let v = item.json(schema) else { return nil }
                out.append(v)
            }
            return .array(out)
        case .mapping(let pairs):
            var out: [JSONMember] = []
            out.reserveCapacity(pairs.count)
            for pair in pairs {
                guard pair.key.scalar != nil, let v = pair.value.json(schema) else { return nil }
                let key: String
                switch pair.key.resolved(schema) {
                case .null: key = ""
                case .bool(let b): key = b ? "true" : "false"
                case .int(let i): key = String(i)
                case .float, .string: key = pair.key.scalar!.value
                }
                out.append(JSONMember(key, v))
            }
            return .object(out)
        }
    }
}
