import Foundation
import Glibc
import Kernel
import KernelTestSupport
import Spawn
import Testing

extension Integration {
    /// `apply`, `diff` and `watch` pulling by `imagePullPolicy` from a real registry
    /// (`RegistryLab`: Debian's docker-registry on 127.0.0.1, TLS from a test CA), with the
    /// pods' `imagePullSecrets`; the pods then run from the pulled layers.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct CLIImagePullTests {
        typealias CLI = CLIPodTests.CLI

        /// A pod lab whose podrec uses `registry`'s store (on tmpfs), its CA and none of the
        /// host's registry settings.
        static func lab(_ label: String, _ registry: RegistryLab) throws -> (PodLab, CLI) {
            var (lab, podrec) = try CLI.lab(label)
            podrec.extraEnvironment = registry.environment.filter { !$0.hasPrefix("PATH=") && !$0.hasPrefix("PODREC_CERT_DIR=") }
                + ["PODREC_CERT_DIR=\(registry.certDirectory)"]
            return (lab, podrec)
        }

        static func pod(_ name: String, image: String, policy: String? = nil, secrets: [String] = [],
                        command: String = "echo hello from the image; exec sleep 3600") -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name)}
            spec:
              terminationGracePeriodSeconds: 1
              imagePullSecrets: [\(secrets.map { "{name: \($0)}" }.joined(separator: ", "))]
              containers:
              - name: app
                image: "\(image)"
            \(policy.map { "    imagePullPolicy: \($0)\n" } ?? "")    command: ["/bin/sh", "-c", "\(command)"]

            """
        }

        static func pullSecret(_ name: String, registry: String, user: String, password: String) -> String {
            let auth = Data("\(user):\(password)".utf8).base64EncodedString()
            return """
                apiVersion: v1
                kind: Secret
                metadata: {name: \(name)}
                type: kubernetes.io/dockerconfigjson
                stringData:
                  .dockerconfigjson: '{"auths":{"\(registry)":{"auth":"\(auth)"}}}'

                """
        }

        /// The registry's answered GETs of `repository`'s manifests so far (its access log).
        static func manifestGets(_ registry: RegistryLab, _ repository: String) -> Int {
            let log = (try? Sys.readString(registry.registryLog)) ?? ""
            return log.split(separator: "\n").filter { $0.contains("\"GET /v2/\(repository)/manifests/") && $0.contains("\" 200 ") }.count
        }

        @Test func applyPullsByPolicyWithPullSecretsAndThePodsRun() throws {
            let registry = try RegistryLab("apply", auth: .htpasswd(user: "alice", password: "s3cret-pw"))
            defer { registry.finish() }
            let (_, podrec) = try Self.lab("image-apply", registry)
            defer { podrec.finish() }
            try registry.push("team/app", busybox: true, creds: "alice:s3cret-pw")
            let image = "\(registry.host)/team/app:v1"
            let web = try podrec.write("web.yaml", Self.pod("web", image: image, secrets: ["regcred"]) + "---\n"
                                      + Self.pullSecret("regcred", registry: registry.host, user: "alice", password: "s3cret-pw"))

            // diff shows the pull and the pod that waits for it, and pulls nothing.
            let diff = try podrec("diff", "-f", web)
            #expect(diff.status == 1, "\(diff.output)")
            #expect(diff.output.contains("+ image \(image): pull, not in the store (imagePullSecrets: default/regcred)"), "\(diff.output)")
            #expect(diff.output.contains("pod default/web: waits for it"), "\(diff.output)")
            #expect(registry.blobDownloads().isEmpty)

            let applied = try podrec("apply", "-f", web, "--wait", "--timeout", "30")
            #expect(applied.status == 0, "\(applied.output)")
            #expect(applied.output.contains("+ image \(image): pull, not in the store"), "\(applied.output)")
            #expect(applied.output.contains("+ pod default/web"), "\(applied.output)")
            #expect(!applied.output.contains("s3cret") && !applied.output.contains("YWxpY2U6"), "a secret was printed: \(applied.output)")
            #expect(try podrec("logs", "web").output.contains("hello from the image"))
            let blobs = registry.blobDownloads()
            let downloads = blobs.count
            #expect(downloads == 4, "config and three layers: \(blobs)")

            // IfNotPresent, present: nothing to pull, nothing to do.
            let again = try podrec("apply", "-f", web)
            #expect(again.status == 0 && again.output.contains("no changes"), "\(again.output)")
            #expect(registry.blobDownloads().count == downloads)

            // A wrong password is the registry's own error; the running pod is left alone.
            try registry.push("team/other", busybox: true, creds: "alice:s3cret-pw")
            let bad = try podrec.write("bad.yaml", Self.pod("bad", image: "\(registry.host)/team/other:v1", secrets: ["wrong"]) + "---\n"
                                      + Self.pullSecret("wrong", registry: registry.host, user: "alice", password: "not-it"))
            let refused = try podrec("apply", "-f", bad)
            #expect(refused.status == 1, "\(refused.output)")
            #expect(refused.output.contains("pod default/bad") && refused.output.contains("401"), "\(refused.output)")
            #expect(!refused.output.contains("not-it"), "a secret was printed: \(refused.output)")
            #expect(try podrec.getRow("bad") == nil)
            #expect(try podrec.getRow("web")?[2] == "Running")

            // Never: a missing image is an error that says so, and no request is made.
            let never = try podrec.write("never.yaml", Self.pod("never", image: "\(registry.host)/team/absent:v1", policy: "Never"))
            let neverRun = try podrec("apply", "-f", never)
            #expect(neverRun.status == 1 && neverRun.output.contains("imagePullPolicy is Never"), "\(neverRun.output)")

            // Always: the image is present, but a pod that starts pulls it again (the
            // manifest; its blobs are there). A running pod pulls nothing.
            let always = try podrec.write("always.yaml", Self.pod("always", image: image, policy: "Always", secrets: ["regcred"]) + "---\n"
                                         + Self.pullSecret("regcred", registry: registry.host, user: "alice", password: "s3cret-pw"))
            let manifestsBefore = Self.manifestGets(registry, "team/app")
            let pulledAlways = try podrec("apply", "-f", always, "--wait", "--timeout", "30")
            #expect(pulledAlways.status == 0, "\(pulledAlways.output)")
            #expect(pulledAlways.output.contains("+ image \(image): pull, imagePullPolicy Always"), "\(pulledAlways.output)")
            // Its manifest was asked for again; every blob was in the store already.
            #expect(Self.manifestGets(registry, "team/app") == manifestsBefore + 1, "\((try? Sys.readString(registry.registryLog)) ?? "")")
            #expect(registry.blobDownloads().count == downloads)
            let steady = try podrec("apply", "-f", always)
            #expect(steady.output.contains("no changes"), "\(steady.output)")
            #expect(Self.manifestGets(registry, "team/app") == manifestsBefore + 1)
            #expect(try podrec("image", "check").status == 0)
        }

        /// Two pods of one apply whose images share their first layer: that layer's blob is
        /// downloaded once and unpacked once, and both pods run from it.
        @Test func twoPodsWhoseImagesShareABaseLayerStoreItOnce() throws {
            let registry = try RegistryLab("shared-base", tls: false)
            defer { registry.finish() }
            let (_, podrec) = try Self.lab("image-shared", registry)
            defer { podrec.finish() }
            let made = ["--layers", "2", "--layer-mb", "1", "--base-seed", "7", "--busybox", "/bin/busybox"]
            let one = try TestImage.push(registry, "team/one", made + ["--seed", "1"])
            let two = try TestImage.push(registry, "team/two", made + ["--seed", "2"])
            try #require(one.layers.count == 2 && one.layers[0] == two.layers[0] && one.layers[1] != two.layers[1])
            let file = try podrec.write("pods.yaml", Self.pod("one", image: "\(registry.host)/team/one:v1") + "---\n"
                                       + Self.pod("two", image: "\(registry.host)/team/two:v1"))
            let applied = try podrec("apply", "-f", file, "--wait", "--timeout", "60")
            #expect(applied.status == 0, "\(applied.output)")
            #expect(applied.output.contains("+ pod default/one") && applied.output.contains("+ pod default/two"), "\(applied.output)")
            let blobs = registry.blobDownloads()
            #expect(blobs.filter { $0.hasSuffix(one.layers[0]) }.count == 1, "the shared layer once: \(blobs)")
            #expect(blobs.count == 5, "two configs, the shared layer, two others: \(blobs)")
            let unpacked = try Sys.listDirectory(registry.dataRoot + "/images/layers/sha256")
            #expect(unpacked.count == 3, "\(unpacked)")
            #expect(try podrec("logs", "one").output.contains("hello from the image"))
            #expect(try podrec("logs", "two").output.contains("hello from the image"))
        }

        @Test func watchPullsInTheBackgroundAndLogsThePullAsEvents() throws {
            let registry = try RegistryLab("watch")
            defer { registry.finish() }
            let (lab, podrec) = try Self.lab("image-watch", registry)
            defer { podrec.finish() }
            try registry.push("team/app", busybox: true)
            let dir = lab.tmp + "/manifests"
            try Sys.mkdirs(dir, mode: 0o755)
            let image = "\(registry.host)/team/app:v1"
            try Sys.writeFileAtomically(dir + "/a.yaml", Array(Self.pod("a", image: image).utf8), mode: 0o644)
            try Sys.writeFileAtomically(dir + "/b.yaml", Array(Self.pod("b", image: "host", command: "exec sleep 3600").utf8), mode: 0o644)
            let watcher = try CLIWatchTests.WatchProcess.start(podrec, dir: dir)
            defer { _ = try? watcher.stop() }
            try watcher.waitForLine("pulled \(image)")
            try CLIWatchTests.waitFor("pods a and b running", context: { watcher.log }) {
                let pods = try CLIWatchTests.pods(podrec)
                return pods["a"] == "Running" && pods["b"] == "Running"
            }
            let log = watcher.log
            // b, which needs no pull, was made by the first pass, before a's pull began.
            let made = try #require(log.range(of: "+ pod default/b"), "\(log)")
            let pulling = try #require(log.range(of: "event pulling \(image) (not in the store) for default/a"), "\(log)")
            #expect(made.lowerBound < pulling.lowerBound, "\(log)")
            #expect(try watcher.stop() == .exited(0), "\(watcher.log)")
        }
    }
}
