import Foundation

/// Where the tests find the repository and the shared data, from this file's own path:
/// `<repo>/Tests/ManifestTests/TestPaths.swift`, and the shared folder `<repo>/../shared`.
enum TestPaths {
    static let repo: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // ManifestTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // <repo>
        .standardizedFileURL

    static let shared: URL = repo.deletingLastPathComponent().appendingPathComponent("shared").standardizedFileURL

    static let corpusPods = shared.appendingPathComponent("corpus/pods")
    static let upstreamSchemas = shared.appendingPathComponent("schemas-upstream/kubernetes/v1.32.2-standalone-strict")

    static let manifests = repo.appendingPathComponent("manifests")
    static let readme = repo.appendingPathComponent("README.md")
    static let upstreamCheck = repo.appendingPathComponent("Tests/Support/upstream_check.py")
    static let corpusExpectations = repo.appendingPathComponent("Tests/Fixtures/corpus-expectations.json")

    /// The regular, non-hidden files of `directory`, sorted by name; empty when it cannot be read.
    static func files(in directory: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().filter { !$0.hasPrefix(".") }.map { directory.appendingPathComponent($0) }.filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0.path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }
}
