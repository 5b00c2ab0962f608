// libm's log2 and pow through swift-numerics, not Glibc: the model stays pure.
import RealModule

/// kubelet's CPU arithmetic, and the runtime's shares → weight conversion. Pure.
///
/// Source: kubernetes/kubernetes pkg/kubelet/cm/helpers_linux.go (`MilliCPUToShares`,
/// `MilliCPUToQuota` and the constants above them), and opencontainers/cgroups utils.go
/// `ConvertCPUSharesToCgroupV2Value` as changed in 2025 by opencontainers/cgroups#20.
public enum ResourceMath {
    /// helpers_linux.go `MinShares`: the kernel's minimum cpu.shares.
    public static let minShares: Int64 = 2
    /// helpers_linux.go `MaxShares`: the kernel's MAX_SHARES, 1 << 18.
    public static let maxShares: Int64 = 262_144
    /// helpers_linux.go `SharesPerCPU`.
    public static let sharesPerCPU: Int64 = 1024
    /// helpers_linux.go `MilliCPUToCPU`.
    public static let milliCPUToCPU: Int64 = 1000
    /// helpers_linux.go `QuotaPeriod`: 100 ms, the CFS period kubelet uses.
    public static let quotaPeriod: Int64 = 100_000
    /// helpers_linux.go `MinQuotaPeriod`: the kernel refuses a quota under 1 ms.
    public static let minQuotaPeriod: Int64 = 1000
    /// cgroup v2 cpu.weight range and default (Documentation/admin-guide/cgroup-v2.rst).
    public static let minWeight: Int64 = 1
    public static let maxWeight: Int64 = 10_000
    public static let defaultWeight: Int64 = 100

    /// kubelet `MilliCPUToShares`: milli·1024/1000 (integer division), clamped to
    /// [2, 262144]. No request (nil or 0) gives 2, not the kernel's default 1024: "really
    /// match kernel default for zero milliCPU" (BestEffort gets the least).
    public static func milliCPUToShares(_ milliCPU: Int64?) -> Int64 {
        guard let milliCPU, milliCPU > 0 else { return minShares }
        let (product, overflow) = milliCPU.multipliedReportingOverflow(by: sharesPerCPU)
        if overflow { return maxShares }
        return min(max(product / milliCPUToCPU, minShares), maxShares)
    }

    /// kubelet `MilliCPUToQuota`: milli·period/1000 µs per period, at least 1000 µs. No limit
    /// (nil or 0) gives -1, which is v1's "unlimited" and v2's "max".
    public static func milliCPUToQuota(_ milliCPU: Int64?, period: Int64 = quotaPeriod) -> Int64 {
        guard let milliCPU, milliCPU > 0 else { return -1 }
        let (product, overflow) = milliCPU.multipliedReportingOverflow(by: period)
        if overflow { return Int64.max / milliCPUToCPU }
        return max(product / milliCPUToCPU, minQuotaPeriod)
    }

    /// The `CPUMax` for a CPU limit in millicores: `max` when there is none.
    public static func cpuMax(limitMilliCPU: Int64?, period: Int64 = quotaPeriod) -> CPUMax {
        let quota = milliCPUToQuota(limitMilliCPU, period: period)
        return CPUMax(quota: quota < 0 ? .max : .value(quota), period: period)
    }

    /// v1 cpu.shares → v2 cpu.weight, the 2025 opencontainers/cgroups conversion
    /// (`ConvertCPUSharesToCgroupV2Value` since opencontainers/cgroups#20, June 2025; crun
    /// took the same formula in containers/crun#1767, and kubelet's e2e tests expect it;
    /// background in kubernetes/kubernetes#131216):
    ///
    ///     l      = log2(shares)
    ///     weight = ceil(10^((l² + 125·l) / 612 − 7/34))
    ///
    /// A quadratic in log2(shares) through the three points that matter: the minimum
    /// (2 → 1), the default (1024 → 100) and the maximum (262144 → 10000). The older
    /// linear formula `1 + (shares−2)·9999/262142` mapped the default 1024 shares to
    /// weight 39, so a container with no request outweighed one with a whole CPU.
    ///
    /// Edges as upstream: 0 is "unset" and gives 0 (never written); ≤ 2 gives 1;
    /// ≥ 262144 gives 10000.
    public static func sharesToWeight(_ shares: Int64) -> Int64 {
        if shares <= 0 { return 0 }
        if shares <= minShares { return minWeight }
        if shares >= maxShares { return maxWeight }
        let l = Double.log2(Double(shares))
        let exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0
        return Int64(Double.pow(10, exponent).rounded(.up))
    }
}
