/// Everything the observer reads about one process in one pass.
///
/// The links are read first, then the files through one fd of `/proc/PID` (see
/// `ProcfsReader.facts(of:)`), so all of them describe the same process even if its pid is
/// reused while reading.
public struct ProcessFacts: Sendable, Hashable {
    public var stat: ProcessStat
    public var status: ProcessStatus
    public var namespaces: NamespaceInodes
    public var cgroups: [CgroupMembership]
    /// The cgroup directories whose `cgroup.procs` listed the process, sorted; empty when
    /// the process was read by pid.
    public var cgroupDirectories: [String]

    public init(stat: ProcessStat, status: ProcessStatus, namespaces: NamespaceInodes, cgroups: [CgroupMembership],
                cgroupDirectories: [String] = []) {
        self.stat = stat
        self.status = status
        self.namespaces = namespaces
        self.cgroups = cgroups
        self.cgroupDirectories = cgroupDirectories
    }

    /// pid and start time: the key the reconciler stores and compares.
    public var identity: ProcessIdentity { stat.identity }
    public var pid: Int32 { stat.pid }
    public var state: ProcessState { stat.state }
}
