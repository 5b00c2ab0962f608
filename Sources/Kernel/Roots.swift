/// Every place on the host podrec reads or writes, as parameters: tests pass temp dirs and
/// fake trees, production takes the defaults (ARCHITECTURE, "Flags, defaults, layout").
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

    public init(proc: String = "/proc", cgroup: String = "/sys/fs/cgroup", state: String = "/run/podrec",
                data: String = "/var/lib/podrec", log: String = "/var/log/podrec") {
        self.proc = proc
        self.cgroup = cgroup
        self.state = state
        self.data = data
        self.log = log
    }

    public static let host = Roots()
}
