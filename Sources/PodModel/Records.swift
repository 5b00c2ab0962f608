/// The file format of the launch plan and the status: one record per line, `key value`,
/// with the value escaped so that it never holds a newline. The supervisor reads it
/// without Foundation, a human reads it with `cat`, and a reader that meets a key it does
/// not know can skip it (newer writer, older supervisor).
///
/// Escapes in values: `\\` for a backslash, `\n` for a newline, `\t` for a tab, `\0` for
/// NUL. Keys are plain words. A record of `container NAME` opens a block that
/// `end` closes; blocks do not nest.
public struct RecordWriter: Sendable {
    public private(set) var text: String = ""

    public init(header: String, version: Int) {
        line(header, String(version))
    }

    public mutating func line(_ key: String, _ value: String) {
        text += key
        text += " "
        text += Self.escape(value)
        text += "\n"
    }

    public mutating func line(_ key: String, _ value: some BinaryInteger) { line(key, String(value)) }
    public mutating func line(_ key: String, _ value: Bool) { line(key, value ? "true" : "false") }
    public mutating func optional(_ key: String, _ value: String?) { if let value { line(key, value) } }
    public mutating func optional<T: BinaryInteger>(_ key: String, _ value: T?) { if let value { line(key, value) } }

    public static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for ch in value.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\0": out += "\\0"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}

/// A format error: the line number and what was wrong.
public struct RecordError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public init(line: Int, reason: String) {
        self.line = line
        self.reason = reason
    }
    public var description: String { "line \(line): \(reason)" }
}

/// One parsed line.
public struct Record: Sendable, Hashable {
    public var line: Int
    public var key: String
    public var value: String

    public func int() throws(RecordError) -> Int {
        guard let v = Int(value) else { throw RecordError(line: line, reason: "\(key): not an integer: \(value)") }
        return v
    }
    public func int64() throws(RecordError) -> Int64 {
        guard let v = Int64(value) else { throw RecordError(line: line, reason: "\(key): not an integer: \(value)") }
        return v
    }
    public func uint32() throws(RecordError) -> UInt32 {
        guard let v = UInt32(value) else { throw RecordError(line: line, reason: "\(key): not an unsigned 32-bit integer: \(value)") }
        return v
    }
    public func uint64() throws(RecordError) -> UInt64 {
        guard let v = UInt64(value) else { throw RecordError(line: line, reason: "\(key): not an unsigned 64-bit integer: \(value)") }
        return v
    }
    public func bool() throws(RecordError) -> Bool {
        switch value {
        case "true": return true
        case "false": return false
        default: throw RecordError(line: line, reason: "\(key): not true or false: \(value)")
        }
    }
    public func fields(_ count: Int) throws(RecordError) -> [String] {
        try fields(count...count)
    }

    /// A record whose last fields are optional.
    public func fields(_ counts: ClosedRange<Int>) throws(RecordError) -> [String] {
        let parts = value.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard counts.contains(parts.count) else {
            let expected = counts.count == 1 ? "\(counts.lowerBound)" : "\(counts.lowerBound) to \(counts.upperBound)"
            throw RecordError(line: line, reason: "\(key): expected \(expected) tab-separated fields, found \(parts.count)")
        }
        return parts
    }
}

public enum RecordReader {
    /// Splits `text` into records and checks the header line. Works on the UTF-8 bytes:
    /// the supervisor reads a plan on every start, and per-Character splitting cost a
    /// third of a millisecond for a two-container plan.
    public static func records(_ text: String, header: String, version: Int) throws(RecordError) -> [Record] {
        var out: [Record] = []
        let bytes = Array(text.utf8)
        try bytes.withUnsafeBufferPointer { (bytes) throws(RecordError) in
            var start = 0
            var number = 0
            while start <= bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                number += 1
                if end > start {
                    var space = start
                    while space < end && bytes[space] != 0x20 { space += 1 }
                    let key = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<space]), as: UTF8.self)
                    let value = try unescape(UnsafeBufferPointer(rebasing: bytes[min(space + 1, end)..<end]), line: number)
                    out.append(Record(line: number, key: key, value: value))
                }
                start = end + 1
            }
        }
        guard let first = out.first, first.key == header else {
            throw RecordError(line: 1, reason: "not a \(header) file")
        }
        guard first.value == String(version) else {
            throw RecordError(line: 1, reason: "\(header) version \(first.value); this build reads version \(version)")
        }
        out.removeFirst()
        return out
    }

    /// `records` parted into the file's own records and its `opener NAME` … `end` blocks,
    /// in order: each decoder then reads one flat list per object, with no state of which
    /// block it is in. A block left open is an error.
    public static func blocks(_ records: [Record], opener: String) throws(RecordError) -> (top: [Record], blocks: [(opener: Record, body: [Record])]) {
        var top: [Record] = []
        var blocks: [(opener: Record, body: [Record])] = []
        var open: (opener: Record, body: [Record])?
        for r in records {
            if var block = open {
                if r.key == "end" {
                    blocks.append(block)
                    open = nil
                } else {
                    block.body.append(r)
                    open = block
                }
            } else if r.key == opener {
                open = (r, [])
            } else {
                top.append(r)
            }
        }
        if open != nil { throw RecordError(line: records.last?.line ?? 0, reason: "\(opener) block without end") }
        return (top, blocks)
    }

    static func unescape(_ s: UnsafeBufferPointer<UInt8>, line: Int) throws(RecordError) -> String {
        guard s.contains(0x5C) else { return String(decoding: s, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var escaping = false
        for b in s {
            if escaping {
                switch b {
                case 0x5C: out.append(0x5C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "0"): out.append(0)
                default: throw RecordError(line: line, reason: "unknown escape \\\(Character(Unicode.Scalar(b)))")
                }
                escaping = false
            } else if b == 0x5C {
                escaping = true
            } else {
                out.append(b)
            }
        }
        if escaping { throw RecordError(line: line, reason: "a value ends in a lone backslash") }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The supervisor's identity as the launcher records it, `pid starttime` (clock ticks since
/// boot, /proc/PID/stat field 22): a pid alone could be another process by a later pass.
public struct SupervisorIdentity: Sendable, Hashable {
    public var pid: Int32
    public var startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// The file's one line.
    public var line: String { "\(pid) \(startTime)\n" }

    /// `line` read back; nil when the text is not one.
    public init?(line text: String) {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, let pid = Int32(parts[0]), pid > 0, let ticks = UInt64(parts[1]) else { return nil }
        self.init(pid: pid, startTime: ticks)
    }
}
