/// A YAML syntax or limit error, with the position libyaml (or the composer) reported.
public struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// libyaml could not read, scan or parse the input.
        case syntax
        /// A mapping key written twice; `previous` is the first occurrence.
        case duplicateKey(key: String, previous: Mark)
        case unknownAnchor(String)
        case invalidMerge
        case tooLarge(bytes: Int, limit: Int)
        case tooManyNodes(limit: Int)
        case tooDeep(limit: Int)
    }

    public var kind: Kind
    /// The input's name, as given to `YAMLParser.parse(_:file:)`.
    public var file = ""
    public var mark: Mark
    public var message: String

    public init(_ kind: Kind, mark: Mark, message: String) {
        self.kind = kind
        self.mark = mark
        self.message = message
    }

    /// `file:line:column: message`, or `line:column: message` for an unnamed input.
    public var description: String { (file.isEmpty ? "" : "\(file):") + "\(mark): \(message)" }
}
