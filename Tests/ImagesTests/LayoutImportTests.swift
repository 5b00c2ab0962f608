import ImageModel
import Foundation
import Glibc
import Testing
@testable import Images
import Kernel
import KernelTestSupport

/// Imports of OCI layouts, oci-archives and docker-archives built by
/// Tests/Fixtures/images/make_image.py (three layers: plain, gzip, zstd; a whiteout, an
/// opaque dir, a hard link, a symlink, an xattr), and of a real `podman save`.
@Suite struct LayoutImportTests {
    static let script = ImageCommandTests.repo.appendingPathComponent("Tests/Fixtures/images/make_image.py").path

    /// Runs the fixture script; returns its manifest digest and diff ids.
    @discardableResult
    static func make(_ format: String, _ out: String, _ extra: [String] = []) throws -> (manifest: String, diffIDs: [String]) {
        let r = try run("/usr/bin/python3", [script, format, out] + extra)
        try #require(r.status == 0, "\(r.err)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        return (o["manifest"] as! String, o["diff_ids"] as! [String])
    }

    @Test func ociLayoutWithWhiteoutsOpaqueDirsAndLinks() throws {
        let t = TempDir("layout")
        let made = try Self.make("layout", t.sub("layout"))
        let images = try t.store.importImages(nil, from: .path(t.sub("layout")))
        try #require(images.count == 1)
        let image = images[0]
        #expect(image.reference.description == "localhost/test/multi:v1")
        #expect(image.manifestDigest?.description == made.manifest)
        #expect(image.diffIDs.map(\.description) == made.diffIDs)
        #expect(image.layerDirectories.count == 3)
        let (base, second, third) = (image.layerDirectories[0], image.layerDirectories[1], image.layerDirectories[2])
        // Base: the hard link is one inode, the symlink is kept, the xattr applied.
        #expect(FS.lstat("\(base)/usr/b-hard")?.inode == FS.lstat("\(base)/etc/b")?.inode)
        #expect(try Sys.readlink("\(base)/b-link") == "/etc/b")
        #expect(FS.lstat("\(base)/tmp")?.permissions == 0o1777)
        let fd = open("\(base)/xattr-file", O_RDONLY)
        defer { close(fd) }
        #expect(try Sys.getXattr(fd, "user.podrec", describedAs: "xattr-file") == Array("yes".utf8))
        // Second: `.wh.a` is a 0/0 character device named a, never a file; the opaque
        // marker is an xattr on dir, and dir keeps this layer's own z.
        let wh = try #require(FS.lstat("\(second)/etc/a"))
        #expect(wh.type == S_IFCHR)
        #expect(!Sys.exists("\(second)/etc/.wh.a") && !Sys.exists("\(second)/dir/.wh..wh..opq"))
        let dir = open("\(second)/dir", O_RDONLY | O_DIRECTORY)
        defer { close(dir) }
        #expect(try Sys.getXattr(dir, "trusted.overlay.opaque", describedAs: "dir") == Array("y".utf8))
        #expect(FS.names("\(second)/dir") == ["z"])
        #expect(FS.read("\(third)/srv/top") == "top\n")
        // The run defaults.
        #expect(image.config.entrypoint == ["/bin/sh", "-c"] && image.config.cmd == ["echo default"])
        #expect(image.config.user == "web" && image.config.stopSignal == "SIGQUIT" && image.config.workdir == "/srv")
        #expect(try t.store.check() == [])
        // The same image again: nothing new is unpacked.
        try t.store.importImages(ref("again"), from: .path(t.sub("layout")))
        #expect(FS.names(t.sub("data/images/layers/sha256")).count == 3)
    }

    @Test func archivesShareLayersWithTheLayout() throws {
        let t = TempDir("archives")
        try Self.make("layout", t.sub("layout"))
        try Self.make("oci-archive", t.sub("oci.tar"))
        try Self.make("docker-archive", t.sub("docker.tar"))
        try t.store.importImages(nil, from: .path(t.sub("layout")))
        let oci = try t.store.importImages(ref("from/oci:1"), from: .path(t.sub("oci.tar")))
        let docker = try t.store.importImages(nil, from: .path(t.sub("docker.tar")))
        #expect(docker.map(\.reference.description) == ["localhost/test/docker:v1"])
        #expect(oci[0].diffIDs == docker[0].diffIDs)
        #expect(FS.names(t.sub("data/images/layers/sha256")).count == 3, "each layer unpacked once")
        #expect(try t.store.list().count == 3)
        // docker-archive layers are plain tars: stacked, they read the same.
        #expect(Sys.exists("\(docker[0].layerDirectories[1])/etc/a"))
        #expect(try t.store.check() == [])
        // By stdin too.
        let fd = open(t.sub("docker.tar"), O_RDONLY)
        defer { close(fd) }
        #expect(try t.store.importImages(ref("stdin:1"), from: .tarStream(fd: fd, name: "<stdin>")).count == 1)
    }

    @Test func multiPlatformIndexPicksThePlatform() throws {
        let t = TempDir("multiarch")
        try Self.make("layout", t.sub("layout"), ["--multiarch"])
        let amd = try t.store.importImages(ref("m:amd"), from: .path(t.sub("layout")), platform: Platform(architecture: "amd64"))
        let s390 = try t.store.importImages(ref("m:s390x"), from: .path(t.sub("layout")), platform: Platform(architecture: "s390x"))
        #expect(amd[0].manifestDigest != s390[0].manifestDigest)
        #expect(amd[0].diffIDs == s390[0].diffIDs)
        #expect {
            try t.store.importImages(ref("m:arm"), from: .path(t.sub("layout")), platform: Platform(architecture: "arm64"))
        } throws: { "\($0)".contains("has no image for linux/arm64 (it has: linux/s390x, linux/amd64)") }
        // The index digest finds the image picked from it.
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: t.sub("layout/index.json")))) as! [String: Any]
        let indexDigest = ((index["manifests"] as! [[String: Any]])[0]["digest"] as! String)
        #expect(try t.store.image(ImageReference(parsing: "m@\(indexDigest)")).manifestDigest != nil)
    }

    @Test func aWrongDiffIDIsRefusedNamingTheBlobAndLeavesNothingOfIt() throws {
        let t = TempDir("bad-diffid")
        try Self.make("layout", t.sub("layout"), ["--bad-diffid"])
        #expect {
            try t.store.importImages(nil, from: .path(t.sub("layout")))
        } throws: { error in
            guard case ImageError.verification(let what, let reason) = error else { return false }
            return what.hasPrefix("layer blob sha256:") && reason.contains("but the image config says diff id sha256:0000")
        }
        #expect(try t.store.list().isEmpty)
        #expect(FS.names(t.sub("data/images/tmp")) == [])
        #expect(FS.names(t.sub("data/images/layers/sha256")).count == 1, "the base layer, verified; not the bad one")
    }

    @Test func aCorruptBlobIsRefusedNamingIt() throws {
        let t = TempDir("bad-blob")
        let made = try Self.make("layout", t.sub("layout"), ["--bad-blob"])
        #expect {
            try t.store.importImages(nil, from: .path(t.sub("layout")))
        } throws: { error in
            guard case ImageError.verification(let what, let reason) = error else { return false }
            return what.hasPrefix("blob \(made.diffIDs[0])") && reason.hasPrefix("its content has the digest sha256:")
        }
        #expect(try t.store.list().isEmpty)
        #expect(FS.names(t.sub("data/images/tmp")) == [])
        #expect(!Sys.exists(t.sub("data/images/blobs/sha256/\(made.diffIDs[0].dropFirst(7))")))
    }

    /// A real docker-archive and oci-archive: `podman save` of an image podman imported
    /// from a busybox rootfs (podman's own storage in the temp dir).
    @Test func podmanSaveArchives() throws {
        try HostTool.require("/usr/bin/podman", package: "podman")
        try HostTool.require("/bin/busybox", package: "busybox-static")
        let t = TempDir("podman")
        FS.mkdir(t.sub("r/bin"))
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: t.sub("r/bin/busybox"))
        try #require(try run("/usr/bin/tar", ["-C", t.sub("r"), "-cf", t.sub("r.tar"), "."]).status == 0)
        // podman refuses a runroot longer than 50 bytes, and the temp dir is under $TMPDIR,
        // which CI makes long: the runroot gets a short dir of its own in /tmp.
        var template = Array("/tmp/pm-XXXXXX".utf8CString)
        let runroot = try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
        defer { try? FileManager.default.removeItem(atPath: runroot) }
        FS.write(t.sub("storage.conf"), "[storage]\ndriver = \"vfs\"\nrunroot = \"\(runroot)\"\ngraphroot = \"\(t.sub("pm-store"))\"\n")
        var env = ProcessInfo.processInfo.environment
        env["CONTAINERS_STORAGE_CONF"] = t.sub("storage.conf")
        let pm = ["--root", t.sub("pm-store"), "--runroot", runroot, "--storage-driver", "vfs"]
        for args in [["import", t.sub("r.tar"), "localhost/podrec-test:v1"], ["save", "-o", t.sub("docker.tar"), "localhost/podrec-test:v1"],
                     ["save", "--format", "oci-archive", "-o", t.sub("oci.tar"), "localhost/podrec-test:v1"]] {
            let r = try run("/usr/bin/podman", pm + args, environment: env)
            try #require(r.status == 0, "podman \(args[0]): \(r.err)")
        }
        let a = try t.store.importImages(nil, from: .path(t.sub("docker.tar")))
        let b = try t.store.importImages(ref("from-oci"), from: .path(t.sub("oci.tar")))
        #expect(a.map(\.reference.description) == ["localhost/podrec-test:v1"])
        #expect(a[0].diffIDs == b[0].diffIDs)
        #expect(FS.lstat("\(b[0].rootfs)/bin/busybox")?.size == FS.lstat("/bin/busybox")?.size)
        #expect(try t.store.check() == [])
        _ = try? run("/usr/bin/podman", pm + ["system", "reset", "--force"], environment: env)
    }

    /// kill -9 of `podrec image import` at random points: only complete images are ever
    /// visible, prune leaves no orphan, and the next import succeeds with a clean check.
    @Test func killedImportsLeaveOnlyCompleteImages() throws {
        try HostTool.require("/bin/busybox", package: "busybox-static")
        let t = TempDir("kill")
        try Self.make("oci-archive", t.sub("oci.tar"), ["--busybox", "/bin/busybox"])
        let data = t.sub("data")
        var generator = SystemRandomNumberGenerator()
        for round in 0..<12 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: ImageCommandTests.binary)
            p.arguments = ["image", "import", "k:\(round)", t.sub("oci.tar"), "--data-root", data]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32.random(in: 0..<60_000, using: &generator))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            // Whatever was visible is whole.
            for image in try t.store.list() {
                #expect(image.layerDirectories.count == 3)
                #expect(image.layerDirectories.allSatisfy { Sys.exists($0) })
            }
        }
        _ = try t.store.prune(inUse: [])
        #expect(FS.names(t.sub("data/images/tmp")) == [])
        let visible = try t.store.list().count
        if visible == 0 {
            #expect(FS.names(t.sub("data/images/blobs/sha256")) == [] && FS.names(t.sub("data/images/layers/sha256")) == [])
        }
        try t.store.importImages(ref("k:final"), from: .path(t.sub("oci.tar")))
        #expect(try t.store.check() == [])
        #expect(FS.names(t.sub("data/images/layers/sha256")).count == 3)
    }

    /// Four imports at once of images sharing their layers: each layer once, all complete.
    @Test func concurrentImportsShareLayers() throws {
        let t = TempDir("concurrent")
        try Self.make("oci-archive", t.sub("oci.tar"))
        let data = t.sub("data")
        let ps = (0..<4).map { i -> Process in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: ImageCommandTests.binary)
            p.arguments = ["image", "import", "c:\(i)", t.sub("oci.tar"), "--data-root", data]
            p.standardOutput = FileHandle.nullDevice
            return p
        }
        for p in ps { try p.run() }
        for p in ps { p.waitUntilExit(); #expect(p.terminationStatus == 0) }
        #expect(try t.store.list().count == 4)
        #expect(FS.names(t.sub("data/images/layers/sha256")).count == 3)
        #expect(FS.names(t.sub("data/images/tmp")) == [])
        #expect(try t.store.check() == [])
    }
}
