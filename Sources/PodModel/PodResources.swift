/// Pod- and container-level cgroup limits computed the kubelet way. Pure: the runtime
/// adapts its manifest model to `ContainerResources`, so Cgroups never imports Manifest.
///
/// Sources: kubernetes/kubernetes pkg/kubelet/cm/helpers_linux.go `ResourceConfigForPod`,
/// and k8s.io/component-helpers/resource `PodRequests` / `PodLimits` (KEP-753 sidecars,
/// KEP-2837 pod-level resources); ../shared/reference/anchors-features.md section 4.

/// Where a container sits in the pod's lifecycle.
public enum ContainerRole: Sendable, Hashable {
    /// A regular init container: runs to completion, one at a time, before the rest.
    case initContainer
    /// An init container with `restartPolicy: Always`: starts in init order and keeps
    /// running beside the main containers.
    case sidecar
    case main
}

/// One container's resources: CPU in millicores, memory in bytes; nil when not declared.
public struct ContainerResources: Sendable, Hashable {
    public var role: ContainerRole
    public var cpuRequest: Int64?
    public var cpuLimit: Int64?
    public var memoryRequest: Int64?
    public var memoryLimit: Int64?

    public init(role: ContainerRole = .main, cpuRequest: Int64? = nil, cpuLimit: Int64? = nil, memoryRequest: Int64? = nil, memoryLimit: Int64? = nil) {
        self.role = role
        self.cpuRequest = cpuRequest
        self.cpuLimit = cpuLimit
        self.memoryRequest = memoryRequest
        self.memoryLimit = memoryLimit
    }
}

/// `spec.resources` of a pod (pod-level resources, KEP-2837); nil fields are not set.
public struct PodLevelResources: Sendable, Hashable {
    public var cpuRequest: Int64?
    public var cpuLimit: Int64?
    public var memoryRequest: Int64?
    public var memoryLimit: Int64?

    public init(cpuRequest: Int64? = nil, cpuLimit: Int64? = nil, memoryRequest: Int64? = nil, memoryLimit: Int64? = nil) {
        self.cpuRequest = cpuRequest
        self.cpuLimit = cpuLimit
        self.memoryRequest = memoryRequest
        self.memoryLimit = memoryLimit
    }
}

/// A pod's effective requests and limits; a nil limit means the pod is not limited.
public struct PodResourceTotals: Sendable, Hashable {
    public var cpuRequest: Int64
    public var cpuLimit: Int64?
    public var memoryRequest: Int64
    public var memoryLimit: Int64?
}

public enum PodResources {
    /// The pod's effective requests and limits, per resource:
    ///
    /// - the sum over main containers and sidecars (which run beside them);
    /// - then the max with each regular init container, counted together with the sidecars
    ///   started before it (they are running while it runs), and with each sidecar's
    ///   running total at its start;
    /// - a limit exists only when every container declares one: a single container without
    ///   a limit makes the pod unlimited, since that container may use anything;
    /// - a pod-level value (`spec.resources`), when given, replaces the computed one.
    ///
    /// `containers` lists init containers and sidecars in spec order (their order matters);
    /// main containers may come anywhere. A missing request defaults to the limit, as the
    /// API server's defaulting does (so already-defaulted input is unchanged).
    ///
    /// One deliberate difference from kubelet: kubelet's "limits declared" check looks at
    /// each init container's limit *plus the sidecars before it*, so a sidecar or init
    /// container without a limit of its own can still end up under a pod limit. Here
    /// each container must declare its own, so no container that asked for no limit is
    /// ever confined by a pod-level one.
    public static func totals(_ containers: [ContainerResources], podLevel: PodLevelResources? = nil) -> PodResourceTotals {
        let cpuLimit = aggregate(containers.map { ($0.role, $0.cpuLimit) })
        let memLimit = aggregate(containers.map { ($0.role, $0.memoryLimit) })
        let cpuRequest = aggregate(containers.map { ($0.role, $0.cpuRequest ?? $0.cpuLimit) })
        let memRequest = aggregate(containers.map { ($0.role, $0.memoryRequest ?? $0.memoryLimit) })

        var out = PodResourceTotals(
            cpuRequest: cpuRequest.total,
            cpuLimit: cpuLimit.everyDeclared && cpuLimit.total > 0 ? cpuLimit.total : nil,
            memoryRequest: memRequest.total,
            memoryLimit: memLimit.everyDeclared && memLimit.total > 0 ? memLimit.total : nil)
        if let p = podLevel {
            // Pod-level requests default to pod-level limits (KEP-2837 defaulting).
            if let v = positive(p.cpuLimit) { out.cpuLimit = v }
            if let v = positive(p.memoryLimit) { out.memoryLimit = v }
            if let v = positive(p.cpuRequest ?? p.cpuLimit) { out.cpuRequest = v }
            if let v = positive(p.memoryRequest ?? p.memoryLimit) { out.memoryRequest = v }
        }
        return out
    }

    /// The pod cgroup's limits (`ResourceConfigForPod`): shares from the summed CPU
    /// requests (2 for BestEffort), a CFS quota only when the pod has a CPU limit, a memory
    /// limit only when it has one. pids are left alone (kubelet's podPidsLimit is off).
    public static func podCgroupLimits(_ containers: [ContainerResources], podLevel: PodLevelResources? = nil) -> CgroupLimits {
        let t = totals(containers, podLevel: podLevel)
        return CgroupLimits(
            cpuShares: ResourceMath.milliCPUToShares(t.cpuRequest),
            cpuMax: ResourceMath.cpuMax(limitMilliCPU: t.cpuLimit),
            memory: t.memoryLimit.map { .value($0) } ?? .max)
    }

    /// One container's cgroup limits: shares from its request (defaulting to its limit),
    /// quota and memory from its limits, `max` where none is declared.
    public static func containerCgroupLimits(_ c: ContainerResources) -> CgroupLimits {
        CgroupLimits(
            cpuShares: ResourceMath.milliCPUToShares(c.cpuRequest ?? c.cpuLimit),
            cpuMax: ResourceMath.cpuMax(limitMilliCPU: c.cpuLimit),
            memory: positive(c.memoryLimit).map { .value($0) } ?? .max)
    }

    /// The kubelet sum-then-max over one resource, with whether every container declared
    /// a non-zero value (kubelet treats 0 as not declared: `IsZero`).
    static func aggregate(_ values: [(ContainerRole, Int64?)]) -> (total: Int64, everyDeclared: Bool) {
        var running: Int64 = 0      // main containers and sidecars: they run together
        var sidecars: Int64 = 0     // sidecars started so far, in init order
        var initPeak: Int64 = 0     // the most the init phase needs at once
        var everyDeclared = true
        for (role, value) in values {
            let v = positive(value) ?? 0
            if v == 0 { everyDeclared = false }
            switch role {
            case .main:
                running = add(running, v)
            case .sidecar:
                running = add(running, v)
                sidecars = add(sidecars, v)
                initPeak = max(initPeak, sidecars)
            case .initContainer:
                initPeak = max(initPeak, add(v, sidecars))
            }
        }
        return (max(running, initPeak), everyDeclared)
    }

    static func positive(_ v: Int64?) -> Int64? {
        guard let v, v > 0 else { return nil }
        return v
    }

    /// Saturating: a sum of absurd limits is "huge", not a crash.
    static func add(_ a: Int64, _ b: Int64) -> Int64 {
        let (s, o) = a.addingReportingOverflow(b)
        return o ? Int64.max : s
    }
}
