import Manifest
import Planner
import PodModel

/// A pass's input from the files of a watched directory. Pure.
///
/// Each file is loaded on its own, with its own ConfigMaps and Secrets: a file owns its pods
/// and what they use, so an edit to one file never breaks another. A file that cannot be
/// used (refused, unreadable, or failing to parse or validate) is held: its pods stay as
/// they run. A pod that two files define is an error reported for both; the pod keeps its
/// recorded owner, or, with none, the first file in name order has it (ARCHITECTURE,
/// "Ownership").
public struct WatchInput: Sendable {
    /// A file as read and loaded this pass, by its full path.
    public enum Loaded: Sendable {
        case set(ManifestSet)
        /// Why the file cannot be used: its diagnostics or the refusal, one per line.
        case unusable([String])
    }

    public var sets: [ManifestSet] = []
    /// The sources (`watch:<path>`) of files that are held.
    public var held: Set<String> = []
    /// Per file, the problems to report: diagnostics, refusals, duplicates.
    public var problems: [String: [String]] = [:]

    public static func source(_ path: String) -> String { "watch:" + path }

    /// `files` in name order; `recorded` gives the source recorded for a pod, if any.
    /// `lastGood`: per file, the last set that a watcher loaded from it while it was usable.
    /// A file that cannot be used now is held (nothing of its pods is pruned) and,
    /// where its last good set is known, that set is still the input for its pods: they
    /// "keep running as they were", so a dead supervisor or a limit written by hand is
    /// repaired to what the file last said, not left broken until the file is fixed.
    public static func resolve(_ files: [(path: String, loaded: Loaded)], lastGood: [String: ManifestSet] = [:],
                               recorded: (PodKey) -> String?) -> WatchInput {
        var out = WatchInput()
        var sets: [(path: String, set: ManifestSet)] = []
        for (path, loaded) in files {
            switch loaded {
            case .unusable(let lines):
                out.held.insert(source(path))
                out.problems[path, default: []] += lines
                if let set = lastGood[path] { sets.append((path, set)) }
            case .set(let set):
                sets.append((path, set))
            }
        }
        // Pods defined by more than one usable file.
        var definers: [PodKey: [String]] = [:]
        for (path, set) in sets {
            for sourced in set.pods { definers[key(sourced), default: []].append(path) }
        }
        var winner: [PodKey: String] = [:]
        for (key, paths) in definers where paths.count > 1 {
            let owner = recorded(key).flatMap { s in paths.first { source($0) == s } } ?? paths[0]
            winner[key] = owner
            for path in paths {
                let others = paths.filter { $0 != path }.joined(separator: ", ")
                let verdict = path == owner ? "this file keeps it" : "ignored here: \(owner) keeps it"
                out.problems[path, default: []].append("\(path): error: pod \(key) is also defined in \(others); \(verdict)")
            }
        }
        for (path, var set) in sets {
            set.pods.removeAll { sourced in winner[key(sourced)].map { $0 != path } ?? false }
            out.sets.append(set)
        }
        return out
    }

    static func key(_ sourced: SourcedPod) -> PodKey {
        PodKey(namespace: sourced.pod.metadata.namespace, name: sourced.pod.metadata.name)
    }
}
