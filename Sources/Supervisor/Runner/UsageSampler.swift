import Cgroups
import Kernel
import PodModel
import PodState

/// Every `UsageSample.sampleInterval`, the CPU counters of the pod's cgroup and of each
/// container's, written with the one before them to the state dir's `usage` file: the
/// start of `top`'s window (see `UsageSample`). Two small files read and one written each
/// 10 s; nothing is kept in memory but the last sample.
struct UsageSampler {
    var next: Int64 = 0
    var last: UsageSample?

    /// Samples when due; the next deadline for the supervisor's poll either way.
    mutating func sampleIfDue(now: Int64, plan: LaunchPlan, driver: any CgroupDriver, state: PodStateDirectory) -> Int64 {
        guard now >= next else { return next }
        next = now + UsageSample.sampleInterval
        var cpu: [String: Int64] = [:]
        for c in plan.containers {
            if let ns = (try? driver.cpuUsage(c.cgroup)) ?? nil { cpu[c.name] = ns }
        }
        // Every container's cgroup is `<pod>/<name>`.
        if let pod = plan.containers.first.map({ parentDirectory($0.cgroup) }), let ns = (try? driver.cpuUsage(pod)) ?? nil { cpu[""] = ns }
        let sample = UsageSample(time: WallTime(WallClock.now()), cpu: cpu)
        // Lost with no harm: `top` then has an older start, or none for a while.
        try? state.replace(.usage, UsageSample.encode([last, sample].compactMap { $0 }))
        last = sample
        return next
    }
}
