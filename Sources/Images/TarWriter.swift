import Glibc
import Kernel

/// Writes a tar (POSIX ustar, with pax `x` headers for long names and large numbers) of
/// what a `DirectoryImport` walks: how `image import NAME DIR` makes a real layer blob, so
/// that every layer in the store is a tar with a diff id that `image check` can verify.
///
/// Deterministic for one tree: entries in the walk's order, mtimes in whole seconds, no
/// user or group names.
struct TarWriter: TarSink {
    let fd: Int32
    /// The tar file, for messages.
    let rootPath: String
    private let zeros = [UInt8](repeating: 0, count: 1024)

    init(fd: Int32, path: String) {
        self.fd = fd
        self.rootPath = path
    }

    mutating func directory(_ path: EntryPath, _ a: EntryAttributes, entry: String) throws(ImageError) {
        try header(name: path.isRoot ? "./" : path.description + "/", type: UInt8(ascii: "5"), a, size: 0)
    }

    mutating func file(_ path: EntryPath, _ a: EntryAttributes, size: Int64, entry: String,
                       write: (Int32) throws(ImageError) -> Void) throws(ImageError) {
        try header(name: path.description, type: UInt8(ascii: "0"), a, size: size)
        let before = try sys { () throws(KernelError) in try Sys.position(fd, describedAs: rootPath) }
        try write(fd)
        let after = try sys { () throws(KernelError) in try Sys.position(fd, describedAs: rootPath) }
        guard after - before == size else {
            throw .refusedEntry(source: rootPath, entry: entry, reason: "the file changed size while it was read (\(size) then \(after - before) bytes)")
        }
        try pad(size)
    }

    mutating func symlink(_ path: EntryPath, target: String, _ a: EntryAttributes, entry: String) throws(ImageError) {
        if let reason = RootfsWriter.escapeProblem(link: path, target: target) {
            throw .refusedEntry(source: rootPath, entry: entry, reason: reason)
        }
        try header(name: path.description, type: UInt8(ascii: "2"), a, size: 0, link: target)
    }

    mutating func hardLink(_ path: EntryPath, to target: EntryPath, entry: String, targetName: String) throws(ImageError) {
        let a = EntryAttributes(mode: 0, uid: 0, gid: 0, mtime: timespec())
        try header(name: path.description, type: UInt8(ascii: "1"), a, size: 0, link: target.description)
    }

    mutating func whiteout(_ path: EntryPath, entry: String) throws(ImageError) {
        throw .refusedEntry(source: rootPath, entry: entry, reason: "a whiteout outside a layer")
    }

    mutating func opaque(_ path: EntryPath, entry: String) throws(ImageError) {
        throw .refusedEntry(source: rootPath, entry: entry, reason: "an opaque marker outside a layer")
    }

    /// The two zero blocks that end an archive.
    func finish() throws(ImageError) {
        try out(zeros)
    }

    // MARK: Blocks

    private func out(_ bytes: [UInt8]) throws(ImageError) {
        try sys { () throws(KernelError) in try Sys.writeAll(fd, bytes, path: rootPath) }
    }

    private func pad(_ size: Int64) throws(ImageError) {
        let n = Int(TarImport.padded(size) - size)
        if n > 0 { try out(Array(zeros[0..<n])) }
    }

    private func header(name: String, type: UInt8, _ a: EntryAttributes, size: Int64, link: String = "") throws(ImageError) {
        var pax: [(String, String)] = []
        if name.utf8.count > 100 { pax.append(("path", name)) }
        if link.utf8.count > 100 { pax.append(("linkpath", link)) }
        if size > 0o77777777777 { pax.append(("size", String(size))) }
        if a.uid > 0o7777777 { pax.append(("uid", String(a.uid))) }
        if a.gid > 0o7777777 { pax.append(("gid", String(a.gid))) }
        for x in a.xattrs where !x.value.contains(0) {
            pax.append(("SCHILY.xattr." + x.name, String(decoding: x.value, as: UTF8.self)))
        }
        if !pax.isEmpty {
            var data: [UInt8] = []
            for (k, v) in pax { data += Self.paxRecord(k, v) }
            try out(Self.block(name: "PaxHeaders/" + String(decoding: name.utf8.prefix(80), as: UTF8.self), type: UInt8(ascii: "x"), mode: 0o644, uid: 0, gid: 0,
                               size: Int64(data.count), mtime: 0, link: ""))
            try out(data)
            try pad(Int64(data.count))
        }
        try out(Self.block(name: name, type: type, mode: a.mode & 0o7777, uid: min(a.uid, 0o7777777), gid: min(a.gid, 0o7777777),
                           size: min(size, 0o77777777777), mtime: Int64(a.mtime.tv_sec), link: link))
    }

    /// `LENGTH KEY=VALUE\n`, LENGTH counting itself.
    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).utf8.count + body.utf8.count != length { length += 1 }
        return Array((String(length) + body).utf8)
    }

    static func block(name: String, type: UInt8, mode: UInt32, uid: UInt32, gid: UInt32, size: Int64, mtime: Int64, link: String) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: some Sequence<UInt8>, at offset: Int, max: Int) {
            for (i, byte) in bytes.prefix(max).enumerated() { b[offset + i] = byte }
        }
        func octal(_ v: Int64, at offset: Int, width: Int) {
            var s = String(v, radix: 8)
            s = String(repeating: "0", count: max(0, width - 1 - s.count)) + s
            put(Array(s.utf8), at: offset, max: width - 1)
        }
        put(Array(name.utf8), at: 0, max: 100)
        octal(Int64(mode), at: 100, width: 8)
        octal(Int64(uid), at: 108, width: 8)
        octal(Int64(gid), at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(max(0, mtime), at: 136, width: 12)
        b[156] = type
        put(Array(link.utf8), at: 157, max: 100)
        put(Array("ustar\0".utf8), at: 257, max: 6)
        put(Array("00".utf8), at: 263, max: 2)
        for i in 148..<156 { b[i] = 0x20 }
        let sum = b.reduce(0) { $0 + Int($1) }
        octal(Int64(sum), at: 148, width: 7)
        b[155] = 0x20
        return b
    }
}
