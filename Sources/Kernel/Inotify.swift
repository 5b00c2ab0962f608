import Glibc
import SystemPackage

/// An inotify instance of its own, for a long-lived watcher (`podrec watch`). It is not
/// `DirectoryWatch`'s shared instance: the launcher drains that one while it waits for a
/// status, and would swallow the watcher's events.
public final class Inotify {
    public let fd: Int32

    public struct Event: Sendable, Hashable {
        public var watch: Int32
        public var mask: UInt32
        /// The entry's name in the watched directory; empty for events on the directory itself.
        public var name: String
        /// Pairs the IN_MOVED_FROM and IN_MOVED_TO of one rename; 0 for other events.
        public var cookie: UInt32 = 0
    }

    public init() throws(KernelError) {
        fd = try Sys.check("inotify_init1", nil) { inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK)) }
    }

    deinit { Sys.close(fd) }

    public func add(_ path: String, mask: UInt32) throws(KernelError) -> Int32 {
        try Sys.check("inotify_add_watch", path) { inotify_add_watch(fd, path, mask) }
    }

    public func remove(_ watch: Int32) { _ = inotify_rm_watch(fd, watch) }

    /// Every event queued now (none when there are none: the fd is non-blocking).
    public func read() -> [Event] {
        var events: [Event] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = buffer.withUnsafeMutableBytes { (try? Sys.readSome(fd, into: $0)) ?? nil } ?? 0
            if n <= 0 { break }
            var offset = 0
            // struct inotify_event: wd (4), mask (4), cookie (4), len (4), name[len].
            while offset + 16 <= n {
                func u32(_ at: Int) -> UInt32 {
                    UInt32(buffer[at]) | UInt32(buffer[at + 1]) << 8 | UInt32(buffer[at + 2]) << 16 | UInt32(buffer[at + 3]) << 24
                }
                let length = Int(u32(offset + 12))
                let nameBytes = buffer[(offset + 16)..<min(n, offset + 16 + length)]
                let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                events.append(Event(watch: Int32(bitPattern: u32(offset)), mask: u32(offset + 4), name: name, cookie: u32(offset + 8)))
                offset += 16 + length
            }
        }
        return events
    }
}
