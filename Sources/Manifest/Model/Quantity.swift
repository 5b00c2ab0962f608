// Kubernetes resource quantities, parsed the way k8s.io/apimachinery/pkg/api/resource
// (quantity.go, suffix.go, amount.go, math.go, scale_int.go) parses them.
//
// Grammar (quantity.go):
//
//     <quantity>        ::= <signedNumber><suffix>
//     <signedNumber>    ::= <number> | <sign><number>        <sign> ::= "+" | "-"
//     <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
//     <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
//     <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei                 (powers of 1024)
//     <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E     (powers of 1000)
//     <decimalExponent> ::= "e" <signedInteger> | "E" <signedInteger>
//
// Like upstream's scanner (parseQuantityString) the number may be empty: "-", ".", "Mi" and
// "e3" all parse, as zero. The empty string, whitespace anywhere, and unknown suffixes are errors.
//
// Values are kept exactly (sign, decimal digits, power of ten); nothing is a float.
//
// Rounding, as upstream does it:
// - Parsing keeps precision down to 1n (10^-9). A finer non-zero value is rounded away from
//   zero to the next nano: "0.0000000001" -> 1n, "3.001n" -> 4n, "-0.9n" -> -1n.
// - A binarySI quantity is capped, silently, at 2^63-1 in magnitude: "8Ei" and "9Ei" both
//   parse as 9223372036854775807. Decimal quantities are not capped ("10E" keeps its value).
// - `value` (Value()) and `milliValue` (MilliValue()) round up to a whole number of units /
//   millis, away from zero (ceil for the usual non-negative quantities), as the kubelet and
//   scheduler see them: "0.1m" of CPU -> milliValue 1, "1m" of memory -> value 1 byte,
//   "0.5" -> value 1, "-1.5" -> value -2. A result outside Int64 is nil, never a trap
//   (upstream silently overflows): "8Ei".milliValue == nil, "10E".value == nil.
//
// `canonical` is upstream String(): the input text itself when ParseQuantity keeps it (the fast
// int64 path when the text already looks canonical, e.g. "100m", "1Gi", "1e3", and also "+1",
// "5.", "1E3"), otherwise CanonicalizeBytes: no fraction, the largest suffix of the same
// family, "0.5" -> "500m", "1000m" -> "1", "1.5Ki" -> "1536", "1.1Ki" -> "1126400m".
//
// Deliberate limits (upstream has none of these, and would wrap or run away instead):
// at most `Quantity.maxDigits` digits in the number, and an e-exponent within Int32.
// Equality, hashing and ordering are by exact numeric value, not by text or format.

/// A Kubernetes resource quantity such as `500m`, `1.5Gi` or `2e3`.
public struct Quantity: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The suffix family a quantity was written in; `canonical` keeps it, as upstream does.
    public enum Format: Sendable, Hashable {
        /// Ki, Mi, Gi, Ti, Pi, Ei (powers of 1024).
        case binarySI
        /// n, u, m, none, k, M, G, T, P, E (powers of 1000).
        case decimalSI
        /// e<n> or E<n> (powers of ten).
        case decimalExponent
    }

    /// Most digits accepted in the number part (leading zeros and fraction included).
    public static let maxDigits = 256

    /// The original text as written.
    public let text: String
    /// The suffix family, after upstream's adjustments (a binarySI value strictly between
    /// -1 and 1, other than zero, becomes decimalSI).
    public let format: Format

    /// The exact value is `(negative ? -1 : 1) * digits * 10^exponent`.
    /// `digits` is most significant first, with no leading or trailing zeros; empty for zero.
    let negative: Bool
    let digits: [UInt8]
    let exponent: Int64
    /// Whether upstream ParseQuantity keeps the input text as the String() form.
    let keepsText: Bool

    /// Parses as Kubernetes ParseQuantity does. Throws QuantityError with a human reason.
    public init(parsing text: String) throws(QuantityError) {
        let bytes = Array(text.utf8)
        if bytes.isEmpty {
            throw QuantityError(text: text, reason: "empty string; a quantity needs a number, e.g. 1, 500m or 1Gi")
        }
        let scan = try Quantity.scan(bytes, text: text)
        let written = scan.rawDigitCount
        if written > Quantity.maxDigits {
            throw QuantityError(text: text, reason: "too many digits (\(written); at most \(Quantity.maxDigits) are accepted)")
        }
        let suffix = try Quantity.interpret(Array(bytes[scan.suffix]), text: text)

        let num = bytes[scan.num]  // leading zeros already stripped; empty means "0"
        let denom = bytes[scan.denom]
        let numLength = max(1, num.count)

        // Would upstream's int64 fast path take this, and keep the text as String()?
        var keeps = false
        if text == "0" {
            keeps = true
        } else {
            switch suffix.format {
            case .decimalSI, .decimalExponent:
                let precision = 18 - numLength - denom.count
                let scale = suffix.exponent - Int64(denom.count)
                if precision >= 0 && scale >= -9 {
                    let shifted = (num.isEmpty ? [UInt8(ascii: "0")] : Array(num)) + Array(denom)
                    let endsWith000 = shifted.count >= 3 && shifted.suffix(3).allSatisfy { $0 == UInt8(ascii: "0") }
                    keeps = scale % 3 == 0 && !endsWith000 && shifted[0] != UInt8(ascii: "0")
                }
            case .binarySI:
                if denom.isEmpty {
                    let precision = 15 - numLength - Int(suffix.exponent) * 3 / 10 - 1
                    if precision >= 0 {
                        var value: UInt64 = 0
                        for byte in num { value = value * 10 + UInt64(byte - UInt8(ascii: "0")) }
                        keeps = value & 0x07 != 0
                    }
                }
            }
        }

        // The exact value: digits of num and denom, times 10^(exponent - len(denom)) or 2^exponent.
        var magnitude = Magnitude(
            digits: (Array(num) + Array(denom)).map { $0 - UInt8(ascii: "0") },
            exponent: -Int64(denom.count)
        )
        if suffix.base == 10 {
            magnitude.exponent += suffix.exponent
        } else {
            magnitude.multiplyByPowerOfTwo(Int(suffix.exponent))
        }
        magnitude.normalize()
        // Keep at most nano precision, rounding a finer non-zero value away from zero.
        magnitude.roundAwayFromZero(toExponent: -9)

        var format = suffix.format
        if format == .binarySI {
            if Magnitude.compare(magnitude, Magnitude.int64Max) > 0 {
                magnitude = Magnitude.int64Max
            }
            if !magnitude.isZero && Magnitude.compare(magnitude, Magnitude.one) < 0 {
                format = .decimalSI
            }
        }

        self.text = text
        self.format = format
        self.negative = !scan.positive && !magnitude.isZero
        self.digits = magnitude.digits
        self.exponent = magnitude.exponent
        self.keepsText = keeps
    }

    /// true when the quantity is negative.
    public var isNegative: Bool { negative }

    /// true when the quantity is zero.
    public var isZero: Bool { digits.isEmpty }

    /// Kubernetes Value(): the value rounded up (away from zero) to an integer;
    /// nil if that does not fit Int64.
    public var value: Int64? { scaledValue(exponent: 0) }

    /// Kubernetes MilliValue(): value*1000 rounded up (away from zero) to an integer;
    /// nil if that does not fit Int64.
    public var milliValue: Int64? { scaledValue(exponent: -3) }

    /// Kubernetes String(): the original text when ParseQuantity keeps it, else the
    /// CanonicalizeBytes form. See `strictCanonical` for a form that never reuses the text.
    public var canonical: String { keepsText ? text : strictCanonical }

    /// Kubernetes CanonicalizeBytes: no fractional digits, the largest suffix of the quantity's
    /// format that keeps the value exact. Unlike `canonical`, never the input text verbatim
    /// ("+1" -> "1", "1E3" -> "1e3", "5." -> "5").
    public var strictCanonical: String {
        if isZero { return "0" }
        let sign = negative ? "-" : ""
        let magnitude = Magnitude(digits: digits, exponent: exponent)
        if format == .binarySI
            && Magnitude.compare(magnitude, Magnitude.oneKi) >= 0
            && exponent >= 0,
            var whole = magnitude.uint64Value
        {
            var power = 0
            while whole >= 1024 && whole % 1024 == 0 {
                whole /= 1024
                power += 1
            }
            let suffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
            return sign + String(whole) + (power < suffixes.count ? suffixes[power] : "")
        }
        // Decimal forms (and binarySI values below 1Ki or with a fraction): exponent a multiple of 3.
        let remainder = ((exponent % 3) + 3) % 3
        let scaled = exponent - remainder
        var mantissa = sign
        mantissa.unicodeScalars.append(contentsOf: digits.map { Unicode.Scalar(UInt8(ascii: "0") + $0) })
        mantissa += String(repeating: "0", count: Int(remainder))
        let decimalSuffixes: [Int64: String] = [
            -9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E",
        ]
        if format != .decimalExponent, let suffix = decimalSuffixes[scaled] {
            return mantissa + suffix
        }
        return scaled == 0 ? mantissa : mantissa + "e" + String(scaled)
    }

    public var description: String { canonical }

    /// Equal when the numeric values are equal ("1Gi" == "1073741824", "0.5" == "500m").
    public static func == (a: Quantity, b: Quantity) -> Bool {
        a.negative == b.negative && a.exponent == b.exponent && a.digits == b.digits
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(negative)
        hasher.combine(exponent)
        hasher.combine(digits)
    }

    /// Orders by exact numeric value.
    public static func < (a: Quantity, b: Quantity) -> Bool {
        if a.negative != b.negative { return a.negative }
        let order = Magnitude.compare(
            Magnitude(digits: a.digits, exponent: a.exponent),
            Magnitude(digits: b.digits, exponent: b.exponent)
        )
        return a.negative ? order > 0 : order < 0
    }

    /// The value in units of 10^exponent, rounded away from zero; nil outside Int64.
    private func scaledValue(exponent target: Int64) -> Int64? {
        if isZero { return 0 }
        var magnitude = Magnitude(digits: digits, exponent: exponent)
        magnitude.roundAwayFromZero(toExponent: target)
        magnitude.exponent -= target
        guard let whole = magnitude.uint64Value else { return nil }
        if negative {
            if whole == UInt64(Int64.max) + 1 { return Int64.min }
            return whole <= UInt64(Int64.max) ? -Int64(whole) : nil
        }
        return whole <= UInt64(Int64.max) ? Int64(whole) : nil
    }
}

/// Why a quantity did not parse.
public struct QuantityError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text that failed to parse.
    public let text: String
    /// A human explanation.
    public let reason: String

    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }

    public var description: String { "invalid quantity \"\(text)\": \(reason)" }
}

// MARK: - Scanning (mirrors upstream parseQuantityString)

extension Quantity {
    struct Scan {
        var positive = true
        /// Digits before the point, leading zeros stripped (empty means 0).
        var num: Range<Int> = 0..<0
        /// Digits after the point.
        var denom: Range<Int> = 0..<0
        var suffix: Range<Int> = 0..<0
        /// Digits written in the number part, leading zeros included.
        var rawDigitCount = 0
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func isSuffixLetter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "i"), UInt8(ascii: "n"),
            UInt8(ascii: "u"), UInt8(ascii: "m"), UInt8(ascii: "k"), UInt8(ascii: "K"),
            UInt8(ascii: "M"), UInt8(ascii: "G"), UInt8(ascii: "T"), UInt8(ascii: "P"):
            return true
        default:
            return false
        }
    }

    static func scan(_ bytes: [UInt8], text: String) throws(QuantityError) -> Scan {
        var result = Scan()
        let end = bytes.count
        var pos = 0
        if bytes[0] == UInt8(ascii: "-") {
            result.positive = false
            pos = 1
        } else if bytes[0] == UInt8(ascii: "+") {
            pos = 1
        }
        let numberStart = pos

        // Leading zeros.
        var i = pos
        while i < end && bytes[i] == UInt8(ascii: "0") { i += 1 }
        result.num = i..<i
        result.denom = end..<end
        result.suffix = end..<end
        if i >= end {
            result.rawDigitCount = end - numberStart
            return result
        }
        pos = i

        // Whole part.
        while i < end && isDigit(bytes[i]) { i += 1 }
        result.num = pos..<i
        pos = i
        if pos < end && bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            i = pos
            while i < end && isDigit(bytes[i]) { i += 1 }
            result.denom = pos..<i
            pos = i
        }
        result.rawDigitCount = (result.num.lowerBound - numberStart) + result.num.count + result.denom.count
        if pos >= end { return result }

        // Suffix: letters from "eEinumkKMGTP", then an optional sign and digits, to the end.
        let suffixStart = pos
        i = pos
        while i < end && isSuffixLetter(bytes[i]) { i += 1 }
        if i < end && (bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+")) { i += 1 }
        while i < end && isDigit(bytes[i]) { i += 1 }
        if i < end {
            throw QuantityError(text: text, reason: "unexpected \(describe(bytes[i])) at offset \(i); "
                + "a quantity is a number with an optional suffix, e.g. 500m, 1.5Gi or 2e3, with no spaces")
        }
        result.suffix = suffixStart..<end
        return result
    }

    private static func describe(_ byte: UInt8) -> String {
        if byte == UInt8(ascii: " ") { return "space" }
        if byte >= 0x21 && byte < 0x7f { return "character '\(Character(Unicode.Scalar(byte)))'" }
        if byte < 0x80 { return "control character" }
        return "non-ASCII character"
    }

    struct Suffix {
        var base: Int
        var exponent: Int64
        var format: Format
    }

    /// Mirrors upstream suffixer.interpret.
    static func interpret(_ suffix: [UInt8], text: String) throws(QuantityError) -> Suffix {
        switch String(decoding: suffix, as: UTF8.self) {
        case "": return Suffix(base: 10, exponent: 0, format: .decimalSI)
        case "n": return Suffix(base: 10, exponent: -9, format: .decimalSI)
        case "u": return Suffix(base: 10, exponent: -6, format: .decimalSI)
        case "m": return Suffix(base: 10, exponent: -3, format: .decimalSI)
        case "k": return Suffix(base: 10, exponent: 3, format: .decimalSI)
        case "M": return Suffix(base: 10, exponent: 6, format: .decimalSI)
        case "G": return Suffix(base: 10, exponent: 9, format: .decimalSI)
        case "T": return Suffix(base: 10, exponent: 12, format: .decimalSI)
        case "P": return Suffix(base: 10, exponent: 15, format: .decimalSI)
        case "E": return Suffix(base: 10, exponent: 18, format: .decimalSI)
        case "Ki": return Suffix(base: 2, exponent: 10, format: .binarySI)
        case "Mi": return Suffix(base: 2, exponent: 20, format: .binarySI)
        case "Gi": return Suffix(base: 2, exponent: 30, format: .binarySI)
        case "Ti": return Suffix(base: 2, exponent: 40, format: .binarySI)
        case "Pi": return Suffix(base: 2, exponent: 50, format: .binarySI)
        case "Ei": return Suffix(base: 2, exponent: 60, format: .binarySI)
        default: break
        }
        let name = String(decoding: suffix, as: UTF8.self)
        guard suffix.count > 1, suffix[0] == UInt8(ascii: "e") || suffix[0] == UInt8(ascii: "E") else {
            throw QuantityError(text: text, reason: "unknown suffix \"\(name)\"; use Ki Mi Gi Ti Pi Ei, "
                + "n u m k M G T P E, or an exponent such as e3")
        }
        // strconv.ParseInt(suffix[1:], 10, 64): optional sign, then one or more digits.
        var i = 1
        var negative = false
        if suffix[i] == UInt8(ascii: "-") || suffix[i] == UInt8(ascii: "+") {
            negative = suffix[i] == UInt8(ascii: "-")
            i += 1
        }
        guard i < suffix.count, suffix[i...].allSatisfy(isDigit) else {
            throw QuantityError(text: text, reason: "exponent \"\(name)\" has no digits after \(Character(Unicode.Scalar(suffix[0])))")
        }
        var magnitude: Int64 = 0
        for byte in suffix[i...] {
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            if overflow1 || overflow2 || sum > Int64(Int32.max) + 1 {
                throw QuantityError(text: text, reason: "exponent \"\(name)\" is out of range")
            }
            magnitude = sum
        }
        let exponent = negative ? -magnitude : magnitude
        if exponent > Int64(Int32.max) {
            throw QuantityError(text: text, reason: "exponent \"\(name)\" is out of range")
        }
        return Suffix(base: 10, exponent: exponent, format: .decimalExponent)
    }
}

// MARK: - Exact decimal magnitudes

extension Quantity {
    /// A non-negative `digits * 10^exponent`, digits most significant first.
    struct Magnitude: Sendable, Equatable {
        var digits: [UInt8]
        var exponent: Int64

        static let one = Magnitude(digits: [1], exponent: 0)
        static let oneKi = Magnitude(digits: [1, 0, 2, 4], exponent: 0)
        /// 2^63-1, upstream's maxAllowed.
        static let int64Max = Magnitude(
            digits: Array("9223372036854775807".utf8).map { $0 - UInt8(ascii: "0") }, exponent: 0)

        var isZero: Bool { digits.isEmpty }

        /// Strips leading zeros, and moves trailing zeros into the exponent. Zero is ([], 0).
        mutating func normalize() {
            guard let first = digits.firstIndex(where: { $0 != 0 }) else {
                digits = []
                exponent = 0
                return
            }
            let last = digits.lastIndex(where: { $0 != 0 })!
            exponent += Int64(digits.count - 1 - last)
            digits = Array(digits[first...last])
        }

        /// Multiplies by 2^power (power >= 0) exactly.
        mutating func multiplyByPowerOfTwo(_ power: Int) {
            var remaining = power
            while remaining > 0 && !digits.isEmpty {
                let step = min(remaining, 30)
                remaining -= step
                let factor = UInt64(1) << UInt64(step)
                var carry: UInt64 = 0
                var result: [UInt8] = []
                result.reserveCapacity(digits.count + 10)
                for digit in digits.reversed() {
                    let product = UInt64(digit) * factor + carry
                    result.append(UInt8(product % 10))
                    carry = product / 10
                }
                while carry > 0 {
                    result.append(UInt8(carry % 10))
                    carry /= 10
                }
                digits = result.reversed()
            }
        }

        /// Rounds to a multiple of 10^target, away from zero (inf.RoundUp). Keeps normal form.
        mutating func roundAwayFromZero(toExponent target: Int64) {
            guard !digits.isEmpty, exponent < target else { return }
            let drop = target - exponent  // > 0; the dropped digits include the last, non-zero one
            if drop >= Int64(digits.count) {
                digits = [1]
                exponent = target
                return
            }
            var kept = Array(digits[..<(digits.count - Int(drop))])
            var index = kept.count - 1
            while index >= 0 {
                if kept[index] == 9 {
                    kept[index] = 0
                    index -= 1
                } else {
                    kept[index] += 1
                    break
                }
            }
            if index < 0 { kept.insert(1, at: 0) }
            digits = kept
            exponent = target
            normalize()
        }

        /// The value as an integer, if it is one and fits UInt64.
        var uint64Value: UInt64? {
            if digits.isEmpty { return 0 }
            guard exponent >= 0, Int64(digits.count) + exponent <= 20 else { return nil }
            var value: UInt64 = 0
            for digit in digits + [UInt8](repeating: 0, count: Int(exponent)) {
                let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
                if overflow1 || overflow2 { return nil }
                value = sum
            }
            return value
        }

        /// -1, 0 or 1 as a is less than, equal to or greater than b. Both must be normalized.
        static func compare(_ a: Magnitude, _ b: Magnitude) -> Int {
            if a.digits.isEmpty || b.digits.isEmpty {
                return a.digits.isEmpty ? (b.digits.isEmpty ? 0 : -1) : 1
            }
            // Position of the most significant digit decides first.
            let orderA = Int64(a.digits.count) + a.exponent
            let orderB = Int64(b.digits.count) + b.exponent
            if orderA != orderB { return orderA < orderB ? -1 : 1 }
            for (x, y) in zip(a.digits, b.digits) where x != y {
                return x < y ? -1 : 1
            }
            // Equal prefix: the longer one has more non-zero digits below it.
            if a.digits.count == b.digits.count { return 0 }
            return a.digits.count < b.digits.count ? -1 : 1
        }
    }
}
