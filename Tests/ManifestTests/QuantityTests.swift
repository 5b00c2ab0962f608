import Testing

@testable import Manifest

/// One known value. Inputs and expected String() forms are taken from, or derived by the rules of,
/// k8s.io/apimachinery/pkg/api/resource quantity.go and quantity_test.go (TestQuantityParse,
/// TestQuantityString, TestQuantityParseEmit, TestParseQuantity).
struct KnownQuantity: Sendable, CustomTestStringConvertible {
    let input: String
    /// Upstream String().
    let canonical: String
    /// Upstream Value(), nil where it overflows Int64.
    let value: Int64?
    /// Upstream MilliValue(), nil where it overflows Int64.
    let milli: Int64?

    init(_ input: String, _ canonical: String, value: Int64?, milli: Int64?) {
        self.input = input
        self.canonical = canonical
        self.value = value
        self.milli = milli
    }

    var testDescription: String { "\"\(input)\"" }
}

let knownQuantities: [KnownQuantity] = [
    // Plain and decimalSI.
    KnownQuantity("0", "0", value: 0, milli: 0),
    KnownQuantity("1", "1", value: 1, milli: 1000),
    KnownQuantity("100m", "100m", value: 1, milli: 100),
    KnownQuantity("1000m", "1", value: 1, milli: 1000),
    KnownQuantity("0.5", "500m", value: 1, milli: 500),
    KnownQuantity(".5", "500m", value: 1, milli: 500),
    KnownQuantity("5.", "5.", value: 5, milli: 5000),  // kept verbatim by ParseQuantity
    KnownQuantity("+1", "+1", value: 1, milli: 1000),  // kept verbatim by ParseQuantity
    KnownQuantity("-1", "-1", value: -1, milli: -1000),
    KnownQuantity("9.01", "9010m", value: 10, milli: 9010),
    KnownQuantity("1.0", "1", value: 1, milli: 1000),
    KnownQuantity("50k", "50k", value: 50_000, milli: 50_000_000),
    KnownQuantity("1000M", "1G", value: 1_000_000_000, milli: 1_000_000_000_000),
    KnownQuantity("10.035M", "10.035M", value: 10_035_000, milli: 10_035_000_000),
    KnownQuantity("1.G", "1.G", value: 1_000_000_000, milli: 1_000_000_000_000),
    KnownQuantity("1.01E", "1010P", value: 1_010_000_000_000_000_000, milli: nil),
    KnownQuantity("1n", "1n", value: 1, milli: 1),
    KnownQuantity("1u", "1u", value: 1, milli: 1),
    KnownQuantity("0.1m", "100u", value: 1, milli: 1),
    KnownQuantity("1m", "1m", value: 1, milli: 1),
    KnownQuantity("12E", "12E", value: nil, milli: nil),
    KnownQuantity("1000E", "1e21", value: nil, milli: nil),

    // Rounding at parse: finer than 1n rounds away from zero.
    KnownQuantity("0.0000000001", "1n", value: 1, milli: 1),
    KnownQuantity("0.0000000005", "1n", value: 1, milli: 1),
    KnownQuantity("0.9n", "1n", value: 1, milli: 1),
    KnownQuantity("3.001n", "4n", value: 1, milli: 1),
    KnownQuantity("0.00000012345", "124n", value: 1, milli: 1),
    KnownQuantity("-0.0000000001", "-1n", value: -1, milli: -1),

    // Decimal exponents keep their format.
    KnownQuantity("1e3", "1e3", value: 1000, milli: 1_000_000),
    KnownQuantity("1E3", "1E3", value: 1000, milli: 1_000_000),  // kept verbatim by ParseQuantity
    KnownQuantity("1e-3", "1e-3", value: 1, milli: 1),
    KnownQuantity("1E-3", "1E-3", value: 1, milli: 1),
    KnownQuantity("1.2e3", "1200", value: 1200, milli: 1_200_000),
    KnownQuantity("1.3E+6", "1300e3", value: 1_300_000, milli: 1_300_000_000),
    KnownQuantity("0.5e0", "500e-3", value: 1, milli: 500),
    KnownQuantity("1.1E-9", "2e-9", value: 1, milli: 1),
    KnownQuantity("1e-100", "1e-9", value: 1, milli: 1),
    KnownQuantity("1e99", "1e99", value: nil, milli: nil),
    KnownQuantity("1e100", "10e99", value: nil, milli: nil),  // exponent brought down to a multiple of 3

    // Binary suffixes.
    KnownQuantity("1Ki", "1Ki", value: 1024, milli: 1_024_000),
    KnownQuantity("8Ki", "8Ki", value: 8192, milli: 8_192_000),
    KnownQuantity("1025Ki", "1025Ki", value: 1_049_600, milli: 1_049_600_000),
    KnownQuantity("1Gi", "1Gi", value: 1_073_741_824, milli: 1_073_741_824_000),
    KnownQuantity("1024Mi", "1Gi", value: 1_073_741_824, milli: 1_073_741_824_000),
    KnownQuantity("1.5Ki", "1536", value: 1536, milli: 1_536_000),
    KnownQuantity("1.1Ki", "1126400m", value: 1127, milli: 1_126_400),
    KnownQuantity("0.5Mi", "512Ki", value: 524_288, milli: 524_288_000),
    KnownQuantity("0.05Gi", "53687091200m", value: 53_687_092, milli: 53_687_091_200),
    KnownQuantity("100.035Ki", "102435840m", value: 102_436, milli: 102_435_840),
    KnownQuantity(".001Ki", "1024m", value: 2, milli: 1024),
    KnownQuantity(".000001Ki", "1024u", value: 1, milli: 2),
    KnownQuantity(".000000001Ki", "1024n", value: 1, milli: 1),
    KnownQuantity(".000000000001Ki", "2n", value: 1, milli: 1),
    KnownQuantity("1Ei", "1Ei", value: 1_152_921_504_606_846_976, milli: nil),
    KnownQuantity("7Ei", "7Ei", value: 8_070_450_532_247_928_832, milli: nil),
    // binarySI is capped at 2^63-1 when parsed: 8Ei and 9Ei both become MaxInt64.
    KnownQuantity("8Ei", "9223372036854775807", value: Int64.max, milli: nil),
    KnownQuantity("9Ei", "9223372036854775807", value: Int64.max, milli: nil),
    KnownQuantity("-9Ei", "-9223372036854775807", value: -Int64.max, milli: nil),
    KnownQuantity("9223372036854775807Ki", "9223372036854775807", value: Int64.max, milli: nil),

    // Around Int64 (TestParseQuantity).
    KnownQuantity("999999999999999999", "999999999999999999", value: 999_999_999_999_999_999, milli: nil),
    KnownQuantity("999999999999999999.1", "999999999999999999100m", value: 1_000_000_000_000_000_000, milli: nil),
    KnownQuantity("1000000000000000000", "1E", value: 1_000_000_000_000_000_000, milli: nil),
    KnownQuantity("-1000000000000000000", "-1E", value: -1_000_000_000_000_000_000, milli: nil),
    KnownQuantity("1.0000000000000000001E", "1000000000000000000100m", value: 1_000_000_000_000_000_001, milli: nil),
    KnownQuantity("10000000000000000000.0", "10E", value: nil, milli: nil),
    KnownQuantity("9223372036854775807", "9223372036854775807", value: Int64.max, milli: nil),
    KnownQuantity("9223372036854775808", "9223372036854775808", value: nil, milli: nil),
    KnownQuantity("-9223372036854775808", "-9223372036854775808", value: Int64.min, milli: nil),
    KnownQuantity("-9223372036854775809", "-9223372036854775809", value: nil, milli: nil),
    KnownQuantity("9223372036854775.807", "9223372036854775807m", value: 9_223_372_036_854_776, milli: Int64.max),
    KnownQuantity("9223372036854775.808", "9223372036854775808m", value: 9_223_372_036_854_776, milli: nil),

    // Negative values round away from zero.
    KnownQuantity("-1.5", "-1500m", value: -2, milli: -1500),
    KnownQuantity("-0.1m", "-100u", value: -1, milli: -1),
]

@Suite("Quantity")
struct QuantityTests {
    @Test("known values", arguments: knownQuantities)
    func knownValue(_ row: KnownQuantity) throws {
        let quantity = try Quantity(parsing: row.input)
        #expect(quantity.text == row.input)
        #expect(quantity.canonical == row.canonical)
        #expect(quantity.description == row.canonical)
        #expect(quantity.value == row.value)
        #expect(quantity.milliValue == row.milli)
        #expect(quantity.isNegative == row.input.hasPrefix("-"))
        // The canonical form parses back to the same value.
        #expect(try Quantity(parsing: quantity.canonical) == quantity)
        #expect(try Quantity(parsing: quantity.strictCanonical) == quantity)
    }

    @Test("the known-value table is large enough")
    func tableSize() {
        #expect(knownQuantities.count >= 40)
    }

    @Test(
        "invalid inputs",
        arguments: [
            "", "1.2.3", "1Kib", "ki", "1 Gi", "--1", "1e", "1i", "0x10", "one",
            // quantity_test.go
            "1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "-3.01i", "-3.01e-", " 1", "1 ",
            // more
            "1K", "1kb", "1e3.5", "1e+", "1E-", "1Ee3", "1e3k", "+-1", "1_000", "\u{FF11}", "1\t",
            "1e9223372036854775808",
            // Our limit: upstream wraps an exponent beyond Int32 (1e4294967296 would be 1).
            "1e2147483648", "1e4294967296",
        ])
    func invalid(_ input: String) {
        #expect(throws: QuantityError.self) { try Quantity(parsing: input) }
    }

    @Test("errors name the text and give a reason")
    func errorMessages() {
        do {
            _ = try Quantity(parsing: "1 Gi")
            Issue.record("parsed")
        } catch {
            #expect(error.text == "1 Gi")
            #expect(error.reason.contains("space"))
            #expect(error.description.contains("\"1 Gi\""))
        }
        do {
            _ = try Quantity(parsing: "1Kib")
            Issue.record("parsed")
        } catch {
            #expect(error.reason.contains("'b'"))
        }
        do {
            _ = try Quantity(parsing: "5ki")
            Issue.record("parsed")
        } catch {
            #expect(error.reason.contains("unknown suffix \"ki\""))
        }
        #expect(throws: QuantityError(text: "", reason: "empty string; a quantity needs a number, e.g. 1, 500m or 1Gi")) {
            try Quantity(parsing: "")
        }
    }

    @Test("very long numbers are refused quickly, not trapped on")
    func longDigitStrings() throws {
        let long = "1" + String(repeating: "0", count: 10_000)
        do {
            _ = try Quantity(parsing: long)
            Issue.record("parsed")
        } catch {
            #expect(error.reason.contains("too many digits"))
        }
        #expect(throws: QuantityError.self) { try Quantity(parsing: "0." + String(repeating: "0", count: 10_000) + "1") }
        #expect(throws: QuantityError.self) { try Quantity(parsing: "1e" + String(repeating: "9", count: 10_000)) }

        // At the limit it still parses, exactly.
        let atLimit = "1" + String(repeating: "0", count: Quantity.maxDigits - 1)
        let big = try Quantity(parsing: atLimit)
        #expect(big.value == nil)
        #expect(big.strictCanonical == "1e\(Quantity.maxDigits - 1)")
        #expect(big > (try Quantity(parsing: "9Ei")))
        let tiny = try Quantity(parsing: "0." + String(repeating: "0", count: Quantity.maxDigits - 3) + "1")
        #expect(tiny.canonical == "1n")

        // Leading zeros in an exponent are fine, as for strconv.ParseInt.
        let padded = try Quantity(parsing: "1e" + String(repeating: "0", count: 10_000) + "3")
        #expect(padded.value == 1000)
        // Huge exponents within Int32 are exact and cheap.
        let huge = try Quantity(parsing: "1e2147483647")
        #expect(huge.value == nil)
        #expect(huge.milliValue == nil)
        #expect(huge.strictCanonical == "10e2147483646")
        #expect(try Quantity(parsing: "1e-2147483648").canonical == "1e-9")
    }

    @Test("an empty number is zero, as upstream's scanner allows")
    func emptyNumberIsZero() throws {
        for input in ["-", "+", ".", "-.", "Mi", "e3", "m", "k", "-0", "000", "0.0", "0Ki", "0e5"] {
            let quantity = try Quantity(parsing: input)
            #expect(quantity.isZero, "\(input)")
            #expect(!quantity.isNegative, "\(input)")
            #expect(quantity.canonical == "0", "\(input)")
            #expect(quantity.value == 0, "\(input)")
            #expect(quantity.milliValue == 0, "\(input)")
        }
    }

    @Test("String() reuses the text only where ParseQuantity does")
    func keptText() throws {
        #expect(try Quantity(parsing: "01").canonical == "01")
        #expect(try Quantity(parsing: "01").strictCanonical == "1")
        #expect(try Quantity(parsing: "1.500").canonical == "1.500")
        #expect(try Quantity(parsing: "1.500").strictCanonical == "1500m")
        #expect(try Quantity(parsing: "+1").strictCanonical == "1")
        #expect(try Quantity(parsing: "1E3").strictCanonical == "1e3")
        #expect(try Quantity(parsing: "1e+3").canonical == "1e+3")
        #expect(try Quantity(parsing: "5.").strictCanonical == "5")
        #expect(try Quantity(parsing: "1.G").strictCanonical == "1G")
        // Not kept: trailing 000, a leading 0, a scale not a multiple of 3, or a binary multiple of 8.
        #expect(try Quantity(parsing: "2000k").canonical == "2M")
        #expect(try Quantity(parsing: "0.5k").canonical == "500")
        #expect(try Quantity(parsing: "1.5").canonical == "1500m")
        #expect(try Quantity(parsing: "16Mi").canonical == "16Mi")
        #expect(try Quantity(parsing: "2048Ki").canonical == "2Mi")
        // Too many digits for the int64 fast path: always recomputed.
        #expect(try Quantity(parsing: "+1000000000000000000").canonical == "1E")
    }

    @Test("formats")
    func formats() throws {
        #expect(try Quantity(parsing: "1Gi").format == .binarySI)
        #expect(try Quantity(parsing: "1G").format == .decimalSI)
        #expect(try Quantity(parsing: "1").format == .decimalSI)
        #expect(try Quantity(parsing: "1e9").format == .decimalExponent)
        #expect(try Quantity(parsing: "1E").format == .decimalSI)
        // A binarySI value strictly between -1 and 1 becomes decimalSI.
        #expect(try Quantity(parsing: "0.000000000001Ki").format == .decimalSI)
        #expect(try Quantity(parsing: "-0.5Ki").format == .binarySI)
        #expect(try Quantity(parsing: "-0.5Ki").canonical == "-512")
    }

    @Test("equality and hashing are by value")
    func equality() throws {
        let pairs: [(String, String)] = [
            ("1Gi", "1073741824"), ("0.5", "500m"), ("1e3", "1k"), ("1E3", "1000"), ("1000m", "1"),
            ("1.5Ki", "1536"), ("1Mi", "1024Ki"), ("+1", "1"), ("0", "-0"), ("0Ki", "0e7"),
            ("8Ei", "9Ei"), ("8Ei", "9223372036854775807"), ("0.0000000001", "1n"), (".5", "0.50000"),
            ("1e-3", "1m"), ("1u", "0.001m"), ("10E", "1e19"),
        ]
        for (a, b) in pairs {
            let x = try Quantity(parsing: a)
            let y = try Quantity(parsing: b)
            #expect(x == y, "\(a) == \(b)")
            #expect(x.hashValue == y.hashValue, "\(a) hash \(b)")
            #expect(!(x < y) && !(y < x), "\(a) ~ \(b)")
        }
        #expect(try Quantity(parsing: "1G") != (try Quantity(parsing: "1Gi")))
        #expect(try Quantity(parsing: "1") != (try Quantity(parsing: "-1")))
        let set = Set(try ["1Gi", "1024Mi", "1073741824", "1G", "0.5", "500m"].map { try Quantity(parsing: $0) })
        #expect(set.count == 3)
    }

    @Test("ordering is by exact value")
    func ordering() throws {
        let ascending = [
            "-9Ei", "-1E", "-1.5", "-1", "-100m", "-1n", "0", "1n", "2n", "1u", "1m", "100m", "0.5", "1", "1.5",
            "1Ki", "1.1Ki", "1M", "1Mi", "1G", "1Gi", "10000T", "1e18", "1Ei", "8Ei", "10E", "1e100",
        ]
        let quantities = try ascending.map { try Quantity(parsing: $0) }
        for (lower, higher) in zip(quantities, quantities.dropFirst()) {
            #expect(lower < higher, "\(lower.text) < \(higher.text)")
            #expect(!(higher < lower), "\(higher.text) !< \(lower.text)")
        }
        #expect(quantities.shuffled().sorted() == quantities)
        // quantity_test.go TestQuantityCmp
        #expect(try Quantity(parsing: "100m") > (try Quantity(parsing: "50m")))
        #expect(try Quantity(parsing: "10000T") > (try Quantity(parsing: "100Gi")))
    }

    @Test("kubelet-style rounding: CPU millicores and memory bytes round up")
    func rounding() throws {
        #expect(try Quantity(parsing: "0.1m").milliValue == 1)  // 0.1 millicore of CPU -> 1m
        #expect(try Quantity(parsing: "1m").value == 1)  // 1m of memory -> 1 byte
        #expect(try Quantity(parsing: "0.5").value == 1)  // half a byte -> 1
        #expect(try Quantity(parsing: "250m").milliValue == 250)
        #expect(try Quantity(parsing: "1.0001").milliValue == 1001)
        #expect(try Quantity(parsing: "1.0001").value == 2)
        #expect(try Quantity(parsing: "2").value == 2)
        #expect(try Quantity(parsing: "1n").milliValue == 1)
    }

    @Test("overflow is nil, never a trap")
    func overflow() throws {
        let eight = try Quantity(parsing: "8Ei")  // as CPU: MilliValue overflows Int64
        #expect(eight.value == Int64.max)
        #expect(eight.milliValue == nil)
        #expect(try Quantity(parsing: "9223372036854775807m").milliValue == Int64.max)
        #expect(try Quantity(parsing: "9223372036854775808m").milliValue == nil)
        #expect(try Quantity(parsing: "9223372036854775808m").value == 9_223_372_036_854_776)
        #expect(try Quantity(parsing: "-9223372036854775808m").milliValue == Int64.min)
        #expect(try Quantity(parsing: "-9223372036854775809m").milliValue == nil)
        #expect(try Quantity(parsing: "9223372036854775.807").milliValue == Int64.max)
        #expect(try Quantity(parsing: "9223372036854775.8071").milliValue == nil)
        #expect(try Quantity(parsing: "18446744073709551616").value == nil)
        #expect(try Quantity(parsing: "99999999999999999999999").value == nil)
        #expect(try Quantity(parsing: "1e19").value == nil)
        #expect(try Quantity(parsing: "1e18").value == 1_000_000_000_000_000_000)
    }
}
