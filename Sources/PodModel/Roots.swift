/// Every place on the host podrec reads or writes, as parameters: tests pass temp dirs and
/// fake trees, production takes the defaults (ARCHITECTURE, "Flags, defaults, layout").
/// Every path of a pod comes from here (`layout`).
public struct Roots: Sendable, Hashable {
    /// procfs.
    public var proc: String
    /// The cgroup filesystem root: v1 controllers below it, or the v2 hierarchy itself.
    public var cgroup: String
    /// `--root`: per-pod state (launch plan, status, supervisor identity), and the lock.
    public var state: String
    /// `--data-root`: volumes and images.
    public var data: String
    /// `--log-dir`: container logs.
    public var log: String
    /// `--cgroup-root`: the parent cgroup of every pod, relative to the cgroup root.
    public var cgroupParent: String

    public init(proc: String = "/proc", cgroup: String = "/sys/fs/cgroup", state: String = "/run/podrec",
                data: String = "/var/lib/podrec", log: String = "/var/log/podrec", cgroupParent: String = "podrec") {
        self.proc = proc
        self.cgroup = cgroup
        self.state = state
        self.data = data
        self.log = log
        self.cgroupParent = cgroupParent
    }

    public static let host = Roots()

    /// Where the files, dirs and cgroups of the pod `key` with `uid` are.
    public func layout(_ key: PodKey, uid: String) -> PodLayout {
        PodLayout(root: state, dataRoot: data, logRoot: log, cgroupParent: cgroupParent, cgroupMount: cgroup,
                  namespace: key.namespace, name: key.name, uid: uid)
    }

    /// `--root`: the pods' state dirs and the pass lock.
    public var stateRoot: StateRoot { StateRoot(path: state) }
}
