import ImageModel
import Testing
@testable import Images

@Suite struct ReferenceTests {
    static let valid: [(String, String, String)] = [
        ("busybox", "busybox", "latest"),
        ("busybox:1.36", "busybox", "1.36"),
        ("library/busybox:stable-musl", "library/busybox", "stable-musl"),
        ("a.b_c-d/e0:_x", "a.b_c-d/e0", "_x"),
        ("x:Ab_9.-", "x", "Ab_9.-"),
        ("0", "0", "latest"),
        ("host2", "host2", "latest"),
        ("my/host", "my/host", "latest"),
        (String(repeating: "a", count: 255), String(repeating: "a", count: 255), "latest"),
        ("t:" + String(repeating: "T", count: 128), "t", String(repeating: "T", count: 128)),
    ]

    @Test(arguments: valid)
    func parses(_ text: String, _ name: String, _ tag: String) throws {
        let r = try ImageReference(parsing: text)
        #expect(r.name == name)
        #expect(r.tag == tag)
        #expect(r.description == "\(name):\(tag)")
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
        ("registry:5000/x", "may contain only lowercase letters"),
        ("busybox:", "the tag after ':' is empty"),
        ("busybox:.x", "must start with a letter, digit or '_'"),
        ("busybox:-x", "must start with a letter, digit or '_'"),
        ("busybox:a/b", "may contain only lowercase letters"),
        ("busybox:a+b", "the tag may contain only"),
        ("busybox:" + String(repeating: "t", count: 129), "longer than 128"),
        (String(repeating: "a", count: 256), "longer than 255"),
        (String(repeating: "a", count: 200) + "/" + String(repeating: "b", count: 54), "once each '/' is stored as %2F"),
        ("host", "\"host\" is reserved"),
        ("host:latest", "\"host\" is reserved"),
        ("busybox@sha256:0123abcd", "digests (@sha256:...) are not supported"),
        ("busybox:1@sha256:0123abcd", "digests"),
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

    @Test func directoryNamesRoundTrip() {
        let r = ref("library/busy.box/x:1")
        #expect(r.directoryName == "library%2Fbusy.box%2Fx")
        #expect(ImageReference.name(fromDirectory: r.directoryName) == "library/busy.box/x")
        #expect(ImageReference.name(fromDirectory: ".tmp-1-0") == nil)
        #expect(ImageReference.name(fromDirectory: "host") == nil)
        #expect(ImageReference.name(fromDirectory: "a%2F%2Fb") == nil)
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
