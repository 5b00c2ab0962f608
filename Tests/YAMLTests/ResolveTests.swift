import Testing

@testable import YAML

/// One row of a resolution table: `yaml` is written as the value of a mapping key
/// (`v: <yaml>`), parsed, and resolved.
struct ResolveCase: Sendable, CustomTestStringConvertible {
    var yaml: String
    var expected: ResolvedScalar

    init(_ yaml: String, _ expected: ResolvedScalar) {
        self.yaml = yaml
        self.expected = expected
    }

    var testDescription: String { "\(yaml.debugDescription) → \(expected)" }

    /// The value node, through the real parser.
    func node() throws -> Node {
        let docs = try YAMLParser.parse("v: " + yaml + "\n")
        return try #require(docs.first?.root["v"])
    }
}

@Suite struct ResolveTests {
    // MARK: kubectl (sigs.k8s.io/yaml over go-yaml v2)

    static let kubectlCases: [ResolveCase] = [
        // Booleans, YAML 1.1 style.
        .init("y", .bool(true)), .init("Y", .bool(true)),
        .init("yes", .bool(true)), .init("Yes", .bool(true)), .init("YES", .bool(true)),
        .init("on", .bool(true)), .init("On", .bool(true)), .init("ON", .bool(true)),
        .init("true", .bool(true)), .init("True", .bool(true)), .init("TRUE", .bool(true)),
        .init("n", .bool(false)), .init("N", .bool(false)),
        .init("no", .bool(false)), .init("No", .bool(false)), .init("NO", .bool(false)),
        .init("off", .bool(false)), .init("Off", .bool(false)), .init("OFF", .bool(false)),
        .init("false", .bool(false)), .init("False", .bool(false)), .init("FALSE", .bool(false)),
        // Null.
        .init("~", .null), .init("null", .null), .init("Null", .null), .init("NULL", .null), .init("", .null),
        // Integers, as Go's strconv.ParseInt(s, 0, 64) reads them after dropping "_".
        .init("0", .int(0)), .init("42", .int(42)), .init("-17", .int(-17)),
        .init("0644", .int(420)), .init("0o644", .int(420)), .init("01777", .int(1023)),
        .init("0x1F", .int(31)), .init("0x1f", .int(31)), .init("0b101", .int(5)),
        .init("1_000", .int(1000)), .init("+1", .int(1)), .init("-0", .int(0)),
        .init("9223372036854775807", .int(Int64.max)), .init("-9223372036854775808", .int(Int64.min)),
        // Floats.
        .init("08", .float(8)),  // not octal, so Go's ParseFloat reads it
        .init("1.5", .float(1.5)), .init("-2.25", .float(-2.25)), .init(".5", .float(0.5)),
        .init("1e3", .float(1000)), .init("1E-2", .float(0.01)),
        .init(".inf", .float(.infinity)), .init("+.inf", .float(.infinity)), .init("-.Inf", .float(-.infinity)),
        // Strings.
        .init("1.2.3", .string("1.2.3")), .init("v1", .string("v1")), .init("yes please", .string("yes please")),
        .init("0x", .string("0x")), .init("0x1G", .string("0x1G")), .init("1e", .string("1e")),
        .init("--1", .string("--1")), .init("nginx:1.25", .string("nginx:1.25")),
        .init("yES", .string("yES")), .init("nULL", .string("nULL")),
    ]

    @Test(arguments: kubectlCases)
    func kubectl(_ c: ResolveCase) throws {
        let node = try c.node()
        #expect(node.resolved(.kubectl) == c.expected)
        #expect(node.resolved(.yaml11) == c.expected)
    }

    // MARK: YAML 1.2 core

    static let core12Cases: [ResolveCase] = [
        .init("true", .bool(true)), .init("True", .bool(true)), .init("TRUE", .bool(true)),
        .init("false", .bool(false)), .init("False", .bool(false)), .init("FALSE", .bool(false)),
        .init("null", .null), .init("Null", .null), .init("NULL", .null), .init("~", .null), .init("", .null),
        // YAML 1.1 words are strings in 1.2.
        .init("yes", .string("yes")), .init("Yes", .string("Yes")), .init("on", .string("on")),
        .init("ON", .string("ON")), .init("y", .string("y")), .init("no", .string("no")),
        .init("off", .string("off")), .init("n", .string("n")),
        // Integers: a leading zero is still decimal, 0o is octal.
        .init("0", .int(0)), .init("42", .int(42)), .init("-17", .int(-17)), .init("+1", .int(1)), .init("-0", .int(0)),
        .init("0644", .int(644)), .init("08", .int(8)), .init("0o644", .int(420)), .init("0x1F", .int(31)),
        // Not core 1.2 integers.
        .init("1_000", .string("1_000")), .init("0b101", .string("0b101")), .init("0x", .string("0x")),
        // Floats.
        .init("1.5", .float(1.5)), .init("1e3", .float(1000)), .init(".5", .float(0.5)),
        .init(".inf", .float(.infinity)), .init("-.INF", .float(-.infinity)),
        // Strings.
        .init("1.2.3", .string("1.2.3")), .init("v1", .string("v1")), .init("yes please", .string("yes please")),
    ]

    @Test(arguments: core12Cases)
    func core12(_ c: ResolveCase) throws {
        #expect(try c.node().resolved(.core12) == c.expected)
    }

    @Test func notANumber() throws {
        for schema in [ScalarSchema.core12, .kubectl] {
            for text in [".nan", ".NaN", ".NAN"] {
                guard case .float(let d) = try ResolveCase(text, .null).node().resolved(schema) else {
                    Issue.record("\(text) is not a float")
                    continue
                }
                #expect(d.isNaN)
            }
        }
    }

    // MARK: Quoting and tags (both schemas)

    static let quotedAndTaggedCases: [ResolveCase] = [
        // Quoted and block scalars are always strings.
        .init("'true'", .string("true")), .init("\"yes\"", .string("yes")), .init("'1'", .string("1")),
        .init("\"0644\"", .string("0644")), .init("'~'", .string("~")), .init("\"null\"", .string("null")),
        .init("''", .string("")), .init("\"\"", .string("")), .init("'1.5'", .string("1.5")),
        .init("|\n  1\n", .string("1\n")), .init(">-\n  true\n", .string("true")),
        // Explicit tags win over the plain-scalar rules.
        .init("!!str 1", .string("1")), .init("!!str true", .string("true")), .init("!!str", .string("")),
        .init("!!int \"3\"", .int(3)), .init("!!int '0x1F'", .int(31)), .init("!!int abc", .string("abc")),
        .init("!!float 1", .float(1)), .init("!!float \"2.5\"", .float(2.5)),
        .init("!!null \"\"", .null), .init("!!bool \"true\"", .bool(true)),
        // Non-specific and local tags make strings.
        .init("! 12", .string("12")), .init("!custom 12", .string("12")),
    ]

    @Test(arguments: quotedAndTaggedCases)
    func quotedAndTagged(_ c: ResolveCase) throws {
        let node = try c.node()
        #expect(node.resolved(.core12) == c.expected)
        #expect(node.resolved(.kubectl) == c.expected)
    }

    @Test func boolTagFollowsTheSchema() throws {
        let node = try ResolveCase("!!bool yes", .null).node()
        #expect(node.resolved(.kubectl) == .bool(true))
        #expect(node.resolved(.core12) == .string("yes"))  // not a 1.2 boolean
    }

    @Test func collectionsResolveToNull() throws {
        #expect(try ResolveCase("[1]", .null).node().resolved(.core12) == .null)
        #expect(try ResolveCase("{a: 1}", .null).node().resolved(.kubectl) == .null)
    }

    @Test func resolverWithoutTheParser() {
        #expect(Resolver.resolve(Scalar("0644"), tag: nil, schema: .kubectl) == .int(420))
        #expect(Resolver.resolve(Scalar("0644"), tag: nil, schema: .core12) == .int(644))
        #expect(Resolver.resolve(Scalar("0644", style: .singleQuoted), tag: nil, schema: .kubectl) == .string("0644"))
        #expect(Resolver.resolve(Scalar("on"), tag: "tag:yaml.org,2002:str", schema: .kubectl) == .string("on"))
        // The non-specific tag "?" counts as no tag.
        #expect(Resolver.resolve(Scalar("on"), tag: "?", schema: .kubectl) == .bool(true))
    }

    // MARK: JSON rendering under each schema

    @Test func jsonUnderBothSchemas() throws {
        let r = try #require(try YAMLParser.parse("mode: 0644\nenabled: on\nport: 0x1F\nname: ~\nyes: 1\n").first?.root)
        #expect(r.json(.kubectl)?.serialized() == #"{"mode":420,"enabled":true,"port":31,"name":null,"true":1}"#)
        #expect(r.json(.core12)?.serialized() == #"{"mode":644,"enabled":"on","port":31,"name":null,"yes":1}"#)
    }

    @Test func kindDescriptions() throws {
        let r = try #require(try YAMLParser.parse("a: {}\nb: []\nc: x\nd: 1\ne: yes\nf: ~\ng: 1.5\n").first?.root)
        #expect(r["a"]?.kindDescription == "a mapping")
        #expect(r["b"]?.kindDescription == "a list")
        #expect(r["c"]?.kindDescription == "a string")
        #expect(r["d"]?.kindDescription == "a number")
        #expect(r["e"]?.kindDescription == "a boolean")
        #expect(r["f"]?.kindDescription == "null")
        #expect(r["g"]?.kindDescription == "a number")
    }
}
