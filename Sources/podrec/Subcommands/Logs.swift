import ArgumentParser
import Glibc
import Kernel
import Planner
import PodContract
import Reconciler

extension Podrec {
    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a container's log, as kubectl logs prints it.",
            discussion: """
                POD is NAME or NAMESPACE/NAME (namespace default). Prints the lines of the container's \
                current run (its restart count), or of the run before it with --previous, from \
                <log-dir>/pods/<ns>_<name>_<uid>/<container>/<restart>.log and its rotated files, oldest \
                first. A line the supervisor split into parts (over 16 KiB) comes back whole. With -f, \
                new lines are printed as they come, until the container's run ends, it restarts, or the \
                pod is gone. Reads files only; takes no lock.
                """
        )

        @Argument(help: ArgumentHelp("NAME or NAMESPACE/NAME.", valueName: "pod"))
        var pod: String
        @Argument(help: ArgumentHelp("The container, as -c (kubectl's older form).", valueName: "container"))
        var containerArgument: String?
        @Option(name: .shortAndLong, help: "The container; needed when the pod has several.")
        var container: String?
        @Flag(name: [.customShort("p"), .long], help: "The container's previous run (restart count - 1).")
        var previous = false
        @Option(help: ArgumentHelp("Only the last N lines (-1: all; write --tail=-1).", valueName: "N"))
        var tail: Int = -1
        @Flag(name: .shortAndLong, help: "Keep printing new lines as the container writes them.")
        var follow = false
        @Flag(help: "Prefix each line with its RFC 3339 time, as the log has it.")
        var timestamps = false
        @OptionGroup var roots: RootOptions

        func validate() throws {
            if tail < -1 { throw ValidationError("--tail must be -1 (all) or more") }
            if let c = container, let a = containerArgument, c != a {
                throw ValidationError("container given twice: -c \(c) and \(a)")
            }
        }

        func run() throws {
            let key = Delete.key(pod)
            let reconciler = try roots.reconciler()
            let observed: Observed
            do { observed = try Observer(roots: reconciler.roots.roots, cgroupParent: reconciler.roots.cgroupParent, driver: reconciler.creator.driver).observe() } catch {
                throw CLIError(error.description)
            }
            guard let found = observed.pods[key] else { throw Self.fail("pod \"\(pod)\" not found") }

            // Plan order: init containers and sidecars as the spec has them, then the main ones.
            let containers: [(name: String, kind: ContainerKind)] = found.plan.map { $0.containers.map { ($0.name, $0.kind) } }
                ?? found.status?.containers.map { ($0.name, $0.kind) } ?? []
            let name: String
            if let wanted = container ?? containerArgument {
                guard containers.contains(where: { $0.name == wanted }) else {
                    throw Self.fail("container \(wanted) is not valid for pod \(key.name)")
                }
                name = wanted
            } else {
                let mains = containers.filter { $0.kind == .main }
                guard mains.count == 1 else {
                    if containers.isEmpty { throw Self.fail("pod \(key.name) does not have a container") }
                    // As the API server words it, listing init containers too.
                    throw Self.fail("a container name must be specified for pod \(key.name), choose one of: [\(containers.map(\.name).joined(separator: " "))]")
                }
                name = mains[0].name
            }

            let status = found.status?.container(name)
            let current = status?.restartCount ?? 0
            let restart = previous ? current - 1 : current
            if restart < 0 { throw Self.fail("previous terminated container \"\(name)\" in pod \"\(key.name)\" not found") }
            let uid = found.record?.uid ?? found.plan?.uid
            guard let base = found.plan?.logDirectory ?? uid.map({ reconciler.roots.layout(key, uid: $0).logDirectory }) else { return }

            let printer = LogPrinter(timestamps: timestamps, tail: tail)
            var log = LogFiles(directory: base + "/" + name, restart: restart)
            do throws(KernelError) {
                try log.readExisting(into: printer)
                // Only a live supervisor writes more: a dead one's pod has said all it will.
                if follow && !previous, case .alive(let supervisorPID) = found.supervisor {
                    printer.endTail()
                    try printer.flush()
                    let watch = RunWatch(stateDirectory: reconciler.roots.layout(key, uid: uid ?? "").stateDirectory, uid: uid,
                                         container: name, restart: restart, supervisorPID: supervisorPID)
                    try log.follow(into: printer, until: { watch.runIsOver() })
                }
                log.finish(into: printer)
                printer.endTail()
                try printer.flush()
            } catch {
                // A reader that went away (`| head`) is no error of ours.
                if error.errno == .brokenPipe { return }
                throw CLIError(error.description)
            }
        }

        /// Prints `error: <message>` on stderr, as kubectl does, and exits 1.
        static func fail(_ message: String) -> ExitCode {
            var stderr = StandardError()
            print("error: \(message)", to: &stderr)
            return ExitCode.failure
        }
    }
}

extension Podrec.Logs {
    /// Whether the run that `logs -f` follows is over: it ended (kubelet stops following a
    /// container that no longer runs), the container started again, or the pod is gone. Reads
    /// the pod's status and record files only, so it is cheap enough for every poll.
    struct RunWatch {
        let stateDirectory: String
        let uid: String?
        let container: String
        let restart: Int
        let supervisorPID: Int32?

        func runIsOver() -> Bool {
            if !Sys.exists(stateDirectory) { return true }
            if let pid = supervisorPID, !Sys.processExists(pid) { return true }
            if let uid, let text = try? Sys.readString(stateDirectory + "/record"), let record = try? PodRecord.decode(text), record.uid != uid {
                return true  // recreated: another pod under the same name
            }
            guard let text = try? Sys.readString(stateDirectory + "/status"), let status = try? PodStatus.decode(text) else { return false }
            guard let c = status.container(container) else { return true }  // removed from the plan
            if c.restartCount != restart { return true }
            // restartCount becomes `restart` when that run starts: for a later run, not running
            // means over; run 0 is over once it ended once (before its start it has no end).
            return c.state != .running && (restart > 0 || c.termination != nil || c.lastTermination != nil)
        }
    }

    /// One run's log files: `<restart>.log.<stamp>` (rotated, oldest first by name, as the
    /// stamps are fixed-width UTC) and then `<restart>.log`, the one being written.
    struct LogFiles {
        let directory: String
        let restart: Int
        var current: String { "\(directory)/\(restart).log" }
        var parser = CRIParser()
        /// Rotated files read (or followed through the current file before it was renamed).
        var seen: Set<String> = []
        /// The current file as opened, and its inode: a rotation gives the path a new one.
        var fd: Int32 = -1
        var inode: UInt64 = 0

        init(directory: String, restart: Int) {
            self.directory = directory
            self.restart = restart
        }

        func rotatedNames() throws(KernelError) -> [String] {
            let prefix = "\(restart).log."
            do { return try Sys.listDirectory(directory).filter { $0.hasPrefix(prefix) }.sorted() } catch {
                if error.errno == .noSuchFileOrDirectory || error.errno == .notDirectory { return [] }
                throw error
            }
        }

        /// The rotated files not read yet, in order, but for the one that is the file `skip`
        /// (the current file as it was followed, since renamed).
        mutating func readRotated(into printer: LogPrinter, skip: UInt64?) throws(KernelError) {
            for name in try rotatedNames() where !seen.contains(name) {
                seen.insert(name)
                let path = directory + "/" + name
                let opened: Int32
                do { opened = try Sys.open(path, O_RDONLY) } catch {
                    if error.errno == .noSuchFileOrDirectory { continue }  // deleted as the oldest beyond five
                    throw error
                }
                defer { Sys.close(opened) }
                if let skip, (try? Sys.fstat(opened, describedAs: path).inode) == skip { continue }
                parser.feed(try Sys.readAll(opened, path: path), into: printer)
                parser.endOfFile(into: printer)
            }
        }

        /// Opens the current file if it is there; rotated files that appeared first are read.
        mutating func openCurrent(into printer: LogPrinter) throws(KernelError) -> Bool {
            do { fd = try Sys.open(current, O_RDONLY) } catch {
                if error.errno == .noSuchFileOrDirectory || error.errno == .notDirectory { return false }
                throw error
            }
            inode = try Sys.fstat(fd, describedAs: current).inode
            // Rotations between the listing and the open: older than the file now open.
            try readRotated(into: printer, skip: inode)
            return true
        }

        /// Everything written so far.
        mutating func readExisting(into printer: LogPrinter) throws(KernelError) {
            try readRotated(into: printer, skip: nil)
            if try openCurrent(into: printer) { parser.feed(try Sys.readAll(fd, path: current), into: printer) }
        }

        /// Reads what is appended, every 100 ms, through rotations, until `over` says the run
        /// ended; then reads until two polls bring nothing (the supervisor may still drain the
        /// pipes of a process that exited).
        mutating func follow(into printer: LogPrinter, until over: () -> Bool) throws(KernelError) {
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
        mutating func finish(into printer: LogPrinter) {
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
    struct CRIParser {
        /// Bytes after the last `\n` read: a record still being written.
        var carry: [UInt8] = []
        /// Per stream, a line in parts: the first part's stamp and the content so far.
        var partial: [(stream: [UInt8], stamp: [UInt8], content: [UInt8])] = []

        static let newline: UInt8 = 0x0A
        static let space: UInt8 = 0x20
        static let partialTag: UInt8 = 0x50  // P

        mutating func feed(_ bytes: [UInt8], into printer: LogPrinter) {
            guard !bytes.isEmpty else { return }
            let data = carry.isEmpty ? bytes : carry + bytes
            carry = []
            let used = data.withUnsafeBytes { buf in
                var start = 0
                while start < buf.count, let found = memchr(buf.baseAddress! + start, Int32(Self.newline), buf.count - start) {
                    let end = buf.baseAddress!.distance(to: UnsafeRawPointer(found))
                    record(UnsafeRawBufferPointer(rebasing: buf[start..<end]), into: printer)
                    start = end + 1
                }
                return start
            }
            if used < data.count { carry = Array(data[used...]) }
        }

        /// A file that will not grow: an unterminated last record is a record.
        mutating func endOfFile(into printer: LogPrinter) {
            guard !carry.isEmpty else { return }
            let last = carry
            carry = []
            last.withUnsafeBytes { record($0, into: printer) }
        }

        mutating func finish(into printer: LogPrinter) {
            endOfFile(into: printer)
            for p in partial { printer.line(stamp: p.stamp, content: p.content) }
            partial = []
        }

        static func index(of byte: UInt8, in line: UnsafeRawBufferPointer, from start: Int) -> Int? {
            var i = start
            while i < line.count {
                if line[i] == byte { return i }
                i += 1
            }
            return nil
        }

        mutating func record(_ line: UnsafeRawBufferPointer, into printer: LogPrinter) {
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
    final class LogPrinter {
        let timestamps: Bool
        private var out: [UInt8] = []
        /// While the lines at the start are read with --tail: the last `limit` of them.
        private var ring: [[UInt8]]?
        private var next = 0
        private let limit: Int
        /// A write that failed while lines were added; `flush` reports it.
        private var failure: KernelError?

        init(timestamps: Bool, tail: Int) {
            self.timestamps = timestamps
            limit = tail
            ring = tail >= 0 ? [] : nil
        }

        func line(stamp: [UInt8], content: [UInt8]) {
            stamp.withUnsafeBytes { s in content.withUnsafeBytes { c in line(stamp: s, content: c) } }
        }

        func line(stamp: UnsafeRawBufferPointer, content: UnsafeRawBufferPointer) {
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
        func endTail() {
            guard let r = ring else { return }
            for i in 0..<r.count { out.append(contentsOf: r[(next + i) % r.count]) }
            ring = nil
        }

        func flush() throws(KernelError) {
            if let failure { throw failure }
            guard !out.isEmpty else { return }
            defer { out.removeAll(keepingCapacity: out.capacity <= 1 << 20) }
            try Sys.writeAll(1, out, path: "stdout")
        }
    }
}
