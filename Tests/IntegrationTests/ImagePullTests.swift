import Glibc
import ImagePull
import Images
import ImageModel
import Kernel
import KernelTestSupport
import Synchronization
import Testing

/// Progress events, from whichever task made them.
final class EventLog: Sendable {
    private let events = Synchronization.Mutex<[PullEvent]>([])
    func add(_ e: PullEvent) { events.withLock { $0.append(e) } }
    var all: [PullEvent] { events.withLock { $0 } }
}

extension Integration {
    /// `podrec image pull` against a real registry (Debian's docker-registry) on 127.0.0.1,
    /// with images pushed by skopeo: TLS with a test CA, plain HTTP, htpasswd and token auth,
    /// a multi-arch index, the registry's errors, and two concurrent pulls.
    @Suite struct ImagePullTests {
        static let amd64 = ImageStore.hostPlatform().architecture == "amd64"

        /// `pulled REF sha256:… (N layers, …)`, the one line a pull prints off a terminal.
        static func pulledLine(_ output: String) -> [String]? {
            output.split(separator: "\n").first { $0.hasPrefix("pulled ") }.map { $0.split(separator: " ").map(String.init) }
        }

        @Test func pullByTagThenByDigestOverTLS() throws {
            let lab = try RegistryLab("tls")
            defer { lab.finish() }
            let manifest = try lab.push("test/app")
            let ref = "\(lab.host)/test/app:v1"
            let first = try lab.podrec("image", "pull", ref, "--cert-dir", lab.certDirectory)
            #expect(first.status == 0, "\(first.output)")
            let line = try #require(Self.pulledLine(first.output), "\(first.output)")
            #expect(line[1] == ref && line[2] == manifest)
            #expect(first.output.contains("(3 layers,") && first.output.contains("0 already present)"), "\(first.output)")
            #expect(first.output.split(separator: "\n").count == 1, "one line off a terminal: \(first.output)")
            let downloadsAfterTag = lab.blobDownloads().count
            #expect(downloadsAfterTag == 4, "config and three layers: \(lab.blobDownloads())")

            // By digest: the same image, nothing downloaded again.
            let byDigest = try lab.podrec("image", "pull", "\(lab.host)/test/app@\(manifest)", "--cert-dir", lab.certDirectory)
            #expect(byDigest.status == 0, "\(byDigest.output)")
            #expect(byDigest.output.contains(manifest) && byDigest.output.contains("3 already present"), "\(byDigest.output)")
            #expect(lab.blobDownloads().count == downloadsAfterTag)

            // A digest that does not match is the registry's 404, not another image.
            let wrong = try lab.podrec("image", "pull", "\(lab.host)/test/app@sha256:" + String(repeating: "0", count: 64), "--cert-dir", lab.certDirectory)
            #expect(wrong.status == 1 && wrong.output.contains("404"), "\(wrong.output)")

            let inspect = try lab.podrec("image", "inspect", ref)
            #expect(inspect.status == 0 && inspect.output.contains(manifest), "\(inspect.output)")
            let check = try lab.podrec("image", "check")
            #expect(check.status == 0, "\(check.output)")
            // The whiteout and the opaque dir arrived as the layers say.
            let store = ImageStore(dataRoot: lab.dataRoot)
            let image = try store.image(try ImageReference(parsing: ref))
            #expect(image.layerDirectories.count == 3)
        }

        @Test(.enabled(if: amd64, "the index's other platform is s390x; this picks the host's, amd64"))
        func multiArchIndexPicksTheHostPlatform() throws {
            let lab = try RegistryLab("multiarch")
            defer { lab.finish() }
            let amd64Manifest = try lab.push("test/multi", multiarch: true)
            let r = try lab.podrec("image", "pull", "\(lab.host)/test/multi:v1", "--cert-dir", lab.certDirectory)
            #expect(r.status == 0, "\(r.output)")
            #expect(Self.pulledLine(r.output)?[2] == amd64Manifest, "\(r.output)")
            let none = try lab.podrec("image", "pull", "\(lab.host)/test/multi:v1", "--cert-dir", lab.certDirectory, "--platform", "linux/arm64")
            #expect(none.status == 1 && none.output.contains("no image for linux/arm64") && none.output.contains("linux/s390x"), "\(none.output)")
        }

        @Test func htpasswdCredentialsAndAWrongPassword() throws {
            let lab = try RegistryLab("htpasswd", auth: .htpasswd(user: "tester", password: "right-pass"))
            defer { lab.finish() }
            try lab.push("test/app", creds: "tester:right-pass")
            let ref = "\(lab.host)/test/app:v1"
            // From an auth file, keyed by host:port.
            let auth = #"{"auths": {"https://\#(lab.host)": {"auth": "\#(Base64.encode(Array("tester:right-pass".utf8)))"}}}"#
            try Sys.writeFileAtomically(lab.tmp + "/auth.json", Array(auth.utf8), mode: 0o600)
            let ok = try lab.podrec("image", "pull", ref, "--cert-dir", lab.certDirectory, "--authfile", lab.tmp + "/auth.json")
            #expect(ok.status == 0, "\(ok.output)")

            let wrong = try lab.podrec("image", "pull", ref, "--cert-dir", lab.certDirectory, "--creds", "tester:wrong-pass")
            #expect(wrong.status == 1)
            #expect(wrong.output.hasPrefix("error: "), "\(wrong.output)")
            #expect(wrong.output.contains("401") && wrong.output.contains("UNAUTHORIZED"), "\(wrong.output)")
            #expect(wrong.output.contains("/v2/test/app/manifests/v1") && wrong.output.contains("--creds"), "\(wrong.output)")
            #expect(!wrong.output.contains("wrong-pass") && !wrong.output.contains("right-pass"), "no secret printed: \(wrong.output)")

            try Sys.unlink(lab.tmp + "/auth.json")  // $REGISTRY_AUTH_FILE: no credentials now
            let anonymous = try lab.podrec("image", "pull", ref, "--cert-dir", lab.certDirectory)
            #expect(anonymous.status == 1 && anonymous.output.contains("user name and password"), "\(anonymous.output)")
        }

        @Test func tokenAuth() throws {
            let lab = try RegistryLab("token", auth: .token(user: "tok", password: "tok-pass"))
            defer { lab.finish() }
            try lab.push("test/app", creds: "tok:tok-pass")
            let ref = "\(lab.host)/test/app:v1"
            let ok = try lab.podrec("image", "pull", ref, "--cert-dir", lab.certDirectory, "--creds", "tok:tok-pass")
            #expect(ok.status == 0, "\(ok.output)")
            let tokenLog = try Sys.readString(lab.tmp + "/token.log")
            #expect(tokenLog.contains("scope=['repository:test/app:pull']") && tokenLog.contains("auth=ok"), "\(tokenLog)")
            let refused = try lab.podrec("image", "pull", ref, "--cert-dir", lab.certDirectory, "--creds", "tok:nope")
            #expect(refused.status == 1 && refused.output.contains("401") && refused.output.contains("token server: bad credentials"), "\(refused.output)")
            #expect(!refused.output.contains("nope") && !refused.output.contains("tok-pass"))
        }

        @Test func missingTagAndRepositoryAreTheRegistrysErrors() throws {
            let lab = try RegistryLab("missing")
            defer { lab.finish() }
            try lab.push("test/app")
            let tag = try lab.podrec("image", "pull", "\(lab.host)/test/app:v9", "--cert-dir", lab.certDirectory)
            #expect(tag.status == 1 && tag.output.contains("GET https://\(lab.host)/v2/test/app/manifests/v9: 404"), "\(tag.output)")
            #expect(tag.output.contains("MANIFEST_UNKNOWN"), "\(tag.output)")
            let repo = try lab.podrec("image", "pull", "\(lab.host)/test/nothing:v1", "--cert-dir", lab.certDirectory)
            // distribution 2.8 answers MANIFEST_UNKNOWN for a missing repository too; the
            // message is whatever the registry said.
            #expect(repo.status == 1 && repo.output.contains("/v2/test/nothing/manifests/v1: 404"), "\(repo.output)")
            #expect(repo.output.contains("MANIFEST_UNKNOWN") || repo.output.contains("NAME_UNKNOWN"), "\(repo.output)")
        }

        @Test func plainHTTPOnLoopback() throws {
            let lab = try RegistryLab("http", tls: false)
            defer { lab.finish() }
            let manifest = try lab.push("test/app")
            let r = try lab.podrec("image", "pull", "\(lab.host)/test/app:v1")
            #expect(r.status == 0, "\(r.output)")
            #expect(Self.pulledLine(r.output)?[2] == manifest, "\(r.output)")
        }

        @Test func anUnknownCAIsRefused() throws {
            let lab = try RegistryLab("unknown-ca")
            defer { lab.finish() }
            try lab.push("test/app")
            let r = try lab.podrec("image", "pull", "\(lab.host)/test/app:v1")
            #expect(r.status == 1, "\(r.output)")
            #expect(r.output.contains("TLS handshake failed") && r.output.contains("not trusted"), "\(r.output)")
            #expect(r.output.contains("CERTIFICATE_VERIFY_FAILED"), "\(r.output)")
            #expect(lab.blobDownloads().isEmpty)
            // Listed insecure, the same registry is pulled from (TLS unverified).
            let insecure = try lab.podrec("image", "pull", "\(lab.host)/test/app:v1", "--insecure-registry", lab.host)
            #expect(insecure.status == 0, "\(insecure.output)")
        }

        @Test func aBadRegistriesConfNamesItsLine() throws {
            let lab = try RegistryLab("badconf", tls: false)
            defer { lab.finish() }
            let path = lab.tmp + "/bad.conf"
            try Sys.writeFileAtomically(path, Array("[[registry]]\nlocation = \"\(lab.host)\"\nmirrors = true\n".utf8), mode: 0o644)
            let r = try lab.podrec("image", "pull", "\(lab.host)/test/app:v1", "--registries-conf", path)
            #expect(r.status == 1 && r.output.contains("error: \(path):3:1: mirrors is not supported"), "\(r.output)")
            #expect(lab.blobDownloads().isEmpty)
        }

        /// The API the reconciler uses: `ImagePuller` with a pod's pull secret (raw
        /// .dockerconfigjson) and registries.conf mirrors: a live mirror is used, a dead one
        /// is passed over for the registry; progress events arrive; `shutdown` leaves no
        /// thread's fd behind (the lab's leak check).
        @Test func theLibraryWithAPullSecretAndMirrors() async throws {
            let lab = try RegistryLab("api", auth: .htpasswd(user: "sec", password: "sec-pass"))
            defer { lab.finish() }
            let manifest = try lab.push("test/app", creds: "sec:sec-pass")
            let dead = try freeLoopbackPort()
            // registry.invalid never resolves: were a rewrite wrong, nothing would leave.
            let conf = """
                [[registry]]
                prefix = "registry.invalid/viamirror"
                location = "127.0.0.1:\(dead)/none"
                [[registry.mirror]]
                location = "\(lab.host)/test"

                [[registry]]
                prefix = "registry.invalid/viaregistry"
                location = "\(lab.host)/test"
                [[registry.mirror]]
                location = "127.0.0.1:\(dead)/none"

                """
            try Sys.writeFileAtomically(lab.tmp + "/mirrors.conf", Array(conf.utf8), mode: 0o644)
            let secret = Array(#"{"auths": {"\#(lab.host)": {"username": "sec", "password": "sec-pass"}}}"#.utf8)
            let options = RegistryOptions(certDirectory: lab.certDirectory, registriesConf: lab.tmp + "/mirrors.conf",
                                          registriesConfRequired: true, platform: ImageStore.hostPlatform())
            let puller = try ImagePuller(store: ImageStore(dataRoot: lab.dataRoot), options: options)
            let events = EventLog()
            do {
                let a = try await puller.pull(try ImageReference(parsing: "registry.invalid/viamirror/app:v1"), pullSecrets: [secret],
                                              progress: PullProgress { events.add($0) })
                #expect(a.manifestDigest?.description == manifest)
                #expect(a.reference.name == "registry.invalid/viamirror/app")
                let b = try await puller.pull(try ImageReference(parsing: "registry.invalid/viaregistry/app:v1"), pullSecrets: [secret])
                #expect(b.manifestDigest?.description == manifest)
                do {
                    _ = try await puller.pull(try ImageReference(parsing: "registry.invalid/viaregistry/app:v1"))
                    Issue.record("pulled without the secret")
                } catch {
                    #expect((error as? PullError)?.kind == .unauthorized, "\(error)")
                }
            } catch {
                Issue.record("\(error)")
            }
            await puller.shutdown()
            let seen = events.all
            #expect(seen.contains { if case .resolved(_, 3, _, let endpoint) = $0 { return endpoint == "\(lab.host)/test/app" }; return false }, "\(seen)")
            #expect(seen.filter { if case .layerDone = $0 { return true }; return false }.count == 3, "\(seen)")
            #expect(seen.contains { if case .done = $0 { return true }; return false })
        }

        /// Two processes pull images that share every blob, through a proxy that slows each
        /// blob so that they overlap: the blob locks let one download each blob
        /// and the other find it there.
        @Test func concurrentPullsDownloadEachBlobOnce() throws {
            let lab = try RegistryLab("concurrent", tls: false)
            defer { lab.finish() }
            // The same layers under two names (and one config): four blobs in all.
            try lab.push("test/a")
            try lab.push("test/b")
            // A few kB a second: each blob takes a second or more, so the two pulls overlap
            // on every one (the test blobs are a few kB, which would otherwise arrive before
            // the second pull asks, and the test could not fail).
            let proxy = try RegistryProxy(lab, ["--throttle", "3000"])
            defer { proxy.stop() }
            let pids = try ["test/a", "test/b"].map { repo in
                try lab.startPodrec(["image", "pull", "127.0.0.1:\(proxy.port)/\(repo):v1"],
                                    log: lab.tmp + "/pull-\(repo.split(separator: "/").last!).log")
            }
            for (pid, name) in zip(pids, ["a", "b"]) {
                let status = try lab.wait(pid)
                #expect(status == 0, "\(name): \((try? Sys.readString(lab.tmp + "/pull-\(name).log")) ?? "")")
            }
            let downloads = lab.blobDownloads()
            let digests = Set(downloads.map { $0.split(separator: "/").last.map(String.init) ?? "" })
            #expect(downloads.count == 4 && digests.count == 4, "each blob once: \(downloads)")
            let check = try lab.podrec("image", "check")
            #expect(check.status == 0, "\(check.output)")
            let asked = proxy.entries().filter { $0.method == "GET" && $0.path.contains("/blobs/") }
            #expect(asked.count == 4, "the proxy saw each blob asked for once: \(asked)")
            let list = try lab.podrec("image", "ls")
            #expect(list.output.contains("test/a") && list.output.contains("test/b"), "\(list.output)")
        }
    }
}
