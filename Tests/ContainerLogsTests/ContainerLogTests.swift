import Kernel
import PodModel
@testable import ContainerLogs
import Testing

/// A directory under /tmp for one test, removed with everything in it.
private final class LogTempDir {
    let path: String

    init(_ label: String) throws {
        path = "/tmp/podrec-containerlog-\(Sys.pid)-\(label)"
        Self.remove(path)  // left by a crashed run of the same pid
        try Sys.mkdirs(path)
    }

    deinit { Self.remove(path) }

    static func remove(_ path: String) {
        guard let st = try? Sys.stat(path, followSymlinks: false) else { return }
        if st.isDirectory {
            for name in (try? Sys.listDirectory(path)) ?? [] { remove("\(path)/\(name)") }
            try? Sys.rmdir(path)
        } else {
            try? Sys.unlink(path)
        }
    }
}

/// One parsed CRI record.
private struct Record: Equatable, CustomStringConvertible {
    var time: String
    var stream: String
    var tag: String
    var content: [UInt8]

    var description: String { "\(time) \(stream) \(tag) \(content.count) bytes" }
}

private func text(_ path: String) throws -> String { try Sys.readString(path) }

/// Parses a log file strictly: every line must be a whole, well-formed record.
private func records(_ path: String) throws -> [Record] {
    let bytes = try Sys.readFile(path)
    if bytes.isEmpty { return [] }
    #expect(bytes.last == 0x0A, "\(path) ends inside a record")
    var out: [Record] = []
    for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast() {
        let fields = line.split(separator: 0x20, maxSplits: 3, omittingEmptySubsequences: false)
        #expect(fields.count == 4, "malformed record in \(path)")
        guard fields.count == 4 else { continue }
        out.append(Record(time: String(decoding: fields[0], as: UTF8.self), stream: String(decoding: fields[1], as: UTF8.self),
                          tag: String(decoding: fields[2], as: UTF8.self), content: Array(fields[3])))
    }
    return out
}

/// The output the records stand for: `P` contents joined, `F` ending a line with `\n`.
private func reassembled(_ rs: [Record]) -> [UInt8] {
    var out: [UInt8] = []
    for r in rs {
        out += r.content
        if r.tag == "F" { out.append(0x0A) }
    }
    return out
}

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// 2026-11-29T08:30:00.123456789Z
private let t0 = WallTime(1_795_941_000_123_456_789)
private let ts0 = "2026-11-29T08:30:00.123456789Z"

@Suite struct ContainerLogTests {
    @Test func fullLines() throws {
        let d = try LogTempDir("full")
        let log = try ContainerLog(directory: "\(d.path)/c", restart: 0)
        try log.append(.stdout, bytes("hello\nworld  two spaces\n"), now: t0)
        log.close()
        #expect(log.path == "\(d.path)/c/0.log")
        #expect(try text(log.path) == "\(ts0) stdout F hello\n\(ts0) stdout F world  two spaces\n")
    }

    @Test func lineSplitOverChunks() throws {
        let d = try LogTempDir("chunks")
        let log = try ContainerLog(directory: d.path, restart: 0)
        try log.append(.stdout, bytes("hel"), now: t0)
        try log.append(.stdout, bytes("lo wo"), now: t0)
        // Nothing is written before the line ends.
        #expect(try text(log.path) == "")
        #expect(log.hasPending(.stdout))
        try log.append(.stdout, bytes("rld\nnext"), now: t0)
        try log.append(.stdout, bytes("\n"), now: t0)
        #expect(!log.hasPending(.stdout))
        #expect(try text(log.path) == "\(ts0) stdout F hello world\n\(ts0) stdout F next\n")
    }

    @Test func streamsHaveSeparateBuffers() throws {
        let d = try LogTempDir("streams")
        let log = try ContainerLog(directory: d.path, restart: 0)
        try log.append(.stdout, bytes("out-"), now: t0)
        try log.append(.stderr, bytes("err-"), now: t0)
        try log.append(.stdout, bytes("a\nout2-"), now: t0)
        try log.append(.stderr, bytes("b\n"), now: t0)
        try log.append(.stdout, bytes("c\n"), now: t0)
        #expect(try text(log.path) == """
            \(ts0) stdout F out-a
            \(ts0) stderr F err-b
            \(ts0) stdout F out2-c

            """)
    }

    /// containerd drops `\r` only right before `\n`, including when the two arrive in
    /// different reads; a `\r` anywhere else is content.
    @Test func carriageReturns() throws {
        let d = try LogTempDir("crlf")
        let log = try ContainerLog(directory: d.path, restart: 0)
        try log.append(.stdout, bytes("a\r\n"), now: t0)
        try log.append(.stdout, bytes("b\r"), now: t0)
        try log.append(.stdout, bytes("\n"), now: t0)
        try log.append(.stdout, bytes("c\rd\n\r\r\n\r\n"), now: t0)
        try log.append(.stdout, bytes("e\r"), now: t0)
        try log.append(.stdout, bytes("f\n"), now: t0)
        try log.append(.stdout, bytes("g\r"), now: t0)
        try log.finish(.stdout, now: t0)
        let rs = try records(log.path)
        #expect(rs.map(\.tag) == ["F", "F", "F", "F", "F", "F", "P"])
        #expect(rs.map { String(decoding: $0.content, as: UTF8.self) } == ["a", "b", "c\rd", "\r", "", "e\rf", "g\r"])
    }

    /// containerd's default 16 KiB limit: a line of exactly the limit is one `F` record;
    /// longer ones are 16 KiB `P` parts and a last `F`, whatever the chunking.
    @Test(arguments: [
        (16384, [16384], ["F"]),
        (16385, [16384, 1], ["P", "F"]),
        (32768, [16384, 16384], ["P", "F"]),
        (40000, [16384, 16384, 7232], ["P", "P", "F"]),
    ])
    func longLines(length: Int, parts: [Int], tags: [String]) throws {
        let line = (0..<length).map { UInt8(0x21 + $0 % 90) }  // printable, no space or newline
        for chunk in [length + 1, 4096, 1000, 16384, 16385, 7] {
            let d = try LogTempDir("long-\(length)-\(chunk)")
            let log = try ContainerLog(directory: d.path, restart: 0)
            let input = line + [0x0A]
            var i = 0
            while i < input.count {
                try log.append(.stderr, Array(input[i..<min(i + chunk, input.count)]), now: t0)
                i += chunk
            }
            let rs = try records(log.path)
            #expect(rs.map(\.content.count) == parts, "chunk \(chunk)")
            #expect(rs.map(\.tag) == tags, "chunk \(chunk)")
            #expect(rs.allSatisfy { $0.stream == "stderr" && $0.time == ts0 })
            let same = reassembled(rs) == input  // a Bool, so a failure prints no bytes
            #expect(same, "chunk \(chunk)")
        }
    }

    /// The `\r` that follows 16384 bytes may be the first half of CRLF: it must not force
    /// a `P` record before the `\n` settles it.
    @Test func crlfAtTheLineLimit() throws {
        let d = try LogTempDir("crlf-limit")
        let log = try ContainerLog(directory: d.path, restart: 0)
        let line = [UInt8](repeating: 0x78, count: 16384)
        try log.append(.stdout, line + [0x0D], now: t0)
        try log.append(.stdout, [0x0A], now: t0)
        // And when it is not followed by `\n`, it is the 16385th content byte.
        try log.append(.stdout, line + [0x0D], now: t0)
        try log.append(.stdout, [0x79, 0x0A], now: t0)
        let rs = try records(log.path)
        #expect(rs.map(\.tag) == ["F", "P", "F"])
        // Compared as a Bool: a failure would otherwise print 32 KiB of bytes.
        let contentsMatch = rs.map(\.content) == [line, line, [0x0D, 0x79]]
        #expect(contentsMatch, "content sizes \(rs.map(\.content.count))")
    }

    @Test func emptyLines() throws {
        let d = try LogTempDir("empty")
        let log = try ContainerLog(directory: d.path, restart: 0)
        try log.append(.stdout, bytes("\n\nx\n"), now: t0)
        try log.append(.stdout, bytes(""), now: t0)
        #expect(try text(log.path) == "\(ts0) stdout F \n\(ts0) stdout F \n\(ts0) stdout F x\n")
    }

    /// containerd writes an unterminated last line as `P`, so joining the records gives
    /// back the output without a `\n` it never had.
    @Test func finishWritesThePendingPart() throws {
        let d = try LogTempDir("finish")
        let log = try ContainerLog(directory: d.path, restart: 0, maxLine: 4)
        try log.finish(.stdout, now: t0)  // nothing pending: nothing written
        try log.append(.stdout, bytes("ok\ntail"), now: t0)
        try log.append(.stderr, bytes("abcdefghij"), now: t0)
        #expect(try text(log.path) == "\(ts0) stdout F ok\n\(ts0) stderr P abcd\n\(ts0) stderr P efgh\n")
        try log.finish(.stdout, now: t0)
        try log.finish(.stderr, now: t0)
        #expect(!log.hasPending(.stdout) && !log.hasPending(.stderr))
        try log.finish(.stdout, now: t0)
        #expect(try text(log.path) == """
            \(ts0) stdout F ok
            \(ts0) stderr P abcd
            \(ts0) stderr P efgh
            \(ts0) stdout P tail
            \(ts0) stderr P ij

            """)
    }

    /// Any chunking of the same output gives the same records (chunk sizes from a fixed
    /// pseudo-random sequence), and the records give back the output byte for byte.
    @Test func chunkingDoesNotMatter() throws {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        var input: [UInt8] = []
        for _ in 0..<300 {
            let length = next(5) == 0 ? next(40000) : next(200)
            input += (0..<length).map { _ in UInt8(0x20 + next(95)) }  // no \r, no \n
            input.append(0x0A)
        }
        var expected: [Record]?
        for round in 0..<4 {
            let d = try LogTempDir("chunking-\(round)")
            let log = try ContainerLog(directory: d.path, restart: 0)
            var i = 0
            while i < input.count {
                let n = round == 0 ? input.count : 1 + next(round == 1 ? 10 : 70000)
                try log.append(.stdout, Array(input[i..<min(i + n, input.count)]), now: t0)
                i += n
            }
            let rs = try records(log.path)
            let same = reassembled(rs) == input  // a Bool, so a failure prints no bytes
            #expect(same, "round \(round)")
            #expect(rs.allSatisfy { $0.content.count <= 16384 && ($0.tag == "F" || $0.content.count == 16384) })
            if let expected {
                let sameRecords = rs == expected
                #expect(sameRecords, "round \(round): \(rs.count) records, \(expected.count) expected")
            } else {
                expected = rs
            }
        }
    }

    @Test func timestampsAreRFC3339NanoOfNow() throws {
        let d = try LogTempDir("time")
        let log = try ContainerLog(directory: d.path, restart: 0)
        try log.append(.stdout, bytes("one\ntw"), now: WallTime(1_795_941_000_000_000_000))
        try log.append(.stdout, bytes("o\n"), now: WallTime(1_795_941_001_000_000_007))
        try log.append(.stderr, bytes("three\n"), now: WallTime(0))
        #expect(try text(log.path) == """
            2026-11-29T08:30:00.000000000Z stdout F one
            2026-11-29T08:30:01.000000007Z stdout F two
            1970-01-01T00:00:00.000000000Z stderr F three

            """)
        #expect(ContainerLog.rotationStamp(t0) == "20261129-083000.123456789")
        #expect(ContainerLog.rotationStamp(WallTime(5)) == "19700101-000000.000000005")
    }

    @Test func fileModesAndReopening() throws {
        let d = try LogTempDir("modes")
        let dir = "\(d.path)/pods/ns_web_uid/main"
        var log: ContainerLog? = try ContainerLog(directory: dir, restart: 2)
        try log!.append(.stdout, bytes("first\n"), now: t0)
        log = nil  // deinit closes
        #expect(try Sys.stat(dir).permissions == 0o700)
        #expect(try Sys.stat("\(d.path)/pods").permissions == 0o700)
        #expect(try Sys.stat("\(dir)/2.log").permissions == 0o600)
        // A supervisor that reopens the same restart appends.
        let again = try ContainerLog(directory: dir, restart: 2)
        try again.append(.stdout, bytes("second\n"), now: t0)
        #expect(try text(again.path) == "\(ts0) stdout F first\n\(ts0) stdout F second\n")
        #expect(try Sys.listDirectory(dir) == ["2.log"])
    }

    /// Small files, three kept: the files hold whole records, none exceeds maxBytes, and
    /// together they are the newest lines in order, the very last in the current file.
    @Test func rotationKeepsTheNewestFiles() throws {
        let d = try LogTempDir("rotate")
        let record = ts0.utf8.count + " stdout F ".utf8.count + 8 + 1  // 8-byte lines
        let maxBytes = 3 * record + 10  // three records per file
        let log = try ContainerLog(directory: d.path, restart: 0, maxBytes: maxBytes, maxFiles: 3)
        let lines = (0..<40).map { "line\(1000 + $0)" }
        // One chunk of many lines (several rotations in one call, one `now`), then one by one.
        try log.append(.stdout, bytes(lines[0..<20].map { "\($0)\n" }.joined()), now: t0)
        for (i, l) in lines[20...].enumerated() {
            try log.append(.stdout, bytes("\(l)\n"), now: WallTime(t0.nanoseconds + Int64(i / 5)))
        }
        // 13 rotations, the first 6 in one call at t0: each takes the next nanosecond, so
        // the names are unique and in rotation order. The last two are kept.
        let names = try Sys.listDirectory(d.path)
        #expect(names == ["0.log", "0.log.20261129-083000.123456800", "0.log.20261129-083000.123456801"])
        let rotatedNames = Array(names.dropFirst())
        var all: [Record] = []
        for name in rotatedNames + ["0.log"] {
            let path = "\(d.path)/\(name)"
            #expect(try Sys.stat(path).size <= Int64(maxBytes))
            #expect(try Sys.stat(path).permissions == 0o600)
            let rs = try records(path)
            #expect(rs.count == 3 || name == "0.log")
            all += rs
        }
        let contents = all.map { String(decoding: $0.content, as: UTF8.self) }
        #expect(all.allSatisfy { $0.tag == "F" && $0.stream == "stdout" })
        #expect(contents == Array(lines.suffix(contents.count)))
        #expect(contents.last == "line1039")
        #expect(contents.count == 7)  // 2 full rotated files and the 40th line alone (40 = 13 * 3 + 1)
    }

    /// A record longer than maxBytes still goes whole into one file, alone.
    @Test func rotationNeverSplitsARecord() throws {
        let d = try LogTempDir("rotate-big")
        let log = try ContainerLog(directory: d.path, restart: 4, maxBytes: 100, maxFiles: 2)
        let big = String(repeating: "b", count: 300)
        try log.append(.stderr, bytes("a\n\(big)\nc\n"), now: t0)
        let names = try Sys.listDirectory(d.path)
        #expect(names.count == 2)
        let rotatedFile = try records("\(d.path)/\(names[1])")
        #expect(rotatedFile.map { String(decoding: $0.content, as: UTF8.self) } == [big])
        #expect(try text(log.path) == "\(ts0) stderr F c\n")
    }

    /// maxFiles counts this restart's files only; the previous restart's log stays for
    /// `kubectl logs --previous`, and removeOldRestarts deletes the ones before it.
    @Test func restartsAndTheirClean() throws {
        let d = try LogTempDir("restarts")
        for restart in 0..<4 {
            let log = try ContainerLog(directory: d.path, restart: restart, maxBytes: 60, maxFiles: 2)
            try log.append(.stdout, bytes("r\(restart) a\nr\(restart) b\nr\(restart) c\n"), now: t0)
        }
        var names = try Sys.listDirectory(d.path)
        #expect(names.filter { $0.hasPrefix("0.log") }.count == 2)
        #expect(names.filter { $0.hasPrefix("3.log") }.count == 2)
        #expect(try text(d.path + "/3.log") == "\(ts0) stdout F r3 c\n")
        try Sys.writeFileAtomically(d.path + "/notes.txt", [])
        try Sys.writeFileAtomically(d.path + "/x.log", [])
        let removed = try ContainerLog.removeOldRestarts(directory: d.path, current: 3)
        #expect(removed.count == 4 && removed.allSatisfy { $0.hasPrefix("0.log") || $0.hasPrefix("1.log") })
        names = try Sys.listDirectory(d.path)
        #expect(names.filter { $0.hasPrefix("2.log") }.count == 2)
        #expect(names.filter { $0.hasPrefix("3.log") }.count == 2)
        #expect(names.count == 6)
        #expect(try ContainerLog.removeOldRestarts(directory: d.path, current: 3) == [])
        #expect(try ContainerLog.removeOldRestarts(directory: d.path + "/missing", current: 9) == [])
        #expect(ContainerLog.restartNumber("12.log") == 12)
        #expect(ContainerLog.restartNumber("12.log.20261129-083000.123456789") == 12)
        #expect(ContainerLog.restartNumber("12.logs") == nil)
        #expect(ContainerLog.restartNumber("x.log") == nil)
        #expect(ContainerLog.restartNumber(".log") == nil)
    }
}
