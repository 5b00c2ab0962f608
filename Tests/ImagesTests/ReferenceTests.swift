import ImageModel
import Testing
@testable import Images

@Suite struct ReferenceTests {
    /// text, familiar name, full name, tag
    static let valid: [(String, String, String, String)] = [
        ("busybox", "busybox", "docker.io/library/busybox", "latest"),
        ("busybox:1.36", "busybox", "docker.io/library/busybox", "1.36"),
        ("library/busybox:stable-musl", "busybox", "docker.io/library/busybox", "stable-musl"),
        ("docker.io/library/busybox:1", "busybox", "docker.io/library/busybox", "1"),
        ("index.docker.io/me/app", "me/app", "docker.io/me/app", "latest"),
        ("x:Ab_9.-", "x", "docker.io/library/x", "Ab_9.-"),
        ("0", "0", "docker.io/library/0", "latest"),
        ("host2", "host2", "docker.io/library/host2", "latest"),
        ("my/host", "my/host", "docker.io/my/host", "latest"),
        ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause", "registry.k8s.io/pause", "3.9"),
        ("localhost:5000/x/y", "localhost:5000/x/y", "localhost:5000/x/y", "latest"),
        ("localhost/x", "localhost/x", "localhost/x", "latest"),
        ("127.0.0.1:5000/x:v1", "127.0.0.1:5000/x", "127.0.0.1:5000/x", "v1"),
        ("[::1]:5000/x", "[::1]:5000/x", "[::1]:5000/x", "latest"),
        ("Registry.Example.com/x", "Registry.Example.com/x", "Registry.Example.com/x", "latest"),
        ("t:" + String(repeating: "T", count: 128), "t", "docker.io/library/t", String(repeating: "T", count: 128)),
    ]

    @Test(arguments: valid)
    func parses(_ text: String, _ familiar: String, _ name: String, _ tag: String) throws {
        let r = try ImageReference(parsing: text)
        #expect(r.familiarName == familiar)
        #expect(r.name == name)
        #expect(r.tag == tag)
        #expect(r.digest == nil)
        #expect(r.description == "\(familiar):\(tag)")
        #expect(r.canonical == "\(name):\(tag)")
    }

    @Test func digests() throws {
        let hex = String(repeating: "ab", count: 32)
        let r = try ImageReference(parsing: "nginx@sha256:\(hex)")
        #expect(r.tag == nil)
        #expect(r.digest?.hex == hex)
        #expect(r.canonical == "docker.io/library/nginx@sha256:\(hex)")
        let both = try ImageReference(parsing: "localhost:5000/nginx:1.27@sha256:\(hex)")
        #expect(both.tag == "1.27" && both.digest?.hex == hex && both.domain == "localhost:5000" && both.path == "nginx")
        #expect(both.withoutDigest.description == "localhost:5000/nginx:1.27")
    }

    static let invalid: [(String, String)] = [
        ("", "the name is empty"),
        (":tag", "the name is empty"),
        ("Busybox", "must be lowercase"),
        ("busy box", "may contain only lowercase letters"),
        ("-busybox", "must start with a lowercase letter or digit"),
        ("busybox-", "must end with a lowercase letter or digit"),
        ("a..b", "no two separators"),
        ("a/", "empty path component"),
        ("/a", "empty path component"),
        ("a//b", "empty path component"),
        ("a/../b", "must start with a lowercase letter or digit"),
        ("registry:5000/X", "must be lowercase"),
        ("reg_istry.io/x", "is not a host name"),
        ("registry:50a/x", "has a bad port"),
        ("busybox:", "the tag after ':' is empty"),
        ("busybox:.x", "must start with a letter, digit or '_'"),
        ("busybox:-x", "must start with a letter, digit or '_'"),
        ("busybox:a/b", "has a bad port"),
        ("a.b_c-d/e0", "is not a host name"),
        ("busybox:a+b", "the tag may contain only"),
        ("busybox:" + String(repeating: "t", count: 129), "longer than 128"),
        (String(repeating: "a", count: 256), "longer than 255"),
        (String(repeating: "a", count: 200) + "/" + String(repeating: "b", count: 54), "longer than 255 characters (registry and repository)"),
        ("host", "\"host\" is reserved"),
        ("host:latest", "\"host\" is reserved"),
        ("busybox@sha256:0123abcd", "a sha256 digest has 64 hex digits, this one 8"),
        ("busybox@md5:0123abcd", "the algorithm \"md5\" is not supported"),
        ("busybox@sha256:" + String(repeating: "A", count: 64), "lowercase"),
    ]

    @Test(arguments: invalid)
    func refuses(_ text: String, _ reason: String) {
        #expect {
            try ImageReference(parsing: text)
        } throws: { error in
            guard let e = error as? ImageSpecError, case .invalidReference(let t, let why) = e else { return false }
            return t == text && why.contains(reason) && e.description.hasPrefix("invalid image reference \"\(text)\": ")
        }
    }

    @Test func firstStoreDirectoryNames() {
        let store = ImageStore(dataRoot: "/d")
        #expect(store.legacyDirectories(ref("me/busy.box/x:1")) == ["/d/images/me%2Fbusy.box%2Fx/1"])
        #expect(store.legacyDirectories(ref("busybox")) == ["/d/images/busybox/latest", "/d/images/library%2Fbusybox/latest"])
        #expect(store.legacyDirectories(ref("localhost:5000/x:1")) == ["/d/images/localhost:5000%2Fx/1"])
    }

    @Test func commandValues() throws {
        #expect(try ImageConfig.parseCommand("httpd -f  -p 8080", option: "--cmd") == ["httpd", "-f", "-p", "8080"])
        #expect(try ImageConfig.parseCommand(#"["/bin/sh", "-c", "echo a b"]"#, option: "--cmd") == ["/bin/sh", "-c", "echo a b"])
        #expect(try ImageConfig.parseCommand("", option: "--cmd") == [])
        #expect(try ImageConfig.parseCommand("[]", option: "--cmd") == [])
        #expect(throws: ImageSpecError.self) { try ImageConfig.parseCommand(#"["a", 1]"#, option: "--cmd") }
        #expect(throws: ImageSpecError.self) { try ImageConfig.parseCommand(#"["a""#, option: "--cmd") }
    }

    @Test func configRoundTripsThroughYAMLParser() throws {
        let c = ImageConfig(entrypoint: ["/bin/sh", "-c"], cmd: ["echo \"hi\"\n", "yes"], env: ["PATH=/bin", "E="],
                            workdir: "/srv", created: "2025-01-02T03:04:05Z", sourceKind: "tar", sourcePath: "/t.tar", size: 42)
        let back = try ImageConfig(parsing: Array(c.json.serialized(indent: 2).utf8), file: "config.json")
        #expect(back == c)
        #expect(throws: ImageSpecError.self) { try ImageConfig(parsing: Array("[1]".utf8), file: "c") }
        #expect(throws: ImageSpecError.self) { try ImageConfig(entrypoint: [], env: ["=x"]).validate() }
        #expect(throws: ImageSpecError.self) { try ImageConfig(env: ["NOEQUALS"]).validate() }
        #expect(throws: ImageSpecError.self) { try ImageConfig(workdir: "relative").validate() }
    }
}
