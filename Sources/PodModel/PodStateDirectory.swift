/// `<root>/pods/<ns>_<name>`: one pod's state dir (ARCHITECTURE, "Flags, defaults, layout"),
/// and the only code that names its files. Both processes use it: the reconciler writes the
/// record, the plan and the supervisor's identity and reads the status; the supervisor reads
/// the plan and writes the status. Every file is replaced atomically (rename), mode 0600, so a
/// reader sees a whole old file or a whole new one.
public struct PodStateDirectory: Sendable, Hashable {
    /// The files of a pod's state dir.
    public enum File: String, Sendable, CaseIterable {
        /// `PodRecord`: uid, source, immutable fields, generation, contents.
        case record
        /// The launch plan, for the supervisor.
        case plan
        /// The supervisor's `PodStatus`.
        case status
        /// `pid starttime` of the supervisor (`SupervisorIdentity`).
        case supervisor
        /// The supervisor's CPU samples of the pod's cgroups (`UsageSample`), for `top`.
        case usage
        /// The supervisor's own stderr: what it could not put in the status.
        case supervisorLog = "supervisor.log"
        /// The supervisor's attach socket (`AttachMessage`), mode 0600, as conmon's: `podrec
        /// attach` connects here. A socket, not a file: it is never read or replaced.
        case attach
    }

    public var path: String

    public init(path: String) {
        self.path = path
    }

    /// The state dir of `key` under the state root (`--root`).
    public init(root: String, key: PodKey) {
        self.init(path: "\(PodLayout.pods(root))/\(key.namespace)_\(key.name)")
    }

    public func path(_ file: File) -> String { path + "/" + file.rawValue }
    /// One empty dir per container: the mount point of its new root.
    public var scratchDirectory: String { path + "/roots" }
}

/// `--root`: the pods' state dirs and the pass lock.
public struct StateRoot: Sendable, Hashable {
    public var path: String

    public init(path: String) {
        self.path = path
    }

    /// `<root>/pods`, where every pod has its dir.
    public var podsDirectory: String { PodLayout.pods(path) }
    public func pod(_ key: PodKey) -> PodStateDirectory { PodStateDirectory(root: path, key: key) }
    /// `<root>/lock`: one pass at a time (ARCHITECTURE, "The lock").
    public var lockFile: String { path + "/lock" }
}
