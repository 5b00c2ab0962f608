import Glibc

/// CLOCK_MONOTONIC in nanoseconds, and sleeping, without Foundation or Dispatch: for the
/// short bounded retries of the kernel layer (rmdir on EBUSY, waiting for a freeze).
public enum MonotonicClock {
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Sleeps the whole duration: an interrupted nanosleep goes on with what remains.
    public static func sleep(nanoseconds: Int64) {
        var ts = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var rem = timespec()
        while nanosleep(&ts, &rem) == -1 && errno == EINTR { ts = rem }
    }
}
