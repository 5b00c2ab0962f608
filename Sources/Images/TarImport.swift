import Glibc
import Kernel

/// Reads an uncompressed tar stream, as `podman export` and `tar -c` write it, into a
/// `RootfsWriter`, one entry at a time and never holding a whole file in memory.
///
/// Formats: v7, ustar (the `prefix` field), GNU (`././@LongLink` entries of type `L` and
/// `K`, base-256 numbers) and pax (`x` headers: `path`, `linkpath`, `size`, `uid`, `gid`,
/// `mtime`; `g` global headers are read and ignored, as the only ones seen in practice are
/// `git archive`'s comment). Every header's checksum is checked.
///
/// Refused, naming the entry: a `..` component, a symlink escaping the rootfs, a hard
/// link to anything but a regular file extracted before it, character and block devices
/// (types 3, 4), FIFOs (6), GNU sparse and multi-volume entries, and unknown types.
/// Leading `/` and `./` are dropped, as tar does. A compressed input is refused here with
/// "decompress it first": callers put a `GzipReader` or `ZstdReader` in front when the
/// media type or the first bytes say so.
///
/// Extended attributes come from pax `SCHILY.xattr.NAME` records (as GNU tar, Docker and
/// containerd write them); `trusted.*` ones are dropped (they would let a layer forge
/// overlayfs's own attributes). In `layer` mode the image-spec whiteouts apply (see
/// `RootfsWriter.whiteout`): `.wh.NAME` becomes an overlayfs whiteout for NAME, and
/// `.wh..wh..opq` marks its directory opaque; neither is extracted as a file.
struct TarImport {
    let input: ByteReader
    let sourceName: String
    /// Image-spec layer rules: whiteouts as overlayfs expects them.
    let layer: Bool
    private let buffer = IOBuffer()
    private var start = 0
    private var end = 0
    /// Bytes consumed so far: the offset of the next header, for messages.
    private var offset: Int64 = 0

    /// The most a long-name or pax header may hold.
    static let maxMetadataBytes = 1 << 20

    init(fd: Int32, sourceName: String) {
        self.init(input: FileReader(fd: fd, name: sourceName), sourceName: sourceName, layer: false)
    }

    init(input: ByteReader, sourceName: String, layer: Bool) {
        self.input = input
        self.sourceName = sourceName
        self.layer = layer
    }

    private func bad(_ reason: String) -> ImageError {
        .badArchive(source: sourceName, reason: reason)
    }

    // MARK: Reading

    /// Refills the buffer; false at EOF.
    private mutating func fill() throws(ImageError) -> Bool {
        if start < end { return true }
        let n = try input.read(into: buffer.bytes)
        start = 0
        end = n
        return n > 0
    }

    /// Up to `count` bytes, fewer only at EOF.
    private mutating func read(upTo count: Int) throws(ImageError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        while out.count < count, try fill() {
            let n = min(count - out.count, end - start)
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer.bytes[start..<start + n]))
            start += n
            offset += Int64(n)
        }
        return out
    }

    /// Exactly `count` bytes, handed to `body` in chunks.
    private mutating func stream(_ count: Int64, entry: String, _ body: (UnsafeRawBufferPointer) throws(ImageError) -> Void) throws(ImageError) {
        var left = count
        while left > 0 {
            guard try fill() else { throw bad("truncated: entry \"\(entry)\" ends after \(count - left) of its \(count) bytes") }
            let n = Int(min(left, Int64(end - start)))
            try body(UnsafeRawBufferPointer(rebasing: buffer.bytes[start..<start + n]))
            start += n
            offset += Int64(n)
            left -= Int64(n)
        }
    }

    /// Skips an entry's data and the padding to the next 512-byte block.
    private mutating func skipData(_ size: Int64, entry: String) throws(ImageError) {
        try skipBytes(Self.padded(size), entry: entry)
    }

    private mutating func skipBytes(_ count: Int64, entry: String) throws(ImageError) {
        try stream(count, entry: entry) { (_: UnsafeRawBufferPointer) throws(ImageError) in }
    }

    private mutating func readData(_ size: Int64, entry: String, what: String) throws(ImageError) -> [UInt8] {
        guard size <= Int64(Self.maxMetadataBytes) else {
            throw bad("\(what) for \"\(entry)\" is \(size) bytes, over the limit of \(Self.maxMetadataBytes)")
        }
        var out: [UInt8] = []
        try stream(size, entry: entry) { (chunk: UnsafeRawBufferPointer) throws(ImageError) in out.append(contentsOf: chunk) }
        try skipBytes(Self.padded(size) - size, entry: entry)
        return out
    }

    static func padded(_ size: Int64) -> Int64 { (size + 511) / 512 * 512 }

    // MARK: The archive

    mutating func run<Sink: TarSink>(into writer: inout Sink) throws(ImageError) {
        var longName: String?
        var longLink: String?
        var pax: [String: String] = [:]
        var xattrs: [Xattr] = []
        var first = true
        while true {
            let headerOffset = offset
            let block = try read(upTo: 512)
            if first {
                if let compression = Self.compression(block) {
                    throw bad("\(compression)-compressed; decompress it first (podrec reads uncompressed tar only)")
                }
                if block.isEmpty { throw bad("empty file; not a tar archive") }
            }
            first = false
            // EOF without the two zero blocks: GNU tar accepts it with a warning; so do we.
            if block.isEmpty { break }
            guard block.count == 512 else { throw bad("truncated: \(block.count) bytes of a header at offset \(headerOffset)") }
            if block.allSatisfy({ $0 == 0 }) { break }
            let header = try Header(block, offset: headerOffset, source: sourceName)

            switch header.type {
            case UInt8(ascii: "L"):
                longName = Self.cString(try readData(header.size, entry: header.name, what: "a GNU long name"))
                continue
            case UInt8(ascii: "K"):
                longLink = Self.cString(try readData(header.size, entry: header.name, what: "a GNU long link name"))
                continue
            case UInt8(ascii: "x"):
                let records = try parsePax(try readData(header.size, entry: header.name, what: "a pax header"), entry: header.name)
                for (key, value) in records {
                    if key.hasPrefix("SCHILY.xattr.") {
                        let name = String(key.dropFirst("SCHILY.xattr.".count))
                        if !name.hasPrefix("trusted.") { xattrs.append(Xattr(name: name, value: value)) }
                    } else {
                        pax[key] = String(decoding: value, as: UTF8.self)
                    }
                }
                continue
            case UInt8(ascii: "g"):
                _ = try parsePax(try readData(header.size, entry: header.name, what: "a pax global header"), entry: header.name)
                continue
            default:
                break
            }

            // The entry itself, with its long name and pax overrides.
            let name = pax["path"] ?? longName ?? header.name
            let linkName = pax["linkpath"] ?? longLink ?? header.linkName
            var size = header.size
            var attributes = EntryAttributes(mode: header.mode, uid: header.uid, gid: header.gid, mtime: timespec(tv_sec: Int(header.mtime), tv_nsec: 0), xattrs: xattrs)
            if let s = pax["size"] {
                guard let v = Int64(s), v >= 0 else { throw bad("entry \"\(name)\": bad pax size \"\(s)\"") }
                size = v
            }
            if header.size == 0 && [UInt8(ascii: "1"), UInt8(ascii: "2"), UInt8(ascii: "5")].contains(header.type) { size = 0 }
            if let s = pax["uid"] {
                guard let v = UInt32(s) else { throw bad("entry \"\(name)\": bad pax uid \"\(s)\"") }
                attributes.uid = v
            }
            if let s = pax["gid"] {
                guard let v = UInt32(s) else { throw bad("entry \"\(name)\": bad pax gid \"\(s)\"") }
                attributes.gid = v
            }
            if let s = pax["mtime"], let t = Self.paxTime(s) { attributes.mtime = t }
            longName = nil
            longLink = nil
            pax = [:]
            xattrs = []

            try extract(header.type, name: name, linkName: linkName, size: size, attributes: attributes, into: &writer)
        }
    }

    private mutating func extract(_ type: UInt8, name: String, linkName: String, size: Int64, attributes: EntryAttributes,
                                  into writer: inout some TarSink) throws(ImageError) {
        func refuse(_ reason: String) -> ImageError { .refusedEntry(source: sourceName, entry: name, reason: reason) }
        let path = try EntryPath(name, source: sourceName)
        if layer && path.name.hasPrefix(".wh.") {
            // Whiteouts are markers, never files: their own type and data do not matter.
            if path.name == ".wh..wh..opq" {
                try writer.opaque(path.parent, entry: name)
            } else {
                let hidden = String(path.name.dropFirst(4))
                guard !hidden.isEmpty, hidden != ".", hidden != ".." else { throw refuse("a whiteout that names no file") }
                try writer.whiteout(path.parent.appending(hidden), entry: name)
            }
            try skipData(size, entry: name)
            return
        }
        switch type {
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
            // v7 archives mark directories by a trailing '/' on a regular entry.
            if name.hasSuffix("/") && type == 0 {
                try writer.directory(path, attributes, entry: name)
                try skipData(size, entry: name)
                return
            }
            let outPath = writer.rootPath + "/" + path.description
            try writer.file(path, attributes, size: size, entry: name) { (out: Int32) throws(ImageError) in
                try stream(size, entry: name) { (chunk: UnsafeRawBufferPointer) throws(ImageError) in
                    try sys { () throws(KernelError) in try Sys.writeAll(out, chunk, describedAs: outPath) }
                }
            }
            try skipBytes(Self.padded(size) - size, entry: name)
        case UInt8(ascii: "1"):
            let target: EntryPath
            do throws(ImageError) { target = try EntryPath(linkName, source: sourceName) } catch {
                throw refuse("a hard link to \"\(linkName)\", whose path has a '..' component")
            }
            try writer.hardLink(path, to: target, entry: name, targetName: linkName)
            try skipData(size, entry: name)
        case UInt8(ascii: "2"):
            try writer.symlink(path, target: linkName, attributes, entry: name)
            try skipData(size, entry: name)
        case UInt8(ascii: "5"), UInt8(ascii: "D"):
            // D: a GNU dumpdir, a directory with a listing of its names as data.
            try writer.directory(path, attributes, entry: name)
            try skipData(size, entry: name)
        case UInt8(ascii: "3"):
            throw refuse("a character device node (tar type 3); images may not hold device nodes (the runtime provides /dev)")
        case UInt8(ascii: "4"):
            throw refuse("a block device node (tar type 4); images may not hold device nodes (the runtime provides /dev)")
        case UInt8(ascii: "6"):
            throw refuse("a FIFO (tar type 6); images may not hold FIFOs")
        case UInt8(ascii: "V"):
            try skipData(size, entry: name)  // a GNU volume label: no file
        case UInt8(ascii: "S"):
            throw refuse("a GNU sparse file (tar type S), which podrec does not read; re-create the tar without --sparse")
        default:
            let shown = type >= 0x20 && type < 0x7f ? "'\(Character(Unicode.Scalar(type)))'" : "0x\(String(type, radix: 16))"
            throw refuse("an unsupported tar entry type \(shown)")
        }
    }

    // MARK: Parts

    /// The compression a stream starts with, or nil.
    static func compression(_ head: [UInt8]) -> String? {
        func starts(_ magic: [UInt8]) -> Bool { head.count >= magic.count && Array(head[0..<magic.count]) == magic }
        if starts([0x1f, 0x8b]) { return "gzip" }
        if starts([0x42, 0x5a, 0x68]) { return "bzip2" }
        if starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) { return "xz" }
        if starts([0x28, 0xb5, 0x2f, 0xfd]) { return "zstd" }
        return nil
    }

    static func cString(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// pax records: `LENGTH KEY=VALUE\n`, LENGTH counting the whole record.
    private func parsePax(_ data: [UInt8], entry: String) throws(ImageError) -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        var i = 0
        while i < data.count {
            if data[i] == 0 { break }  // padding some writers leave
            var length = 0
            var j = i
            while j < data.count, data[j] >= UInt8(ascii: "0"), data[j] <= UInt8(ascii: "9"), length < 1 << 24 {
                length = length * 10 + Int(data[j] - UInt8(ascii: "0"))
                j += 1
            }
            guard j < data.count, data[j] == UInt8(ascii: " "), length > j - i, i + length <= data.count,
                  data[i + length - 1] == UInt8(ascii: "\n") else {
                throw bad("a malformed pax header record at byte \(i) of the pax header for \"\(entry)\"")
            }
            let record = data[(j + 1)..<(i + length - 1)]
            guard let eq = record.firstIndex(of: UInt8(ascii: "=")) else {
                throw bad("a pax header record without '=' for \"\(entry)\"")
            }
            // Values stay bytes: an xattr's (security.capability) is binary.
            out.append((String(decoding: record[record.startIndex..<eq], as: UTF8.self), Array(record[(eq + 1)...])))
            i += length
        }
        return out
    }

    /// A pax time: seconds, optionally with a fraction.
    static func paxTime(_ s: String) -> timespec? {
        let parts = s.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let seconds = Int(parts[0]) else { return nil }
        var nanos = 0
        if parts.count == 2, seconds >= 0 {
            let digits = parts[1].prefix(9)
            guard let f = Int(digits) else { return nil }
            nanos = f * Int([1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000][9 - digits.count])
        }
        return timespec(tv_sec: seconds, tv_nsec: nanos)
    }
}

/// One 512-byte tar header.
struct Header {
    var name: String
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var size: Int64
    var mtime: Int64
    var type: UInt8
    var linkName: String

    init(_ b: [UInt8], offset: Int64, source: String) throws(ImageError) {
        func bad(_ reason: String) -> ImageError { .badArchive(source: source, reason: reason) }
        let stored = Header.number(b[148..<156])
        var unsigned = 0
        var signed = 0
        for (i, byte) in b.enumerated() {
            let v = (148..<156).contains(i) ? 0x20 : byte
            unsigned += Int(v)
            signed += Int(Int8(bitPattern: v))
        }
        let shownName = TarImport.cString(Array(b[0..<100]))
        guard let stored, stored == Int64(unsigned) || stored == Int64(signed) else {
            throw bad("bad header checksum at offset \(offset) (entry \"\(shownName)\": stored \(stored.map { String($0, radix: 8) } ?? "unreadable"), computed \(String(unsigned, radix: 8))); not a tar file, or a damaged one")
        }
        func field(_ r: Range<Int>, _ what: String) throws(ImageError) -> Int64 {
            guard let v = Header.number(b[r]), v >= 0 else { throw bad("entry \"\(shownName)\": unreadable \(what) field") }
            return v
        }
        type = b[156]
        mode = UInt32(truncatingIfNeeded: try field(100..<108, "mode"))
        uid = UInt32(truncatingIfNeeded: try field(108..<116, "uid"))
        gid = UInt32(truncatingIfNeeded: try field(116..<124, "gid"))
        size = try field(124..<136, "size")
        mtime = Header.number(b[136..<148]) ?? 0
        linkName = TarImport.cString(Array(b[157..<257]))
        // POSIX ustar ("ustar\0" "00") splits long names into prefix/name; GNU's magic
        // ("ustar  \0") uses that area for other things.
        let posix = Array(b[257..<263]) == Array("ustar\0".utf8)
        let prefix = posix ? TarImport.cString(Array(b[345..<500])) : ""
        name = prefix.isEmpty ? shownName : prefix + "/" + shownName
        // Hard links, symlinks and directories have no data, whatever the size field says
        // (some writers put the target's size there).
        if type == UInt8(ascii: "1") || type == UInt8(ascii: "2") || type == UInt8(ascii: "5") { size = 0 }
    }

    /// An octal field (NUL- or space-terminated, leading spaces allowed), or GNU's
    /// base-256 (first byte's high bit set; 0xff starts a negative number).
    static func number(_ field: ArraySlice<UInt8>) -> Int64? {
        guard let first = field.first else { return nil }
        if first & 0x80 != 0 {
            if first == 0xff { return -1 }
            var v = Int64(first & 0x7f)
            for byte in field.dropFirst() {
                guard v < Int64.max >> 8 else { return nil }
                v = v << 8 | Int64(byte)
            }
            return v
        }
        var v: Int64 = 0
        for byte in field.drop(while: { $0 == UInt8(ascii: " ") }) {
            if byte == 0 || byte == UInt8(ascii: " ") { break }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "7"), v < Int64.max >> 3 else { return nil }
            v = v << 3 | Int64(byte - UInt8(ascii: "0"))
        }
        return v
    }
}
