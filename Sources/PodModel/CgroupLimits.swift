/// A limit the kernel spells either as a number or as "max" (v2) / -1 (v1).
public enum CgroupLimit: Sendable, Hashable {
    case max
    case value(Int64)
}

/// CFS bandwidth: `quota` µs of CPU time per `period` µs (v2 `cpu.max`, v1
/// `cpu.cfs_quota_us` and `cpu.cfs_period_us`).
public struct CPUMax: Sendable, Hashable {
    public var quota: CgroupLimit
    public var period: Int64

    public init(quota: CgroupLimit, period: Int64 = ResourceMath.quotaPeriod) {
        self.quota = quota
        self.period = period
    }

    public static let unlimited = CPUMax(quota: .max)
}

/// Limits to write. A nil field is left as it is; `.max` removes a limit.
///
/// CPU is given as v1 shares on both versions: kubelet computes shares, and the v2 driver
/// converts them to `cpu.weight` with `ResourceMath.sharesToWeight`.
public struct CgroupLimits: Sendable, Hashable {
    public var cpuShares: Int64?
    public var cpuMax: CPUMax?
    public var memory: CgroupLimit?
    public var pids: CgroupLimit?

    public init(cpuShares: Int64? = nil, cpuMax: CPUMax? = nil, memory: CgroupLimit? = nil, pids: CgroupLimit? = nil) {
        self.cpuShares = cpuShares
        self.cpuMax = cpuMax
        self.memory = memory
        self.pids = pids
    }
}

/// The limits as the kernel reports them. CPU comes back in the version's own unit:
/// `cpuShares` on v1, `cpuWeight` on v2; the other is nil.
public struct CgroupReading: Sendable, Hashable {
    public var cpuShares: Int64?
    public var cpuWeight: Int64?
    public var cpuMax: CPUMax?
    public var memory: CgroupLimit?
    public var pids: CgroupLimit?

    public init(cpuShares: Int64? = nil, cpuWeight: Int64? = nil, cpuMax: CPUMax? = nil, memory: CgroupLimit? = nil, pids: CgroupLimit? = nil) {
        self.cpuShares = cpuShares
        self.cpuWeight = cpuWeight
        self.cpuMax = cpuMax
        self.memory = memory
        self.pids = pids
    }
}

/// Limits for the pod's cgroup and each container's.
public struct PodCgroupLimits: Sendable, Hashable {
    public var pod: CgroupLimits
    public var containers: [String: CgroupLimits]
    public init(pod: CgroupLimits = CgroupLimits(), containers: [String: CgroupLimits] = [:]) {
        self.pod = pod
        self.containers = containers
    }
}
