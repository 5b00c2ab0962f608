import Manifest
import YAML

/// The product paths that the fuzz targets and the sanitizer driver exercise. Both go
/// through the public entry points the CLI uses, with default limits, so a finding here is
/// a finding in `podrec validate`/`apply`/`watch`.
///
/// Besides crashing, a run fails (by `check`, which traps) when an invariant that every
/// caller relies on is broken: errors carry a 1-based mark inside the input, a valid file
/// yields objects and an invalid one none.
public enum Exercise {
    /// The YAML layer alone: the composer over libyaml, its limits and its errors, then
    /// the tree as JSON under both scalar schemas (manifest decoding uses `.kubectl`, image
    /// configs `.core12`). Returns a number derived from the output so that the optimizer
    /// cannot drop the work.
    @discardableResult
    public static func yaml(_ bytes: [UInt8]) -> Int {
        let documents: [Document]
        do {
            documents = try YAMLParser.parse(bytes, file: "fuzz.yaml")
        } catch {
            let text = error.description
            check(text.hasPrefix("fuzz.yaml:"), "a YAML error names its file: \(text)")
            checkMark(error.mark, bytes, text)
            return text.utf8.count
        }
        var work = 0
        for document in documents {
            checkMark(document.mark, bytes, "document start")
            let root = document.root
            checkMark(root.mark, bytes, "root node")
            check(root.count >= 1 && root.count <= Limits.default.maxNodes, "node count \(root.count) within the limit")
            check(root.height >= 1 && root.height <= Limits.default.maxDepth + 1, "height \(root.height) within the depth limit")
            for schema in [ScalarSchema.kubectl, .core12] {
                if let json = root.json(schema) {
                    work &+= json.serialized().utf8.count
                }
            }
        }
        return work
    }

    /// `podrec validate -o json` and the first half of `apply`: load one file, print every
    /// diagnostic, then the normalized objects and the spec hash of every container.
    @discardableResult
    public static func manifest(_ bytes: [UInt8]) -> Int {
        let set = ManifestLoader.load([ManifestFile(name: "fuzz.yaml", bytes: bytes)])
        var work = 0
        for diagnostic in set.diagnostics {
            let text = diagnostic.description
            check(text.hasPrefix("fuzz.yaml:"), "a diagnostic names its file: \(text)")
            checkMark(diagnostic.mark, bytes, text)
            work &+= text.utf8.count
        }
        check(set.isValid == !set.diagnostics.hasErrors, "valid exactly when there is no error")
        if !set.isValid {
            check(set.pods.isEmpty, "an invalid file yields no pods")
            return work
        }
        var objects: [JSONValue] = []
        objects += set.configMaps.keys.sorted().map { set.configMaps[$0]!.canonicalJSON }
        objects += set.secrets.keys.sorted().map { set.secrets[$0]!.canonicalJSON }
        objects += set.pods.map(\.pod.canonicalJSON)
        work &+= JSONValue.array(objects).serialized(indent: 2).utf8.count
        for sourced in set.pods {
            checkMark(sourced.mark, bytes, "pod \(sourced.pod.id)")
            for container in sourced.pod.spec.initContainers + sourced.pod.spec.containers {
                let hash = set.specHash(container, in: sourced.pod)
                check(hash.utf8.count == 16, "a spec hash is 16 hex digits, got \"\(hash)\"")
                work &+= hash.utf8.count
            }
        }
        work &+= roundTrip(set, objects)
        return work
    }

    /// `validate -o json` prints what podrec understood; read back, it must be valid and
    /// mean the same: the normalized objects of the output are the output. This catches a
    /// default, a quantity spelling or an escaped string that normalization writes but
    /// decoding does not read back. Secrets are printed masked, so an input with one is
    /// not round-tripped.
    static func roundTrip(_ set: ManifestSet, _ objects: [JSONValue]) -> Int {
        guard set.secrets.isEmpty, !objects.isEmpty else { return 0 }
        let text = objects.map { $0.serialized() }.joined(separator: "\n---\n") + "\n"
        let again = ManifestLoader.load([ManifestFile(name: "fuzz.json", bytes: Array(text.utf8))])
        check(again.isValid, "the normalized output loads again without error: \(again.diagnostics.errors.map(\.description)) from \(text)")
        var objects2: [JSONValue] = []
        objects2 += again.configMaps.keys.sorted().map { again.configMaps[$0]!.canonicalJSON }
        objects2 += again.pods.map(\.pod.canonicalJSON)
        // Compared as text, which is what `-o json` prints and what the spec hash digests:
        // a verbatim ignored field such as `weight: 099` is the float 99 (go-yaml reads
        // 099 as a float), printed `99` and read back as the integer 99; the same JSON.
        let text2 = objects2.map { $0.serialized() }.joined(separator: "\n---\n") + "\n"
        check(text2 == text, "the normalized output normalizes to itself: \(text) became \(text2)")
        return text.utf8.count
    }

    /// A mark is 1-based and cannot lie past the input: every line break takes at least one
    /// byte, so there are at most `count + 1` lines. (libyaml also breaks lines at CR, NEL,
    /// LS and PS, so counting `\n` would be wrong; this bound holds for all of them.)
    static func checkMark(_ mark: Mark, _ bytes: [UInt8], _ what: @autoclosure () -> String) {
        check(mark.line >= 1 && mark.column >= 1, "mark \(mark) is 1-based: \(what())")
        check(mark.line <= bytes.count + 1 && mark.column <= bytes.count + 1, "mark \(mark) is inside \(bytes.count) bytes: \(what())")
    }

    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition {
            // A trap, not an error: libFuzzer and ASan report it as a crash with the input.
            fatalError("invariant broken: \(message())")
        }
    }
}
