/// A position in a YAML source, 1-based, as editors and compilers print it.
///
/// libyaml's marks are 0-based and count characters (Unicode scalars), not bytes, on a
/// line; we keep that unit and add one to both.
public struct Mark: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static func < (a: Mark, b: Mark) -> Bool {
        (a.line, a.column) < (b.line, b.column)
    }

    public var description: String { "\(line):\(column)" }
}

/// How a scalar was written. Resolution depends on it: only plain scalars can be
/// anything but a string.
public enum ScalarStyle: Sendable, Hashable {
    case plain, singleQuoted, doubleQuoted, literal, folded

    public var isPlain: Bool { self == .plain }
}

public struct Scalar: Sendable, Hashable {
    public var value: String
    public var style: ScalarStyle

    public init(_ value: String, style: ScalarStyle = .plain) {
        self.value = value
        self.style = style
    }
}

/// One node of a composed YAML document.
///
/// Aliases are already resolved: an alias is a copy of its anchor's node (arrays are
/// copy-on-write, so the copy is cheap), and `<<` merge keys are already applied. The
/// mark of an alias copy is the anchor's, which is where the content was written.
public struct Node: Sendable {
    public enum Content: Sendable {
        case scalar(Scalar)
        case sequence([Node])
        case mapping([Pair])
    }

    public var content: Content
    /// The explicit tag, expanded (`!!str` becomes `tag:yaml.org,2002:str`); nil when the
    /// node had none.
    public var tag: String?
    public var mark: Mark
    /// Nodes in this subtree, itself included, counting every alias expansion.
    public var count: Int
    /// Levels in this subtree: 1 for a scalar.
    public var height: Int

    public init(_ content: Content, tag: String? = nil, mark: Mark) {
        self.content = content
        self.tag = tag
        self.mark = mark
        switch content {
        case .scalar:
            count = 1
            height = 1
        case .sequence(let items):
            var c = 1, h = 0
            for item in items {
                c += item.count
                h = max(h, item.height)
            }
            count = c
            height = h + 1
        case .mapping(let pairs):
            var c = 1, h = 0
            for pair in pairs {
                c += pair.key.count + pair.value.count
                h = max(h, pair.key.height, pair.value.height)
            }
            count = c
            height = h + 1
        }
    }

    public static func scalar(_ value: String, style: ScalarStyle = .plain, mark: Mark = Mark(line: 1, column: 1)) -> Node {
        Node(.scalar(Scalar(value, style: style)), mark: mark)
    }

    public var scalar: Scalar? {
        if case .scalar(let s) = content { return s }
        return nil
    }

    public var sequence: [Node]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    public var mapping: [Pair]? {
        if case .mapping(let pairs) = content { return pairs }
        return nil
    }

    /// The value under a string key of a mapping (first match), or nil.
    public subscript(key: String) -> Node? {
        guard case .mapping(let pairs) = content else { return nil }
        // Matched in place: `pair.key.scalar` made a copy of each key (a retain and a
        // release) for every lookup, and the decoder looks up every field it reads.
        return pairs.withUnsafeBufferPointer { buffer -> Node? in
            for i in buffer.indices {
                if case .scalar(let s) = buffer[i].key.content, s.value == key { return buffer[i].value }
            }
            return nil
        }
    }

    /// A word for error messages: "a mapping", "a list", "a string", "a number", ...
    public var kindDescription: String {
        switch content {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar:
            switch resolved(.yaml11) {
            case .null: return "null"
            case .bool: return "a boolean"
            case .int, .float: return "a number"
            case .string: return "a string"
            }
        }
    }
}

public struct Pair: Sendable {
    public var key: Node
    public var value: Node

    public init(key: Node, value: Node) {
        self.key = key
        self.value = value
    }
}

/// One document of a stream.
///
/// The file name is kept here, once, rather than in every node's `Mark`: all the nodes of
/// a document share it, and a `String` per node would cost the composer time and memory.
public struct Document: Sendable {
    public var root: Node
    /// Where the document starts (its `---`, or its first node).
    public var mark: Mark
    /// The name the input was parsed under (`YAMLParser.parse(_:file:)`).
    public var file: String

    public init(root: Node, mark: Mark, file: String = "") {
        self.root = root
        self.mark = mark
        self.file = file
    }
}
