import Foundation
import Testing

/// End-to-end: the built `podrec` binary, its output and its exit status.
@Suite struct ValidateCommandTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The binary sits next to the test bundle in the build products directory.
    static let binary: URL = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("podrec")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return repo.appendingPathComponent(".build/debug/podrec")
    }()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func run(_ args: [String], stdin: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        p.currentDirectoryURL = Self.repo
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func temp(_ name: String, _ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("podrec-cli-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func examplesAreValid() throws {
        let r = try run(["validate", "manifests/"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
    }

    @Test func invalidFileExitsOneWithLocatedErrors() throws {
        let path = try temp("web.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: {name: web}
            spec:
              containers:
              - name: web
                image: host
                resources:
                  limts: {cpu: 1}
              volumes:
              - name: data
                persistentVolumeClaim: {claimName: data}
            """)
        let r = try run(["validate", path])
        #expect(r.status == 1)
        #expect(r.stderr == """
            \(path):9:7: error: spec.containers[0].resources.limts: unknown field; did you mean "limits"?
            \(path):12:5: error: spec.volumes[0].persistentVolumeClaim: not supported on a single host; use hostPath

            """)
        try FileManager.default.removeItem(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    @Test func warningsAloneExitZero() throws {
        let r = try run(["validate", "-"], stdin: "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  nodeName: n1\n  containers: [{name: c, image: host}]\n")
        #expect(r.status == 0)
        #expect(r.stderr == "<stdin>:5:3: warning: spec.nodeName: ignored: scheduling has no meaning on a single host\n")
    }

    @Test func missingFileIsAnError() throws {
        let r = try run(["validate", "no/such/file.yaml"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("no/such/file.yaml: error: no such file or directory"))
    }

    @Test func jsonOutputIsNormalizedAndMasksSecrets() throws {
        let r = try run(["validate", "-o", "json", "manifests/volumes.yaml"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let items = json?["items"] as? [[String: Any]] ?? []
        #expect(items.map { $0["kind"] as? String } .contains("Pod"))
        let secret = items.first { $0["kind"] as? String == "Secret" }
        let data = secret?["data"] as? [String: String] ?? [:]
        #expect(!data.isEmpty && data.values.allSatisfy { $0.hasPrefix("***") })
        let source = try String(contentsOf: Self.repo.appendingPathComponent("manifests/volumes.yaml"), encoding: .utf8)
        // The Secret in manifests/volumes.yaml: stringData username "admin", data
        // password "czNjcjN0" (base64 of "s3cr3t"). None of them reaches the output.
        for value in ["username: admin", "password: czNjcjN0"] { #expect(source.contains(value)) }
        for value in ["admin", "czNjcjN0", "s3cr3t"] { #expect(!r.stdout.contains(value), "\(value) printed") }
    }

    @Test func fieldsListsEveryClass() throws {
        let r = try run(["fields"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("PodSpec.affinity"))
        #expect(r.stdout.contains("refused: not supported on a single host; use hostPath"))
        // Issue 21: ignored fields of the spec are validated as the API server validates
        // them; ObjectMeta's are not, and the table says so.
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first { $0.hasPrefix("PodSpec.tolerations ") }?.contains("ignored, but validated as Kubernetes validates it:") == true)
        #expect(lines.first { $0.hasPrefix("ObjectMeta.uid ") }?.contains("  ignored: podrec assigns the uid") == true)
    }
}

/// Each kind of bad input: exit 1 and one located error line, never a crash.
@Suite struct BadInputCommandTests {
    static let cases: [(name: String, bytes: [UInt8], message: String)] = {
        var bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
        let names = Array("abcdefghij")
        for i in 1...9 { bomb += "\(names[i]): &\(names[i]) [" + Array(repeating: "*\(names[i - 1])", count: 9).joined(separator: ", ") + "]\n" }
        return [
            ("empty", [], "no Kubernetes objects in this file"),
            ("words", Array("this is not a manifest\n".utf8), "expected a Kubernetes object"),
            ("binary", [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00], "control characters are not allowed"),
            ("utf8", Array("kind: \"".utf8) + [0xFF, 0xFE] + Array("\"\n".utf8), "UTF-8"),
            ("tabs", Array("kind: Pod\nmetadata:\n\tname: x\n".utf8), "tabs cannot indent YAML"),
            ("duplicate", Array("kind: Pod\nkind: Pod\n".utf8), "duplicate key \"kind\" (first defined at 1:1)"),
            ("deep", Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8), "deeper than the limit of 128"),
            ("bomb", Array(bomb.utf8), "alias bomb"),
            ("huge", [UInt8](repeating: UInt8(ascii: "#"), count: 100 << 20), "over the limit of 16 MiB"),
        ]
    }()

    @Test(arguments: cases.map(\.name))
    func badInput(_ name: String) throws {
        let c = try #require(Self.cases.first { $0.name == name })
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("podrec-bad-\(getpid())-\(name)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("\(name).yaml")
        try Data(c.bytes).write(to: file)
        let r = try ValidateCommandTests().run(["validate", file.path])
        #expect(r.status == 1, "\(name): exit \(r.status)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(lines.first?.hasPrefix("\(file.path):") == true && lines.first?.contains(": error: ") == true, "\(r.stderr)")
        #expect(r.stderr.contains(c.message), "\(r.stderr)")
    }
}
