import Glibc
import Kernel
import Manifest
import Planner
import Testing
import PodModel
@testable import Watch

/// Which files of a watched directory count, and how their pods become one pass's input.
@Suite struct WatchInputTests {
    static func pod(_ name: String, command: String = "sleep") -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: \(name)}
        spec:
          containers:
          - {name: c, image: host, command: ["\(command)"]}

        """
    }

    static func loaded(_ path: String, _ text: String) -> (path: String, loaded: WatchInput.Loaded) {
        let set = ManifestLoader.load([ManifestFile(name: path, bytes: Array(text.utf8))])
        return (path, set.isValid ? .set(set) : .unusable(set.diagnostics.map(\.description)))
    }

    static func pods(_ input: WatchInput) -> [String] {
        input.sets.flatMap { set in set.pods.map { "\($0.pod.metadata.name)@\($0.file)" } }
    }

    @Test(arguments: [
        ("web.yaml", true), ("web.yml", true), ("web.json", true),
        (".web.yaml", false), ("web.yaml~", false), ("web.yaml.swp", false), (".web.yaml.swp", false), ("4913", false),
        ("web.yaml.bak", false), ("web.yaml.orig", false), ("web.yaml.dpkg-new", false), ("web.yaml.dpkg-old", false),
        ("web.txt", false), ("web", false),
    ])
    func theFileRule(name: String, counts: Bool) {
        #expect(ManifestLoader.isManifestFileName(name) == counts)
    }

    @Test func aFileThatCannotBeUsedIsHeldAndOthersGoOn() {
        let input = WatchInput.resolve([Self.loaded("/d/a.yaml", Self.pod("a")), Self.loaded("/d/b.yaml", "kind: [")]) { _ in nil }
        #expect(Self.pods(input) == ["a@/d/a.yaml"])
        #expect(input.held == ["watch:/d/b.yaml"])
        #expect(input.problems["/d/b.yaml"]?.first?.hasPrefix("/d/b.yaml:") == true, "\(input.problems)")
        #expect(input.problems["/d/a.yaml"] == nil)
    }

    /// A file that cannot be used now, with a good set loaded from it before: held (none of
    /// its pods is pruned) and its last good set is still the input for its pods, so that
    /// they are repaired as they were (the chaos soak found a held pod whose supervisor was
    /// killed left dead until the file was fixed).
    @Test func aFileThatBrokeKeepsItsLastGoodSetAsInput() {
        let good = ManifestLoader.load([ManifestFile(name: "/d/b.yaml", bytes: Array(Self.pod("b").utf8))])
        let broken = Self.loaded("/d/b.yaml", "kind: [")
        let input = WatchInput.resolve([Self.loaded("/d/a.yaml", Self.pod("a")), broken], lastGood: ["/d/b.yaml": good]) { _ in nil }
        #expect(Self.pods(input) == ["a@/d/a.yaml", "b@/d/b.yaml"])
        #expect(input.held == ["watch:/d/b.yaml"])
        #expect(input.problems["/d/b.yaml"]?.first?.hasPrefix("/d/b.yaml:") == true, "its error is still reported")
        let unknown = WatchInput.resolve([broken]) { _ in nil }
        #expect(Self.pods(unknown) == [], "no good set known (a watcher started while it was broken): held only")
        #expect(unknown.held == ["watch:/d/b.yaml"])
    }

    /// A pod two files define: an error for both; the recorded owner keeps it, else the
    /// first file in name order. Each file's other pods are unaffected.
    @Test func aDuplicatedPodStaysWithItsOwnerOrTheFirstFile() {
        let a = Self.loaded("/d/a.yaml", Self.pod("dup") + "---\n" + Self.pod("only-a"))
        let b = Self.loaded("/d/b.yaml", Self.pod("dup", command: "true") + "---\n" + Self.pod("only-b"))
        let first = WatchInput.resolve([a, b]) { _ in nil }
        #expect(Self.pods(first) == ["dup@/d/a.yaml", "only-a@/d/a.yaml", "only-b@/d/b.yaml"])
        #expect(first.problems["/d/a.yaml"] == ["/d/a.yaml: error: pod default/dup is also defined in /d/b.yaml; this file keeps it"])
        #expect(first.problems["/d/b.yaml"] == ["/d/b.yaml: error: pod default/dup is also defined in /d/a.yaml; ignored here: /d/a.yaml keeps it"])
        #expect(first.held.isEmpty)
        let owned = WatchInput.resolve([a, b]) { $0.name == "dup" ? "watch:/d/b.yaml" : nil }
        #expect(Self.pods(owned) == ["only-a@/d/a.yaml", "dup@/d/b.yaml", "only-b@/d/b.yaml"])
    }

    @Test func modesAndOwnersThatAnyoneCouldWriteAreRefused() {
        func status(_ mode: UInt32, uid: UInt32 = 0) -> Sys.FileStatus {
            var st = stat()
            st.st_mode = 0o100000 | mode
            st.st_uid = uid
            return Sys.FileStatus(st)
        }
        #expect(ManifestDirectory.modeProblem(status(0o644), owners: [0]) == nil)
        #expect(ManifestDirectory.modeProblem(status(0o664), owners: [0]) == "mode 0664 is writable by group")
        #expect(ManifestDirectory.modeProblem(status(0o646), owners: [0]) == "mode 0646 is writable by others")
        #expect(ManifestDirectory.modeProblem(status(0o666), owners: [0]) == "mode 0666 is writable by group and others")
        #expect(ManifestDirectory.modeProblem(status(0o644, uid: 1000), owners: [0]) == "owned by uid 1000, not by root or this user")
        #expect(ManifestDirectory.modeProblem(status(0o644, uid: 1000), owners: [0, 1000]) == nil)
    }

    @Test func eventsAreNamedForPeople() {
        #expect(Watcher.describe(UInt32(IN_CLOSE_WRITE)) == "written")
        #expect(Watcher.describe(UInt32(IN_MOVED_TO)) == "renamed in")
        #expect(Watcher.describe(UInt32(IN_DELETE_SELF)) == "removed")
    }
}
