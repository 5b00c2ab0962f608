/// What a scalar means once its tag is resolved.
public enum ResolvedScalar: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
}

/// Which rules turn an untagged plain scalar into a value.
///
/// - `core12`: the YAML 1.2 core schema. `yes`, `on`, `0644` stay strings or decimal;
///   `0o644` is octal. The YAML test suite's `in.json` files use it.
/// - `kubectl`: what kubectl does (sigs.k8s.io/yaml over go-yaml v2, YAML 1.1 flavoured):
///   `y/yes/on` and `n/no/off` in any of their three spellings are booleans; an integer is
///   read as Go's `strconv.ParseInt(s, 0, 64)` reads it after dropping `_`, so `0644` and
///   `0o644` are octal 420, `01777` is 1023, `0x1F` is hex and `0b101` binary; `~` is null.
///   Manifests are read this way, so a file means in podrec what it means to kubectl.
public enum ScalarSchema: Sendable {
    case core12
    case kubectl
    public static let yaml11 = ScalarSchema.kubectl
}

extension Node {
    /// The value of a scalar node under `schema`; a collection resolves to `.null`.
    public func resolved(_ schema: ScalarSchema) -> ResolvedScalar {
        guard case .scalar(let s) = content else { return .null }
        return Resolver.resolve(s, tag: tag, schema: schema)
    }
}

public enum Resolver {
    static let tagPrefix = "tag:yaml.org,2002:"

    public static func resolve(_ s: Scalar, tag: String?, schema: ScalarSchema) -> ResolvedScalar {
        if let tag, tag != "?" {
            switch tag {
            case tagPrefix + "null": return .null
            case tagPrefix + "bool": return resolvePlain(s.value, schema: schema).boolOr(.string(s.value))
            case tagPrefix + "int":
                if case .int(let v) = resolvePlain(s.value, schema: schema) { return .int(v) }
                return .string(s.value)
            case tagPrefix + "float":
                switch resolvePlain(s.value, schema: schema) {
                case .int(let v): return .float(Double(v))
                case .float(let v): return .float(v)
                default: return .string(s.value)
                }
            default: return .string(s.value)  // !!str, `!`, and local tags
            }
        }
        guard s.style == .plain else { return .string(s.value) }
        return resolvePlain(s.value, schema: schema)
    }

    static func resolvePlain(_ v: String, schema: ScalarSchema) -> ResolvedScalar {
        let utf8 = v.utf8
        guard let first = utf8.first else { return .null }
        // Fast path: most plain scalars in manifests are words that cannot be one of the
        // special spellings below, nor a number.
        if utf8.count > 6 && !isNumberStart(first) { return .string(v) }
        // The special spellings are all 1 to 5 bytes: one hash lookup of the bytes packed in
        // an integer, where a `switch` over string literals made ~30 string comparisons
        // (~2,000 instructions for every short scalar, a tenth of a manifest's decoding).
        let special = utf8.count <= 6 ? Self.packed(utf8) : nil
        switch schema {
        case .core12:
            if let special, let word = Self.core12Words[special] { return word }
            if !isNumberStart(first) { return .string(v) }
            if let i = core12Int(v) { return .int(i) }
            if isFloatSyntax(Substring(v)), let d = Double(v) { return .float(d) }
            return .string(v)
        case .kubectl:
            if let special, let word = Self.kubectlWords[special] { return word }
            if !isNumberStart(first) { return .string(v) }
            // The byte test, not `contains(Character)`, which walks grapheme clusters; a
            // `_` that starts a cluster is left alone by `replacingAll` as before.
            let plain = utf8.contains(UInt8(ascii: "_")) ? v.replacingAll("_") : v
            if let i = goParseInt(plain) { return .int(i) }
            if isFloatSyntax(Substring(plain)), let d = Double(plain) { return .float(d) }
            return .string(v)
        }
    }

    /// At most 6 bytes packed into an integer, the length in the top byte (so that a
    /// trailing NUL byte is not the same word).
    static func packed(_ utf8: String.UTF8View) -> UInt64 {
        var key = UInt64(utf8.count) << 56
        var shift: UInt64 = 0
        for byte in utf8 {
            key |= UInt64(byte) << shift
            shift += 8
        }
        return key
    }

    static func words(_ table: [([String], ResolvedScalar)]) -> [UInt64: ResolvedScalar] {
        var out: [UInt64: ResolvedScalar] = [:]
        for (spellings, value) in table {
            for w in spellings {
                precondition(w.utf8.count <= 6)
                out[packed(w.utf8)] = value
            }
        }
        return out
    }

    static let floatWords: [([String], ResolvedScalar)] = [
        ([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"], .float(.infinity)),
        (["-.inf", "-.Inf", "-.INF"], .float(-.infinity)),
        ([".nan", ".NaN", ".NAN"], .float(.nan)),
    ]

    static let core12Words = words([
        (["null", "Null", "NULL", "~"], .null),
        (["true", "True", "TRUE"], .bool(true)),
        (["false", "False", "FALSE"], .bool(false)),
    ] + floatWords)

    static let kubectlWords = words([
        (["~", "null", "Null", "NULL"], .null),
        (["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"], .bool(true)),
        (["n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE"], .bool(false)),
    ] + floatWords)

    static func isNumberStart(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || c == UInt8(ascii: ".")
    }

    /// YAML 1.2 core: `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`.
    static func core12Int(_ v: String) -> Int64? {
        if v.hasPrefix("0o") { return Int64(v.dropFirst(2), radix: 8) }
        if v.hasPrefix("0x") { return Int64(v.dropFirst(2), radix: 16) }
        var digits = Substring(v)
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return Int64(v)
    }

    /// Go's `strconv.ParseInt(s, 0, 64)`: sign, then `0x`/`0o`/`0b` or a leading `0` for
    /// octal, else decimal.
    static func goParseInt(_ v: String) -> Int64? {
        var rest = Substring(v)
        var negative = false
        if rest.first == "-" || rest.first == "+" {
            negative = rest.first == "-"
            rest = rest.dropFirst()
        }
        var radix = 10
        // The prefix by bytes (`0x`, `0X`, ...): `lowercased()` made a new string per call.
        // The prefix must be two whole characters, as `hasPrefix` compared them: a non-ASCII
        // third byte may be a combining mark on the letter (then no digits follow anyway).
        var bytes = rest.utf8.makeIterator()
        let b0 = bytes.next(), b1 = bytes.next().map { $0 | 0x20 }  // ASCII lowercase
        let b2 = bytes.next()
        let letter = b0 == UInt8(ascii: "0") && (b2 ?? 0) < 0x80 ? b1 : nil
        if letter == UInt8(ascii: "x") {
            radix = 16
            rest = rest.dropFirst(2)
        } else if letter == UInt8(ascii: "o") {
            radix = 8
            rest = rest.dropFirst(2)
        } else if letter == UInt8(ascii: "b") {
            radix = 2
            rest = rest.dropFirst(2)
        } else if rest.count > 1 && rest.first == "0" {
            radix = 8
            rest = rest.dropFirst()
        }
        guard !rest.isEmpty, rest.first != "-", rest.first != "+" else { return nil }
        guard let magnitude = UInt64(rest, radix: radix) else { return nil }
        if negative {
            if magnitude == UInt64(Int64.max) + 1 { return Int64.min }
            guard magnitude <= UInt64(Int64.max) else { return nil }
            return -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, the float form both schemas share.
    static func isFloatSyntax(_ v: Substring) -> Bool {
        var i = v.utf8.startIndex
        let u = v.utf8
        func digit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        if i < u.endIndex, u[i] == UInt8(ascii: "-") || u[i] == UInt8(ascii: "+") { i = u.index(after: i) }
        var intDigits = 0
        while i < u.endIndex, digit(u[i]) { intDigits += 1; i = u.index(after: i) }
        var fracDigits = 0
        if i < u.endIndex, u[i] == UInt8(ascii: ".") {
            i = u.index(after: i)
            while i < u.endIndex, digit(u[i]) { fracDigits += 1; i = u.index(after: i) }
        }
        if intDigits == 0 && fracDigits == 0 { return false }
        if i < u.endIndex, u[i] == UInt8(ascii: "e") || u[i] == UInt8(ascii: "E") {
            i = u.index(after: i)
            if i < u.endIndex, u[i] == UInt8(ascii: "-") || u[i] == UInt8(ascii: "+") { i = u.index(after: i) }
            var expDigits = 0
            while i < u.endIndex, digit(u[i]) { expDigits += 1; i = u.index(after: i) }
            if expDigits == 0 { return false }
        }
        return i == u.endIndex
    }
}

extension ResolvedScalar {
    fileprivate func boolOr(_ other: ResolvedScalar) -> ResolvedScalar {
        if case .bool = self { return self }
        return other
    }
}

extension String {
    fileprivate func replacingAll(_ character: Character) -> String {
        String(filter { $0 != character })
    }
}
