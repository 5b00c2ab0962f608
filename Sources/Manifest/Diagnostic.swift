import YAML

/// One finding about a manifest: where, which key path, and why.
///
/// Printed as compilers print theirs, so editors can jump to it:
/// `web.yaml:14:9: error: spec.volumes[0].persistentVolumeClaim: not supported on a single host; use hostPath`
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error, warning
    }

    public var severity: Severity
    public var file: String
    public var mark: Mark
    /// The key path inside the document, `spec.containers[1].resources.limits`; empty for
    /// the whole document or file.
    public var path: String
    public var message: String

    public init(_ severity: Severity, file: String, mark: Mark, path: String, message: String) {
        self.severity = severity
        self.file = file
        self.mark = mark
        self.path = path
        self.message = message
    }

    public var description: String {
        "\(file):\(mark.line):\(mark.column): \(severity.rawValue): " + (path.isEmpty ? "" : "\(path): ") + message
    }
}

extension Array where Element == Diagnostic {
    public var hasErrors: Bool { contains { $0.severity == .error } }
    public var errors: [Diagnostic] { filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { filter { $0.severity == .warning } }
}

/// A key path being built while walking a document: `spec`, `containers`, `[1]`, ...
struct KeyPath: Sendable, Hashable, CustomStringConvertible {
    private(set) var text: String

    init(_ text: String = "") {
        self.text = text
    }

    func appending(_ key: String) -> KeyPath {
        KeyPath(text.isEmpty ? key : text + "." + key)
    }

    func index(_ i: Int) -> KeyPath {
        KeyPath(text + "[\(i)]")
    }

    /// A map key that is not a plain identifier is quoted, as kubectl prints it.
    func mapKey(_ key: String) -> KeyPath {
        let plain = !key.isEmpty && Self.isPlainKey(key)
        return plain ? appending(key) : KeyPath(text + "[\"\(key)\"]")
    }

    /// Letters (Unicode's Alphabetic), digits, `_` and `-`. ASCII is tested by bytes: the
    /// Unicode property lookup cost ~300 instructions a character, for every resource name
    /// and label key. In ASCII, Alphabetic is exactly A-Z and a-z.
    static func isPlainKey(_ key: String) -> Bool {
        var ascii = true
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "-"):
                continue
            case 0x80...:
                ascii = false
            default:
                return false  // an ASCII byte outside the set is a character outside it
            }
        }
        if ascii { return true }
        return key.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
    }

    var description: String { text }
}
