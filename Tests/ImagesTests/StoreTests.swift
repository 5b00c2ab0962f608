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

    @Test func replacingATagMovesTheNameAndKeepsTheOldLayerUntilPrune() throws {
        let t = TempDir("replace")
        let v1 = tree(t, "v1", files: ["version": "1", "only-in-1": "x"])
        let v2 = tree(t, "v2", files: ["version": "2"])
        let store = t.store
        let old = try store.importImage(ref("app:stable"), from: .path(v1), config: ImageConfig(cmd: ["one"]))
        try store.importImage(ref("app:stable"), from: .path(v2), config: ImageConfig(cmd: ["two"]))
        let image = try store.image(ref("app:stable"))
        #expect(FS.read("\(image.rootfs)/version") == "2")
        #expect(!Sys.exists("\(image.rootfs)/only-in-1"))
        #expect(image.config.cmd == ["two"])
        #expect(FS.names(t.sub("data/images")) == DirectoryImportTests.storeNames)
        #expect(FS.names(t.sub("data/images/tmp")) == [])
        // The old layer stays (a pod may run from it) until prune; in use, prune keeps it.
        #expect(Sys.exists(old.rootfs))
        var report = try store.prune(inUse: [old.rootfs])
        #expect(report.layers == 0 && Sys.exists(old.rootfs))
        #expect(report.blobs == 3, "the layer tar, config and manifest: a running pod needs none")
        report = try store.prune(inUse: [])
        #expect(report.layers == 1 && report.blobs == 0)
        #expect(!Sys.exists(old.rootfs))
        #expect(FS.read("\(try store.image(ref("app:stable")).rootfs)/version") == "2")
        #expect(try store.check() == [])
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
        #expect(FS.names(t.sub("data/images/tmp")) == [])
        #expect(FS.names(t.sub("data/images/layers/sha256")).count == 1)
    }

    @Test func leftoversOfDeadImportsAreCollected() throws {
        let t = TempDir("leftover")
        let src = tree(t, "src", files: ["a": "a"])
        try t.store.importImage(ref("a"), from: .path(src))
        // A crashed import: a pid that does not exist (above the kernel's pid_max), a
        // half-written tree with a read-only directory.
        let stale = t.sub("data/images/tmp/2147483000-0")
        FS.write("\(stale)/rootfs/half/file", "x")
        precondition(chmod("\(stale)/rootfs/half", 0o500) == 0)
        let live = t.sub("data/images/tmp/\(getpid())-999")  // ours: in flight, kept
        FS.mkdir(live)
        try t.store.importImage(ref("b"), from: .path(src))
        #expect(FS.names(t.sub("data/images/tmp")) == ["\(getpid())-999"])
        // A temp of index.json that a crash left goes at the next prune.
        FS.write(t.sub("data/images/.index.json.tmp.2147483000"), "{")
        #expect(try t.store.prune(inUse: []).temporaries == 2)
        #expect(!Sys.exists(t.sub("data/images/.index.json.tmp.2147483000")))
        FS.mkdir(live)
        #expect(try t.store.list().map(\.reference.description) == ["a:latest", "b:latest"])
        // The same tree twice is one layer.
        #expect(FS.names(t.sub("data/images/layers/sha256")).count == 1)
        try Sys.rmdir(live)
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
        #expect(images.allSatisfy { $0.size == 5 && $0.created.count == 20 })

        try store.remove(ref("b/c:1"))
        #expect(try store.list().map(\.reference.description) == ["a:1", "a:latest", "b/c:2"])
        try store.remove(ref("b/c:2"))
        #expect(throws: ImageError.notFound(ref("b/c:2"))) { try store.remove(ref("b/c:2")) }
        #expect(ImageError.notFound(ref("b/c:2")).description == "no image b/c:2")
        #expect(throws: ImageError.notFound(ref("zzz"))) { try store.image(ref("zzz")) }
        // By digest: every name of that image.
        let digest = try #require(images[0].manifestDigest)
        #expect(try store.image(ImageReference(parsing: "a@\(digest)")).manifestDigest == digest)
        try store.remove(ref("a:latest"))
        #expect(try store.list().map(\.reference.description) == ["a:1"])
        try store.remove(ImageReference(parsing: "a@\(digest)"))
        #expect(try store.list().isEmpty)
        _ = try store.prune(inUse: [])
        #expect(FS.names(t.sub("data/images/blobs/sha256")) == [] && FS.names(t.sub("data/images/layers/sha256")) == [])
    }

    @Test func firstStoreImagesAreReadAsOneLayerImages() throws {
        let t = TempDir("legacy")
        // The first store's layout, as its `image import` left it.
        let dir = t.sub("data/images/me%2Fold/v1")
        FS.write("\(dir)/rootfs/hello", "old")
        FS.write("\(dir)/config.json", ImageConfig(entrypoint: ["/hello"], created: "2025-01-01T00:00:00Z", size: 3).json.serialized())
        let store = t.store
        let old = try store.image(ref("me/old:v1"))
        #expect(old.rootfs == "\(dir)/rootfs" && old.config.entrypoint == ["/hello"] && old.manifestDigest == nil)
        #expect(try store.list().map(\.reference.description) == ["me/old:v1"])
        // An import of the same name shadows it; prune removes it when no pod uses it.
        let src = tree(t, "src", files: ["hello": "new"])
        try store.importImage(ref("me/old:v1"), from: .path(src))
        #expect(FS.read("\(try store.image(ref("me/old:v1")).rootfs)/hello") == "new")
        #expect(try store.list().count == 1)
        _ = try store.prune(inUse: [old.rootfs])
        #expect(Sys.exists(dir))
        _ = try store.prune(inUse: [])
        #expect(!Sys.exists(dir) && !Sys.exists(t.sub("data/images/me%2Fold")))
        // rm of a first-store image.
        FS.write(t.sub("data/images/x/latest/config.json"), ImageConfig().json.serialized())
        FS.mkdir(t.sub("data/images/x/latest/rootfs"))
        try store.remove(ref("x"))
        #expect(!Sys.exists(t.sub("data/images/x")))
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
        _ = try t.store.prune(inUse: [])
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
