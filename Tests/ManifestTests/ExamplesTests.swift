import Foundation
import Testing
import YAML

@testable import Manifest

// The examples in <repo>/manifests/ (issue 2, sections 5 and 6): each one is valid for podrec
// with no error and no warning, and a valid Kubernetes object by the upstream v1.32.2 strict
// schema, so the same files move to a real cluster.

@Suite("Examples in manifests/")
struct ExamplesTests {
    /// The manifest files of the directory, by the rule `podrec validate DIR` uses.
    static let files: [URL] = TestPaths.files(in: TestPaths.manifests).filter {
        ManifestLoader.isManifestFileName($0.lastPathComponent)
    }

    static func load(_ urls: [URL]) throws -> ManifestSet {
        ManifestLoader.load(try urls.map { ManifestFile(name: $0.lastPathComponent, bytes: [UInt8](try Data(contentsOf: $0))) })
    }

    @Test func thereAreExamples() {
        // A single container, the seed scenario, init + sidecar + main, resources, volumes.
        #expect(Self.files.count >= 5, "expected at least 5 examples in \(TestPaths.manifests.path), found \(Self.files.map(\.lastPathComponent))")
    }

    @Test(arguments: files.map(\.lastPathComponent))
    func exampleIsCleanOnItsOwn(_ name: String) throws {
        let set = try Self.load([TestPaths.manifests.appendingPathComponent(name)])
        #expect(set.diagnostics.isEmpty, "\(name):\n\(set.diagnostics.map(\.description).joined(separator: "\n"))")
        #expect(set.isValid)
        #expect(!set.pods.isEmpty, "\(name) defines no pod")
    }

    @Test(.timeLimit(.minutes(2)))
    func examplesPassTheUpstreamSchema() throws {
        try #require(!Self.files.isEmpty)
        let upstream = try UpstreamCheck.run(Self.files)
        for url in Self.files {
            let r = try #require(upstream[url.path])
            #expect(r.parse_error == nil, "\(r.file): upstream YAML reader: \(r.parse_error ?? "")")
            #expect(r.ok, "\(r.file) fails the upstream v1.32.2 strict schema: \(r.errors.map { "\($0.path): \($0.message)" }.joined(separator: "; "))")
            #expect((r.skipped ?? []).isEmpty, "\(r.file): kinds the upstream check did not validate: \(r.skipped ?? [])")
        }
        print("examples: \(Self.files.count) files pass the upstream v1.32.2 strict schema")
    }

    @Test func directoryTogetherIsValid() throws {
        let set = try Self.load(Self.files)
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics.map(\.description).joined(separator: "\n"))")
        #expect(set.isValid)
        #expect(set.pods.count >= Self.files.count, "every example defines at least one pod")
    }

    /// End to end: the built binary, as a user runs it.
    @Test(.timeLimit(.minutes(1)))
    func cliValidatesManifests() throws {
        let binary = try #require(Self.podrecBinary(), "podrec binary not found next to the test bundle nor in \(TestPaths.repo.path)/.build/debug")
        let result = try Subprocess.run(binary, ["validate", "manifests/"], in: TestPaths.repo)
        #expect(result.status == 0, "\(binary.path) validate manifests/ exited \(result.status):\n\(result.stderr)\(result.stdout)")
        let diagnostics = (result.stderr + result.stdout).split(separator: "\n").filter { $0.contains(": error: ") || $0.contains(": warning: ") }
        #expect(diagnostics.isEmpty, "\(diagnostics.joined(separator: "\n"))")
    }

    /// The `podrec` executable of this build: next to the test bundle (`swift test` builds it
    /// into the same products directory), else `<repo>/.build/debug/podrec`.
    static func podrecBinary() -> URL? {
        let fm = FileManager.default
        var directories: [URL] = []
        if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        if let arg0 = ProcessInfo.processInfo.arguments.first {
            directories.append(URL(fileURLWithPath: arg0).deletingLastPathComponent())
        }
        directories.append(Bundle.main.bundleURL)
        directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
        // macOS: .../debug/podrecPackageTests.xctest/Contents/MacOS/podrecPackageTests
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            directories.append(bundle.bundleURL.deletingLastPathComponent())
        }
        var candidates = directories.map { $0.appendingPathComponent("podrec").standardizedFileURL }
        candidates.append(TestPaths.repo.appendingPathComponent(".build/debug/podrec"))
        return candidates.first { url in
            var isDirectory: ObjCBool = false
            return fm.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue && fm.isExecutableFile(atPath: url.path)
        }
    }
}
