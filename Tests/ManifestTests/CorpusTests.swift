import Foundation
import Testing
import YAML

@testable import Manifest

// Tests on real data (issue 2, section 6): the 162 Pod manifests in <shared>/corpus/pods.
//
// - Every file, loaded on its own, gives valid pods or a precise list of errors and
//   warnings: never a crash, a hang, or a generic message.
// - A summary per file (accepted, pods, normalized errors and warnings) is checked in as
//   Tests/Fixtures/corpus-expectations.json; any change fails with a diff. Regenerate with
//       PODREC_UPDATE_EXPECTATIONS=1 swift test --filter CorpusTests
//   and review the diff before checking it in.
// - podrec is at least as strict as the upstream v1.32.2 strict schema, as computed by
//   Tests/Support/upstream_check.py (python3 + jsonschema + PyYAML; `Tools/deps test` installs them).

// MARK: - Loading the corpus

/// One corpus file, loaded on its own.
struct CorpusRun: Sendable {
    let name: String
    let bytes: [UInt8]?
    let set: ManifestSet
    let seconds: Double
}

enum Corpus {
    /// The number of files in <shared>/corpus/pods (see <shared>/corpus/README.md).
    static let expectedFileCount = 162

    static let files: [URL] = TestPaths.files(in: TestPaths.corpusPods)

    /// Each file loaded on its own, once per test process.
    static let runs: [String: CorpusRun] = {
        var out: [String: CorpusRun] = [:]
        for url in files {
            let name = url.lastPathComponent
            let bytes = (try? Data(contentsOf: url)).map { [UInt8]($0) }
            let clock = ContinuousClock()
            let start = clock.now
            let set = ManifestLoader.load([ManifestFile(name: name, bytes: bytes ?? [])])
            let elapsed = (clock.now - start).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            out[name] = CorpusRun(name: name, bytes: bytes, set: set, seconds: seconds)
        }
        return out
    }()
}

// MARK: - Per-file summary

/// What the expectation file records per corpus file.
struct CorpusSummary: Codable, Equatable, Sendable {
    var accepted: Bool
    var pods: Int
    var errors: [String]
    var warnings: [String]

    init(_ run: CorpusRun) {
        let set = run.set
        accepted = !set.invalidFiles.contains(run.name)
        pods = set.pods.count
        errors = Self.lines(set.diagnostics.errors)
        warnings = Self.lines(set.diagnostics.warnings)
    }

    static func lines(_ diagnostics: [Diagnostic]) -> [String] {
        Array(Set(diagnostics.map(normalized))).sorted()
    }

    /// `spec.containers[1].ports[0].protocol` + `unsupported value "tcp"; ...` becomes
    /// `spec.containers[].ports[].protocol: unsupported value`: indexes dropped, the message
    /// cut before its first quote or semicolon, so that the summary names the reason but not
    /// the values.
    static func normalized(_ d: Diagnostic) -> String {
        let path = normalizedPath(d.path)
        let message = String(d.message.prefix { $0 != "\"" && $0 != ";" }).trimmingCharacters(in: .whitespaces)
        return path.isEmpty ? message : "\(path): \(message)"
    }

    /// `[<digits>]` becomes `[]`; map keys written `["a.b/c"]` stay as they are.
    static func normalizedPath(_ path: String) -> String {
        var out = ""
        var rest = Substring(path)
        while let open = rest.firstIndex(of: "[") {
            out += rest[..<open]
            let after = rest[rest.index(after: open)...]
            let digits = after.prefix { $0.isASCII && $0.isNumber }
            if !digits.isEmpty, after.dropFirst(digits.count).first == "]" {
                out += "[]"
                rest = after.dropFirst(digits.count + 1)
            } else {
                out += "["
                rest = after
            }
        }
        return out + rest
    }
}

/// The expectation file: stable, one entry per line, so that a change reads well in a diff.
enum CorpusExpectations {
    static func render(_ all: [String: CorpusSummary]) -> String {
        func list(_ items: [String]) -> String {
            items.isEmpty ? "[]" : "[\n" + items.map { "      " + quoted($0) }.joined(separator: ",\n") + "\n    ]"
        }
        let names = all.keys.sorted()
        var out = "{\n"
        for (i, name) in names.enumerated() {
            let s = all[name]!
            out += "  \(quoted(name)): {\n"
            out += "    \"accepted\": \(s.accepted),\n"
            out += "    \"pods\": \(s.pods),\n"
            out += "    \"errors\": \(list(s.errors)),\n"
            out += "    \"warnings\": \(list(s.warnings))\n"
            out += "  }" + (i == names.count - 1 ? "" : ",") + "\n"
        }
        return out + "}\n"
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// A readable account of what changed, file by file; empty when nothing did.
    static func diff(expected: [String: CorpusSummary], actual: [String: CorpusSummary]) -> String {
        var out: [String] = []
        for name in Set(expected.keys).union(actual.keys).sorted() {
            switch (expected[name], actual[name]) {
            case (nil, let a?):
                out.append("\(name): new file, not in the expectations (now \(describe(a)))")
            case (let e?, nil):
                out.append("\(name): expected (\(describe(e))), but the file is no longer in the corpus")
            case (let e?, let a?) where e != a:
                var lines = ["\(name):"]
                if e.accepted != a.accepted { lines.append("    accepted: \(e.accepted) -> \(a.accepted)") }
                if e.pods != a.pods { lines.append("    pods: \(e.pods) -> \(a.pods)") }
                for (label, ex, ac) in [("error", e.errors, a.errors), ("warning", e.warnings, a.warnings)] {
                    for gone in ex where !ac.contains(gone) { lines.append("  - \(label): \(gone)") }
                    for new in ac where !ex.contains(new) { lines.append("  + \(label): \(new)") }
                }
                out.append(lines.joined(separator: "\n"))
            default:
                break
            }
        }
        return out.joined(separator: "\n")
    }

    static func describe(_ s: CorpusSummary) -> String {
        (s.accepted ? "accepted, \(s.pods) pod(s)" : "refused") + ", \(s.errors.count) error(s), \(s.warnings.count) warning(s)"
    }
}

// MARK: - The upstream check (python3 + jsonschema)

/// One line of `Tests/Support/upstream_check.py`.
struct UpstreamResult: Decodable, Sendable {
    struct Finding: Decodable, Sendable {
        var path: String
        var message: String
    }

    var file: String
    var path: String
    var ok: Bool
    var parse_error: String?
    var errors: [Finding]
    var skipped: [String]?

    /// Refused by the upstream schema (or by the YAML reader kubectl uses).
    var refused: Bool { !ok || parse_error != nil }
}

enum UpstreamCheck {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Newer than the v1.32.2 schema, honoured by podrec and listed in README: the object the
    /// upstream error is about (last component of its path) → the field names.
    static let newerFields: [String: Set<String>] = ["lifecycle": ["stopSignal"]]

    /// python3 with jsonschema and PyYAML, looked for once per test process. Without them each
    /// upstream check fails at once with this one line, not with a traceback.
    static let missingPython: Failure? = {
        let probe = try? Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", "import jsonschema, yaml"],
                                        in: TestPaths.repo)
        guard probe?.status != 0 else { return nil }
        return Failure(description: "needs python3 with jsonschema and yaml: apt-get install python3-jsonschema python3-yaml (or pip install jsonschema pyyaml)")
    }()

    /// Runs the checker over `files`; the results are keyed by the path as given.
    static func run(_ files: [URL]) throws -> [String: UpstreamResult] {
        if let missingPython { throw missingPython }
        let arguments = ["python3", TestPaths.upstreamCheck.path, TestPaths.upstreamSchemas.path] + files.map(\.path)
        let result = try Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"), arguments, in: TestPaths.repo)
        guard result.status == 0 else {
            throw Failure(description: """
                upstream_check.py failed (exit status \(result.status)). The test needs python3 with the \
                jsonschema and PyYAML modules (CI installs them, e.g. `apt-get install python3-jsonschema \
                python3-yaml`). stderr:
                \(result.stderr)
                """)
        }
        var out: [String: UpstreamResult] = [:]
        for line in result.stdout.split(separator: "\n") where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                let r = try JSONDecoder().decode(UpstreamResult.self, from: Data(line.utf8))
                out[r.path] = r
            } catch {
                throw Failure(description: "upstream_check.py printed a line that is not a result: \(line) (\(error))")
            }
        }
        let missing = files.map(\.path).filter { out[$0] == nil }
        guard missing.isEmpty else {
            throw Failure(description: "upstream_check.py gave no result for \(missing.count) file(s): \(missing.joined(separator: ", "))\nstderr:\n\(result.stderr)")
        }
        return out
    }

    /// True when the file parses and every upstream error is an "additional property" error
    /// naming only fields in `newerFields` for that object.
    static func failsOnlyOnNewerFields(_ r: UpstreamResult) -> Bool {
        guard r.parse_error == nil, !r.errors.isEmpty else { return false }
        return r.errors.allSatisfy { e in
            guard let allowed = newerFields[lastComponent(e.path)], let names = unexpectedProperties(e.message) else { return false }
            return !names.isEmpty && names.allSatisfy(allowed.contains)
        }
    }

    /// The newer fields an excused result relies on.
    static func newerFieldsUsed(_ r: UpstreamResult) -> Set<String> {
        Set(r.errors.flatMap { unexpectedProperties($0.message) ?? [] })
    }

    /// jsonschema's `Additional properties are not allowed ('a', 'b' were unexpected)` → a, b.
    static func unexpectedProperties(_ message: String) -> [String]? {
        let head = "Additional properties are not allowed ("
        guard message.hasPrefix(head) else { return nil }
        let body = message.dropFirst(head.count)
        let list: Substring
        if body.hasSuffix(" was unexpected)") {
            list = body.dropLast(" was unexpected)".count)
        } else if body.hasSuffix(" were unexpected)") {
            list = body.dropLast(" were unexpected)".count)
        } else {
            return nil
        }
        var names: [String] = []
        for item in list.components(separatedBy: ", ") {
            guard item.count >= 2, item.hasPrefix("'"), item.hasSuffix("'") else { return nil }
            names.append(String(item.dropFirst().dropLast()))
        }
        return names
    }

    /// `spec.containers[0].lifecycle` → `lifecycle`.
    static func lastComponent(_ path: String) -> String {
        var last = Substring(path.split(separator: ".").last ?? "")
        if let bracket = last.firstIndex(of: "[") { last = last[..<bracket] }
        return String(last)
    }
}

/// Runs a program to completion; output goes through temporary files, so a chatty child
/// cannot block on a full pipe.
enum Subprocess {
    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ executable: URL, _ arguments: [String], in directory: URL) throws -> Result {
        let fm = FileManager.default
        let tmp = fm.temporaryDirectory.appendingPathComponent("podrec-tests-\(UUID().uuidString)")
        try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: tmp) }
        let outURL = tmp.appendingPathComponent("stdout")
        let errURL = tmp.appendingPathComponent("stderr")
        _ = fm.createFile(atPath: outURL.path, contents: nil)
        _ = fm.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        try? out.close()
        try? err.close()
        let stdout = String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self)
        let stderr = String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self)
        return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }
}

// MARK: - Tests

@Suite("Corpus of real Pod manifests")
struct CorpusTests {
    /// Messages that say nothing about what is wrong.
    static let genericMessages: Set<String> = [
        "error", "invalid", "invalid value", "invalid input", "invalid field", "invalid yaml",
        "unknown error", "failed", "failure", "bad value", "bad input", "parse error", "syntax error",
        "not valid", "wrong", "unexpected",
    ]

    @Test func corpusIsThere() {
        #expect(Corpus.files.count == Corpus.expectedFileCount,
                "expected \(Corpus.expectedFileCount) files in \(TestPaths.corpusPods.path), found \(Corpus.files.count)")
    }

    /// Every file loads on its own without a crash or a hang, and every diagnostic is precise:
    /// a real position in the file, a non-empty, specific, one-line message.
    @Test(.timeLimit(.minutes(2)), arguments: Corpus.files.map(\.lastPathComponent))
    func fileLoadsWithPreciseDiagnostics(_ name: String) throws {
        let run = try #require(Corpus.runs[name])
        let bytes = try #require(run.bytes, "cannot read \(name)")
        #expect(run.seconds < 5, "\(name) took \(run.seconds) s to load")

        let set = run.set
        let lineCount = bytes.count(where: { $0 == UInt8(ascii: "\n") }) + 1
        for d in set.diagnostics {
            #expect(d.file == name, "diagnostic for another file: \(d)")
            #expect(d.mark.line >= 1 && d.mark.column >= 1, "no position: \(d)")
            #expect(d.mark.line <= lineCount, "line beyond the end of the file (\(lineCount) lines): \(d)")
            let message = d.message.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!message.isEmpty, "empty message: \(d)")
            #expect(!d.message.contains("\n"), "a message spans lines, so the output is not one per line: \(d)")
            let bare = message.lowercased().trimmingCharacters(in: .punctuationCharacters.union(.whitespaces))
            #expect(!Self.genericMessages.contains(bare), "generic message: \(d)")
            #expect(message.count >= 8, "message too short to say what is wrong: \(d)")
        }

        // invalidFiles and the error diagnostics agree; an accepted file gives its pods.
        let refused = set.invalidFiles.contains(name)
        #expect(refused == set.diagnostics.hasErrors, "invalidFiles and the errors disagree for \(name)")
        #expect(set.invalidFiles.isSubset(of: [name]))
        if refused {
            #expect(set.pods.isEmpty, "\(name) is refused but gives pods")
        } else {
            // Every corpus file holds at least one Pod document.
            #expect(!set.pods.isEmpty, "\(name) is accepted but gives no pod")
            for p in set.pods { #expect(p.file == name && p.mark.line >= 1 && p.mark.column >= 1) }
        }
    }

    /// The checked-in expectation per file; any change fails with a diff.
    @Test func corpusMatchesExpectations() throws {
        var actual: [String: CorpusSummary] = [:]
        for (name, run) in Corpus.runs { actual[name] = CorpusSummary(run) }
        let path = TestPaths.corpusExpectations

        if ProcessInfo.processInfo.environment["PODREC_UPDATE_EXPECTATIONS"] == "1" {
            try FileManager.default.createDirectory(at: path.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(CorpusExpectations.render(actual).utf8).write(to: path, options: .atomic)
            let accepted = actual.values.filter(\.accepted).count
            print("corpus: wrote \(path.path): \(actual.count) files, \(accepted) accepted, \(actual.count - accepted) refused")
            return
        }

        guard let data = FileManager.default.contents(atPath: path.path) else {
            Issue.record("no expectation file at \(path.path); create it with PODREC_UPDATE_EXPECTATIONS=1 swift test --filter CorpusTests")
            return
        }
        let expected = try JSONDecoder().decode([String: CorpusSummary].self, from: data)
        let diff = CorpusExpectations.diff(expected: expected, actual: actual)
        if !diff.isEmpty {
            Issue.record("""
                the corpus results changed (\(path.path)); if the change is intended, run \
                PODREC_UPDATE_EXPECTATIONS=1 swift test --filter CorpusTests and review the file:
                \(diff)
                """)
        }
        let accepted = actual.values.filter(\.accepted).count
        print("corpus: \(actual.count) files, podrec accepts \(accepted) and refuses \(actual.count - accepted)")
    }

    /// Whatever fails the upstream v1.32.2 strict schema, podrec refuses too; the only
    /// exception is a failure caused only by a newer field podrec honours (README).
    @Test(.timeLimit(.minutes(5)))
    func atLeastAsStrictAsUpstream() throws {
        let files = Corpus.files
        try #require(!files.isEmpty, "no corpus files in \(TestPaths.corpusPods.path)")
        let upstream = try UpstreamCheck.run(files)

        var upstreamRefused: [String] = []
        var excused: [String] = []
        var podrecRefused = Set<String>()
        var newerFieldsUsed = Set<String>()
        for url in files {
            let name = url.lastPathComponent
            let run = try #require(Corpus.runs[name])
            if run.set.invalidFiles.contains(name) { podrecRefused.insert(name) }
            let r = try #require(upstream[url.path])
            guard r.refused else { continue }
            upstreamRefused.append(name)
            if !run.set.invalidFiles.contains(name) {
                if UpstreamCheck.failsOnlyOnNewerFields(r) {
                    excused.append(name)
                    newerFieldsUsed.formUnion(UpstreamCheck.newerFieldsUsed(r))
                } else {
                    let why = r.parse_error.map { "parse error: \($0)" }
                        ?? r.errors.map { "\($0.path): \($0.message)" }.joined(separator: "; ")
                    Issue.record("\(name) fails the upstream v1.32.2 strict schema (\(why)), but podrec accepts it")
                }
            }
        }

        // An exception must be documented: README lists the newer fields podrec honours.
        if !newerFieldsUsed.isEmpty {
            let readme = (try? String(contentsOf: TestPaths.readme, encoding: .utf8)) ?? ""
            for field in newerFieldsUsed.sorted() {
                #expect(readme.contains(field), "\(field) excuses a corpus file but README does not list it")
                #expect(UpstreamSchema.podrecExtensions.contains { $0.field == field }, "\(field) is not one of podrec's extensions")
            }
        }

        let more = podrecRefused.subtracting(upstreamRefused).sorted()
        let refusedBoth = upstreamRefused.count - excused.count
        print("""
            strictness: upstream v1.32.2 strict refuses \(upstreamRefused.count) of \(files.count) \
            (\(upstream.values.filter { $0.parse_error != nil }.count) do not parse); \
            podrec refuses \(refusedBoth == upstreamRefused.count ? "all" : "\(refusedBoth) of the") \(upstreamRefused.count) \
            and \(more.count) more (podrec refuses \(podrecRefused.count) of \(files.count)); \
            excused as newer fields podrec honours: \(excused.count)\(excused.isEmpty ? "" : " (\(excused.joined(separator: ", ")))")
            """)
    }

    /// The exception above, against the real checker: a pod whose only upstream failure is
    /// `lifecycle.stopSignal` is excused (and podrec accepts it); one that also has another
    /// unknown field is not (and podrec refuses it).
    @Test func newerFieldExceptionIsNarrow() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("podrec-stopsignal-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        func pod(_ lifecycle: String) -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata:
              name: stop
            spec:
              containers:
              - name: app
                image: busybox
                lifecycle:
            \(lifecycle)
            """
        }
        let onlyNewer = dir.appendingPathComponent("only-newer.yaml")
        let alsoTypo = dir.appendingPathComponent("also-typo.yaml")
        let typoOnly = dir.appendingPathComponent("typo-only.yaml")
        try Data(pod("      stopSignal: SIGUSR1").utf8).write(to: onlyNewer)
        try Data(pod("      stopSignal: SIGUSR1\n      preStopp:\n        sleep:\n          seconds: 1").utf8).write(to: alsoTypo)
        try Data(pod("      preStopp:\n        sleep:\n          seconds: 1").utf8).write(to: typoOnly)

        let upstream = try UpstreamCheck.run([onlyNewer, alsoTypo, typoOnly])
        let a = try #require(upstream[onlyNewer.path])
        let b = try #require(upstream[alsoTypo.path])
        let c = try #require(upstream[typoOnly.path])
        #expect(a.refused && UpstreamCheck.failsOnlyOnNewerFields(a), "\(a.errors)")
        #expect(UpstreamCheck.newerFieldsUsed(a) == ["stopSignal"])
        #expect(b.refused && !UpstreamCheck.failsOnlyOnNewerFields(b), "\(b.errors)")
        #expect(c.refused && !UpstreamCheck.failsOnlyOnNewerFields(c), "\(c.errors)")

        #expect(UpstreamSchema.podrecExtensions.contains { $0.type == "Lifecycle" && $0.field == "stopSignal" })
        for (url, valid) in [(onlyNewer, true), (alsoTypo, false), (typoOnly, false)] {
            let set = ManifestLoader.load([ManifestFile(name: url.lastPathComponent, bytes: [UInt8](try Data(contentsOf: url)))])
            #expect(set.isValid == valid, "\(url.lastPathComponent): \(set.diagnostics.map(\.description))")
        }
    }
}
