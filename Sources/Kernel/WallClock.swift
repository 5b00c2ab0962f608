import Glibc

/// CLOCK_REALTIME in nanoseconds since the epoch: for times shown to people (status,
/// log lines). Durations and deadlines use `MonotonicClock`, which never jumps.
public enum WallClock {
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}
