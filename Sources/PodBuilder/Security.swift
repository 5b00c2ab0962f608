import ImageModel
import Manifest
import PodModel

/// A pod's QoS class, as kubelet computes it (`v1qos.ComputePodQOS`).
public enum PodQoS: String, Sendable, Hashable, CaseIterable {
    case guaranteed = "Guaranteed"
    case burstable = "Burstable"
    case bestEffort = "BestEffort"

    /// Over cpu and memory only: BestEffort when no container (init included) requests or
    /// limits either; Guaranteed when every container limits both and the summed requests
    /// equal the summed limits; Burstable otherwise. With pod-level `spec.resources`, those
    /// alone decide. Zero values count as not set.
    public static func of(_ spec: PodSpec) -> PodQoS {
        var requests: [String: Int64] = [:]
        var limits: [String: Int64] = [:]
        var guaranteed = true
        func amount(_ name: String, _ q: Quantity) -> Int64? {
            guard !q.isNegative, !q.isZero else { return nil }
            return name == "cpu" ? q.milliValue ?? Int64.max : q.value ?? Int64.max
        }
        func add(_ r: ResourceRequirements) {
            var limited = Set<String>()
            for name in ["cpu", "memory"] {
                if let q = r.requests[name], let v = amount(name, q) { requests[name] = Saturating.add(requests[name] ?? 0, v) }
                if let q = r.limits[name], let v = amount(name, q) {
                    limits[name] = Saturating.add(limits[name] ?? 0, v)
                    limited.insert(name)
                }
            }
            if limited.count < 2 { guaranteed = false }
        }
        if let podLevel = spec.resources, ["cpu", "memory"].contains(where: { podLevel.requests[$0] != nil || podLevel.limits[$0] != nil }) {
            add(podLevel)
        } else {
            for c in spec.containers + spec.initContainers { add(c.resources) }
        }
        if requests.isEmpty && limits.isEmpty { return .bestEffort }
        if guaranteed {
            for (name, req) in requests where limits[name] != req { guaranteed = false }
        }
        return guaranteed && requests.count == limits.count ? .guaranteed : .burstable
    }
}

enum Saturating {
    static func add(_ a: Int64, _ b: Int64) -> Int64 {
        let (s, o) = a.addingReportingOverflow(b)
        return o ? Int64.max : s
    }
}

/// The process-level security of one container: ids, capabilities, oom score.
enum SecurityBuilder {
    /// kubelet's `guaranteedOOMScoreAdj` and `besteffortOOMScoreAdj`.
    static let guaranteedOOMScoreAdj: Int64 = -997
    static let bestEffortOOMScoreAdj: Int64 = 1000

    /// kubelet `GetContainerOOMScoreAdjust`, with one difference: Guaranteed gives nil (the
    /// supervisor's 0), since podrec's root lacks CAP_SYS_RESOURCE and can only raise a
    /// score (ARCHITECTURE, "Cgroup modes on this machine").
    ///
    /// Burstable: `1000 − 1000·memoryRequest/memoryCapacity`; a sidecar takes the lower of
    /// its own and that of the smallest main container request (KEP-753), then the result
    /// is kept within [3, 999]. An unknown capacity (0) gives 999.
    static func oomScoreAdj(_ c: Manifest.Container, isSidecar: Bool, pod: PodSpec, qos: PodQoS, memoryCapacity: Int64) -> Int32? {
        switch qos {
        case .guaranteed: return nil
        case .bestEffort: return Int32(bestEffortOOMScoreAdj)
        case .burstable: break
        }
        guard memoryCapacity > 0 else { return 999 }
        func score(_ request: Int64) -> Int64 {
            let (product, overflow) = request.multipliedReportingOverflow(by: 1000)
            return overflow ? Int64.min : 1000 - product / memoryCapacity
        }
        var adj = score(c.resources.memoryRequestBytes ?? 0)
        if isSidecar, let first = pod.containers.first {
            let minRequest = pod.containers.dropFirst().reduce(first.resources.memoryRequestBytes ?? 0) { min($0, $1.resources.memoryRequestBytes ?? 0) }
            if minRequest > 0 { adj = min(adj, score(minRequest)) }
        }
        if adj < 1000 + guaranteedOOMScoreAdj { return Int32(1000 + guaranteedOOMScoreAdj) }
        if adj == bestEffortOOMScoreAdj { return Int32(adj - 1) }
        return Int32(adj)
    }

    /// containerd's capability rules (`WithCapabilities`) over the default set of 14:
    /// `add: [ALL]` makes every capability, then `drop: [ALL]` removes every one, then the
    /// named adds, then the named drops. Names with or without `CAP_`, any case.
    static func capabilities(add: [String], drop: [String], at path: String) throws(BuildError) -> CapabilitySet {
        func isAll(_ s: String) -> Bool { let u = s.uppercased(); return u == "ALL" || u == "CAP_ALL" }
        func named(_ s: String, _ field: String, _ i: Int) throws(BuildError) -> Capability {
            guard let c = Capability(name: s) else {
                throw BuildError(path: "\(path).securityContext.capabilities.\(field)[\(i)]", message: "\"\(s)\" is not a Linux capability")
            }
            return c
        }
        var set = CapabilitySet.containerDefault
        if add.contains(where: isAll) { set = .allKnown }
        if drop.contains(where: isAll) { set = [] }
        for (i, a) in add.enumerated() where !isAll(a) { set.insert(try named(a, "add", i)) }
        for (i, d) in drop.enumerated() where !isAll(d) { set.remove(try named(d, "drop", i)) }
        return set
    }

    struct Result {
        var uid: UInt32
        var gid: UInt32
        var groups: [UInt32]
        var capabilities: CapabilityMasks?
        var privileged: Bool
        var noNewPrivileges: Bool
        var readOnlyRootFilesystem: Bool
    }

    /// The container's securityContext over the pod's:
    ///
    /// - uid and gid: `runAsUser` / `runAsGroup`, container over pod, else the image's
    ///   `User` resolved in its /etc/passwd and /etc/group, else 0; an image user that does
    ///   not resolve is an error only when `runAsUser` does not replace it;
    /// - `runAsNonRoot` with uid 0 is an error, as kubelet makes it (checked against the
    ///   resolved uid: podrec resolves names, so a named image user is checked too);
    /// - supplementary groups: the pod's `fsGroup`, then its `supplementalGroups` (kubelet's
    ///   order), without repeats;
    /// - capabilities: nil (keep all) when privileged; else the set above as bounding, and
    ///   as effective and permitted for uid 0 only; a non-root process gets none of them
    ///   (bounding only), as after its execve without file capabilities anyway. Inheritable
    ///   is always empty (containerd since CVE-2022-24769);
    /// - no_new_privs only for `allowPrivilegeEscalation: false` (kubelet `AddNoNewPrivileges`).
    static func build(_ c: Manifest.Container, pod: PodSpec, imageUser: Swift.Result<ImageUser, ImageSpecError>? = nil,
                      at path: String) throws(BuildError) -> Result {
        let sc = c.securityContext
        let psc = pod.securityContext
        var image: ImageUser?
        let runAsUser = sc?.runAsUser ?? psc?.runAsUser
        switch imageUser {
        case .success(let u)?: image = u
        case .failure(let e)? where runAsUser == nil:
            throw BuildError(path: path + ".image", message: "image \"\(c.image)\": \(e) (set securityContext.runAsUser)")
        default: image = nil
        }
        let uid = runAsUser ?? image.map { Int64($0.uid) } ?? 0
        let gid = sc?.runAsGroup ?? psc?.runAsGroup ?? (runAsUser == nil ? image.map { Int64($0.gid) } : nil) ?? 0
        guard let u = UInt32(exactly: uid), let g = UInt32(exactly: gid) else {
            throw BuildError(path: path + ".securityContext", message: "runAsUser and runAsGroup must be between 0 and 4294967295")
        }
        if (sc?.runAsNonRoot ?? psc?.runAsNonRoot) == true && u == 0 {
            let which = (sc?.runAsUser ?? psc?.runAsUser) == nil
                ? "runAsNonRoot is set and the container would run as root (set runAsUser to a non-zero uid)"
                : "runAsUser 0 breaks the runAsNonRoot policy"
            throw BuildError(path: path + ".securityContext.runAsNonRoot", message: which)
        }
        var groups: [UInt32] = []
        for gr in (psc?.fsGroup.map { [$0] } ?? []) + (psc?.supplementalGroups ?? []) {
            guard let v = UInt32(exactly: gr) else {
                throw BuildError(path: "spec.securityContext", message: "group \(gr) is out of range")
            }
            if !groups.contains(v) { groups.append(v) }
        }
        let privileged = sc?.privileged == true
        var masks: CapabilityMasks?
        if !privileged {
            let set = try capabilities(add: sc?.capabilities?.add ?? [], drop: sc?.capabilities?.drop ?? [], at: path)
            masks = u == 0 ? CapabilityMasks(set.rawValue) : CapabilityMasks(bounding: set.rawValue, effective: 0, permitted: 0, inheritable: 0)
        }
        return Result(uid: u, gid: g, groups: groups, capabilities: masks, privileged: privileged,
                      noNewPrivileges: sc?.allowPrivilegeEscalation == false,
                      readOnlyRootFilesystem: sc?.readOnlyRootFilesystem == true)
    }

    /// Signal numbers by name, as Linux numbers them on x86-64 and arm64.
    static let signals: [String: Int32] = [
        "SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGIOT": 6, "SIGBUS": 7,
        "SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13, "SIGALRM": 14,
        "SIGTERM": 15, "SIGSTKFLT": 16, "SIGCHLD": 17, "SIGCLD": 17, "SIGCONT": 18, "SIGSTOP": 19, "SIGTSTP": 20,
        "SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23, "SIGXCPU": 24, "SIGXFSZ": 25, "SIGVTALRM": 26, "SIGPROF": 27,
        "SIGWINCH": 28, "SIGIO": 29, "SIGPOLL": 29, "SIGPWR": 30, "SIGSYS": 31,
    ]
}
