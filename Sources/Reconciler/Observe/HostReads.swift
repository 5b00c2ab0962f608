import Cgroups
import Kernel
import Planner
import PodModel

/// The Observer's reads of files and dirs, each with the rule for "not there": ENOENT is an
/// answer (nil, or nothing listed); every other failure throws.
enum HostReads {
    /// The names in `dir`; none when it does not exist.
    static func names(_ dir: String) throws(ObserveError) -> [String] {
        do { return try Sys.listDirectory(dir) } catch {
            if error.isNotFound { return [] }
            throw ObserveError(.kernel(error))
        }
    }

    /// `<ns>_<name>` → the key: a namespace is a DNS-1123 label, so it holds no `_`, and
    /// the first `_` ends it. nil for any other name.
    static func podKey(stateDirectoryName name: String) -> PodKey? {
        guard let cut = name.firstIndex(of: "_") else { return nil }
        let namespace = name[..<cut], podName = name[name.index(after: cut)...]
        guard !namespace.isEmpty, !podName.isEmpty, !podName.contains("_") else { return nil }
        return PodKey(namespace: String(namespace), name: String(podName))
    }
}

/// The pod cgroup directories under the parent: the union of its listings in every
/// hierarchy the driver uses, since a pass that crashed may have made (or removed) a pod's
/// cgroup in some v1 hierarchies only. One listing per hierarchy and one lstat per distinct
/// candidate name: the cost is per pass, not per pod.
struct CgroupListing {
    /// Directory names (one path component each) under the parent.
    var names: Set<String> = []

    /// None: for an observation that reads no cgroups.
    init() {}

    init(driver: any CgroupDriver, parent: String) throws(ObserveError) {
        let dirs: [String]
        do { dirs = try driver.directories(parent) } catch { throw ObserveError(.cgroup(error)) }
        var files: Set<String> = []
        for dir in dirs {
            for name in try HostReads.names(dir) where !names.contains(name) && !files.contains(name) && Self.mayBeCgroup(name) {
                let status: Sys.FileStatus
                do { status = try Sys.stat(dir + "/" + name, followSymlinks: false) } catch {
                    if error.isNotFound { continue }  // removed since the listing
                    throw ObserveError(.kernel(error))
                }
                if status.isDirectory { names.insert(name) } else { files.insert(name) }
            }
        }
    }

    /// Whether `name` may be a child cgroup rather than a knob, without a syscall. Knobs
    /// are `<controller>.<knob>` (a `.` before any `_`), or v1's `tasks`,
    /// `notify_on_release` and `release_agent`. A pod cgroup starts with its namespace, a
    /// DNS-1123 label (no `.`), then `_`.
    static func mayBeCgroup(_ name: String) -> Bool {
        if name == "tasks" || name == "notify_on_release" || name == "release_agent" { return false }
        for ch in name.utf8 {
            if ch == UInt8(ascii: "_") { return true }
            if ch == UInt8(ascii: ".") { return false }
        }
        return true
    }
}
