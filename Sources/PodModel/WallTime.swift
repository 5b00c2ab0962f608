/// A wall-clock instant: nanoseconds since 1970-01-01T00:00:00Z (CLOCK_REALTIME). Pure:
/// reading the clock is Kernel's (`WallClock.now()`).
public struct WallTime: Sendable, Hashable, Comparable {
    public var nanoseconds: Int64

    public init(_ nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static func < (a: WallTime, b: WallTime) -> Bool { a.nanoseconds < b.nanoseconds }

    /// The UTC calendar date and time of day, for names and stamps.
    public struct Components: Sendable, Hashable {
        public var year, month, day, hour, minute, second, nanosecond: Int64
    }

    public var utc: Components {
        var seconds = nanoseconds / 1_000_000_000
        var fraction = nanoseconds % 1_000_000_000
        if fraction < 0 { fraction += 1_000_000_000; seconds -= 1 }
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        let (y, m, d) = Self.civil(days: days)
        return Components(year: y, month: m, day: d, hour: secondOfDay / 3600, minute: secondOfDay / 60 % 60,
                          second: secondOfDay % 60, nanosecond: fraction)
    }

    /// `v` in decimal, zero-padded to `width` digits.
    public static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// RFC 3339 in UTC with nine fraction digits, as the CRI log format and containerd write
    /// it: `2026-11-29T08:30:00.123456789Z`.
    public var rfc3339Nano: String {
        let c = utc
        let pad = Self.pad
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)).\(pad(c.nanosecond, 9))Z"
    }

    /// Days since the epoch → (year, month, day) in the proleptic Gregorian calendar
    /// (Howard Hinnant's `civil_from_days`).
    static func civil(days z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
