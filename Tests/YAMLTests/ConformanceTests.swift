import Foundation
import Testing

@testable import YAML

/// The YAML test suite (https://github.com/yaml/yaml-test-suite, data-2022-01-17) against
/// `YAMLParser` and `Node.json(.core12)`.
///
/// The target is fixed by `yaml-test-suite-libyaml-0.2.5.json`, which records where
/// libyaml 0.2.5 itself departs from the suite: cases libyaml rejects although they are
/// valid, cases whose event stream it gets wrong, and error cases it accepts. Everything
/// else must work: every remaining valid case with an `in.json` must render to JSON equal
/// to it, and every remaining error case must throw a `YAMLError`.
@Suite struct ConformanceTests {
    static let corpus: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tests/YAMLTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository root
        .appendingPathComponent("../shared/corpus")
        .standardizedFileURL

    struct Expectations: Decodable {
        struct Entry: Decodable { var id: String }
        var rejected_but_valid: [Entry]
        var wrong_event_stream: [Entry]
        var accepted_but_must_fail: [Entry]
    }

    @Test func yamlTestSuite() throws {
        let suite = Self.corpus.appendingPathComponent("yaml-test-suite")
        let expectationsURL = Self.corpus.appendingPathComponent("yaml-test-suite-libyaml-0.2.5.json")
        let expectations = try JSONDecoder().decode(Expectations.self, from: Data(contentsOf: expectationsURL))
        let rejectedButValid = Set(expectations.rejected_but_valid.map(\.id))
        let wrongEventStream = Set(expectations.wrong_event_stream.map(\.id))
        let acceptedButMustFail = Set(expectations.accepted_but_must_fail.map(\.id))

        let fm = FileManager.default
        let ids = try fm.contentsOfDirectory(atPath: suite.path)
            .filter { !$0.hasPrefix(".") }
            .sorted()
        #expect(ids.count == 402, "expected 402 case folders in \(suite.path)")

        var validCases: [String] = []
        var errorCases: [String] = []
        for id in ids {
            let dir = suite.appendingPathComponent(id)
            let isError = fm.fileExists(atPath: dir.appendingPathComponent("error").path)
            if isError {
                if !acceptedButMustFail.contains(id) { errorCases.append(id) }
            } else if !rejectedButValid.contains(id), !wrongEventStream.contains(id),
                fm.fileExists(atPath: dir.appendingPathComponent("in.json").path)
            {
                validCases.append(id)
            }
        }

        var validFailures: [String] = []
        for id in validCases {
            let dir = suite.appendingPathComponent(id)
            let yaml = try [UInt8](Data(contentsOf: dir.appendingPathComponent("in.yaml")))
            let jsonText = try String(decoding: Data(contentsOf: dir.appendingPathComponent("in.json")), as: UTF8.self)
            if let problem = Self.checkValid(yaml: yaml, json: jsonText) {
                validFailures.append("\(id): \(problem)")
            }
        }

        var errorFailures: [String] = []
        for id in errorCases {
            let dir = suite.appendingPathComponent(id)
            let yaml = try [UInt8](Data(contentsOf: dir.appendingPathComponent("in.yaml")))
            // The throw is typed: whatever is thrown is a YAMLError.
            let result = Result { () throws(YAMLError) in try YAMLParser.parse(yaml) }
            if case .success(let documents) = result {
                errorFailures.append("\(id): accepted (\(documents.count) document(s))")
            }
        }

        let validPassed = validCases.count - validFailures.count
        let errorPassed = errorCases.count - errorFailures.count
        print(
            "yaml-test-suite: \(validPassed)/\(validCases.count) valid cases match in.json, "
                + "\(errorPassed)/\(errorCases.count) error cases rejected")
        for failure in validFailures + errorFailures { print("  FAIL \(failure)") }

        #expect(validCases.count == 234)
        #expect(errorCases.count == 78)
        #expect(validFailures.isEmpty, "valid cases failing: \(validFailures.map { String($0.prefix(while: { $0 != ":" })) })")
        #expect(errorFailures.isEmpty, "error cases accepted: \(errorFailures.map { String($0.prefix(while: { $0 != ":" })) })")
    }

    /// nil when every document of `yaml` renders to the matching JSON value of `json`.
    static func checkValid(yaml: [UInt8], json: String) -> String? {
        let documents: [Document]
        switch Result(catching: { () throws(YAMLError) in try YAMLParser.parse(yaml) }) {
        case .success(let d): documents = d
        case .failure(let error): return "rejected: \(error)"
        }
        let expected: [JSONValue]
        do {
            expected = try JSONReader.values(json)
        } catch {
            return "cannot read in.json: \(error)"
        }
        guard documents.count == expected.count else {
            return "\(documents.count) document(s), in.json has \(expected.count) value(s)"
        }
        for (i, (document, value)) in zip(documents, expected).enumerated() {
            guard let actual = document.root.json(.core12) else {
                return "document \(i + 1) has no JSON rendering"
            }
            if !actual.isEquivalent(to: value) {
                return "document \(i + 1): got \(actual.serialized()), expected \(value.serialized())"
            }
        }
        return nil
    }
}

/// A small JSON reader for the suite's `in.json` files, which hold one JSON value per
/// YAML document, one after another. It keeps integers and floats apart and never
/// confuses `true` with `1`, which `JSONSerialization`'s `NSNumber`s make hard on Linux.
enum JSONReader {
    struct Failure: Error, CustomStringConvertible {
        var offset: Int
        var reason: String
        var description: String { "JSON byte \(offset): \(reason)" }
    }

    /// Every top-level value in `text`, in order.
    static func values(_ text: String) throws -> [JSONValue] {
        var reader = Reader(bytes: Array(text.utf8))
        var out: [JSONValue] = []
        reader.skipSpace()
        while !reader.atEnd {
            out.append(try reader.value())
            reader.skipSpace()
        }
        return out
    }

    struct Reader {
        let bytes: [UInt8]
        var i = 0

        var atEnd: Bool { i >= bytes.count }

        func fail(_ reason: String) -> Failure { Failure(offset: i, reason: reason) }

        mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        mutating func expect(_ word: String) throws {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw fail("expected \(word)") }
            i += w.count
        }

        mutating func value() throws -> JSONValue {
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                i += 1
                var items: [JSONValue] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                while true {
                    items.append(try value())
                    skipSpace()
                    guard i < bytes.count else { throw fail("unterminated array") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                    throw fail("expected , or ]")
                }
            case UInt8(ascii: "{"):
                i += 1
                var members: [JSONMember] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                    let key = try string()
                    skipSpace()
                    try expect(":")
                    members.append(JSONMember(key, try value()))
                    skipSpace()
                    guard i < bytes.count else { throw fail("unterminated object") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                    throw fail("expected , or }")
                }
            default:
                return try number()
            }
        }

        mutating func number() throws -> JSONValue {
            let start = i
            var isFloat = false
            while i < bytes.count {
                let c = bytes[i]
                if (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
                    i += 1
                } else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                    isFloat = true
                    i += 1
                } else {
                    break
                }
            }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            if !isFloat, let n = Int64(text) { return .int(n) }
            guard !text.isEmpty, let d = Double(text) else { throw Failure(offset: start, reason: "bad number '\(text)'") }
            return .float(d)
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
                throw fail("bad \\u escape")
            }
            i += 4
            return v
        }

        mutating func string() throws -> String {
            i += 1  // opening quote
            var out = String.UnicodeScalarView()
            var run: [UInt8] = []
            func flush() {
                if !run.isEmpty {
                    out.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
                    run.removeAll()
                }
            }
            while true {
                guard i < bytes.count else { throw fail("unterminated string") }
                let c = bytes[i]
                i += 1
                if c == UInt8(ascii: "\"") { break }
                guard c == UInt8(ascii: "\\") else { run.append(c); continue }
                flush()
                guard i < bytes.count else { throw fail("unterminated escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append("\"")
                case UInt8(ascii: "\\"): out.append("\\")
                case UInt8(ascii: "/"): out.append("/")
                case UInt8(ascii: "b"): out.append("\u{08}")
                case UInt8(ascii: "f"): out.append("\u{0C}")
                case UInt8(ascii: "n"): out.append("\n")
                case UInt8(ascii: "r"): out.append("\r")
                case UInt8(ascii: "t"): out.append("\t")
                case UInt8(ascii: "u"):
                    var v = try hex4()
                    if (0xD800..<0xDC00).contains(v), i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                        i += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("bad surrogate pair") }
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(v) else { throw fail("bad code point") }
                    out.append(scalar)
                default: throw fail("bad escape")
                }
            }
            flush()
            return String(out)
        }
    }
}
