import CLibYAML

/// Composes libyaml's event stream into `Document`s of `Node`s.
///
/// libyaml does the reading and scanning (UTF-8/16 detection, escapes, block scalars,
/// indentation); this type only builds the tree, resolves aliases and merge keys, rejects
/// duplicate keys and enforces `Limits`. It never recurses on input structure, so deep
/// inputs cost a bounded stack.
public enum YAMLParser {
    /// `file` names the input in every `Document` and `YAMLError`, so that together with
    /// each node's `Mark` a position reads `file:line:column`.
    public static func parse(_ text: String, file: String = "", limits: Limits = .default) throws(YAMLError) -> [Document] {
        var text = text
        // withUTF8 rethrows untyped errors, so carry the typed one out in a Result.
        let result = text.withUTF8 { bytes in Result { () throws(YAMLError) in try parse(bytes, file: file, limits: limits) } }
        return try result.get()
    }

    public static func parse(_ bytes: [UInt8], file: String = "", limits: Limits = .default) throws(YAMLError) -> [Document] {
        let result = bytes.withUnsafeBufferPointer { buffer in Result { () throws(YAMLError) in try parse(buffer, file: file, limits: limits) } }
        return try result.get()
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, file: String = "", limits: Limits = .default) throws(YAMLError) -> [Document] {
        do {
            return try compose(bytes, file: file, limits: limits)
        } catch {
            var error = error
            error.file = file
            throw error
        }
    }

    static func compose(_ bytes: UnsafeBufferPointer<UInt8>, file: String, limits: Limits) throws(YAMLError) -> [Document] {
        guard bytes.count <= limits.maxInputBytes else {
            throw YAMLError(
                .tooLarge(bytes: bytes.count, limit: limits.maxInputBytes), mark: Mark(line: 1, column: 1),
                message: "input is \(formatBytes(bytes.count)), over the limit of \(formatBytes(limits.maxInputBytes))")
        }
        var composer = Composer(limits: limits, file: file)
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLError(.syntax, mark: Mark(line: 1, column: 1), message: "libyaml could not allocate a parser")
        }
        defer { yaml_parser_delete(&parser) }
        // An empty buffer may have a nil base address; libyaml wants a valid pointer.
        var empty: UInt8 = 0
        if let base = bytes.baseAddress {
            yaml_parser_set_input_string(&parser, base, bytes.count)
        } else {
            yaml_parser_set_input_string(&parser, &empty, 0)
        }
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else {
                throw libyamlError(&parser, input: bytes)
            }
            defer { yaml_event_delete(&event) }
            if event.type == YAML_STREAM_END_EVENT { break }
            try composer.handle(&event)
        }
        return composer.documents
    }

    /// libyaml's error, with its 0-based mark made 1-based. Reader errors (bad UTF-8,
    /// control characters) carry a byte offset instead of a mark, so we count lines
    /// ourselves up to it.
    static func libyamlError(_ parser: inout yaml_parser_t, input: UnsafeBufferPointer<UInt8>) -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown error"
        switch parser.error {
        case YAML_READER_ERROR:
            let mark = markOfOffset(parser.problem_offset, in: input)
            var message = problem
            if parser.problem_value >= 0 {
                // The value is a byte for the "... octet" problems, and a decoded code
                // point (up to 0x10FFFF) for the others ("control characters are not
                // allowed", "invalid Unicode character").
                let hex = String(parser.problem_value, radix: 16, uppercase: true)
                if problem.contains("octet") {
                    message += " (byte 0x" + String(repeating: "0", count: max(0, 2 - hex.count)) + hex + ")"
                } else {
                    message += " (U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + ")"
                }
            }
            return YAMLError(.syntax, mark: mark, message: message)
        case YAML_MEMORY_ERROR:
            return YAMLError(.syntax, mark: Mark(line: 1, column: 1), message: "libyaml ran out of memory")
        default:
            let mark = Mark(parser.problem_mark)
            var message = problem
            if let context = parser.context {
                message += " (\(String(cString: context)) started at \(Mark(parser.context_mark)))"
            }
            // libyaml's words for a tab used as indentation do not say "tab".
            if let at = byteOffset(of: mark, in: input), input[at] == UInt8(ascii: "\t") {
                message += "; tabs cannot indent YAML, use spaces"
            }
            return YAMLError(.syntax, mark: mark, message: message)
        }
    }

    /// The byte at a 1-based mark (libyaml's `mark.index` counts characters, not bytes).
    static func byteOffset(of mark: Mark, in input: UnsafeBufferPointer<UInt8>) -> Int? {
        var line = 1
        var i = 0
        while line < mark.line, i < input.count {
            if input[i] == UInt8(ascii: "\n") { line += 1 }
            i += 1
        }
        var column = 1
        while column < mark.column, i < input.count, input[i] != UInt8(ascii: "\n") {
            i += 1
            while i < input.count, input[i] & 0xC0 == 0x80 { i += 1 }  // skip continuation bytes
            column += 1
        }
        return i < input.count ? i : nil
    }

    static func markOfOffset(_ offset: Int, in input: UnsafeBufferPointer<UInt8>) -> Mark {
        var line = 1
        var column = 1
        for byte in input.prefix(min(offset, input.count)) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {  // count characters, not continuation bytes
                column += 1
            }
        }
        return Mark(line: line, column: column)
    }

    static func formatBytes(_ n: Int) -> String {
        if n >= 1 << 20 { return "\(n >> 20) MiB" + (n & ((1 << 20) - 1) != 0 ? "+" : "") }
        if n >= 1 << 10 { return "\(n >> 10) KiB" + (n & ((1 << 10) - 1) != 0 ? "+" : "") }
        return "\(n) bytes"
    }
}

extension Mark {
    init(_ mark: yaml_mark_t) {
        self.init(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }
}

/// The event-driven tree builder behind `YAMLParser`.
struct Composer {
    enum Kind {
        case sequence, mapping
    }

    /// An open collection. Its children are not here but in `children`, from `start` on.
    struct Frame {
        var kind: Kind
        var start = 0
        var tag: String?
        var anchor: String?
        var mark: Mark
    }

    let limits: Limits
    var documents: [Document] = []
    var stack: [Frame] = []
    /// The children of every open collection, innermost last (a mapping's as key, value,
    /// key, ...), in one buffer for the whole stream. Each collection used to grow arrays
    /// of its own (1, 2, 4, 8, ... elements: several allocations and copies each).
    let children = NodeStack()
    var anchors: [String: Node] = [:]
    var root: Node?
    var documentMark = Mark(line: 1, column: 1)
    /// Nodes built so far in this stream, counting alias expansions.
    var total = 0

    let file: String

    init(limits: Limits, file: String) {
        self.limits = limits
        self.file = file
    }

    mutating func handle(_ event: inout yaml_event_t) throws(YAMLError) {
        let mark = Mark(event.start_mark)
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            // Anchors are scoped to their document (YAML 1.2, 3.2.2.2).
            anchors.removeAll(keepingCapacity: true)
            root = nil
            documentMark = mark
        case YAML_DOCUMENT_END_EVENT:
            if let root {
                documents.append(Document(root: root, mark: documentMark, file: file))
            }
            root = nil
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let value = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
            let node = Node(.scalar(Scalar(value, style: ScalarStyle(s.style))), tag: string(s.tag), mark: mark)
            try count(1, at: mark)
            try add(node, anchor: string(s.anchor))
        case YAML_SEQUENCE_START_EVENT:
            let s = event.data.sequence_start
            try push(Frame(kind: .sequence, start: children.count, tag: string(s.tag), anchor: string(s.anchor), mark: mark))
        case YAML_MAPPING_START_EVENT:
            let m = event.data.mapping_start
            try push(Frame(kind: .mapping, start: children.count, tag: string(m.tag), anchor: string(m.anchor), mark: mark))
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            let frame = stack.removeLast()
            let node: Node
            switch frame.kind {
            case .sequence:
                node = Node(.sequence(children.popItems(from: frame.start)), tag: frame.tag, mark: frame.mark)
            case .mapping:
                node = Node(.mapping(try Composer.mergeAndCheck(children.popPairs(from: frame.start))), tag: frame.tag, mark: frame.mark)
            }
            try add(node, anchor: frame.anchor)
        case YAML_ALIAS_EVENT:
            let name = string(event.data.alias.anchor) ?? ""
            guard let target = anchors[name] else {
                throw YAMLError(.unknownAnchor(name), mark: mark, message: "unknown anchor '\(name)'")
            }
            try count(target.count, at: mark)
            // `height` counts the scalar leaves as a level, `maxDepth` only collections
            // (see `push`): the copy adds `height - 1` collection levels.
            if stack.count + target.height - 1 > limits.maxDepth {
                throw tooDeep(mark)
            }
            try add(target, anchor: nil)
        default:
            break  // stream start; stream end is handled by the caller
        }
    }

    mutating func push(_ frame: Frame) throws(YAMLError) {
        guard stack.count < limits.maxDepth else { throw tooDeep(frame.mark) }
        try count(1, at: frame.mark)
        stack.append(frame)
    }

    func tooDeep(_ mark: Mark) -> YAMLError {
        YAMLError(.tooDeep(limit: limits.maxDepth), mark: mark, message: "nesting is deeper than the limit of \(limits.maxDepth) levels")
    }

    mutating func count(_ n: Int, at mark: Mark) throws(YAMLError) {
        total += n
        if total > limits.maxNodes {
            throw YAMLError(
                .tooManyNodes(limit: limits.maxNodes), mark: mark,
                message: "more than \(limits.maxNodes) nodes after expanding aliases (an alias bomb?)")
        }
    }

    /// `consuming`: the node is moved into its parent, not copied and then destroyed (a
    /// node's copy retains its payload and tag; this ran for every node).
    @inline(__always)
    mutating func add(_ node: consuming Node, anchor: String?) throws(YAMLError) {
        if let anchor { anchors[anchor] = copy node }
        guard !stack.isEmpty else {
            root = node
            return
        }
        children.push(node)
    }

    /// Applies `<<` merge keys (https://yaml.org/type/merge.html) and rejects duplicate
    /// keys. Explicit keys win over merged ones, and earlier merged mappings over later
    /// ones; merged pairs take the place of the `<<` key, so order is kept.
    static func mergeAndCheck(_ pairs: [Pair]) throws(YAMLError) -> [Pair] {
        // Most mappings are small: comparing keys pairwise beats hashing them.
        if pairs.count <= 12 {
            var simple = true
            // By index and pattern, not `pair.key.scalar`: that made an Optional copy of
            // each key, a retain and a release, on every one of the n^2/2 comparisons.
            for i in pairs.indices {
                guard case .scalar(let key) = pairs[i].key.content else { continue }
                if key.value.utf8.first == UInt8(ascii: "<") && isMergeKey(pairs[i].key) { simple = false; break }
                for j in 0..<i {
                    guard case .scalar(let other) = pairs[j].key.content, other.value == key.value else { continue }
                    let earlier = pairs[j]
                    throw YAMLError(
                        .duplicateKey(key: key.value, previous: earlier.key.mark), mark: pairs[i].key.mark,
                        message: "duplicate key \"\(key.value)\" (first defined at \(earlier.key.mark))")
                }
            }
            if simple { return pairs }
        }
        var seen: [String: Mark] = [:]
        seen.reserveCapacity(pairs.count)
        var hasMerge = false
        for pair in pairs {
            guard let key = pair.key.scalar else { continue }
            if isMergeKey(pair.key) { hasMerge = true }
            if let previous = seen[key.value] {
                throw YAMLError(
                    .duplicateKey(key: key.value, previous: previous), mark: pair.key.mark,
                    message: "duplicate key \"\(key.value)\" (first defined at \(previous))")
            }
            seen[key.value] = pair.key.mark
        }
        guard hasMerge else { return pairs }

        var result: [Pair] = []
        result.reserveCapacity(pairs.count)
        for pair in pairs {
            guard isMergeKey(pair.key) else {
                result.append(pair)
                continue
            }
            let sources: [Node]
            switch pair.value.content {
            case .mapping: sources = [pair.value]
            case .sequence(let items): sources = items
            case .scalar:
                throw YAMLError(.invalidMerge, mark: pair.value.mark, message: "a merge key (<<) needs a mapping or a list of mappings, found \(pair.value.kindDescription)")
            }
            for source in sources {
                guard let merged = source.mapping else {
                    throw YAMLError(.invalidMerge, mark: source.mark, message: "a merge key (<<) needs a mapping or a list of mappings, found \(source.kindDescription)")
                }
                for candidate in merged {
                    if let key = candidate.key.scalar?.value {
                        if seen[key] != nil { continue }
                        seen[key] = candidate.key.mark
                    }
                    result.append(candidate)
                }
            }
        }
        return result
    }

    static func isMergeKey(_ node: Node) -> Bool {
        guard let s = node.scalar else { return false }
        if node.tag == "tag:yaml.org,2002:merge" { return true }
        return node.tag == nil && s.style == .plain && s.value == "<<"
    }
}

/// A stack of nodes in one growing buffer, whose tops are moved out into exact-size arrays:
/// a finished collection costs one allocation and no reference counting for its children
/// (an `Array` slice copy would retain each child, and removing them release it again).
final class NodeStack {
    private var base: UnsafeMutablePointer<Node>
    private var capacity: Int
    private(set) var count = 0

    init() {
        capacity = 64
        base = .allocate(capacity: capacity)
    }

    deinit {
        // An error leaves open collections behind.
        base.deinitialize(count: count)
        base.deallocate()
    }

    func push(_ node: consuming Node) {
        if count == capacity {
            let bigger = UnsafeMutablePointer<Node>.allocate(capacity: capacity * 2)
            bigger.moveInitialize(from: base, count: count)
            base.deallocate()
            base = bigger
            capacity *= 2
        }
        (base + count).initialize(to: node)
        count += 1
    }

    /// The nodes from `start` on, moved into an array, in order.
    func popItems(from start: Int) -> [Node] {
        let n = count - start
        guard n > 0 else { return [] }
        let items = [Node](unsafeUninitializedCapacity: n) { buffer, initialized in
            buffer.baseAddress!.moveInitialize(from: base + start, count: n)
            initialized = n
        }
        count = start
        return items
    }

    /// The nodes from `start` on as key, value pairs, moved into an array, in order. libyaml
    /// gives every key a value; an odd node out (never seen) is dropped, as the old
    /// composer's pending key was.
    func popPairs(from start: Int) -> [Pair] {
        let n = (count - start) / 2
        if (count - start) % 2 == 1 { (base + count - 1).deinitialize(count: 1) }
        guard n > 0 else {
            count = start
            return []
        }
        let pairs = [Pair](unsafeUninitializedCapacity: n) { buffer, initialized in
            for i in 0..<n {
                let key = base + start + 2 * i
                (buffer.baseAddress! + i).initialize(to: Pair(key: key.move(), value: (key + 1).move()))
            }
            initialized = n
        }
        count = start
        return pairs
    }
}

extension ScalarStyle {
    init(_ style: yaml_scalar_style_t) {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: self = .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: self = .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: self = .literal
        case YAML_FOLDED_SCALAR_STYLE: self = .folded
        default: self = .plain
        }
    }
}

private func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
    guard let p else { return nil }
    return String(cString: p)
}
