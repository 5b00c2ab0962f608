import Kernel
import PodModel

/// The four ids of a `Uid:` or `Gid:` line.
public struct IDs: Sendable, Hashable, CustomStringConvertible {
    public var real: UInt32
    public var effective: UInt32
    public var saved: UInt32
    public var filesystem: UInt32

    public init(real: UInt32, effective: UInt32, saved: UInt32, filesystem: UInt32) {
        self.real = real
        self.effective = effective
        self.saved = saved
        self.filesystem = filesystem
    }

    /// All four the same.
    public init(_ id: UInt32) { self.init(real: id, effective: id, saved: id, filesystem: id) }

    public var description: String { "\(real) \(effective) \(saved) \(filesystem)" }
}

/// The five capability sets of a thread.
public struct Capabilities: Sendable, Hashable {
    public var inheritable: CapabilitySet
    public var permitted: CapabilitySet
    public var effective: CapabilitySet
    public var bounding: CapabilitySet
    public var ambient: CapabilitySet

    public init(inheritable: CapabilitySet, permitted: CapabilitySet, effective: CapabilitySet,
                bounding: CapabilitySet, ambient: CapabilitySet) {
        self.inheritable = inheritable
        self.permitted = permitted
        self.effective = effective
        self.bounding = bounding
        self.ambient = ambient
    }
}

/// `/proc/PID/status`, the fields podrec uses. Every one is required: all exist since Linux
/// 4.10, and podrec needs 5.3 (pidfd_open).
public struct ProcessStatus: Sendable, Hashable {
    /// `Name:`, unescaped (the kernel writes a newline in the name as `\n`, a backslash as
    /// `\\`). Set by the process: display only.
    public var name: String
    /// `State:`
    public var state: ProcessState
    /// `Tgid:`: the thread group id, the "pid" of a process.
    public var tgid: Int32
    /// `Pid:`: the thread id; equal to `tgid` for `/proc/PID/status`.
    public var pid: Int32
    /// `PPid:`
    public var ppid: Int32
    /// `NSpid:`: the pid in each pid namespace from the procfs's own (first: the host pid
    /// when the procfs is the host's) down to the process's own (last).
    public var namespacePids: [Int32]
    /// `Uid:`
    public var uids: IDs
    /// `Gid:`
    public var gids: IDs
    /// `Groups:`: the supplementary groups.
    public var groups: [UInt32]
    /// `CapInh:`, `CapPrm:`, `CapEff:`, `CapBnd:`, `CapAmb:`
    public var capabilities: Capabilities
    /// `NoNewPrivs:`
    public var noNewPrivs: Bool
    /// `Threads:`
    public var threads: Int

    public init(name: String, state: ProcessState, tgid: Int32, pid: Int32, ppid: Int32, namespacePids: [Int32],
                uids: IDs, gids: IDs, groups: [UInt32], capabilities: Capabilities, noNewPrivs: Bool, threads: Int) {
        self.name = name
        self.state = state
        self.tgid = tgid
        self.pid = pid
        self.ppid = ppid
        self.namespacePids = namespacePids
        self.uids = uids
        self.gids = gids
        self.groups = groups
        self.capabilities = capabilities
        self.noNewPrivs = noNewPrivs
        self.threads = threads
    }

    /// The pid in the procfs's pid namespace (the host's, for the host's /proc).
    public var hostPid: Int32 { namespacePids.first ?? tgid }
    /// The pid the process sees for itself in its own pid namespace: 1 for a pid namespace's init.
    public var innermostPid: Int32 { namespacePids.last ?? tgid }
}

extension ProcParser {
    /// Parses `/proc/PID/status`: `Key:<tab>value` lines, fields podrec does not use skipped.
    public static func status(_ text: String) throws(ProcfsParseError) -> ProcessStatus {
        try withBytes(text, parseStatus)
    }

    public static func status(_ bytes: [UInt8]) throws(ProcfsParseError) -> ProcessStatus {
        try withBytes(bytes, parseStatus)
    }

    static func parseStatus(_ b: Bytes) throws(ProcfsParseError) -> ProcessStatus {
        var name: String?, state: ProcessState?, tgid: Int32?, pid: Int32?, ppid: Int32?
        var nsPids: [Int32]?, uids: IDs?, gids: IDs?, groups: [UInt32]?
        var capInh: UInt64?, capPrm: UInt64?, capEff: UInt64?, capBnd: UInt64?, capAmb: UInt64?
        var noNewPrivs: Bool?, threads: Int?

        var lineNumber = 0
        for line in Lines(b) {
            lineNumber += 1
            let colon = b.firstIndex(of: ASCII.colon, in: line)
            guard colon < line.upperBound else { continue }
            let key = line.lowerBound..<colon
            var value = colon + 1..<line.upperBound
            // One tab follows the colon; values such as Name keep any further whitespace.
            if !value.isEmpty && b[value.lowerBound] == ASCII.tab { value = value.lowerBound + 1..<value.upperBound }
            func fail(_ reason: String) -> ProcfsParseError {
                ProcfsParseError(file: "status", line: lineNumber, reason: b.string(key) + ": " + reason)
            }
            func number(_ parse: (Range<Int>) -> Int32?) throws(ProcfsParseError) -> Int32 {
                guard let v = parse(b.trimmed(value)) else { throw fail("not a number: \"\(b.string(value))\"") }
                return v
            }
            func hex() throws(ProcfsParseError) -> UInt64 {
                guard let v = b.hex(b.trimmed(value)) else { throw fail("not a hex mask: \"\(b.string(value))\"") }
                return v
            }
            func ids() throws(ProcfsParseError) -> IDs {
                var out: [UInt32] = []
                for f in Fields(b, value) {
                    guard let v = b.uint32(f) else { throw fail("not an id: \"\(b.string(f))\"") }
                    out.append(v)
                }
                guard out.count == 4 else { throw fail("expected 4 ids, got \(out.count)") }
                return IDs(real: out[0], effective: out[1], saved: out[2], filesystem: out[3])
            }

            switch b[key.lowerBound] {
            case UInt8(ascii: "N"):
                if b.matches(key, "Name") {
                    name = unescapeStatusName(b, value)
                } else if b.matches(key, "NSpid") {
                    var out: [Int32] = []
                    for f in Fields(b, value) {
                        guard let v = b.int32(f) else { throw fail("not a pid: \"\(b.string(f))\"") }
                        out.append(v)
                    }
                    guard !out.isEmpty else { throw fail("empty") }
                    nsPids = out
                } else if b.matches(key, "NoNewPrivs") {
                    noNewPrivs = try number(b.int32) != 0
                }
            case UInt8(ascii: "S"):
                if b.matches(key, "State") {
                    let v = b.trimmed(value)
                    guard !v.isEmpty else { throw fail("empty") }
                    state = ProcessState(letter: b[v.lowerBound])
                }
            case UInt8(ascii: "T"):
                if b.matches(key, "Tgid") { tgid = try number(b.int32) }
                else if b.matches(key, "Threads") { threads = Int(try number(b.int32)) }
            case UInt8(ascii: "P"):
                if b.matches(key, "Pid") { pid = try number(b.int32) }
                else if b.matches(key, "PPid") { ppid = try number(b.int32) }
            case UInt8(ascii: "U"):
                if b.matches(key, "Uid") { uids = try ids() }
            case UInt8(ascii: "G"):
                if b.matches(key, "Gid") {
                    gids = try ids()
                } else if b.matches(key, "Groups") {
                    var out: [UInt32] = []
                    for f in Fields(b, value) {
                        guard let v = b.uint32(f) else { throw fail("not a gid: \"\(b.string(f))\"") }
                        out.append(v)
                    }
                    groups = out
                }
            case UInt8(ascii: "C"):
                if b.matches(key, "CapInh") { capInh = try hex() }
                else if b.matches(key, "CapPrm") { capPrm = try hex() }
                else if b.matches(key, "CapEff") { capEff = try hex() }
                else if b.matches(key, "CapBnd") { capBnd = try hex() }
                else if b.matches(key, "CapAmb") { capAmb = try hex() }
            default:
                break
            }
        }

        func missing(_ field: String) -> ProcfsParseError { ProcfsParseError(file: "status", reason: "no \(field): line") }
        guard let name else { throw missing("Name") }
        guard let state else { throw missing("State") }
        guard let tgid else { throw missing("Tgid") }
        guard let pid else { throw missing("Pid") }
        guard let ppid else { throw missing("PPid") }
        guard let nsPids else { throw missing("NSpid") }
        guard let uids else { throw missing("Uid") }
        guard let gids else { throw missing("Gid") }
        guard let groups else { throw missing("Groups") }
        guard let capInh else { throw missing("CapInh") }
        guard let capPrm else { throw missing("CapPrm") }
        guard let capEff else { throw missing("CapEff") }
        guard let capBnd else { throw missing("CapBnd") }
        guard let capAmb else { throw missing("CapAmb") }
        guard let noNewPrivs else { throw missing("NoNewPrivs") }
        guard let threads else { throw missing("Threads") }
        return ProcessStatus(
            name: name, state: state, tgid: tgid, pid: pid, ppid: ppid, namespacePids: nsPids, uids: uids, gids: gids,
            groups: groups,
            capabilities: Capabilities(
                inheritable: CapabilitySet(rawValue: capInh), permitted: CapabilitySet(rawValue: capPrm),
                effective: CapabilitySet(rawValue: capEff), bounding: CapabilitySet(rawValue: capBnd),
                ambient: CapabilitySet(rawValue: capAmb)),
            noNewPrivs: noNewPrivs, threads: threads)
    }

    /// `Name:` is written with `seq_escape_str(..., ESCAPE_SPACE | ESCAPE_SPECIAL, "\n\\")`:
    /// a newline becomes `\n` and a backslash `\\`. Other C escapes and `\ooo` are undone too.
    static func unescapeStatusName(_ b: Bytes, _ r: Range<Int>) -> String {
        guard b.firstIndex(of: ASCII.backslash, in: r) < r.upperBound else { return b.string(r) }
        var out: [UInt8] = []
        out.reserveCapacity(r.count)
        var i = r.lowerBound
        while i < r.upperBound {
            let c = b[i]
            guard c == ASCII.backslash, i + 1 < r.upperBound else {
                out.append(c)
                i += 1
                continue
            }
            let e = b[i + 1]
            let simple: UInt8? = switch e {
            case UInt8(ascii: "n"): 10
            case UInt8(ascii: "t"): 9
            case UInt8(ascii: "r"): 13
            case UInt8(ascii: "f"): 12
            case UInt8(ascii: "v"): 11
            case UInt8(ascii: "a"): 7
            case UInt8(ascii: "e"): 27
            case ASCII.backslash: ASCII.backslash
            case UInt8(ascii: "\""): UInt8(ascii: "\"")
            default: nil
            }
            if let simple {
                out.append(simple)
                i += 2
            } else if let byte = octal(b, i + 1, end: r.upperBound) {
                out.append(byte)
                i += 4
            } else {
                out.append(c)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Three octal digits at `i` as one byte (`\040`), or nil.
    static func octal(_ b: Bytes, _ i: Int, end: Int) -> UInt8? {
        guard i + 3 <= end else { return nil }
        var v: UInt16 = 0
        for j in i..<i + 3 {
            let d = b[j]
            guard d >= UInt8(ascii: "0") && d <= UInt8(ascii: "7") else { return nil }
            v = v * 8 + UInt16(d - UInt8(ascii: "0"))
        }
        return v <= 255 ? UInt8(v) : nil
    }
}
