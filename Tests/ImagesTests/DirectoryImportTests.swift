import ImageModel
import Foundation
import Glibc
import Testing
@testable import Images
import Kernel

@Suite struct DirectoryImportTests {
    /// bin/tool (4755, setuid kept), etc/conf (0600, 1234:5678), a read-only dir, symlinks
    /// (relative, absolute, dangling), a hard link and an empty dir.
    static func fixture(_ t: TempDir) -> String {
        let src = t.sub("src")
        FS.mkdir(src, mode: 0o755)
        FS.write("\(src)/bin/tool", "#!/bin/sh\necho tool\n", mode: 0o4755)
        FS.write("\(src)/etc/conf", "secret=1\n", mode: 0o600)
        precondition(chown("\(src)/etc/conf", 1234, 5678) == 0)
        FS.symlink("../bin/tool", "\(src)/etc/tool-rel")
        FS.symlink("/bin/tool", "\(src)/etc/tool-abs")
        FS.symlink("/nowhere/at/all", "\(src)/etc/dangling")
        precondition(lchown("\(src)/etc/dangling", 42, 43) == 0)
        precondition(link("\(src)/bin/tool", "\(src)/bin/tool-hard") == 0)
        FS.write("\(src)/ro/file", "x", mode: 0o444)
        precondition(chmod("\(src)/ro", 0o555) == 0)
        FS.mkdir("\(src)/empty", mode: 0o1777)
        return src
    }

    @Test func copiesFilesModesSymlinksAndOwners() throws {
        let t = TempDir("dir")
        let src = Self.fixture(t)
        let image = try t.store.importImage(ref("fixture:v1"), from: .path(src),
                                            config: ImageConfig(entrypoint: ["/bin/tool"], env: ["A=1"], workdir: "/srv"))
        let root = image.rootfs
        #expect(root == t.sub("data/images/layers/sha256/\(image.diffIDs[0].hex)/rootfs"))
        #expect(FS.read("\(root)/bin/tool") == "#!/bin/sh\necho tool\n")
        #expect(FS.lstat("\(root)/bin/tool")?.permissions == 0o4755)
        #expect(FS.lstat("\(root)/etc/conf")?.permissions == 0o600)
        #expect(FS.lstat("\(root)/etc/conf")?.uid == 1234)
        #expect(FS.lstat("\(root)/etc/conf")?.gid == 5678)
        #expect(try Sys.readlink("\(root)/etc/tool-rel") == "../bin/tool")
        #expect(try Sys.readlink("\(root)/etc/tool-abs") == "/bin/tool")
        #expect(try Sys.readlink("\(root)/etc/dangling") == "/nowhere/at/all")
        #expect(FS.lstat("\(root)/etc/dangling")?.uid == 42)
        #expect(FS.lstat("\(root)/etc/dangling")?.gid == 43)
        #expect(FS.lstat("\(root)/bin/tool-hard")?.inode == FS.lstat("\(root)/bin/tool")?.inode)
        #expect(FS.lstat("\(root)/ro")?.permissions == 0o555)
        #expect(FS.read("\(root)/ro/file") == "x")
        #expect(FS.lstat("\(root)/empty")?.permissions == 0o1777)
        #expect(FS.lstat(root)?.permissions == 0o755)
        // The store's own modes.
        #expect(FS.lstat(t.sub("data/images"))?.permissions == 0o700)
        #expect(FS.lstat(t.sub("data/images/layers/sha256"))?.permissions == 0o700)
        #expect(FS.lstat(t.sub("data/images/index.json"))?.permissions == 0o600)
        #expect(FS.lstat(t.sub("data/images/blobs/sha256/\(try #require(image.manifestDigest).hex)"))?.permissions == 0o400)
        // The config, read back through the store.
        let stored = try t.store.image(ref("fixture:v1"))
        #expect(stored.config.entrypoint == ["/bin/tool"])
        #expect(stored.config.env == ["A=1"])
        #expect(stored.config.workdir == "/srv")
        #expect(stored.created.hasSuffix("Z"))
        #expect(stored.layerDirectories == [root])
        // tool once (hard link not counted twice), conf, ro/file, and the symlink targets.
        let links = "../bin/tool".count + "/bin/tool".count + "/nowhere/at/all".count
        let expected: Int64 = 20 + 9 + 1 + Int64(links)
        #expect(stored.size == expected)
        #expect(FS.names(t.sub("data/images")) == Self.storeNames)
        #expect(try t.store.check() == [])
    }

    static let storeNames = [".gc.lock", ".lock", "blobs", "index.json", "layers", "locks", "tmp"]

    @Test func refusesEscapingSymlink() {
        let t = TempDir("dir-escape")
        let src = t.sub("src")
        FS.mkdir("\(src)/etc")
        FS.symlink("../../../etc/passwd", "\(src)/etc/passwd")
        let e = importError(t.store, "x", src)
        #expect(e == .refusedEntry(source: src, entry: "etc/passwd", reason: "a symlink to \"../../../etc/passwd\", which escapes the image's root filesystem"))
        #expect(nothingVisible(t))
    }

    @Test func refusesFIFOAndSocket() throws {
        let t = TempDir("dir-fifo")
        let src = t.sub("src")
        FS.mkdir("\(src)/run")
        precondition(mkfifo("\(src)/run/pipe", 0o600) == 0)
        let e = importError(t.store, "x", src)
        #expect(e?.description == "\(src): run/pipe: a FIFO; images may not hold FIFOs")

        let src2 = t.sub("src2")
        FS.mkdir(src2)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let path = "\(src2)/sock"
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            for (i, b) in path.utf8.enumerated() { buf[i] = b }
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        #expect(importError(t.store, "x", src2)?.description == "\(src2): sock: a socket; images may not hold sockets")
        #expect(nothingVisible(t))
    }

    @Test func refusesTheStoreItself() {
        let t = TempDir("dir-self")
        FS.write(t.sub("a"), "a")
        let e = importError(t.store, "x", t.path)
        #expect(e == .refusedEntry(source: t.path, entry: "data/images", reason: "this is podrec's image store; import a tree that does not contain it"))
    }
}
