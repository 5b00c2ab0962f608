// THE RULE FOR EVERY REGISTRY TEST: no traffic leaves the machine. The registry (RegistryLab),
// the proxy in front of it (Tests/Fixtures/registry/proxy.py) and podrec bind to and target
// 127.0.0.0/8 only.
import Foundation
import Glibc
import Kernel
import KernelTestSupport
import Spawn
import Testing

extension Integration {
    /// `podrec image pull` when things go wrong between it and the registry, or under it:
    /// a blob corrupted on the way, blobs redirected to another host (which must not get the
    /// credentials), the pull killed with SIGKILL at random points, a data root that fills
    /// up. After each: nothing partial is visible (`image ls`), `image check` is clean, and
    /// the store's temp area is empty (after `image prune` where a kill left it something).
    /// The proxy is stopped by pid, the tmpfs unmounted, and RegistryLab's leak check runs last.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct ImagePullFaultTests {
        /// A corrupted blob is refused, naming it; nothing of it is kept.
        @Test func aCorruptedBlobIsRefusedAndNothingOfItStays() throws {
            let lab = try RegistryLab("pull-corrupt")
            defer { lab.finish() }
            let image = try TestImage.push(lab, "fault/corrupt", ["--layers", "2", "--layer-mb", "1"])
            let proxy = try RegistryProxy(lab, ["--corrupt-blob"])
            defer { proxy.stop() }
            let ref = "127.0.0.1:\(proxy.port)/fault/corrupt:v1"

            let pull = try lab.podrec("image", "pull", "-q", ref)
            #expect(pull.status == 1, "\(pull.output)")
            #expect(pull.output.hasPrefix("error: "), "\(pull.output)")
            print("the corrupted blob's error: \(pull.output)")
            let named = image.blobs.filter { pull.output.contains($0) }
            #expect(!named.isEmpty, "the error names none of the image's blobs \(image.blobs): \(pull.output)")
            for blob in image.blobs {
                #expect(!Sys.exists(lab.dataRoot + "/images/blobs/sha256/" + blob.dropFirst(7)), "blob \(blob) is in the store")
            }
            #expect(try !lab.podrec("image", "ls").output.contains("fault/corrupt"))
            try expectClean(lab)
            // Every blob GET went through the proxy (and was corrupted), none came from elsewhere.
            #expect(proxy.entries().contains { $0.path.contains("/blobs/") && $0.status == 200 })
        }

        /// Blobs answered with a 307 to another origin, another loopback host or the same
        /// host on another port: the pull follows it, and that origin never sees the
        /// Authorization header that the registry's got.
        @Test(arguments: ["127.0.0.2", "127.0.0.1"])
        func aRedirectedBlobIsFetchedWithoutTheCredentials(to host: String) throws {
            let lab = try RegistryLab("pull-redirect", auth: .htpasswd(user: "puller", password: "s3cret-pw"))
            defer { lab.finish() }
            let image = try TestImage.push(lab, "fault/redirect", ["--layers", "2", "--layer-mb", "1"], creds: "puller:s3cret-pw")
            let proxy = try RegistryProxy(lab, ["--redirect-blobs-to", host])
            defer { proxy.stop() }
            let ref = "127.0.0.1:\(proxy.port)/fault/redirect:v1"

            let pull = try lab.podrec("image", "pull", "-q", "--creds", "puller:s3cret-pw", ref)
            #expect(pull.status == 0, "\(pull.output)")
            #expect(try lab.podrec("image", "inspect", ref).output.contains(image.manifest))
            let log = proxy.entries()
            let redirected = log.filter { $0.listener == "main" && $0.status == 307 }
            let served = log.filter { $0.listener == "redirect" }
            // The registry's host got the credentials with each blob GET: there was one to strip.
            #expect(!redirected.isEmpty && redirected.allSatisfy { $0.hadAuthorization }, "\(log)")
            for layer in image.layers {
                #expect(served.contains { $0.path.hasSuffix("/blobs/" + layer) && $0.status == 200 }, "layer \(layer) not fetched from \(host): \(log)")
            }
            #expect(!served.isEmpty && served.allSatisfy { !$0.hadAuthorization }, "an Authorization header reached \(host): \(log)")
            try expectClean(lab)
        }

        /// SIGKILL at 20 random points of a throttled pull (`kills`): after each, `image ls` shows no
        /// partial image and `image check` is clean (what was committed is whole); then
        /// `image prune` removes what the kills left, a pull succeeds, and the store is clean.
        /// 20 kills here; 5 in the cgroup v2 VM, which emulates every instruction (a pull
        /// that takes 0.5 s here takes 9.5 s there, and 20 rounds 300 s). `PODREC_PULL_KILLS`
        /// overrides both.
        static let kills = CLINetworkTests.count("PODREC_PULL_KILLS", host: 20, vm: 5)

        @Test func killedPullsLeaveNothingPartial() throws {
            let lab = try RegistryLab("pull-kill")
            defer { lab.finish() }
            let image = try TestImage.push(lab, "fault/kill", ["--layers", "4", "--layer-mb", "1"])
            let proxy = try RegistryProxy(lab, ["--throttle", "2000000"])
            defer { proxy.stop() }
            let ref = "127.0.0.1:\(proxy.port)/fault/kill:v1"

            // One whole pull, timed: the kills fall within its length.
            let t0 = MonotonicClock.now()
            let first = try lab.podrec("image", "pull", "-q", ref)
            let length = MonotonicClock.now() - t0
            try #require(first.status == 0, "\(first.output)")
            try #require(try lab.podrec("image", "rm", ref).status == 0)
            try #require(try lab.podrec("image", "prune").status == 0)

            var generator = SystemRandomNumberGenerator()
            var points: [String] = []
            for i in 0..<Self.kills {
                // Up to 90% of a whole pull's length: a pull that resumes (blobs a killed one
                // committed are not fetched again) is shorter, and some kills still come after it.
                let delay = Int64.random(in: 10_000_000...max(20_000_000, length * 9 / 10), using: &generator)
                let pid = try lab.startPodrec(["image", "pull", "-q", ref], log: lab.tmp + "/pull-\(i).log")
                MonotonicClock.sleep(nanoseconds: delay)
                var status: Int32 = 0
                let done = waitpid(pid, &status, WNOHANG) == pid
                if !done {
                    kill(pid, SIGKILL)
                    _ = try lab.wait(pid)
                }
                points.append(done ? "\(delay / 1_000_000) ms (done)" : "\(delay / 1_000_000) ms")
                let ls = try lab.podrec("image", "ls").output
                let check = try lab.podrec("image", "check")
                #expect(check.status == 0 && check.output == "ok\n", "after a kill at \(delay / 1_000_000) ms: \(check.output)")
                if ls.contains("fault/kill") {
                    // It committed before the kill: whole (the check above), and removed for the next round.
                    let inspect = try lab.podrec("image", "inspect", ref)
                    #expect(inspect.status == 0 && inspect.output.contains(image.manifest), "a listed image that is not whole: \(inspect.output)")
                    try #require(try lab.podrec("image", "rm", ref).status == 0)
                    try #require(try lab.podrec("image", "prune").status == 0)
                }
            }
            let left = StoreLeftovers.of(lab.dataRoot)
            let prune = try lab.podrec("image", "prune")
            #expect(prune.status == 0, "\(prune.output)")
            #expect(StoreLeftovers.of(lab.dataRoot).isEmpty, "after prune: \(StoreLeftovers.of(lab.dataRoot))")
            let pull = try lab.podrec("image", "pull", "-q", ref)
            #expect(pull.status == 0, "\(pull.output)")
            #expect(try lab.podrec("image", "inspect", ref).output.contains(image.manifest))
            try expectClean(lab)
            print("kill points (pull length \(length / 1_000_000) ms): \(points.joined(separator: ", ")); before prune: \(left.count) leftovers; prune: \(prune.output)")
        }

        /// A data root too small for the image (a 16 MiB tmpfs, a ~31 MB image): the pull fails
        /// naming ENOSPC, no image is visible; the tmpfs grown, the pull succeeds, all clean.
        @Test func aFullDataRootFailsClearlyAndThePullWorksOnceThereIsRoom() throws {
            let lab = try RegistryLab("pull-enospc")
            defer { lab.finish() }
            let image = try TestImage.push(lab, "fault/big", ["--layers", "3", "--layer-mb", "10"])
            let root = lab.tmp + "/small-root"
            try Sys.mkdirs(root, mode: 0o755)
            try Sys.mount(source: "podrec-test", target: root, fstype: "tmpfs", flags: [.noSuid, .noDev], data: "size=16m,mode=0755")
            defer { try? Sys.unmount(root) }
            let ref = "\(lab.host)/fault/big:v1"
            let certs = ["--cert-dir", lab.certDirectory]

            let full = try podrec(lab, ["image", "pull", "-q", "--data-root", root] + certs + [ref])
            #expect(full.status == 1, "\(full.output)")
            #expect(full.output.hasPrefix("error: "), "\(full.output)")
            #expect(full.output.contains("No space left on device") || full.output.contains("ENOSPC"), "\(full.output)")
            print("the full data root's error: \(full.output)")
            let ls = try lab.podrec("image", "ls", "--data-root", root)
            #expect(!ls.output.contains("fault/big"), "\(ls.output)")
            #expect(StoreLeftovers.of(root).isEmpty, "a failed pull left: \(StoreLeftovers.of(root))")

            try Sys.mount(source: "podrec-test", target: root, fstype: nil, flags: [.remount, .noSuid, .noDev], data: "size=256m,mode=0755")
            let pull = try podrec(lab, ["image", "pull", "-q", "--data-root", root] + certs + [ref])
            #expect(pull.status == 0, "\(pull.output)")
            #expect(try lab.podrec("image", "inspect", "--data-root", root, ref).output.contains(image.manifest))
            let check = try lab.podrec("image", "check", "--data-root", root)
            #expect(check.status == 0 && check.output == "ok\n", "\(check.output)")
            #expect(StoreLeftovers.of(root).isEmpty, "\(StoreLeftovers.of(root))")
            try Sys.unmount(root)
            #expect(try !Sys.mounts().contains { $0.mountPoint == root }, "the tmpfs is still mounted")
        }

        /// `podrec ARGS` with the lab's environment, to its end.
        func podrec(_ lab: RegistryLab, _ arguments: [String]) throws -> RegistryLab.Run {
            try lab.run([RegistryLab.podrec] + arguments, check: false, environment: lab.environment)
        }

        /// `image check` is clean and the store's temp area is empty.
        func expectClean(_ lab: RegistryLab, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let check = try lab.podrec("image", "check")
            #expect(check.status == 0 && check.output == "ok\n", "image check: \(check.output)", sourceLocation: sourceLocation)
            #expect(StoreLeftovers.of(lab.dataRoot).isEmpty, "left in the store: \(StoreLeftovers.of(lab.dataRoot))", sourceLocation: sourceLocation)
        }
    }
}

/// What a writer leaves in a store when it dies or fails without cleaning up: entries of
/// `images/tmp/`, `images/.index.json.tmp.*`, and blob files whose name is not a digest.
enum StoreLeftovers {
    static func of(_ dataRoot: String) -> [String] {
        let images = dataRoot + "/images"
        var out: [String] = []
        for name in (try? Sys.listDirectory(images + "/tmp")) ?? [] { out.append("images/tmp/" + name) }
        for name in (try? Sys.listDirectory(images)) ?? [] where name.hasPrefix(".index.json.tmp") { out.append("images/" + name) }
        for name in (try? Sys.listDirectory(images + "/blobs/sha256")) ?? [] where name.count != 64 || !name.allSatisfy(\.isHexDigit) {
            out.append("images/blobs/sha256/" + name)
        }
        return out.sorted()
    }
}

/// An image made by make_image.py (the --layers mode: seeded random data) and pushed into a
/// RegistryLab with skopeo.
struct TestImage {
    var manifest: String
    var config: String
    var layers: [String]
    var blobs: [String] { [config] + layers }

    static func push(_ lab: RegistryLab, _ repository: String, _ arguments: [String], creds: String? = nil) throws -> TestImage {
        let layout = lab.tmp + "/layout-" + repository.replacingOccurrences(of: "/", with: "-")
        let made = try lab.run(["/usr/bin/python3", RegistryLab.fixtures + "/images/make_image.py", "layout", layout] + arguments)
        let line = try #require(made.output.split(separator: "\n").last.map(String.init))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let manifest = try #require(json["manifest"] as? String)
        let layers = try #require(json["layers"] as? [[String: Any]]).compactMap { $0["digest"] as? String }
        let manifestJSON = try JSONSerialization.jsonObject(with: Data(try Sys.readFile(layout + "/blobs/sha256/" + manifest.dropFirst(7))))
        let config = try #require(((manifestJSON as? [String: Any])?["config"] as? [String: Any])?["digest"] as? String)
        var argv = ["/usr/bin/skopeo", "--insecure-policy", "copy", "--quiet", "--preserve-digests"]
        argv += lab.tls ? ["--dest-cert-dir", lab.certDirectory + "/" + lab.host] : ["--dest-tls-verify=false"]
        if let creds { argv += ["--dest-creds", creds] }
        argv += ["oci:" + layout, "docker://\(lab.host)/\(repository):v1"]
        try lab.run(argv)
        return TestImage(manifest: manifest, config: config, layers: layers)
    }
}
