import Glibc
import PodModel

/// A count of clock ticks (`USER_HZ`, `sysconf(_SC_CLK_TCK)`, 100 on Linux), the unit of
/// `utime`, `stime` and `starttime` in `/proc/PID/stat`.
public struct ClockTicks: RawRepresentable, Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ ticks: UInt64) { rawValue = ticks }

    /// `sysconf(_SC_CLK_TCK)`: ticks per second for every value in procfs.
    public static let perSecond: Int = Int(sysconf(Int32(_SC_CLK_TCK)))

    /// As a duration: for `starttime`, the time since boot at which the process started.
    public func duration(ticksPerSecond: Int = ClockTicks.perSecond) -> Duration {
        let perSecond = UInt64(max(ticksPerSecond, 1))
        let whole = rawValue / perSecond
        let rest = rawValue % perSecond
        return .seconds(Int64(whole)) + .nanoseconds(Int64(rest * 1_000_000_000 / perSecond))
    }

    public static func < (a: ClockTicks, b: ClockTicks) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "\(rawValue) ticks" }
}

/// The state letter of `/proc/PID/stat` and `status` (`fs/proc/array.c`, `task_state_array`).
public enum ProcessState: Sendable, Hashable, CustomStringConvertible {
    /// `R`
    case running
    /// `S`: interruptible sleep.
    case sleeping
    /// `D`: uninterruptible sleep.
    case diskSleep
    /// `T`: stopped by a signal.
    case stopped
    /// `t`: stopped by a tracer.
    case tracingStop
    /// `Z`: exited, not yet reaped by its parent.
    case zombie
    /// `X` (and `x` before 4.14): being reaped; rarely seen.
    case dead
    /// `I`: an idle kernel thread (4.14+).
    case idle
    /// `P`: a parked kernel thread (3.9–4.13).
    case parked
    /// `K` (3.9–4.13): wake-kill.
    case wakeKill
    /// `W` (3.9–4.13): waking; before 2.6, paging.
    case waking
    /// A letter this version of podrec does not know.
    case unknown(UInt8)

    public init(letter: UInt8) {
        switch letter {
        case UInt8(ascii: "R"): self = .running
        case UInt8(ascii: "S"): self = .sleeping
        case UInt8(ascii: "D"): self = .diskSleep
        case UInt8(ascii: "T"): self = .stopped
        case UInt8(ascii: "t"): self = .tracingStop
        case UInt8(ascii: "Z"): self = .zombie
        case UInt8(ascii: "X"), UInt8(ascii: "x"): self = .dead
        case UInt8(ascii: "I"): self = .idle
        case UInt8(ascii: "P"): self = .parked
        case UInt8(ascii: "K"): self = .wakeKill
        case UInt8(ascii: "W"): self = .waking
        default: self = .unknown(letter)
        }
    }

    /// The letter as procfs prints it.
    public var letter: Character {
        switch self {
        case .running: return "R"
        case .sleeping: return "S"
        case .diskSleep: return "D"
        case .stopped: return "T"
        case .tracingStop: return "t"
        case .zombie: return "Z"
        case .dead: return "X"
        case .idle: return "I"
        case .parked: return "P"
        case .wakeKill: return "K"
        case .waking: return "W"
        case .unknown(let c): return Character(Unicode.Scalar(c))
        }
    }

    /// Exited: a zombie, or dead and being reaped. Such a process runs nothing.
    public var hasExited: Bool { self == .zombie || self == .dead }

    public var description: String { String(letter) }
}

/// A process across pid reuse: the kernel never gives the same pid twice within one clock
/// tick, so pid and start time together name one process for the life of the boot.
///
/// Start times are in the reader's time namespace (`/proc/PID/stat` adds its boottime
/// offset), so compare identities read from the same one.
public struct ProcessIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    public var pid: Int32
    /// `starttime`, field 22 of `/proc/PID/stat`: clock ticks after boot.
    public var startTime: ClockTicks

    public init(pid: Int32, startTime: ClockTicks) {
        self.pid = pid
        self.startTime = startTime
    }

    public var description: String { "pid \(pid) (started at tick \(startTime.rawValue))" }
}

extension ProcessIdentity {
    /// The identity the launcher recorded in a pod's state dir for its supervisor.
    public init(_ recorded: SupervisorIdentity) {
        self.init(pid: recorded.pid, startTime: ClockTicks(rawValue: recorded.startTime))
    }
}

/// `/proc/PID/stat`, the fields podrec uses (proc(5) numbers them from 1).
public struct ProcessStat: Sendable, Hashable {
    /// (1) The pid, in the pid namespace of the procfs read.
    public var pid: Int32
    /// (2) The command name, at most 15 bytes, raw: it may hold spaces, parentheses and
    /// newlines. Set by the process itself, so for display only.
    public var comm: String
    /// (3)
    public var state: ProcessState
    /// (4) 0 for PID 1, kthreadd, and processes whose parent is outside our pid namespace.
    public var ppid: Int32
    /// (5)
    public var processGroup: Int32
    /// (6)
    public var session: Int32
    /// (9) `PF_*` flags.
    public var flags: UInt32
    /// (14) Time in user mode.
    public var userTime: ClockTicks
    /// (15) Time in kernel mode.
    public var systemTime: ClockTicks
    /// (20)
    public var threadCount: Int
    /// (22) Clock ticks after boot when the process started.
    public var startTime: ClockTicks

    public init(pid: Int32, comm: String, state: ProcessState, ppid: Int32, processGroup: Int32, session: Int32,
                flags: UInt32, userTime: ClockTicks, systemTime: ClockTicks, threadCount: Int, startTime: ClockTicks) {
        self.pid = pid
        self.comm = comm
        self.state = state
        self.ppid = ppid
        self.processGroup = processGroup
        self.session = session
        self.flags = flags
        self.userTime = userTime
        self.systemTime = systemTime
        self.threadCount = threadCount
        self.startTime = startTime
    }

    public var identity: ProcessIdentity { ProcessIdentity(pid: pid, startTime: startTime) }

    /// `PF_KTHREAD`: a kernel thread, with no cmdline, environ or user memory.
    public var isKernelThread: Bool { flags & 0x0020_0000 != 0 }
}

extension ProcParser {
    /// Parses `/proc/PID/stat`.
    ///
    /// `comm` is the only field that can hold spaces or parentheses, so it runs from the
    /// first `(` to the *last* `)`; the numeric fields follow, space-separated.
    public static func stat(_ text: String) throws(ProcfsParseError) -> ProcessStat {
        try withBytes(text, parseStat)
    }

    public static func stat(_ bytes: [UInt8]) throws(ProcfsParseError) -> ProcessStat {
        try withBytes(bytes, parseStat)
    }

    static func parseStat(_ b: Bytes) throws(ProcfsParseError) -> ProcessStat {
        func fail(_ reason: String) -> ProcfsParseError { ProcfsParseError(file: "stat", reason: reason) }
        let open = b.firstIndex(of: ASCII.openParen, in: 0..<b.count)
        var close = b.count - 1
        while close > open && b[close] != ASCII.closeParen { close -= 1 }
        guard open < b.count, close > open else { throw fail("no \"(comm)\"") }
        guard let pid = b.int32(b.trimmed(0..<open)), pid > 0 else { throw fail("bad pid \"\(b.string(0..<open))\"") }
        let comm = b.string(open + 1..<close)

        // Fields 3... after the comm; `index` counts from 3 as proc(5) does.
        var state: ProcessState?
        var ppid: Int32?, pgrp: Int32?, session: Int32?, flags: UInt32?
        var utime: UInt64?, stime: UInt64?, threads: Int?, start: UInt64?
        var index = 3
        var fieldCount = 2
        for f in Fields(b, b.trimmed(close + 1..<b.count)) {
            fieldCount = index
            switch index {
            case 3:
                guard f.count == 1 else { throw fail("bad state \"\(b.string(f))\"") }
                state = ProcessState(letter: b[f.lowerBound])
            case 4: ppid = b.int32(f)
            case 5: pgrp = b.int32(f)
            case 6: session = b.int32(f)
            case 9: flags = b.uint32(f)
            case 14: utime = b.unsigned(f)
            case 15: stime = b.unsigned(f)
            case 20: threads = b.int(f)
            case 22: start = b.unsigned(f)
            default: break
            }
            if index == 22 { break }
            index += 1
        }
        guard fieldCount >= 22 else { throw fail("\(fieldCount) fields, expected at least 22") }
        guard let state, let ppid, let pgrp, let session, let flags, let utime, let stime, let threads, let start else {
            throw fail("a numeric field among ppid, pgrp, session, flags, utime, stime, num_threads, starttime is not a number")
        }
        return ProcessStat(pid: pid, comm: comm, state: state, ppid: ppid, processGroup: pgrp, session: session, flags: flags,
                           userTime: ClockTicks(utime), systemTime: ClockTicks(stime), threadCount: threads,
                           startTime: ClockTicks(start))
    }

    /// The `btime` line of `/proc/stat`: boot time in seconds since the epoch.
    ///
    /// The kernel derives it from the wall clock minus uptime on each read, so it can move
    /// by a second between reads, and jumps when the clock is set. Never use it to identify
    /// a process; `ProcessIdentity` uses raw ticks.
    public static func bootTime(_ procStat: String) throws(ProcfsParseError) -> Int64 {
        try withBytes(procStat) { b throws(ProcfsParseError) -> Int64 in
            var n = 0
            for line in Lines(b) {
                n += 1
                var fields = Fields(b, line)
                guard let key = fields.next(), b.matches(key, "btime") else { continue }
                guard let value = fields.next(), let t = b.signed(value) else {
                    throw ProcfsParseError(file: "stat", line: n, reason: "bad btime")
                }
                return t
            }
            throw ProcfsParseError(file: "stat", reason: "no btime line")
        }
    }

    /// `/proc/uptime`'s first number: time since boot (CLOCK_BOOTTIME), to 10 ms.
    public static func uptime(_ text: String) throws(ProcfsParseError) -> Duration {
        try withBytes(text) { b throws(ProcfsParseError) -> Duration in
            var fields = Fields(b, b.trimmed(0..<b.count))
            guard let f = fields.next() else { throw ProcfsParseError(file: "uptime", reason: "empty") }
            let dot = b.firstIndex(of: UInt8(ascii: "."), in: f)
            guard let whole = b.unsigned(f.lowerBound..<dot) else {
                throw ProcfsParseError(file: "uptime", reason: "bad uptime \"\(b.string(f))\"")
            }
            var nanos: UInt64 = 0
            if dot < f.upperBound {
                let digits = dot + 1..<min(f.upperBound, dot + 10)
                guard let frac = b.unsigned(digits) else {
                    throw ProcfsParseError(file: "uptime", reason: "bad uptime \"\(b.string(f))\"")
                }
                nanos = frac
                for _ in digits.count..<9 { nanos *= 10 }
            }
            return .seconds(Int64(whole)) + .nanoseconds(Int64(nanos))
        }
    }
}
