// manifest-bench: parse / decode / validate throughput over a corpus of manifest files.
//
// Every file of the corpus directory is read once into memory; each measurement then runs
// over exactly those bytes, many passes per repetition, and reports the median throughput
// over the repetitions. Repetitions of the different measurements are interleaved (A B C,
// A B C, ...) so that slow drift of the machine spreads over all of them alike.
//
//   manifest-bench [--corpus DIR] [--json] [--seconds S] [--repetitions N]
//                  [--only KEY] [--passes N] [--dump]
//
// MB is 10^6 bytes. --only KEY --passes N runs one measurement a fixed number of passes,
// untimed and without calibration, for a profiler (valgrind --tool=callgrind, perf record).
// --dump prints what podrec made of each file instead (every node with its tag, mark,
// count and height; every diagnostic; every accepted object in full): two builds' dumps
// are identical when a speed change kept every answer and every position.

import Foundation
import Manifest
import YAML
import Yams

// MARK: - Options

struct Options {
    var corpus: String
    var json = false
    /// Target length of one repetition of one measurement.
    var seconds = 1.5
    var repetitions = 7
    var only: String?
    var passes: Int?
    var dump = false
}

func usage() -> Never {
    FileHandle.standardError.write(Data("""
        usage: manifest-bench [--corpus DIR] [--json] [--seconds S] [--repetitions N] [--only KEY] [--passes N]
          KEY is one of: podrec-yaml, podrec-full, yams-compose, yams-compose-utf8

        """.utf8))
    exit(2)
}

/// The default corpus: ../shared/corpus/pods beside the repository root; the root is this
/// file's path (Benchmarks/Sources/manifest-bench/main.swift) less four components.
func defaultCorpus() -> String {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }  // -> repository root
    return url.deletingLastPathComponent().appendingPathComponent("shared/corpus/pods").standardizedFileURL.path
}

func parseOptions() -> Options {
    var options = Options(corpus: defaultCorpus())
    var args = CommandLine.arguments.dropFirst()
    func value(_ flag: String) -> String {
        guard let v = args.popFirst() else {
            FileHandle.standardError.write(Data("manifest-bench: \(flag) needs a value\n".utf8))
            usage()
        }
        return v
    }
    while let arg = args.popFirst() {
        switch arg {
        case "--corpus": options.corpus = value(arg)
        case "--json": options.json = true
        case "--seconds": options.seconds = Double(value(arg)) ?? { usage() }()
        case "--repetitions": options.repetitions = Int(value(arg)) ?? { usage() }()
        case "--only": options.only = value(arg)
        case "--passes": options.passes = Int(value(arg)) ?? { usage() }()
        case "--dump": options.dump = true
        case "-h", "--help": usage()
        default:
            FileHandle.standardError.write(Data("manifest-bench: unknown argument \(arg)\n".utf8))
            usage()
        }
    }
    if options.repetitions < 1 || options.seconds <= 0 { usage() }
    return options
}

// MARK: - Corpus

struct CorpusFile {
    var name: String
    var bytes: [UInt8]
}

/// Every regular, non-hidden file of `dir`, sorted by name.
func loadCorpus(_ dir: String) throws -> [CorpusFile] {
    let fm = FileManager.default
    var files: [CorpusFile] = []
    for name in try fm.contentsOfDirectory(atPath: dir).sorted() where !name.hasPrefix(".") {
        let path = (dir as NSString).appendingPathComponent(name)
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        files.append(CorpusFile(name: name, bytes: [UInt8](data)))
    }
    return files
}

// MARK: - Workloads

/// What one pass over the corpus produced. It is checked to be the same on every pass,
/// which both keeps the optimizer from dropping the work and shows the work is stable.
struct Tally: Equatable {
    /// Documents composed (YAML rows) or objects accepted (full row), summed over files.
    var documents = 0
    /// Files the parser (or the loader) rejected.
    var rejected = 0
    /// Something derived from the result (node counts, diagnostics), so that it is used.
    var checksum = 0
}

struct Workload {
    var key: String
    var title: String
    var pass: () -> Tally
}

func makeWorkloads(_ corpus: [CorpusFile]) -> [Workload] {
    // Everything each parser needs is made here, outside the timed loops.
    let byteArrays = corpus.map(\.bytes)
    let singletons = corpus.map { [ManifestFile(name: $0.name, bytes: $0.bytes)] }
    let strings = corpus.map { String(decoding: $0.bytes, as: UTF8.self) }

    return [
        Workload(key: "podrec-yaml", title: "podrec YAML (YAMLParser.parse)") {
            var t = Tally()
            for bytes in byteArrays {
                do {
                    let documents = try YAMLParser.parse(bytes)
                    t.documents += documents.count
                    for d in documents { t.checksum &+= d.root.count }
                } catch {
                    t.rejected += 1
                }
            }
            return t
        },
        Workload(key: "podrec-full", title: "podrec parse+decode+validate (ManifestLoader.load)") {
            var t = Tally()
            for files in singletons {
                let set = ManifestLoader.load(files)
                t.documents += set.pods.count + set.configMaps.count + set.secrets.count
                t.rejected += set.invalidFiles.count
                t.checksum &+= set.diagnostics.count
            }
            return t
        },
        Workload(key: "yams-compose", title: "Yams compose (Yams.compose_all)") {
            var t = Tally()
            for string in strings {
                do {
                    // compose_all is lazy: the documents are composed as the sequence is
                    // iterated, and an error ends it and is kept in `error`.
                    var documents = try Yams.compose_all(yaml: string)
                    while let node = documents.next() {
                        t.documents += 1
                        if case .mapping(let m) = node { t.checksum &+= m.count }
                    }
                    if documents.error != nil { t.rejected += 1 }
                } catch {
                    t.rejected += 1
                }
            }
            return t
        },
        // The same, but with the encoding given: Yams' default argument,
        // `Parser.Encoding.default`, reads ProcessInfo.processInfo.environment (a new
        // dictionary of the whole environment) on every call. This is Yams at its fastest.
        Workload(key: "yams-compose-utf8", title: "Yams compose, .utf8 passed (no env lookup)") {
            var t = Tally()
            for string in strings {
                do {
                    var documents = try Yams.compose_all(yaml: string, .default, .default, .utf8)
                    while let node = documents.next() {
                        t.documents += 1
                        if case .mapping(let m) = node { t.checksum &+= m.count }
                    }
                    if documents.error != nil { t.rejected += 1 }
                } catch {
                    t.rejected += 1
                }
            }
            return t
        },
    ]
}

// MARK: - Timing

func seconds(_ d: Duration) -> Double {
    let c = d.components
    return Double(c.seconds) + Double(c.attoseconds) * 1e-18
}

struct Result {
    var workload: Workload
    var tally: Tally
    var passesPerRepetition = 0
    var repetitionSeconds: [Double] = []
    /// CPU time of the process over each repetition: less sensitive than wall time to
    /// other processes on a shared machine (it is single-threaded).
    var repetitionCPUSeconds: [Double] = []
}

func cpuSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

@inline(never)
func check(_ tally: Tally, _ expected: Tally, _ key: String) {
    if tally != expected {
        FileHandle.standardError.write(Data("manifest-bench: \(key) gave \(tally) on one pass and \(expected) on another\n".utf8))
        exit(1)
    }
}

let options = parseOptions()
let corpus: [CorpusFile]
do {
    corpus = try loadCorpus(options.corpus)
} catch {
    FileHandle.standardError.write(Data("manifest-bench: cannot read corpus \(options.corpus): \(error)\n".utf8))
    exit(1)
}
guard !corpus.isEmpty else {
    FileHandle.standardError.write(Data("manifest-bench: no files in \(options.corpus)\n".utf8))
    exit(1)
}
let corpusBytes = corpus.reduce(0) { $0 + $1.bytes.count }

// MARK: - Dump

func dumpNode(_ node: YAML.Node, _ indent: String, into out: inout String) {
    out += indent + "\(node.mark) tag=\(node.tag ?? "-") count=\(node.count) height=\(node.height) "
    switch node.content {
    case .scalar(let s):
        out += "scalar \(s.style) \(String(reflecting: s.value))\n"
    case .sequence(let items):
        out += "sequence \(items.count)\n"
        for item in items { dumpNode(item, indent + "  ", into: &out) }
    case .mapping(let pairs):
        out += "mapping \(pairs.count)\n"
        for pair in pairs {
            dumpNode(pair.key, indent + "  ? ", into: &out)
            dumpNode(pair.value, indent + "  : ", into: &out)
        }
    }
}

if options.dump {
    for file in corpus {
        var out = "== \(file.name)\n"
        do {
            for document in try YAMLParser.parse(file.bytes, file: file.name) {
                out += "document \(document.mark) \(document.file)\n"
                dumpNode(document.root, "", into: &out)
            }
        } catch {
            out += "YAMLError \(error.kind) \(error)\n"
        }
        let set = ManifestLoader.load([ManifestFile(name: file.name, bytes: file.bytes)])
        for d in set.diagnostics { out += "diagnostic \(d)\n" }
        out += "invalid \(set.invalidFiles.sorted())\n"
        for p in set.pods { dump(p, to: &out) }
        for key in set.configMaps.keys.sorted() { dump(set.configMaps[key]!, to: &out) }
        for key in set.secrets.keys.sorted() { dump(set.secrets[key]!, to: &out) }
        print(out, terminator: "")
    }
    exit(0)
}
var workloads = makeWorkloads(corpus)
if let only = options.only {
    workloads = workloads.filter { $0.key == only }
    if workloads.isEmpty { usage() }
}

// Profiling mode: a fixed number of passes, nothing else.
if let passes = options.passes {
    var last = Tally()
    for w in workloads {
        for _ in 0..<passes { last = w.pass() }
        print("\(w.key): \(passes) passes, last \(last)")
    }
    exit(0)
}

let clock = ContinuousClock()
var results: [Result] = []

// Warm up and calibrate: run each workload for at least 0.3 s (and 3 passes), then size a
// repetition so it takes about `options.seconds`.
for w in workloads {
    let expected = w.pass()
    var passes = 1
    let start = clock.now
    var elapsed = 0.0
    while passes < 3 || elapsed < 0.3 {
        check(w.pass(), expected, w.key)
        passes += 1
        elapsed = seconds(clock.now - start)
    }
    let perPass = elapsed / Double(passes - 1)
    var r = Result(workload: w, tally: expected)
    r.passesPerRepetition = max(1, Int((options.seconds / perPass).rounded(.up)))
    results.append(r)
}

for _ in 0..<options.repetitions {
    for i in results.indices {
        let w = results[i].workload
        let n = results[i].passesPerRepetition
        var tally = Tally()
        let cpuStart = cpuSeconds()
        let start = clock.now
        for _ in 0..<n { tally = w.pass() }
        let elapsed = seconds(clock.now - start)
        let cpuElapsed = cpuSeconds() - cpuStart
        check(tally, results[i].tally, w.key)
        results[i].repetitionSeconds.append(elapsed)
        results[i].repetitionCPUSeconds.append(cpuElapsed)
    }
}

// MARK: - Report

func mbps(_ r: Result, _ secs: Double) -> Double {
    Double(corpusBytes) * Double(r.passesPerRepetition) / secs / 1e6
}

if options.json {
    var out: [String: Any] = [
        "corpus": options.corpus,
        "files": corpus.count,
        "bytes": corpusBytes,
        "repetitions": options.repetitions,
        "target_seconds": options.seconds,
    ]
    out["results"] = results.map { r -> [String: Any] in
        let rates = r.repetitionSeconds.map { mbps(r, $0) }
        return [
            "key": r.workload.key,
            "title": r.workload.title,
            "passes_per_repetition": r.passesPerRepetition,
            "mb_per_repetition": Double(corpusBytes * r.passesPerRepetition) / 1e6,
            "median_seconds": median(r.repetitionSeconds),
            "median_mbps": median(rates),
            "min_mbps": rates.min()!,
            "max_mbps": rates.max()!,
            "median_cpu_mbps": median(r.repetitionCPUSeconds.map { mbps(r, $0) }),
            "documents_per_pass": r.tally.documents,
            "rejected_per_pass": r.tally.rejected,
        ]
    }
    let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
} else {
    func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, n - s.count))
        return left ? fill + s : s + fill
    }
    func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
    print("corpus: \(options.corpus) (\(corpus.count) files, \(corpusBytes) bytes); \(options.repetitions) repetitions of ~\(options.seconds) s each, median")
    let header = [pad("measurement", 52), pad("MB/rep", 8, left: true), pad("passes", 7, left: true),
                  pad("median MB/s", 12, left: true), pad("min", 8, left: true), pad("max", 8, left: true),
                  pad("CPU MB/s", 9, left: true),
                  pad("ratio", 7, left: true), pad("docs/pass", 10, left: true), pad("rejected", 9, left: true)]
    print(header.joined(separator: " "))
    let base = results.first.map { r in median(r.repetitionSeconds.map { mbps(r, $0) }) }
    for r in results {
        let rates = r.repetitionSeconds.map { mbps(r, $0) }
        let m = median(rates)
        let row = [pad(r.workload.title, 52),
                   pad(f(Double(corpusBytes * r.passesPerRepetition) / 1e6), 8, left: true),
                   pad(String(r.passesPerRepetition), 7, left: true),
                   pad(f(m), 12, left: true), pad(f(rates.min()!), 8, left: true), pad(f(rates.max()!), 8, left: true),
                   pad(f(median(r.repetitionCPUSeconds.map { mbps(r, $0) })), 9, left: true),
                   pad(base.map { f(m / $0, 2) } ?? "-", 7, left: true),
                   pad(String(r.tally.documents), 10, left: true), pad(String(r.tally.rejected), 9, left: true)]
        print(row.joined(separator: " "))
    }
    print("min/max: over the repetitions. CPU MB/s: median, from process CPU time. ratio: median MB/s over that of the first row.")
    print("docs/pass: documents composed (YAML rows) or objects accepted (full row).")
}
