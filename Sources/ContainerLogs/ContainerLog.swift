import Kernel
import PodModel

/// The container pipe a chunk was read from, spelled as the CRI log format spells it.
public enum LogStream: String, Sendable {
    case stdout, stderr

    var index: Int { self == .stdout ? 0 : 1 }
}

/// Writes one container's stdout and stderr to `<directory>/<restart>.log` in the CRI log
/// format that kubelet reads (`kubectl logs`) and containerd writes:
///
///     2026-11-29T08:30:00.123456789Z stdout F hello
///
/// one record per line: the time, the stream, `F` for a full line or `P` for a part of a
/// longer one, a space, the content without its `\n`, and `\n`.
///
/// Line splitting follows containerd's `redirectLogs` (internal/cri/io/logger.go):
/// - A line ends at `\n`; a `\r` just before it is dropped too (CRLF output reads as one
///   line). A `\r` anywhere else is content.
/// - A line longer than `maxLine` bytes becomes records of `maxLine` bytes tagged `P` and a
///   last one tagged `F`, so a record never holds more than `maxLine` content bytes. A line
///   of exactly `maxLine` bytes is one `F` record. An empty line is an `F` record with no
///   content.
/// - At end of stream (`finish`), an unterminated line is written tagged `P`, as containerd
///   does: the container never ended it, and a reader that joins `P` records gives back
///   the output byte for byte.
///
/// Rotation follows kubelet's container log manager, but inline, at record boundaries:
/// - Before a record would take the file past `maxBytes`, `<restart>.log` is renamed to
///   `<restart>.log.<YYYYMMDD-HHMMSS.nnnnnnnnn>` (UTC) and a new `<restart>.log` is
///   opened. A file exceeds `maxBytes` only when it holds a single record that is longer.
/// - At most `maxFiles` files of this restart remain, the current one included; the
///   oldest rotated ones are deleted. kubelet also gzips the older rotated files; we do
///   not, to keep the supervisor free of a compressor, so `maxBytes` bounds each file.
/// - The files of other restarts are not counted: the previous restart's log is what
///   `kubectl logs --previous` reads. `removeOldRestarts` deletes the ones before it.
///
/// Nothing here reads a clock: every call takes `now`, which stamps its records (and
/// names a file it rotates). Nothing blocks on the container either: the writer only
/// writes regular files; the caller owns the pipes.
///
/// Each `append` and `finish` builds its records in one buffer and writes it with one
/// write(2), one per file when a rotation falls inside. On a write error the records of
/// that call are lost, the file is cut back to its last whole record (no torn line), and
/// the error is thrown; the writer stays usable, so the caller can keep draining the
/// pipes (containerd logs the error and goes on the same way).
///
/// Not thread-safe: the supervisor is single-threaded.
public final class ContainerLog {
    /// containerd's default `max_container_log_line_size`.
    public static let defaultMaxLine = 16 << 10
    /// kubelet's default `containerLogMaxSize` (10Mi).
    public static let defaultMaxBytes = 10 << 20
    /// kubelet's default `containerLogMaxFiles`.
    public static let defaultMaxFiles = 5

    public let directory: String
    public let restart: Int
    public let maxBytes: Int
    public let maxFiles: Int
    public let maxLine: Int
    /// `<directory>/<restart>.log`, the file being written.
    public let path: String

    private var fd: Int32
    /// Bytes in the current file, as written by us or found at open.
    private var fileSize: Int
    /// This restart's rotated files, oldest first: sorted by name when found at open,
    /// then in the order we rotate (a clock stepping back cannot reorder those).
    private var rotated: [String]
    /// The last rotation's name stamp, in nanoseconds: each rotation takes a later one, so
    /// two rotations in one call (one `now`) get two names.
    private var lastRotation = Int64.min

    /// Each stream's line so far, not yet ended by `\n`: at most `maxLine` content bytes
    /// plus a `\r` that may turn out to be half of a CRLF.
    private var pending: [[UInt8]] = [[], []]

    /// The records of the current call, written at its end.
    private var out: [UInt8] = []
    /// Offsets in `out` where a rotation comes before the bytes that follow.
    private var cuts: [Int] = []
    /// What the current file's size will be once `out` up to the last cut is written.
    private var projected = 0

    /// `now` as RFC 3339, formatted once per call rather than once per record.
    private var stampTime: WallTime?
    private var stamp: [UInt8] = []

    private static let names: [[UInt8]] = [Array("stdout".utf8), Array("stderr".utf8)]
    private static let newline: UInt8 = 0x0A
    private static let carriageReturn: UInt8 = 0x0D
    private static let space: UInt8 = 0x20
    private static let full: UInt8 = 0x46  // F
    private static let partial: UInt8 = 0x50  // P
    /// Buffers that grew past this for one huge chunk are released rather than kept, so
    /// one burst does not pin memory in a supervisor that must stay near 1 MiB.
    private static let keptCapacity = 128 << 10

    /// Creates `directory` (0700) if missing and opens `<directory>/<restart>.log` (0600)
    /// for appending: a supervisor that reopens the same restart continues the file.
    public init(directory: String, restart: Int, maxBytes: Int = defaultMaxBytes, maxFiles: Int = defaultMaxFiles,
                maxLine: Int = defaultMaxLine) throws(KernelError) {
        precondition(restart >= 0, "restart count \(restart)")
        precondition(maxBytes > 0 && maxLine > 0, "maxBytes \(maxBytes), maxLine \(maxLine)")
        // As kubelet: the current file and the one being rotated need two names.
        precondition(maxFiles >= 2, "maxFiles \(maxFiles) must be at least 2")
        self.directory = directory
        self.restart = restart
        self.maxBytes = maxBytes
        self.maxFiles = maxFiles
        self.maxLine = maxLine
        path = "\(directory)/\(restart).log"

        try Sys.mkdirs(directory, mode: 0o700)
        let prefix = "\(restart).log."
        rotated = try Sys.listDirectory(directory).filter { $0.hasPrefix(prefix) }
        (fd, fileSize) = try Self.openLog(path)
    }

    deinit { close() }

    /// Closes the file. Lines still pending are dropped: call `finish` for both streams
    /// first. Using the writer afterwards is a bug.
    public func close() {
        if fd >= 0 {
            Sys.close(fd)
            fd = -1
        }
    }

    /// Records `bytes`, the next chunk read from `stream`: every line it ends, and the
    /// `P` parts of a line that grew past `maxLine`. The rest waits for the next chunk.
    public func append(_ stream: LogStream, _ bytes: UnsafeRawBufferPointer, now: WallTime) throws(KernelError) {
        precondition(fd >= 0, "ContainerLog \(path) used after close")
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        begin(now)
        let s = stream.index
        let n = bytes.count
        var start = 0
        while start < n {
            var i = start
            while i < n && base.load(fromByteOffset: i, as: UInt8.self) != Self.newline { i += 1 }
            if i == n { break }
            take(s, UnsafeRawBufferPointer(start: base + start, count: i - start), ended: true)
            start = i + 1
        }
        if start < n {
            take(s, UnsafeRawBufferPointer(start: base + start, count: n - start), ended: false)
        }
        try flush(now)
    }

    /// `append` for bytes in an array.
    public func append(_ stream: LogStream, _ bytes: [UInt8], now: WallTime) throws(KernelError) {
        // withUnsafeBytes rethrows untyped errors, so carry the typed one out in a Result.
        let r = bytes.withUnsafeBytes { buf in
            Result { () throws(KernelError) in try append(stream, buf, now: now) }
        }
        try r.get()
    }

    /// `stream` reached end of file: its unterminated line, if any, is written as `P`
    /// records (see the type's comment). Afterwards nothing of `stream` is pending.
    public func finish(_ stream: LogStream, now: WallTime) throws(KernelError) {
        precondition(fd >= 0, "ContainerLog \(path) used after close")
        let s = stream.index
        guard !pending[s].isEmpty else { return }
        begin(now)
        let line = pending[s]
        pending[s] = []
        line.withUnsafeBytes { buf in
            var offset = 0
            // No `\n` follows, so a last `\r` is content.
            while offset < buf.count {
                let k = min(maxLine, buf.count - offset)
                record(s, Self.partial, UnsafeRawBufferPointer(rebasing: buf[offset..<offset + k]))
                offset += k
            }
        }
        try flush(now)
    }

    /// True while `stream` has an unterminated line waiting for more bytes.
    public func hasPending(_ stream: LogStream) -> Bool { !pending[stream.index].isEmpty }

    // MARK: Lines to records

    private func begin(_ now: WallTime) {
        if stampTime != now {
            stamp = Array(now.rfc3339Nano.utf8)
            stampTime = now
        }
        projected = fileSize
    }

    /// Feeds a piece of `s`'s current line: up to a `\n` (`ended`) or the end of a chunk.
    private func take(_ s: Int, _ bytes: UnsafeRawBufferPointer, ended: Bool) {
        if pending[s].isEmpty {
            // The common case, a line within one chunk: records straight from the chunk.
            let used = emit(s, bytes, ended: ended)
            if used < bytes.count { pending[s].append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[used...])) }
            return
        }
        // Move the buffer out, so it is uniquely referenced while it grows and shrinks.
        var line = pending[s]
        pending[s] = []
        line.append(contentsOf: bytes)
        let used = line.withUnsafeBytes { emit(s, $0, ended: ended) }
        if used == line.count {
            if line.capacity > Self.keptCapacity { line = [] } else { line.removeAll(keepingCapacity: true) }
        } else if used > 0 {
            line.removeFirst(used)
        }
        pending[s] = line
    }

    /// Writes the records of `line` (from the start of `s`'s line) that are settled and
    /// returns how many bytes they used. An ended line is settled whole; an open one only
    /// in `maxLine` parts that more content follows, which a last `\r` does not prove.
    private func emit(_ s: Int, _ line: UnsafeRawBufferPointer, ended: Bool) -> Int {
        var end = line.count
        if end > 0 && line[end - 1] == Self.carriageReturn { end -= 1 }
        var offset = 0
        while end - offset > maxLine {
            record(s, Self.partial, UnsafeRawBufferPointer(rebasing: line[offset..<offset + maxLine]))
            offset += maxLine
        }
        guard ended else { return offset }
        record(s, Self.full, UnsafeRawBufferPointer(rebasing: line[offset..<end]))
        return line.count
    }

    /// Appends one record to `out`, first marking a rotation if it would not fit.
    private func record(_ s: Int, _ tag: UInt8, _ content: UnsafeRawBufferPointer) {
        let length = stamp.count + 1 + Self.names[s].count + 1 + 1 + 1 + content.count + 1
        if projected > 0 && projected + length > maxBytes {
            cuts.append(out.count)
            projected = 0
        }
        out.append(contentsOf: stamp)
        out.append(Self.space)
        out.append(contentsOf: Self.names[s])
        out.append(Self.space)
        out.append(tag)
        out.append(Self.space)
        out.append(contentsOf: content)
        out.append(Self.newline)
        projected += length
    }

    // MARK: Files

    /// Writes `out`, rotating at each cut.
    private func flush(_ now: WallTime) throws(KernelError) {
        defer {
            if out.capacity > Self.keptCapacity { out = [] } else { out.removeAll(keepingCapacity: true) }
            cuts.removeAll(keepingCapacity: true)
            projected = fileSize
        }
        var start = 0
        for i in 0...cuts.count {
            let end = i < cuts.count ? cuts[i] : out.count
            if i > 0 { try rotate(now) }
            if end > start {
                let fd = fd, path = path
                let r = out.withUnsafeBytes { buf in
                    Result { () throws(KernelError) in
                        try Sys.writeAll(fd, UnsafeRawBufferPointer(rebasing: buf[start..<end]), describedAs: path)
                    }
                }
                do { try r.get() } catch {
                    // A write cut short (ENOSPC after some bytes) would leave a torn record
                    // that the next one runs into: cut the file back to its last whole
                    // record, so that what follows a failure still parses.
                    try? Sys.ftruncate(fd, to: fileSize, describedAs: path)
                    throw error
                }
                fileSize += end - start
            }
            start = end
        }
    }

    /// Renames the current file aside, opens a new one, and deletes the oldest rotated
    /// files beyond `maxFiles`.
    private func rotate(_ now: WallTime) throws(KernelError) {
        var t = max(now.nanoseconds, lastRotation == .min ? .min : lastRotation + 1)
        var name = ""
        var target = ""
        // A name is never reused: renaming onto it would delete a rotated file.
        repeat {
            name = "\(restart).log.\(Self.rotationStamp(WallTime(t)))"
            target = "\(directory)/\(name)"
            t += 1
        } while Sys.exists(target)
        lastRotation = t - 1

        try Sys.rename(path, target)
        let opened: (Int32, Int)
        do {
            opened = try Self.openLog(path)
        } catch {
            // As kubelet: put the file back, keep writing to it, rotate at the next record.
            try? Sys.rename(target, path)
            throw error
        }
        Sys.close(fd)
        (fd, fileSize) = opened
        rotated.append(name)
        while rotated.count > maxFiles - 1 {
            try Sys.unlinkIfPresent("\(directory)/\(rotated[0])")
            rotated.removeFirst()
        }
    }

    private static func openLog(_ path: String) throws(KernelError) -> (Int32, Int) {
        let fd = try Sys.openForAppending(path, mode: 0o600)
        do {
            // The umask does not decide: logs may hold secrets a container printed.
            try Sys.fchmod(fd, 0o600, describedAs: path)
            return (fd, Int(try Sys.fstat(fd, describedAs: path).size))
        } catch {
            Sys.close(fd)
            throw error
        }
    }

    /// kubelet's rotated-log suffix `20060102-150405` (UTC here) plus nine fraction
    /// digits: fixed width, so the names sort in time order, and two rotations within one
    /// second get two names.
    static func rotationStamp(_ t: WallTime) -> String {
        // `2026-11-29T08:30:00.123456789Z` -> `20261129-083000.123456789`
        var s = ""
        for c in t.rfc3339Nano {
            switch c {
            case "-", ":", "Z": continue
            case "T": s.append("-")
            default: s.append(c)
            }
        }
        return s
    }

    // MARK: Restarts

    /// Deletes the logs of restarts before `current - 1` in `directory`: `<M>.log` and its
    /// rotated files for every M < current - 1. As kubelet, which keeps one dead container
    /// per container name: the current restart's log, and the previous one for
    /// `kubectl logs --previous`. Other names, and restarts after `current`, are left
    /// alone. A missing directory has nothing to delete. Returns the names deleted.
    @discardableResult
    public static func removeOldRestarts(directory: String, current: Int) throws(KernelError) -> [String] {
        guard Sys.exists(directory) else { return [] }
        var removed: [String] = []
        for name in try Sys.listDirectory(directory) {
            guard let m = restartNumber(name), m < current - 1 else { continue }
            if try Sys.unlinkIfPresent("\(directory)/\(name)") { removed.append(name) }
        }
        return removed
    }

    /// M for `M.log` and `M.log.<anything>`; nil for any other name.
    static func restartNumber(_ name: String) -> Int? {
        guard let dot = name.firstIndex(of: "."), dot > name.startIndex else { return nil }
        let digits = name[..<dot]
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let m = Int(digits) else { return nil }
        let rest = name[dot...]
        return rest == ".log" || rest.hasPrefix(".log.") ? m : nil
    }
}
