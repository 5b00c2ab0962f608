import Foundation
import Testing

@testable import YAML

// MARK: - Helpers shared by the YAMLTests target

/// The documents of `text`, or the test fails.
func documents(_ text: String, limits: Limits = .default, sourceLocation: SourceLocation = #_sourceLocation) throws -> [Document] {
    switch Result(catching: { () throws(YAMLError) in try YAMLParser.parse(text, limits: limits) }) {
    case .success(let docs): return docs
    case .failure(let error):
        Issue.record("unexpected YAMLError \(error.kind): \(error)", sourceLocation: sourceLocation)
        throw error
    }
}

/// The root of the single document in `text`.
func root(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Node {
    let docs = try documents(text, sourceLocation: sourceLocation)
    try #require(docs.count == 1, "expected one document, got \(docs.count)", sourceLocation: sourceLocation)
    return docs[0].root
}

/// The error parsing `text` throws, or nil (and a failed expectation) when it parses.
func parseError(_ text: String, limits: Limits = .default, sourceLocation: SourceLocation = #_sourceLocation) -> YAMLError? {
    parseError(Array(text.utf8), limits: limits, sourceLocation: sourceLocation)
}

func parseError(_ bytes: [UInt8], limits: Limits = .default, sourceLocation: SourceLocation = #_sourceLocation) -> YAMLError? {
    switch Result(catching: { () throws(YAMLError) in try YAMLParser.parse(bytes, limits: limits) }) {
    case .success(let docs):
        Issue.record("expected a YAMLError, parsed \(docs.count) document(s)", sourceLocation: sourceLocation)
        return nil
    case .failure(let error):
        return error
    }
}

func m(_ line: Int, _ column: Int) -> Mark { Mark(line: line, column: column) }

extension Node {
    var keys: [String] { (mapping ?? []).map { $0.key.scalar?.value ?? "<complex>" } }
    var text: String? { scalar?.value }
}

// MARK: - Tests

@Suite struct ParserTests {
    // MARK: Marks

    @Test func marksAreOneBasedLineAndColumn() throws {
        let yaml = """
            name: web
            spec:
              containers:
                - image: nginx
                  ports: [80, 443]
            """
        let r = try root(yaml)
        #expect(r.mark == m(1, 1))
        #expect(r.mapping?[0].key.mark == m(1, 1))
        #expect(r["name"]?.mark == m(1, 7))
        let spec = try #require(r["spec"])
        #expect(spec.mark == m(3, 3))  // a block mapping starts at its first key
        let containers = try #require(spec["containers"])
        #expect(containers.mark == m(4, 5))  // the first "-"
        let item = try #require(containers.sequence?.first)
        #expect(item.mark == m(4, 7))
        #expect(item["image"]?.mark == m(4, 14))
        #expect(item["ports"]?.mark == m(5, 14))
        #expect(item["ports"]?.sequence?.map(\.mark) == [m(5, 15), m(5, 19)])
    }

    @Test func columnsCountCharactersNotBytes() throws {
        // Cyrillic and Greek letters are two UTF-8 bytes each, the emoji four.
        let r = try root("ключ: значение\nκ: [α, β]\n😀: x\n")
        let pairs = try #require(r.mapping)
        #expect(pairs.map(\.key.mark) == [m(1, 1), m(2, 1), m(3, 1)])
        #expect(pairs[0].value.mark == m(1, 7))
        #expect(pairs[1].value.sequence?.map(\.mark) == [m(2, 5), m(2, 8)])
        #expect(pairs[2].value.mark == m(3, 4))
        // A character is a Unicode scalar: "e" + combining acute accent is two columns.
        let combining = try root("e\u{301}: x\n")
        #expect(combining.mapping?[0].value.mark == m(1, 5))
    }

    @Test func documentMarks() throws {
        let docs = try documents("a: 1\n---\nb: 2\n...\n---\nc\n")
        #expect(docs.map(\.mark) == [m(1, 1), m(2, 1), m(5, 1)])
        #expect(docs.map(\.root.mark) == [m(1, 1), m(3, 1), m(6, 1)])
    }

    @Test func markDescription() {
        #expect(m(3, 14).description == "3:14")
        #expect(m(2, 1) < m(2, 5))
        #expect(m(1, 99) < m(2, 1))
    }

    // MARK: Scalars, styles, tags

    @Test func scalarStylesAreKept() throws {
        let yaml = """
            plain: a
            single: 'b'
            double: "c\\td"
            literal: |
              line 1
              line 2
            folded: >
              e
              f
            empty:
            """
        let r = try root(yaml)
        let expected: [(String, String, ScalarStyle)] = [
            ("plain", "a", .plain),
            ("single", "b", .singleQuoted),
            ("double", "c\td", .doubleQuoted),
            ("literal", "line 1\nline 2\n", .literal),
            ("folded", "e f\n", .folded),
            ("empty", "", .plain),
        ]
        for (key, value, style) in expected {
            let s = try #require(r[key]?.scalar, "missing \(key)")
            #expect(s.value == value, "\(key)")
            #expect(s.style == style, "\(key)")
        }
        #expect(r["plain"]?.scalar?.style.isPlain == true)
        #expect(r["single"]?.scalar?.style.isPlain == false)
    }

    @Test func tagsAreKeptAndExpanded() throws {
        let yaml = """
            %TAG !e! tag:example.com,2000:app/
            ---
            str: !!str 1
            int: !!int "3"
            custom: !thing x
            verbatim: !<tag:example.com,2024:x> y
            nonspecific: ! 12
            shorthand: !e!foo bar
            map: !!map {a: 1}
            seq: !!seq [1]
            none: z
            """
        let r = try root(yaml)
        #expect(r["str"]?.tag == "tag:yaml.org,2002:str")
        #expect(r["int"]?.tag == "tag:yaml.org,2002:int")
        #expect(r["int"]?.scalar?.style == .doubleQuoted)
        #expect(r["custom"]?.tag == "!thing")
        #expect(r["verbatim"]?.tag == "tag:example.com,2024:x")
        #expect(r["nonspecific"]?.tag == "!")
        #expect(r["shorthand"]?.tag == "tag:example.com,2000:app/foo")
        #expect(r["map"]?.tag == "tag:yaml.org,2002:map")
        #expect(r["map"]?.mapping?.count == 1)
        #expect(r["seq"]?.tag == "tag:yaml.org,2002:seq")
        #expect(r["none"]?.tag == nil)
    }

    @Test func mappingOrderIsKept() throws {
        let keys = ["zeta", "alpha", "mu", "beta", "omega", "1", "0", "gamma"]
        let r = try root(keys.enumerated().map { "\($1): \($0)" }.joined(separator: "\n"))
        #expect(r.keys == keys)
        guard case .object(let members) = r.json(.core12) else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == keys)
        #expect(r.json(.core12)?.serialized() == "{\"zeta\":0,\"alpha\":1,\"mu\":2,\"beta\":3,\"omega\":4,\"1\":5,\"0\":6,\"gamma\":7}")
    }

    @Test func nodeCountAndHeight() throws {
        let r = try root("a: [1, 2]\nb: {c: d}\n")
        // root + (a, [ , 1, 2) + (b, { , c, d)
        #expect(r.count == 9)
        #expect(r.height == 3)
        #expect(try root("x").count == 1)
        #expect(try root("x").height == 1)
    }

    // MARK: Streams

    @Test func multiDocumentStream() throws {
        let yaml = """
            apiVersion: v1
            kind: Pod
            ---
            apiVersion: v1
            kind: ConfigMap
            ...
            ---
            - just
            - a list
            --- plain scalar
            ---
            """
        let docs = try documents(yaml)
        #expect(docs.count == 5)
        #expect(docs[0].root["kind"]?.text == "Pod")
        #expect(docs[1].root["kind"]?.text == "ConfigMap")
        #expect(docs[2].root.sequence?.compactMap(\.text) == ["just", "a list"])
        #expect(docs[3].root.text == "plain scalar")
        #expect(docs[4].root.json(.core12) == .null)  // an empty document is a null
        #expect(docs.map(\.mark.line) == [1, 3, 7, 10, 11])
    }

    @Test func emptyDocumentsBetweenSeparators() throws {
        let docs = try documents("---\n---\n# nothing\n---\na: 1\n")
        #expect(docs.count == 3)
        #expect(docs[0].root.json(.core12) == .null)
        #expect(docs[1].root.json(.core12) == .null)
        #expect(docs[2].root["a"]?.text == "1")
    }

    @Test func anchorsAreScopedToTheirDocument() throws {
        let error = try #require(parseError("a: &x 1\n---\nb: *x\n"))
        #expect(error.kind == .unknownAnchor("x"))
        #expect(error.mark == m(3, 4))
    }

    // MARK: JSON input

    @Test func jsonObject() throws {
        let json = """
            {"name": "web", "replicas": 3, "ratio": 1.5, "tls": true, "debug": false,
             "owner": null, "ports": [80, 443], "labels": {"app": "web", "tier": "front"},
             "compact":{"a":1,"b":[true,false]}}
            """
        let r = try root(json)
        #expect(r.keys == ["name", "replicas", "ratio", "tls", "debug", "owner", "ports", "labels", "compact"])
        #expect(r["name"]?.scalar?.style == .doubleQuoted)
        let expected: JSONValue = .object([
            JSONMember("name", .string("web")),
            JSONMember("replicas", .int(3)),
            JSONMember("ratio", .float(1.5)),
            JSONMember("tls", .bool(true)),
            JSONMember("debug", .bool(false)),
            JSONMember("owner", .null),
            JSONMember("ports", .array([.int(80), .int(443)])),
            JSONMember("labels", .object([JSONMember("app", .string("web")), JSONMember("tier", .string("front"))])),
            JSONMember("compact", .object([JSONMember("a", .int(1)), JSONMember("b", .array([.bool(true), .bool(false)]))])),
        ])
        #expect(r.json(.core12) == expected)
        #expect(r.json(.kubectl) == expected)
    }

    @Test func jsonArray() throws {
        let r = try root(#"[1, "two", {"three": 3}, [], {}, -4.25e2, "", null]"#)
        let expected: JSONValue = .array([
            .int(1), .string("two"), .object([JSONMember("three", .int(3))]), .array([]), .object([]),
            .float(-425), .string(""), .null,
        ])
        #expect(r.json(.core12) == expected)
        #expect(r.mark == m(1, 1))
        #expect(r.sequence?[2].mark == m(1, 12))
    }

    @Test func jsonUnicodeEscapes() throws {
        let r = try root(#"{"s": "caf\u00e9 \u4e2d\u6587 \u0041 \"q\" \\ \/ \n\t", "k\u00e9y": 1}"#)
        #expect(r["s"]?.text == "café 中文 A \"q\" \\ / \n\t")
        #expect(r.keys == ["s", "kéy"])
        // Non-BMP characters written directly, or as YAML's \U escape.
        let emoji = try root(#"{"e": "😀 \U0001F600"}"#)
        #expect(emoji["e"]?.text == "😀 😀")
    }

    /// JSON that podrec writes, it reads back with this parser (`image` config.json, the
    /// `validate -o json` output as a manifest). Found by Fuzz/ (fuzz-manifest): U+2028 in
    /// a label key came back as a line break, a parse error. libyaml reads NEL, LS and PS
    /// as line breaks and refuses C1 controls and the non-characters, even inside a quoted
    /// scalar, so the writer must escape them (a BOM reads back, but is escaped as
    /// invisible); JSON allows any \u escape.
    @Test(arguments: [0x80, 0x85, 0x9F, 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF] as [UInt32])
    func jsonOutputReadsBack(_ code: UInt32) throws {
        let s = "a" + String(Character(Unicode.Scalar(code)!)) + "b"
        let value = JSONValue.object([JSONMember(s, .array([.string(s)]))])
        let text = value.serialized()
        #expect(text.unicodeScalars.allSatisfy { $0.value < 0x7F }, "escaped: \(text)")
        let docs = try YAMLParser.parse(text)
        #expect(docs.first?.root.json(.core12) == value)
        // Pretty-printed too, as `validate -o json` and config.json are.
        #expect(try YAMLParser.parse(value.serialized(indent: 2)).first?.root.json(.core12) == value)
    }

    @Test func jsonOutputKeepsPrintableNonASCII() {
        // Only what libyaml cannot read raw is escaped; text stays readable.
        #expect(JSONValue.string("café 中文 😀 \u{A0}").serialized() == "\"café 中文 😀 \u{A0}\"")
        #expect(JSONValue.string("\u{85}\u{2028}\u{FEFF}").serialized() == #""\u0085\u2028\ufeff""#)
    }

    @Test func jsonSurrogatePairEscape() throws {
        // Valid JSON, but libyaml 0.2.5 decodes \u escapes one by one and rejects a lone
        // surrogate half ("found invalid Unicode character escape code"). Not fixable in
        // the composer: the escape is decoded inside libyaml's scanner.
        let text = #"{"e": "\ud83d\ude00"}"#
        withKnownIssue("libyaml 0.2.5 rejects UTF-16 surrogate-pair escapes in double-quoted scalars") {
            let r = try YAMLParser.parse(text)
            #expect(r.first?.root["e"]?.text == "😀")
        }
        // Whatever it does, it fails cleanly, with a mark on the escape.
        if let error = parseError(text) {
            #expect(error.kind == .syntax)
            #expect(error.mark.line == 1)
            #expect(error.message.contains("escape"))
        }
    }

    // MARK: Anchors and aliases

    @Test func aliasesCopyTheAnchoredNode() throws {
        let yaml = """
            base: &b
              image: nginx
              ports: [80]
            copy: *b
            scalar: &v 5
            again: *v
            """
        let r = try root(yaml)
        let base = try #require(r["base"])
        let copy = try #require(r["copy"])
        #expect(copy.json(.core12) == base.json(.core12))
        #expect(copy.mark == base.mark)  // an alias copy keeps the anchor's mark
        #expect(copy.mark == m(1, 7))  // a node starts at its properties (here `&b`)
        #expect(r["again"]?.text == "5")
        #expect(r["again"]?.mark == m(5, 9))
        // Counts include alias expansions: the root, then per pair its key plus its value:
        // base and copy 1 + (1 mapping + 2 image + 1 ports key + 2 list), scalar and again 2.
        #expect(r.count == 1 + 2 * (1 + 6) + 2 + 2)
    }

    @Test func anchorRedefinitionAppliesToLaterAliases() throws {
        let r = try root("- &a first\n- *a\n- &a second\n- *a\n")
        #expect(r.sequence?.compactMap(\.text) == ["first", "first", "second", "second"])
    }

    @Test func anchorsOnKeysAndInFlow() throws {
        let r = try root("{&k key: &v value, other: [*k, *v]}")
        #expect(r["other"]?.sequence?.compactMap(\.text) == ["key", "value"])
    }

    @Test func unknownAlias() throws {
        let error = try #require(parseError("a: 1\nb: *nope\n"))
        #expect(error.kind == .unknownAnchor("nope"))
        #expect(error.mark == m(2, 4))
        #expect(error.message.contains("nope"))
        #expect(error.description == "2:4: unknown anchor 'nope'")
    }

    @Test func aliasBeforeItsAnchorIsUnknown() throws {
        let error = try #require(parseError("a: *x\nb: &x 1\n"))
        #expect(error.kind == .unknownAnchor("x"))
        #expect(error.mark == m(1, 4))
    }

    @Test func aliasInsideItsOwnAnchorIsUnknown() throws {
        // A tree cannot hold a cycle: the anchor is only defined once its node is complete.
        let error = try #require(parseError("a: &x [1, *x]\n"))
        #expect(error.kind == .unknownAnchor("x"))
        #expect(error.mark == m(1, 11))
    }

    // MARK: Merge keys

    @Test func mergeSingleMapping() throws {
        let yaml = """
            base: &b {a: 1, b: 2}
            derived:
              <<: *b
              c: 3
            """
        let derived = try #require(try root(yaml)["derived"])
        #expect(derived.keys == ["a", "b", "c"])
        #expect(derived.json(.core12) == .object([JSONMember("a", .int(1)), JSONMember("b", .int(2)), JSONMember("c", .int(3))]))
        // Merged pairs keep the marks of where they were written.
        #expect(derived.mapping?[0].key.mark == m(1, 11))
    }

    @Test func mergeInlineMapping() throws {
        let r = try root("x:\n  <<: {a: 1}\n  b: 2\n")
        #expect(r["x"]?.keys == ["a", "b"])
    }

    @Test func mergeListEarlierWins() throws {
        let yaml = """
            one: &one {a: 1, b: 1}
            two: &two {b: 2, c: 2}
            m:
              <<: [*one, *two]
              d: 4
            """
        let merged = try #require(try root(yaml)["m"])
        #expect(merged.keys == ["a", "b", "c", "d"])
        #expect(merged["a"]?.text == "1")
        #expect(merged["b"]?.text == "1")  // from *one, the earlier mapping
        #expect(merged["c"]?.text == "2")
        #expect(merged["d"]?.text == "4")
    }

    @Test func explicitKeysOverrideMergedOnes() throws {
        let yaml = """
            base: &b {a: base-a, b: base-b}
            before:
              a: explicit
              <<: *b
            after:
              <<: *b
              a: explicit
            """
        let r = try root(yaml)
        for name in ["before", "after"] {
            let node = try #require(r[name])
            #expect(node.mapping?.count == 2, "\(name)")  // no second "a", and no duplicate-key error
            #expect(node["a"]?.text == "explicit", "\(name)")
            #expect(node["b"]?.text == "base-b", "\(name)")
        }
        #expect(r["before"]?.keys == ["a", "b"])
        #expect(r["after"]?.keys == ["b", "a"])
    }

    @Test func mergeIsAppliedInsideMergedMappings() throws {
        let yaml = """
            a: &a {x: 1}
            b: &b {<<: *a, y: 2}
            c: {<<: *b, z: 3}
            """
        #expect(try root(yaml)["c"]?.keys == ["x", "y", "z"])
    }

    @Test func quotedOrTaggedMergeKey() throws {
        // Only a plain `<<` (or an explicit !!merge tag) merges; a quoted one is a key.
        let quoted = try root("b: &b {a: 1}\nm:\n  \"<<\": *b\n")
        #expect(quoted["m"]?.keys == ["<<"])
        let tagged = try root("b: &b {a: 1}\nm:\n  !!merge <<: *b\n")
        #expect(tagged["m"]?.keys == ["a"])
    }

    @Test func mergeOfAScalarIsAnError() throws {
        let error = try #require(parseError("m:\n  <<: 1\n"))
        #expect(error.kind == .invalidMerge)
        #expect(error.mark == m(2, 7))
        #expect(error.message.contains("merge key"))
        #expect(error.message.contains("a number"))
    }

    @Test func mergeOfAListWithANonMappingIsAnError() throws {
        let error = try #require(parseError("b: &b {a: 1}\nm:\n  <<: [*b, oops]\n"))
        #expect(error.kind == .invalidMerge)
        #expect(error.mark == m(3, 12))
        #expect(error.message.contains("a string"))
        let nested = try #require(parseError("m:\n  <<: [[a, b]]\n"))
        #expect(nested.kind == .invalidMerge)
        #expect(nested.message.contains("a list"))
    }

    // MARK: Duplicate keys

    @Test func duplicateKeyNamesBothPositions() throws {
        let error = try #require(parseError("a: 1\nb: 2\na: 3\n"))
        #expect(error.kind == .duplicateKey(key: "a", previous: m(1, 1)))
        #expect(error.mark == m(3, 1))
        #expect(error.message.contains("first defined at 1:1"))
        #expect(error.message.contains("\"a\""))
        #expect(error.description == "3:1: duplicate key \"a\" (first defined at 1:1)")
    }

    @Test func duplicateKeyInNestedAndFlowMappings() throws {
        let nested = try #require(parseError("spec:\n  containers: []\n  volumes: []\n  containers: []\n"))
        #expect(nested.kind == .duplicateKey(key: "containers", previous: m(2, 3)))
        #expect(nested.mark == m(4, 3))
        #expect(nested.message.contains("first defined at 2:3"))

        let flow = try #require(parseError("{a: 1, a: 2}"))
        #expect(flow.kind == .duplicateKey(key: "a", previous: m(1, 2)))
        #expect(flow.mark == m(1, 8))
        #expect(flow.message.contains("first defined at 1:2"))
    }

    @Test func duplicateKeyIgnoresQuotingStyle() throws {
        // Kubernetes objects are JSON: `a` and "a" are the same key.
        let error = try #require(parseError("a: 1\n\"a\": 2\n"))
        #expect(error.kind == .duplicateKey(key: "a", previous: m(1, 1)))
        #expect(error.mark == m(2, 1))
    }

    @Test func sameKeyInDifferentMappingsIsFine() throws {
        let r = try root("a: {name: x}\nb: {name: y}\nc:\n- name: 1\n- name: 2\n")
        #expect(r.keys == ["a", "b", "c"])
    }
}

@Suite struct FileNameTests {
    @Test func documentsAndErrorsCarryTheFileName() throws {
        let docs = try YAMLParser.parse("a: 1\n---\nb: 2\n", file: "pods/web.yaml")
        #expect(docs.map(\.file) == ["pods/web.yaml", "pods/web.yaml"])
        #expect(docs[1].root.mapping?.first?.value.mark == Mark(line: 3, column: 4))
        do {
            _ = try YAMLParser.parse("a: [\n", file: "pods/bad.yaml")
            Issue.record("accepted an unclosed flow sequence")
        } catch {
            #expect(error.file == "pods/bad.yaml")
            #expect(error.description.hasPrefix("pods/bad.yaml:2:1: "))
        }
    }
}
