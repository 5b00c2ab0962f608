// Byte-level scanning shared by the parsers. procfs files are ASCII apart from names and
// paths, so the parsers work on UTF-8 bytes and decode only the fields they keep.

typealias Bytes = UnsafeBufferPointer<UInt8>

enum ASCII {
    static let nul: UInt8 = 0
    static let tab: UInt8 = 9
    static let newline: UInt8 = 10
    static let space: UInt8 = 32
    static let openParen: UInt8 = 40   // (
    static let closeParen: UInt8 = 41  // )
    static let comma: UInt8 = 44       // ,
    static let dash: UInt8 = 45        // -
    static let colon: UInt8 = 58       // :
    static let equals: UInt8 = 61      // =
    static let openBracket: UInt8 = 91 // [
    static let backslash: UInt8 = 92   // \
    static let closeBracket: UInt8 = 93 // ]
    static let zero: UInt8 = 48
    static let nine: UInt8 = 57
}

/// Runs `body` over the UTF-8 of `text`, without copying when the string is native.
@inline(__always)
func withBytes<R>(_ text: String, _ body: (Bytes) throws(ProcfsParseError) -> R) throws(ProcfsParseError) -> R {
    let result = text.utf8.withContiguousStorageIfAvailable { buf in
        Result { () throws(ProcfsParseError) -> R in try body(buf) }
    }
    if let result { return try result.get() }
    return try withBytes(Array(text.utf8), body)
}

@inline(__always)
func withBytes<R>(_ bytes: [UInt8], _ body: (Bytes) throws(ProcfsParseError) -> R) throws(ProcfsParseError) -> R {
    try bytes.withUnsafeBufferPointer { buf in
        Result { () throws(ProcfsParseError) -> R in try body(buf) }
    }.get()
}

extension UnsafeBufferPointer where Element == UInt8 {
    @inline(__always)
    func string(_ r: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: self[r]), as: UTF8.self)
    }

    @inline(__always)
    func matches(_ r: Range<Int>, _ key: StaticString) -> Bool {
        guard r.count == key.utf8CodeUnitCount else { return false }
        let k = key.utf8Start
        var j = 0
        while j < r.count {
            if self[r.lowerBound + j] != k[j] { return false }
            j += 1
        }
        return true
    }

    /// A decimal without sign; nil when empty, not all digits, or over `UInt64.max`.
    func unsigned(_ r: Range<Int>) -> UInt64? {
        guard !r.isEmpty else { return nil }
        var v: UInt64 = 0
        for i in r {
            let c = self[i]
            guard c >= ASCII.zero && c <= ASCII.nine else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(c - ASCII.zero))
            if o1 || o2 { return nil }
            v = s
        }
        return v
    }

    /// A decimal with an optional leading `-`.
    func signed(_ r: Range<Int>) -> Int64? {
        guard !r.isEmpty else { return nil }
        if self[r.lowerBound] == ASCII.dash {
            guard let m = unsigned(r.lowerBound + 1..<r.upperBound), m <= UInt64(Int64.max) + 1 else { return nil }
            return m == UInt64(Int64.max) + 1 ? Int64.min : -Int64(m)
        }
        guard let v = unsigned(r), v <= UInt64(Int64.max) else { return nil }
        return Int64(v)
    }

    func int32(_ r: Range<Int>) -> Int32? { signed(r).flatMap { Int32(exactly: $0) } }
    func uint32(_ r: Range<Int>) -> UInt32? { unsigned(r).flatMap { UInt32(exactly: $0) } }
    func int(_ r: Range<Int>) -> Int? { signed(r).flatMap { Int(exactly: $0) } }

    /// Hexadecimal without a prefix, at most 16 digits.
    func hex(_ r: Range<Int>) -> UInt64? {
        guard !r.isEmpty, r.count <= 16 else { return nil }
        var v: UInt64 = 0
        for i in r {
            let c = self[i]
            let d: UInt8
            switch c {
            case 48...57: d = c - 48
            case 97...102: d = c - 87
            case 65...70: d = c - 55
            default: return nil
            }
            v = v << 4 | UInt64(d)
        }
        return v
    }

    /// The index of the first `byte` in `r`, or `r.upperBound`.
    @inline(__always)
    func firstIndex(of byte: UInt8, in r: Range<Int>) -> Int {
        var i = r.lowerBound
        while i < r.upperBound && self[i] != byte { i += 1 }
        return i
    }

    /// `r` without leading and trailing spaces, tabs and newlines.
    func trimmed(_ r: Range<Int>) -> Range<Int> {
        var lo = r.lowerBound, hi = r.upperBound
        while lo < hi, self[lo] == ASCII.space || self[lo] == ASCII.tab || self[lo] == ASCII.newline { lo += 1 }
        while hi > lo, self[hi - 1] == ASCII.space || self[hi - 1] == ASCII.tab || self[hi - 1] == ASCII.newline { hi -= 1 }
        return lo..<hi
    }
}

/// Lines of a buffer, without their `\n`; a last line without one counts too.
struct Lines: Sequence, IteratorProtocol {
    let bytes: Bytes
    var position = 0
    init(_ bytes: Bytes) { self.bytes = bytes }

    mutating func next() -> Range<Int>? {
        guard position < bytes.count else { return nil }
        let end = bytes.firstIndex(of: ASCII.newline, in: position..<bytes.count)
        defer { position = end + 1 }
        return position..<end
    }
}

/// Fields of a range separated by runs of spaces and tabs (procfs pads with either).
struct Fields: Sequence, IteratorProtocol {
    let bytes: Bytes
    var position: Int
    let end: Int
    init(_ bytes: Bytes, _ r: Range<Int>) {
        self.bytes = bytes
        position = r.lowerBound
        end = r.upperBound
    }

    mutating func next() -> Range<Int>? {
        while position < end, bytes[position] == ASCII.space || bytes[position] == ASCII.tab { position += 1 }
        guard position < end else { return nil }
        let start = position
        while position < end, bytes[position] != ASCII.space && bytes[position] != ASCII.tab { position += 1 }
        return start..<position
    }
}

/// Pieces of a range split at every `separator`, empty pieces included.
struct Pieces: Sequence, IteratorProtocol {
    let bytes: Bytes
    var position: Int
    let end: Int
    let separator: UInt8
    var done = false
    init(_ bytes: Bytes, _ r: Range<Int>, separator: UInt8) {
        self.bytes = bytes
        position = r.lowerBound
        end = r.upperBound
        self.separator = separator
    }

    mutating func next() -> Range<Int>? {
        guard !done else { return nil }
        let stop = bytes.firstIndex(of: separator, in: position..<end)
        defer {
            if stop == end { done = true } else { position = stop + 1 }
        }
        return position..<stop
    }
}
