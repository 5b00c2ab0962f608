import Testing

@testable import YAML

/// Bad and hostile input at the YAML level: each case is a thrown `YAMLError` with a mark
/// and a message, never a crash, a hang or an unbounded allocation.
@Suite struct LimitsTests {
    // MARK: Empty input

    @Test func emptyInputIsZeroDocuments() throws {
        #expect(try YAMLParser.parse("").isEmpty)
        #expect(try YAMLParser.parse([UInt8]()).isEmpty)  // a nil base address
        #expect(try YAMLParser.parse("\n\n   \n").isEmpty)
        #expect(try YAMLParser.parse("# only a comment\n# and another\n").isEmpty)
        #expect(try YAMLParser.parse([0xEF, 0xBB, 0xBF]).isEmpty)  // a UTF-8 byte order mark alone
    }

    // MARK: Binary input and NUL bytes

    @Test func binaryInput() throws {
        // The start of an ELF file: DEL, "ELF", then NUL bytes.
        let elf: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00]
        let error = try #require(parseError(elf))
        #expect(error.kind == .syntax)
        #expect(error.mark == m(1, 1))
        #expect(error.message == "control characters are not allowed (U+007F)")

        // A PNG signature: 0x89 cannot start a UTF-8 sequence.
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D]
        let pngError = try #require(parseError(png))
        #expect(pngError.kind == .syntax)
        #expect(pngError.mark == m(1, 1))
        #expect(pngError.message == "invalid leading UTF-8 octet (byte 0x89)")

        // Nothing but zeros.
        let zeros = try #require(parseError([UInt8](repeating: 0, count: 4096)))
        #expect(zeros.mark == m(1, 1))
        #expect(zeros.message == "control characters are not allowed (U+0000)")
    }

    @Test func nulBytesInsideText() throws {
        let bytes = Array("apiVersion: v1\nkind: Pod\nname: we".utf8) + [0x00] + Array("b\n".utf8)
        let error = try #require(parseError(bytes))
        #expect(error.kind == .syntax)
        #expect(error.mark == m(3, 9))
        #expect(error.message.contains("control characters are not allowed"))
        #expect(error.message.contains("U+0000"))
        #expect(error.description == "3:9: control characters are not allowed (U+0000)")

        // Through the String API, after non-ASCII characters (columns count characters).
        let stringError = try #require(parseError("é: ü\u{0}x\n"))
        #expect(stringError.mark == m(1, 5))

        // Inside a quoted scalar it is still refused by the reader.
        let quoted = try #require(parseError("a: \"x\u{0}y\"\n"))
        #expect(quoted.mark == m(1, 6))
    }

    // MARK: Invalid UTF-8

    @Test func invalidUTF8HasAMarkFromTheByteOffset() throws {
        // "image: café" is 11 characters (12 bytes): the bad byte is column 12 of line 2.
        let bytes = Array("name: web\nimage: caf\u{e9}".utf8) + [0xFF] + Array("\n".utf8)
        let error = try #require(parseError(bytes))
        #expect(error.kind == .syntax)
        #expect(error.mark == m(2, 12))
        #expect(error.message == "invalid leading UTF-8 octet (byte 0xFF)")
    }

    @Test func invalidUTF8Variants() throws {
        let prefix = Array("a: ".utf8)
        let cases: [([UInt8], String)] = [
            ([0xE2, 0x82], "incomplete UTF-8 octet sequence"),  // truncated at the end of input
            ([0xE2, 0x82, 0x0A], "invalid trailing UTF-8 octet (byte 0x0A)"),  // cut by a line break
            ([0xC3, 0x28, 0x0A], "invalid trailing UTF-8 octet (byte 0x28)"),
            ([0xC0, 0x80, 0x0A], "invalid length of a UTF-8 sequence"),  // overlong NUL
            ([0xF8, 0x88, 0x80, 0x80, 0x80, 0x0A], "invalid leading UTF-8 octet (byte 0xF8)"),
            ([0xED, 0xA0, 0x80, 0x0A], "invalid Unicode character (U+D800)"),  // an encoded surrogate
            ([0xEF, 0xBF, 0xBE, 0x0A], "control characters are not allowed (U+FFFE)"),
            ([0xC2, 0x81, 0x0A], "control characters are not allowed (U+0081)"),  // a C1 control
        ]
        for (bad, message) in cases {
            let error = try #require(parseError(prefix + bad), "\(bad)")
            #expect(error.kind == .syntax)
            #expect(error.message == message, "\(bad)")
            #expect(error.mark.line == 1, "\(bad)")
            #expect((4...5).contains(error.mark.column), "\(bad): \(error.mark)")
        }
    }

    @Test func invalidUTF8FarIntoTheInput() throws {
        // Past libyaml's first 16 KiB input chunk: the offset is still absolute.
        var bytes: [UInt8] = []
        for i in 0..<5000 { bytes += Array("key\(i): value\n".utf8) }
        bytes += Array("last: ü".utf8) + [0xFE] + [0x0A]
        let error = try #require(parseError(bytes))
        #expect(error.mark == m(5001, 8))
        #expect(error.message == "invalid leading UTF-8 octet (byte 0xFE)")
    }

    // MARK: Tabs

    @Test func tabsAsIndentation() throws {
        let error = try #require(parseError("spec:\n\tcontainers: []\n"))
        #expect(error.kind == .syntax)
        #expect(error.mark == m(2, 1))
        #expect(!error.message.isEmpty)

        let mixed = try #require(parseError("spec:\n  a: 1\n\tb: 2\n"))
        #expect(mixed.kind == .syntax)
        #expect(mixed.mark.line == 3)
        #expect(mixed.message.contains("tab"))
    }

    // MARK: Depth

    /// `a:\n  a:\n    a:\n...`, `levels` mappings deep, built as bytes (the 10,000-level
    /// one is about 95 MiB: the indentation grows by two spaces a level).
    static func deepBlockMapping(levels: Int) -> [UInt8] {
        let total = levels * (levels - 1) + 3 * levels
        var bytes = [UInt8](repeating: UInt8(ascii: " "), count: total)
        var p = 0
        for i in 0..<levels {
            p += 2 * i
            bytes[p] = UInt8(ascii: "a")
            bytes[p + 1] = UInt8(ascii: ":")
            bytes[p + 2] = UInt8(ascii: "\n")
            p += 3
        }
        return bytes
    }

    @Test func deepBlockNesting() throws {
        let deep = Self.deepBlockMapping(levels: 10_000)
        #expect(deep.count == 100_020_000)
        #expect(deep.starts(with: Array("a:\n  a:\n    a:\n".utf8)))

        // Under the default limits a 10,000-level block mapping is too large to read at all.
        let tooLarge = try #require(parseError(deep))
        #expect(tooLarge.kind == .tooLarge(bytes: deep.count, limit: Limits.default.maxInputBytes))

        // With room for the bytes, the depth limit stops it at the 129th mapping.
        let limits = Limits(maxInputBytes: 128 << 20)
        let error = try #require(parseError(deep, limits: limits))
        #expect(error.kind == .tooDeep(limit: 128))
        #expect(error.mark == m(129, 257))
        #expect(error.message == "nesting is deeper than the limit of 128 levels")

        // Compact block sequences nest without indentation: 10,000 levels in 20 KB.
        let sequences = try #require(parseError(String(repeating: "- ", count: 10_000) + "x\n"))
        #expect(sequences.kind == .tooDeep(limit: 128))
        #expect(sequences.mark == m(1, 257))
    }

    @Test func deepFlowNesting() throws {
        let error = try #require(parseError(String(repeating: "[", count: 10_000)))
        #expect(error.kind == .tooDeep(limit: 128))
        #expect(error.mark == m(1, 129))

        let closed = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(parseError(closed)?.kind == .tooDeep(limit: 128))

        let mixed = try #require(parseError(String(repeating: "{a: [", count: 5_000)))
        #expect(mixed.kind == .tooDeep(limit: 128))
    }

    @Test func depthLimitIsInclusive() throws {
        func nested(_ levels: Int, _ inner: String) -> String {
            String(repeating: "[", count: levels) + inner + String(repeating: "]", count: levels)
        }
        #expect(try YAMLParser.parse(nested(128, "x")).first?.root.height == 129)
        #expect(parseError(nested(129, "x"))?.kind == .tooDeep(limit: 128))
        // An alias at the deepest level adds no level of its own: the same tree as "x, x".
        let aliased = try YAMLParser.parse(nested(128, "&a x, *a"))
        let plain = try YAMLParser.parse(nested(128, "x, x"))
        #expect(aliased.first?.root.json(.core12) == plain.first?.root.json(.core12))
        // A small custom limit.
        let small = Limits(maxDepth: 3)
        #expect(try YAMLParser.parse("a: {b: [c]}", limits: small).count == 1)
        #expect(parseError("a: {b: [[c]]}", limits: small)?.kind == .tooDeep(limit: 3))
    }

    @Test func aliasesCannotExceedTheDepthLimit() throws {
        // A 100-level structure is fine at the top, not copied 50 levels further down.
        let anchored = "a: &deep " + String(repeating: "[", count: 100) + "x" + String(repeating: "]", count: 100) + "\n"
        #expect(try YAMLParser.parse(anchored).count == 1)
        let copied = anchored + "b: " + String(repeating: "[", count: 50) + "*deep" + String(repeating: "]", count: 50) + "\n"
        let error = try #require(parseError(copied))
        #expect(error.kind == .tooDeep(limit: 128))
        #expect(error.mark == m(2, 54))  // the alias
    }

    // MARK: Node count (alias bombs)

    static let billionLaughs: String = {
        var lines = ["a: &a [" + Array(repeating: "\"lol\"", count: 9).joined(separator: ", ") + "]"]
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        for (previous, name) in zip(names, names.dropFirst()) {
            lines.append("\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    @Test func billionLaughs() throws {
        #expect(Self.billionLaughs.split(separator: "\n").count == 9)
        let error = try #require(parseError(Self.billionLaughs))
        #expect(error.kind == .tooManyNodes(limit: 2_000_000))
        // a: 10 nodes, b: 91, c: 820, d: 7,381, e: 66,430, f: 597,871, g would be 5,380,840.
        #expect(error.mark.line == 7)
        #expect(error.message.contains("alias"))
        #expect(error.message.contains("2000000"))
    }

    @Test func smallNodeLimit() throws {
        let limits = Limits(maxNodes: 5)
        #expect(try YAMLParser.parse("[1, 2, 3, 4]", limits: limits).first?.root.count == 5)
        let error = try #require(parseError("[1, 2, 3, 4, 5]", limits: limits))
        #expect(error.kind == .tooManyNodes(limit: 5))
        #expect(error.mark == m(1, 14))
        // Aliases count every node they copy.
        #expect(parseError("a: &a [1, 2]\nb: *a\n", limits: Limits(maxNodes: 8))?.kind == .tooManyNodes(limit: 8))
        #expect(try YAMLParser.parse("a: &a [1, 2]\nb: *a\n", limits: Limits(maxNodes: 9)).first?.root.count == 9)
    }

    // MARK: Input size

    @Test func inputLargerThanACustomLimit() throws {
        let limits = Limits(maxInputBytes: 16)
        #expect(try YAMLParser.parse("a: 1234567890123", limits: limits).count == 1)  // exactly 16 bytes
        let error = try #require(parseError("a: 12345678901234", limits: limits))
        #expect(error.kind == .tooLarge(bytes: 17, limit: 16))
        #expect(error.mark == m(1, 1))
        #expect(error.message == "input is 17 bytes, over the limit of 16 bytes")
        // Bytes, not characters: four 2-byte characters are 8 bytes.
        #expect(parseError("ü: üü", limits: Limits(maxInputBytes: 7))?.kind == .tooLarge(bytes: 8, limit: 7))
        let kib = try #require(parseError(String(repeating: "#", count: 1500), limits: Limits(maxInputBytes: 1024)))
        #expect(kib.message == "input is 1 KiB+, over the limit of 1 KiB")
    }

    @Test func hundredMegabytesAgainstTheDefaultLimit() throws {
        // Tabs: were the buffer parsed at all, it would be a syntax error on 1:1, not this.
        let bytes = [UInt8](repeating: 0x09, count: 100 << 20)
        let error = try #require(parseError(bytes))
        #expect(error.kind == .tooLarge(bytes: 100 << 20, limit: 16 << 20))
        #expect(error.mark == m(1, 1))
        #expect(error.message == "input is 100 MiB, over the limit of 16 MiB")

        let text = String(decoding: bytes, as: UTF8.self)
        #expect(parseError(text)?.kind == .tooLarge(bytes: 100 << 20, limit: 16 << 20))
    }

    // MARK: Wide documents

    static func wideSequence(_ n: Int) -> String {
        var s = ""
        s.reserveCapacity(n * 12)
        for i in 0..<n { s += "- item\(i)\n" }
        return s
    }

    @Test func wideDocumentParses() throws {
        let docs = try YAMLParser.parse(Self.wideSequence(100_000))
        let items = try #require(docs.first?.root.sequence)
        #expect(items.count == 100_000)
        #expect(items.last?.scalar?.value == "item99999")
        #expect(items.last?.mark == m(100_000, 3))
        #expect(docs.first?.root.count == 100_001)

        var mapping = ""
        for i in 0..<100_000 { mapping += "key\(i): \(i)\n" }
        let pairs = try #require(try YAMLParser.parse(mapping).first?.root.mapping)
        #expect(pairs.count == 100_000)
        #expect(pairs.last?.key.mark == m(100_000, 1))
    }

    @Test func wideDocumentTakesLinearTime() throws {
        let small = Self.wideSequence(20_000)
        let large = Self.wideSequence(80_000)
        func best(_ text: String) throws -> Duration {
            var best = Duration.seconds(1_000)
            for _ in 0..<3 {
                let start = ContinuousClock.now
                let docs = try YAMLParser.parse(text)
                let elapsed = ContinuousClock.now - start
                #expect(docs.first?.root.sequence?.isEmpty == false)
                best = min(best, elapsed)
            }
            return best
        }
        _ = try YAMLParser.parse(small)  // warm up
        let t20 = try best(small)
        let t80 = try best(large)
        let ratio = t80 / t20
        print("wide document: 20k items \(t20), 80k items \(t80), ratio \(ratio)")
        // Linear is 4; quadratic would be 16. Generous for noisy machines.
        #expect(ratio < 8)
    }
}

@Suite struct TabHintTests {
    @Test(arguments: ["key:\n\tb: 1\n", "ключ:\n\tb: 1\n", "a: ü\nb:\n\tc: 1\n"])
    func tabsUsedAsIndentationAreNamed(_ text: String) {
        do {
            _ = try YAMLParser.parse(text)
            Issue.record("accepted a tab-indented document")
        } catch {
            #expect(error.message.contains("tabs cannot indent YAML, use spaces"), "\(error)")
        }
    }
}
