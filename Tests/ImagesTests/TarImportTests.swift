import Foundation
import Glibc
import Testing
@testable import Images
import Kernel

@Suite struct TarImportTests {
    static let longDir = "usr/share/" + String(repeating: "d", count: 60) + "/" + String(repeating: "e", count: 50)
    static let longName = longDir + "/" + String(repeating: "f", count: 40) + ".txt"

    /// A tree with a name over 100 characters, a long symlink target, a hard link and
    /// non-default owners and modes, archived by the host's GNU tar.
    static func fixture(_ t: TempDir) -> String {
        let src = t.sub("src")
        FS.mkdir(src, mode: 0o755)
        FS.write("\(src)/\(longName)", "long\n", mode: 0o640)
        precondition(chown("\(src)/\(longName)", 1000, 1001) == 0)
        FS.symlink("/" + longName, "\(src)/long-link")
        FS.write("\(src)/bin/prog", "prog", mode: 0o2755)
        precondition(link("\(src)/bin/prog", "\(src)/bin/prog-hard") == 0)
        FS.symlink("prog", "\(src)/bin/alias")
        FS.write("\(src)/ünïcode", "u")
        return src
    }

    func check(_ root: String) throws {
        #expect(Self.longName.count > 100)
        #expect(FS.read("\(root)/\(Self.longName)") == "long\n")
        #expect(FS.lstat("\(root)/\(Self.longName)")?.permissions == 0o640)
        #expect(FS.lstat("\(root)/\(Self.longName)")?.uid == 1000)
        #expect(FS.lstat("\(root)/\(Self.longName)")?.gid == 1001)
        #expect(try Sys.readlink("\(root)/long-link") == "/" + Self.longName)
        #expect(FS.lstat("\(root)/bin/prog")?.permissions == 0o2755)
        #expect(FS.lstat("\(root)/bin/prog-hard")?.inode == FS.lstat("\(root)/bin/prog")?.inode)
        #expect(try Sys.readlink("\(root)/bin/alias") == "prog")
        #expect(FS.read("\(root)/ünïcode") == "u")
    }

    @Test(arguments: ["gnu", "pax", "ustar-longnames-as-pax"])
    func importsHostTar(_ format: String) throws {
        let t = TempDir("tar-\(format)")
        let src = Self.fixture(t)
        let tar = t.sub("rootfs.tar")
        var args = ["-C", src, "-cf", tar]
        switch format {
        case "gnu": args += ["--format=gnu"]
        // pax with an explicit record for every entry: mtime with a fraction, and path.
        case "pax": args += ["--format=pax", "--pax-option=exthdr.name=%d/PaxHeaders/%f,mtime:=1700000000.5"]
        default: args += ["--format=posix"]
        }
        let r = try run("/usr/bin/tar", args + ["."])
        try #require(r.status == 0, "\(r.err)")
        let bytes = try #require(FileManager.default.contents(atPath: tar))
        if format == "gnu" { #expect(bytes.range(of: Data("././@LongLink".utf8)) != nil) }
        if format == "pax" { #expect(bytes.range(of: Data("path=".utf8)) != nil) }
        let image = try t.store.importImage(ref("t:\(format.prefix(3))"), from: .path(tar))
        try check(image.rootfs)
        if format == "pax" {
            var st = stat()
            try #require(Glibc.lstat("\(image.rootfs)/bin/prog", &st) == 0)
            #expect(st.st_mtim.tv_sec == 1_700_000_000)
            #expect(st.st_mtim.tv_nsec == 500_000_000)
        }
    }

    @Test func importsFromAStream() throws {
        let t = TempDir("tar-stream")
        var b = TarBuilder()
        b.dir("./")
        b.file("./etc/hostname", "box\n")
        b.file("/abs/leading/slash", "ok")
        b.add("old-v7-dir/", type: "\0")
        b.tarFile(t)
        let fd = open(t.sub("t.tar"), O_RDONLY)
        defer { close(fd) }
        let image = try t.store.importImage(ref("s"), from: .tarStream(fd: fd, name: "<stdin>"))
        #expect(FS.read("\(image.rootfs)/etc/hostname") == "box\n")
        #expect(FS.read("\(image.rootfs)/abs/leading/slash") == "ok")
        #expect(FS.lstat("\(image.rootfs)/old-v7-dir")?.isDirectory == true)
    }

    /// Each refusal: the import fails with the entry named, and leaves nothing behind.
    static let refusals: [(String, @Sendable (inout TarBuilder) -> Void, String)] = [
        ("dotdot", { $0.file("a/../../etc/passwd", "x") },
         "a/../../etc/passwd: the path has a '..' component"),
        ("dotdot-link", { $0.file("a", "x"); $0.add("b", type: "1", linkName: "../a") },
         "b: a hard link to \"../a\", whose path has a '..' component"),
        ("absolute-escape", { $0.symlink("etc/evil", to: "/../../../etc/passwd") },
         "etc/evil: a symlink to \"/../../../etc/passwd\", which escapes the image's root filesystem"),
        ("relative-escape", { $0.symlink("a/b/evil", to: "../../../x") },
         "a/b/evil: a symlink to \"../../../x\", which escapes the image's root filesystem"),
        ("chardev", { $0.add("dev/null", type: "3", mode: 0o666) },
         "dev/null: a character device node (tar type 3); images may not hold device nodes (the runtime provides /dev)"),
        ("blockdev", { $0.add("dev/sda", type: "4", mode: 0o660) },
         "dev/sda: a block device node (tar type 4); images may not hold device nodes (the runtime provides /dev)"),
        ("fifo", { $0.add("run/fifo", type: "6") },
         "run/fifo: a FIFO (tar type 6); images may not hold FIFOs"),
        ("hardlink-missing", { $0.add("x", type: "1", linkName: "not/there") },
         "x: a hard link to \"not/there\", which is not a regular file extracted before it"),
        ("hardlink-to-dir", { $0.dir("d"); $0.add("x", type: "1", linkName: "d") },
         "x: a hard link to \"d\", which is not a regular file extracted before it"),
        ("sparse", { $0.add("s", type: "S") },
         "s: a GNU sparse file (tar type S), which podrec does not read; re-create the tar without --sparse"),
    ]

    @Test(arguments: refusals.map { ($0.0, $0.2) })
    func refuses(_ label: String, _ message: String) throws {
        let t = TempDir("tar-\(label)")
        var b = TarBuilder()
        b.file("ok", "fine")
        Self.refusals.first { $0.0 == label }!.1(&b)
        b.tarFile(t)
        let e = importError(t.store, "x", t.sub("t.tar"))
        #expect(e?.description == "\(t.sub("t.tar")): \(message)")
        if case .refusedEntry = e {} else { Issue.record("not a refusal: \(String(describing: e))") }
        #expect(nothingVisible(t))
    }

    /// The classic tar-slip: `link -> <outside>`, then `link/evil`. The symlink itself is
    /// fine (an absolute target stays inside the rootfs); writing through it is not.
    @Test func refusesWritingThroughASymlinkedDirectory() throws {
        let t = TempDir("tar-slip")
        let outside = t.sub("outside")
        FS.mkdir(outside)
        var b = TarBuilder()
        b.symlink("link", to: outside)
        b.file("link/evil", "pwned")
        b.tarFile(t)
        let e = importError(t.store, "x", t.sub("t.tar"))
        #expect(e == .refusedEntry(source: t.sub("t.tar"), entry: "link/evil",
                                   reason: "the path goes through the symlink \"link\"; entries are never written through a symlink"))
        #expect(FS.names(outside) == [])
        #expect(nothingVisible(t))

        // The same with a relative symlink one level down, and a directory entry.
        var c = TarBuilder()
        c.dir("a")
        c.symlink("a/up", to: "..")
        c.dir("a/up/b")
        c.add("a/up/b/c", type: "0", data: "x")
        c.tarFile(t)
        #expect(importError(t.store, "x", t.sub("t.tar"))?.description
                == "\(t.sub("t.tar")): a/up/b: the path goes through the symlink \"a/up\"; entries are never written through a symlink")
    }

    @Test func laterEntriesReplaceEarlierOnesWithoutFollowing() throws {
        let t = TempDir("tar-replace")
        let outside = t.sub("outside")
        FS.write(outside, "original")
        var b = TarBuilder()
        b.symlink("f", to: outside)  // inside the rootfs, f -> <rootfs><outside>
        b.file("f", "replaced")      // must replace the link, not write through it
        b.tarFile(t)
        let image = try t.store.importImage(ref("r"), from: .path(t.sub("t.tar")))
        #expect(FS.read(outside) == "original")
        #expect(FS.read("\(image.rootfs)/f") == "replaced")
        #expect(FS.lstat("\(image.rootfs)/f")?.isRegularFile == true)
    }

    /// gzip and zstd rootfs tars are read as they are (the layer keeps its compression);
    /// bzip2 is refused, naming it.
    @Test func readsGzipAndZstdRootfsTars() throws {
        let t = TempDir("tar-gz")
        FS.write(t.sub("a"), "a")
        try #require(try run("/usr/bin/tar", ["-C", t.path, "-czf", t.sub("t.tar.gz"), "a"]).status == 0)
        let gz = try t.store.importImage(ref("gz"), from: .path(t.sub("t.tar.gz")))
        #expect(FS.read("\(gz.rootfs)/a") == "a")
        if Sys.exists("/usr/bin/zstd") {
            try #require(try run("/usr/bin/tar", ["-C", t.path, "--zstd", "-cf", t.sub("t.tar.zst"), "a"]).status == 0)
            let zst = try t.store.importImage(ref("zst"), from: .path(t.sub("t.tar.zst")))
            #expect(zst.diffIDs == gz.diffIDs || FS.read("\(zst.rootfs)/a") == "a")
        }
        if Sys.exists("/usr/bin/bzip2") {
            try #require(try run("/usr/bin/tar", ["-C", t.path, "-cjf", t.sub("t.tar.bz2"), "a"]).status == 0)
            let e = importError(t.store, "x", t.sub("t.tar.bz2"))
            #expect(e == .badArchive(source: t.sub("t.tar.bz2"), reason: "bzip2-compressed; decompress it first (podrec reads uncompressed tar only)"))
        }
        #expect(try t.store.check() == [])
    }

    @Test func refusesBadChecksumTruncationAndGarbage() throws {
        let t = TempDir("tar-bad")
        var b = TarBuilder()
        b.file("ok", "fine")
        b.add("broken", type: "0", data: "x", corruptChecksum: true)
        b.tarFile(t)
        let e = importError(t.store, "x", t.sub("t.tar"))
        guard case .badArchive(_, let reason)? = e else { Issue.record("\(String(describing: e))"); return }
        #expect(reason.hasPrefix("bad header checksum at offset 1024 (entry \"broken\""))
        #expect(reason.hasSuffix("not a tar file, or a damaged one"))

        var c = TarBuilder()
        c.file("big", String(repeating: "z", count: 2000))
        _ = FileManager.default.createFile(atPath: t.sub("trunc.tar"), contents: Data(c.bytes.prefix(1024)))
        #expect(importError(t.store, "x", t.sub("trunc.tar"))?.description
                == "\(t.sub("trunc.tar")): truncated: entry \"big\" ends after 512 of its 2000 bytes")

        FS.write(t.sub("text.tar"), String(repeating: "not a tar\n", count: 100))
        if case .badArchive? = importError(t.store, "x", t.sub("text.tar")) {} else { Issue.record("text accepted") }
        FS.write(t.sub("empty.tar"), "")
        #expect(importError(t.store, "x", t.sub("empty.tar"))?.description == "\(t.sub("empty.tar")): empty file; not a tar archive")
        #expect(nothingVisible(t))
    }

    @Test func numbersAndPaxRecords() {
        #expect(Header.number(ArraySlice(Array("0000644\0".utf8))) == 0o644)
        #expect(Header.number(ArraySlice(Array("   755 \0".utf8))) == 0o755)
        #expect(Header.number(ArraySlice([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00])) == 4096)
        #expect(Header.number(ArraySlice(Array("12389\0\0\0".utf8))) == nil)
        #expect(TarImport.paxTime("1700000000.25")?.tv_nsec == 250_000_000)
        #expect(TarImport.paxTime("12")?.tv_sec == 12)
        #expect(RootfsWriter.escapeProblem(link: EntryPath(components: ["a", "b"]), target: "../c") == nil)
        #expect(RootfsWriter.escapeProblem(link: EntryPath(components: ["a", "b"]), target: "../../c") != nil)
        #expect(RootfsWriter.escapeProblem(link: EntryPath(components: ["a"]), target: "/x/../../y") != nil)
        #expect(RootfsWriter.escapeProblem(link: EntryPath(components: ["a"]), target: "/usr/../bin/./sh") == nil)
    }
}

extension TarBuilder {
    func tarFile(_ t: TempDir) { write(to: t.sub("t.tar")) }
}
