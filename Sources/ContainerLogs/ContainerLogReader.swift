import Kernel

// Reading what `ContainerLog` writes: the CRI log format back into lines, across a run's
// rotated files, for `podrec logs`. Beside the writer, so that one place knows the format.

/// One run's log files: `<restart>.log.<stamp>` (rotated, oldest first by name, as the
/// stamps are fixed-width UTC) and then `<restart>.log`, the one being written.
public struct LogFiles {
    public let directory: String
    public let restart: Int
    public var current: String { "\(directory)/\(restart).log" }
    public var parser = CRIParser()
    /// Rotated files read (or followed through the current file before it was renamed).
    public var seen: Set<String> = []
    /// The current file as opened, and its inode: a rotation gives the path a new one.
    public var fd: Int32 = -1
    public var inode: UInt64 = 0

    public init(directory: String, restart: Int) {
        self.directory = directory
        self.restart = restart
    }

    public func rotatedNames() throws(KernelError) -> [String] {
        let prefix = "\(restart).log."
        do { return try Sys.listDirectory(directory).filter { $0.hasPrefix(prefix) }.sorted() } catch {
            if error.isNotFound || error.isNotDirectory { return [] }
            throw error
        }
    }

    /// The rotated files not read yet, in order, but for the one that is the file `skip`
    /// (the current file as it was followed, since renamed).
    public mutating func readRotated(into printer: LogPrinter, skip: UInt64?) throws(KernelError) {
        for name in try rotatedNames() where !seen.contains(name) {
            seen.insert(name)
            let path = directory + "/" + name
            let opened: Int32
            do { opened = try Sys.openForReading(path) } catch {
                if error.isNotFound { continue }  // deleted as the oldest beyond five
                throw error
            }
            defer { Sys.close(opened) }
            if let skip, (try? Sys.fstat(opened, describedAs: path).inode) == skip { continue }
            parser.feed(try Sys.readAll(opened, path: path), into: printer)
            parser.endOfFile(into: printer)
        }
    }

    /// Opens the current file if it is there; rotated files that appeared first are read.
    public mutating func openCurrent(into printer: LogPrinter) throws(KernelError) -> Bool {
        do { fd = try Sys.openForReading(current) } catch {
            if error.isNotFound || error.isNotDirectory { return false }
            throw error
        }
        inode = try Sys.fstat(fd, describedAs: current).inode
        // Rotations between the listing and the open: older than the file now open.
        try readRotated(into: printer, skip: inode)
        return true
    }

    /// Everything written so far.
    public mutating func readExisting(into printer: LogPrinter) throws(KernelError) {
        try readRotated(into: printer, skip: nil)
        if try openCurrent(into: printer) { parser.feed(try Sys.readAll(fd, path: current), into: printer) }
    }

    /// Reads what is appended, every 100 ms, through rotations, until `over` says the run
    /// ended; then reads until two polls bring nothing (the supervisor may still drain the
    /// pipes of a process that exited).
    public mutating func follow(into printer: LogPrinter, until over: () -> Bool) throws(KernelError) {
        var ending = false
        var quiet = 0
        while true {
            var got = false
            if fd >= 0 {
                let bytes = try Sys.readAll(fd, path: current)
                if !bytes.isEmpty {
                    parser.feed(bytes, into: printer)
                    got = true
                }
                if let now = try? Sys.stat(current), now.inode != inode {
                    // Renamed aside: what was written to it before the rename is read above
                    // or now, and nothing more comes to it.
                    parser.feed(try Sys.readAll(fd, path: current), into: printer)
                    parser.endOfFile(into: printer)
                    Sys.close(fd)
                    let old = inode
                    fd = -1
                    try readRotated(into: printer, skip: old)
                    got = true
                }
            }
            if fd < 0, try openCurrent(into: printer) {
                got = true
                continue
            }
            try printer.flush()
            if ending {
                quiet = got ? 0 : quiet + 1
                if quiet >= 2 { return }
            } else if over() {
                ending = true
            }
            MonotonicClock.sleep(nanoseconds: 100_000_000)
        }
    }

    /// The end: an unterminated record and lines still in parts are printed as they are.
    public mutating func finish(into printer: LogPrinter) {
        if fd >= 0 {
            Sys.close(fd)
            fd = -1
        }
        parser.finish(into: printer)
    }
}

/// The CRI log format, `<RFC3339Nano> <stream> <tag> <content>` a line, back to the
/// container's lines: `P` records are joined with the records of the same stream that
/// follow, up to its `F` record. The stream and the tag are never printed.
public struct CRIParser {
    /// Bytes after the last `\n` read: a record still being written.
    public var carry: [UInt8] = []
    /// Per stream, a line in parts: the first part's stamp and the content so far.
    public var partial: [(stream: [UInt8], stamp: [UInt8], content: [UInt8])] = []

    public static let newline: UInt8 = 0x0A
    public static let space: UInt8 = 0x20
    public static let partialTag: UInt8 = 0x50  // P

    public mutating func feed(_ bytes: [UInt8], into printer: LogPrinter) {
        guard !bytes.isEmpty else { return }
        let data = carry.isEmpty ? bytes : carry + bytes
        carry = []
        let used = data.withUnsafeBytes { buf in
            var start = 0
            while start < buf.count, let end = buf[start...].firstIndex(of: Self.newline) {
                record(UnsafeRawBufferPointer(rebasing: buf[start..<end]), into: printer)
                start = end + 1
            }
            return start
        }
        if used < data.count { carry = Array(data[used...]) }
    }

    /// A file that will not grow: an unterminated last record is a record.
    public mutating func endOfFile(into printer: LogPrinter) {
        guard !carry.isEmpty else { return }
        let last = carry
        carry = []
        last.withUnsafeBytes { record($0, into: printer) }
    }

    public mutating func finish(into printer: LogPrinter) {
        endOfFile(into: printer)
        for p in partial { printer.line(stamp: p.stamp, content: p.content) }
        partial = []
    }

    public static func index(of byte: UInt8, in line: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = start
        while i < line.count {
            if line[i] == byte { return i }
            i += 1
        }
        return nil
    }

    public mutating func record(_ line: UnsafeRawBufferPointer, into printer: LogPrinter) {
        guard let s1 = Self.index(of: Self.space, in: line, from: 0),
              let s2 = Self.index(of: Self.space, in: line, from: s1 + 1) else { return }
        let stamp = UnsafeRawBufferPointer(rebasing: line[0..<s1])
        // Tags are `:`-separated; the first is P or F.
        let isPartial = s2 + 1 < line.count && line[s2 + 1] == Self.partialTag
        let s3 = Self.index(of: Self.space, in: line, from: s2 + 1) ?? line.count
        let content = UnsafeRawBufferPointer(rebasing: line[min(s3 + 1, line.count)...])
        if partial.isEmpty && !isPartial {
            // The common case: a whole line, straight out.
            printer.line(stamp: stamp, content: content)
            return
        }
        let stream = UnsafeRawBufferPointer(rebasing: line[(s1 + 1)..<s2])
        if let i = partial.firstIndex(where: { $0.stream.elementsEqual(stream) }) {
            partial[i].content.append(contentsOf: content)
            if !isPartial {
                printer.line(stamp: partial[i].stamp, content: partial[i].content)
                partial.remove(at: i)
            }
        } else if isPartial {
            partial.append((Array(stream), Array(stamp), Array(content)))
        } else {
            printer.line(stamp: stamp, content: content)
        }
    }
}

/// Lines to stdout, in one write per batch; with `--tail N`, only the last N lines of what
/// was there at the start (a ring), and every line after.
public final class LogPrinter {
    public let timestamps: Bool
    private var out: [UInt8] = []
    /// While the lines at the start are read with --tail: the last `limit` of them.
    private var ring: [[UInt8]]?
    private var next = 0
    private let limit: Int
    /// A write that failed while lines were added; `flush` reports it.
    private var failure: KernelError?

    public init(timestamps: Bool, tail: Int) {
        self.timestamps = timestamps
        limit = tail
        ring = tail >= 0 ? [] : nil
    }

    public func line(stamp: [UInt8], content: [UInt8]) {
        stamp.withUnsafeBytes { s in content.withUnsafeBytes { c in line(stamp: s, content: c) } }
    }

    public func line(stamp: UnsafeRawBufferPointer, content: UnsafeRawBufferPointer) {
        if ring != nil {
            guard limit > 0 else { return }
            var l: [UInt8] = []
            append(stamp, content, to: &l)
            if ring!.count < limit { ring!.append(l) } else {
                ring![next] = l
                next = (next + 1) % limit
            }
            return
        }
        append(stamp, content, to: &out)
        // A long log goes out as it is read, not kept whole.
        if out.count >= 1 << 20 && failure == nil {
            do { try flush() } catch { failure = error }
        }
    }

    private func append(_ stamp: UnsafeRawBufferPointer, _ content: UnsafeRawBufferPointer, to buffer: inout [UInt8]) {
        if timestamps {
            buffer.append(contentsOf: stamp)
            buffer.append(0x20)
        }
        buffer.append(contentsOf: content)
        buffer.append(0x0A)
    }

    /// The start is read: the ring's lines go out, in order, and later lines directly.
    public func endTail() {
        guard let r = ring else { return }
        for i in 0..<r.count { out.append(contentsOf: r[(next + i) % r.count]) }
        ring = nil
    }

    public func flush() throws(KernelError) {
        if let failure { throw failure }
        guard !out.isEmpty else { return }
        defer { out.removeAll(keepingCapacity: out.capacity <= 1 << 20) }
        try Sys.writeAll(1, out, path: "stdout")
    }
}
