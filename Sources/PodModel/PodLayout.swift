/// Where one pod's files live on the host (ARCHITECTURE, "Flags, defaults, layout"). Pure:
/// every root is given, nothing is read. Names come from validated manifests (DNS-1123
/// namespace and name) and from podrec (the uid), so they are safe path components.
public struct PodLayout: Sendable, Hashable {
    /// `--root` (`/run/podrec`).
    public var root: String
    /// `--data-root` (`/var/lib/podrec`).
    public var dataRoot: String
    /// `--log-dir` (`/var/log/podrec`).
    public var logRoot: String
    /// `--cgroup-root`: the parent cgroup, relative to the cgroup mount (`podrec`).
    public var cgroupParent: String
    /// Where cgroupfs is mounted.
    public var cgroupMount: String

    public var namespace: String
    public var name: String
    public var uid: String

    public init(root: String, dataRoot: String, logRoot: String, cgroupParent: String, cgroupMount: String = "/sys/fs/cgroup",
                namespace: String, name: String, uid: String) {
        self.root = root
        self.dataRoot = dataRoot
        self.logRoot = logRoot
        self.cgroupParent = cgroupParent
        self.cgroupMount = cgroupMount
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }

    /// `<root>/pods/<ns>_<name>`: record, plan, status, the supervisor's identity and log.
    public var state: PodStateDirectory { PodStateDirectory(root: root, key: PodKey(namespace: namespace, name: name)) }

    /// The pod's cgroup, `<parent>/<ns>_<name>_<uid>`, relative to the cgroup mount.
    public var podCgroup: String { CgroupNames.podPath(parent: cgroupParent, namespace: namespace, name: name, uid: uid) }
    /// The supervisor's cgroup, `<pod cgroup>/_infra`.
    public var infraCgroup: String { CgroupNames.infraPath(parent: cgroupParent, namespace: namespace, name: name, uid: uid) }
    public func containerCgroup(_ container: String) -> String {
        CgroupNames.containerPath(parent: cgroupParent, namespace: namespace, name: name, uid: uid, container: container)
    }

    /// `<data-root>/pods/<uid>`.
    public var dataDirectory: String { "\(Self.pods(dataRoot))/\(uid)" }
    /// `<data-root>/pods/<uid>/volumes/<name>`.
    public func volumeDirectory(_ volume: String) -> String { "\(dataDirectory)/volumes/\(volume)" }
    /// The pod's `/dev/shm`: a tmpfs of `defaultShmSize`.
    public var shmDirectory: String { dataDirectory + "/shm" }
    /// The pod's `/etc/hosts` and `/etc/resolv.conf`.
    public var hostsFile: String { dataDirectory + "/etc-hosts" }
    public var resolvConfFile: String { dataDirectory + "/resolv.conf" }
    /// Overlay upper and work dirs of `image:` containers: `<data>/pods/<uid>/overlay/<c>/{upper,work}`.
    public func overlayDirectory(_ container: String) -> String { "\(dataDirectory)/overlay/\(container)" }

    /// Where the supervisor makes each run's termination message file, bound at the
    /// container's `terminationMessagePath`: `<data>/pods/<uid>/containers/<c>`, as kubelet
    /// keeps them under `/var/lib/kubelet/pods/<uid>/containers/<c>`. On disk, not in the
    /// state's tmpfs: a container can make its file as large as it likes.
    public func terminationMessageDirectory(_ container: String) -> String { "\(dataDirectory)/containers/\(container)" }

    /// `<log-dir>/pods/<ns>_<name>_<uid>`.
    public var logDirectory: String { "\(Self.pods(logRoot))/\(namespace)_\(name)_\(uid)" }

    /// `<root>/pods`: where every root keeps its pods' dirs (state by key, data by uid, logs
    /// by key and uid).
    public static func pods(_ root: String) -> String { root + "/pods" }

    /// Docker's and containerd's default `/dev/shm`: 64 MiB.
    public static let defaultShmSize: Int64 = 64 << 20
}
