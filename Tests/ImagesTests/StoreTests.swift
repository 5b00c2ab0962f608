import ImageModel
import Foundation
import Glibc
import Testing
@testable import Images
import Kernel
import KernelTestSupport

@Suite struct StoreTests {
    func tree(_ t: TempDir, _ name: String, files: [String: String]) -> String {
        let src = t.sub(name)
        FS.mkdir(src)
        for (path, text) in files { FS.write("\(src)/\(path)", text) }
        return src
    }

    @Test func replacingATagIsAtomicAndLeavesNoTemp() throws {
        let t = TempDir("replace")
        let v1 = tree(t, "v1", files: ["version": "1", "only-in-1": "x"])
        let v2 = tree(t, "v2", files: ["version": "2"])
        let store = t.store
        try store.importImage(ref("app:stable"), from: .path(v1), config: ImageConfig(cmd: ["one"]))
        // A reader holding the old image keeps a complete tree while the tag moves on.
        let held = open(t.sub("data/images/app/stable/rootfs"), O_RDONLY | O_DIRECTORY)
        defer { close(held) }
        try store.importImage(ref("app:stable"), from: .path(v2), config: ImageConfig(cmd: ["two"]))
        let image = try store.image(ref("app:stable"))
        #expect(FS.read("\(image.rootfs)/version") == "2")
        #expect(!Sys.exists("\(image.rootfs)/only-in-1"))
        #expect(image.config.cmd == ["two"])
        #expect(FS.names(t.sub("data/images")) == [".lock", "app"])
        #expect(FS.names(t.sub("data/images/app")) == ["stable"])
        // The exchange itself works on this filesystem, so it is the path tested above.
        let a = t.sub("xa"), b = t.sub("xb")
        try Sys.writeFileAtomically(a, Array("a".utf8))
        try Sys.writeFileAtomically(b, Array("b".utf8))
        #expect(try Sys.exchange(a, b))
        #expect(FS.read(a) == "b" && FS.read(b) == "a")
    }

    @Test func aFailedImportKeepsTheOldImage() throws {
        let t = TempDir("keep")
        let v1 = tree(t, "v1", files: ["version": "1"])
        try t.store.importImage(ref("app"), from: .path(v1))
        var b = TarBuilder()
        b.file("version", "2")
        b.add("dev/null", type: "3")
        b.tarFile(t)
        #expect(importError(t.store, "app", t.sub("t.tar")) != nil)
        #expect(FS.read("\(try t.store.image(ref("app")).rootfs)/version") == "1")
        #expect(FS.names(t.sub("data/images")) == [".lock", "app"])
    }

    @Test func leftoversOfDeadImportsAreCollected() throws {
        let t = TempDir("leftover")
        let src = tree(t, "src", files: ["a": "a"])
        try t.store.importImage(ref("a"), from: .path(src))
        // A crashed import: a pid that does not exist (above the kernel's pid_max), a
        // half-written tree with a read-only directory.
        let stale = t.sub("data/images/.tmp-2147483000-0")
        FS.write("\(stale)/rootfs/half/file", "x")
        precondition(chmod("\(stale)/rootfs/half", 0o500) == 0)
        let live = t.sub("data/images/.tmp-\(getpid())-999")  // ours: in flight, kept
        FS.mkdir(live)
        try t.store.importImage(ref("b"), from: .path(src))
        #expect(FS.names(t.sub("data/images")) == [".lock", ".tmp-\(getpid())-999", "a", "b"])
        #expect(try t.store.list().map(\.reference.description) == ["a:latest", "b:latest"])
    }

    @Test func listAndRemove() throws {
        let t = TempDir("ls-rm")
        let src = tree(t, "src", files: ["f": "12345"])
        let store = t.store
        #expect(try store.list().isEmpty)
        for r in ["b/c:2", "a:1", "b/c:1", "a:latest"] {
            try store.importImage(ref(r), from: .path(src))
        }
        let images = try store.list()
        #expect(images.map(\.reference.description) == ["a:1", "a:latest", "b/c:1", "b/c:2"])
        #expect(images.allSatisfy { $0.config.size == 5 && $0.config.created.count == 20 })
        #expect(Sys.exists(t.sub("data/images/b%2Fc/1/rootfs/f")))

        try store.remove(ref("b/c:1"))
        #expect(try store.list().map(\.reference.description) == ["a:1", "a:latest", "b/c:2"])
        try store.remove(ref("b/c:2"))
        #expect(!Sys.exists(t.sub("data/images/b%2Fc")), "the name directory goes with its last tag")
        #expect(throws: ImageError.notFound(ref("b/c:2"))) { try store.remove(ref("b/c:2")) }
        #expect(ImageError.notFound(ref("b/c:2")).description == "no image b/c:2")
        #expect(throws: ImageError.notFound(ref("zzz"))) { try store.image(ref("zzz")) }
        try store.remove(ref("a"))
        #expect(try store.list().map(\.reference.description) == ["a:1"])
        #expect(FS.names(t.sub("data/images")) == [".lock", "a"])
    }

    @Test func removeDoesNotFollowSymlinksOutOfTheImage() throws {
        let t = TempDir("rm-links")
        let outside = t.sub("outside")
        FS.write("\(outside)/keep", "keep")
        let src = t.sub("src")
        FS.mkdir(src)
        FS.symlink(outside, "\(src)/to-outside")  // absolute: inside the rootfs, /<outside>
        FS.write("\(src)/ro/f", "f")
        precondition(chmod("\(src)/ro", 0o555) == 0)
        try t.store.importImage(ref("l"), from: .path(src))
        try t.store.remove(ref("l"))
        #expect(FS.read("\(outside)/keep") == "keep")
        #expect(try t.store.list().isEmpty)
    }

    @Test func badConfigValuesAreRefusedBeforeAnyWork() {
        let t = TempDir("cfg")
        let src = tree(t, "src", files: ["f": "f"])
        #expect(throws: ImageError.badConfig("--env \"=x\": expected KEY=VALUE with a non-empty KEY")) {
            try t.store.importImage(ref("a"), from: .path(src), config: ImageConfig(env: ["=x"]))
        }
        #expect(throws: ImageError.badConfig("--workdir \"srv\": must be an absolute path")) {
            try t.store.importImage(ref("a"), from: .path(src), config: ImageConfig(workdir: "srv"))
        }
        #expect(!Sys.exists(t.sub("data")))
    }

    /// Debian's busybox-static as a rootfs: the binary and one symlink per applet.
    @Test func importsABusyboxRootfs() throws {
        try HostTool.require("/bin/busybox", package: "busybox-static")
        let t = TempDir("busybox")
        let src = t.sub("rootfs")
        for d in ["bin", "etc", "tmp", "proc", "dev"] { FS.mkdir("\(src)/\(d)") }
        precondition(chmod("\(src)/tmp", 0o1777) == 0)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: "\(src)/bin/busybox")
        let applets = try run("/bin/busybox", ["--list"]).out.split(separator: "\n").map(String.init)
        try #require(applets.contains("sh"))
        for a in applets where a != "busybox" { FS.symlink("busybox", "\(src)/bin/\(a)") }
        FS.write("\(src)/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        let tar = t.sub("busybox.tar")
        try #require(try run("/usr/bin/tar", ["-C", src, "-cf", tar, "."]).status == 0)
        let image = try t.store.importImage(ref("busybox:test"), from: .path(tar),
                                            config: ImageConfig(entrypoint: ["/bin/sh"], env: ["PATH=/bin"]))
        #expect(FS.names("\(image.rootfs)/bin").count == applets.count + (applets.contains("busybox") ? 0 : 1))
        #expect(try Sys.readlink("\(image.rootfs)/bin/sh") == "busybox")
        #expect(FS.lstat("\(image.rootfs)/tmp")?.permissions == 0o1777)
        // The rootfs runs: chroot into it (we are root) and ask busybox's sh.
        if Sys.exists("/usr/sbin/chroot") {
            let r = try run("/usr/sbin/chroot", [image.rootfs, "/bin/sh", "-c", "echo ok from $(basename $0)"])
            #expect(r.status == 0, "\(r.err)")
            #expect(r.out == "ok from sh\n")
        }
    }
}
