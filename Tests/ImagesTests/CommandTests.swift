import Foundation
import Testing
@testable import Images

/// End to end: the built `podrec image` subcommands.
@Suite struct ImageCommandTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The binary sits next to the test bundle in the build products directory.
    static let binary: String = {
        var dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("podrec").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return repo.appendingPathComponent(".build-images/debug/podrec").path
    }()

    func podrec(_ args: [String], dataRoot: String?, stdin: Data? = nil) throws -> (status: Int32, out: String, err: String) {
        var env = ProcessInfo.processInfo.environment
        env["PODREC_DATA_ROOT"] = dataRoot
        return try run(Self.binary, args, environment: env, stdin: stdin)
    }

    @Test func importListRemove() throws {
        let t = TempDir("cli")
        let data = t.sub("data")
        let src = t.sub("src")
        FS.write("\(src)/bin/hello", "#!/bin/sh\necho hello\n", mode: 0o755)
        FS.symlink("hello", "\(src)/bin/hi")

        var r = try podrec(["image", "import", "web/hello:v1", src,
                            "--entrypoint", #"["/bin/sh", "-c"]"#, "--cmd", "echo hi there",
                            "--env", "A=1", "--env", "B=two words", "--workdir", "/srv"], dataRoot: data)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.hasPrefix("imported web/hello:v1 (26 B, 1 layer, sha256:"))

        let tar = t.sub("t.tar")
        try #require(try run("/usr/bin/tar", ["-C", src, "-cf", tar, "."]).status == 0)
        // --data-root wins over the environment; - reads a tar from stdin.
        r = try podrec(["image", "import", "plain", "-", "--data-root", data],
                       dataRoot: t.sub("elsewhere"), stdin: FileManager.default.contents(atPath: tar))
        #expect(r.status == 0, "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: t.sub("elsewhere")))

        r = try podrec(["image", "ls"], dataRoot: data)
        #expect(r.status == 0, "\(r.err)")
        let lines = r.out.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("REPOSITORY  TAG     DIGEST               SIZE  CREATED"))
        #expect(lines[1].hasPrefix("plain       latest  sha256:"))
        #expect(lines[1].contains("  26 B  20"))
        #expect(lines[2].hasPrefix("web/hello   v1      sha256:"))

        r = try podrec(["image", "ls", "-o", "json"], dataRoot: data)
        #expect(r.status == 0, "\(r.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
        #expect(json.count == 2)
        let config = try #require(json[1]["config"] as? [String: Any])
        #expect(config["entrypoint"] as? [String] == ["/bin/sh", "-c"])
        #expect(config["cmd"] as? [String] == ["echo", "hi", "there"])
        #expect(config["env"] as? [String] == ["A=1", "B=two words"])
        #expect(config["workdir"] as? String == "/srv")
        #expect(json[1]["repository"] as? String == "docker.io/web/hello")
        let layers = try #require(json[1]["layers"] as? [String])
        #expect(layers.count == 1 && layers[0].hasPrefix("\(data)/images/layers/sha256/"))
        let digest = try #require(json[1]["digest"] as? String)

        r = try podrec(["image", "inspect", "web/hello@\(digest)"], dataRoot: data)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("\"tag\": \"v1\""))
        r = try podrec(["image", "check"], dataRoot: data)
        #expect(r.status == 0 && r.out == "ok\n", "\(r.err)")

        r = try podrec(["image", "rm", "web/hello:v1", "web/hello:v1"], dataRoot: data)
        #expect(r.status == 1)
        #expect(r.out == "removed web/hello:v1\n")
        #expect(r.err == "error: no image web/hello:v1\n")
        r = try podrec(["image", "rm", "plain"], dataRoot: data)
        #expect(r.status == 0, "\(r.err)")
        r = try podrec(["image", "ls"], dataRoot: data)
        #expect(r.out == "REPOSITORY  TAG  DIGEST  SIZE  CREATED\n")
        r = try podrec(["image", "prune", "--root", t.sub("state")], dataRoot: data)
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.hasPrefix("removed 6 blobs, 2 layers, 0 leftovers"), "\(r.out)")
    }

    @Test func errorsAreOneLineWithExitOne() throws {
        let t = TempDir("cli-err")
        let data = t.sub("data")
        FS.write(t.sub("src/f"), "f")
        let cases: [([String], String)] = [
            (["image", "import", "host", t.sub("src")],
             "error: invalid image reference \"host\": \"host\" is reserved: `image: host` is a view of the host, not a stored image\n"),
            (["image", "import", "x@sha256:00", t.sub("src")],
             "error: invalid image reference \"x@sha256:00\": the digest: a sha256 digest has 64 hex digits, this one 2\n"),
            (["image", "import", "x", t.sub("src"), "--env", "NOVALUE"],
             "error: --env \"NOVALUE\": expected KEY=VALUE with a non-empty KEY\n"),
            (["image", "import", "x", t.sub("missing")],
             "error: stat \(t.sub("missing")): ENOENT (No such file or directory)\n"),
            (["image", "rm", "nothing"], "error: no image nothing:latest\n"),
        ]
        for (args, message) in cases {
            let r = try podrec(args, dataRoot: data)
            #expect(r.status == 1, "\(args)")
            #expect(r.err == message)
        }
    }

    @Test func defaultDataRootIsDocumented() throws {
        let r = try podrec(["image", "import", "--help"], dataRoot: nil)
        #expect(r.status == 0)
        #expect(r.out.contains("$PODREC_DATA_ROOT, else /var/lib/podrec"))
        #expect(r.out.contains("--entrypoint"))
    }
}
