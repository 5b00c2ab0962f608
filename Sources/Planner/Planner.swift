import PodModel

/// `plan(desired, observed) -> Plan`: pure, no I/O, no clock, no globals. It decides only
/// pod-level facts (ARCHITECTURE, "Who does what"): which pods to create, recreate or
/// delete, which plans to hand over, which limits to write. It never restarts a container
/// of a pod whose supervisor lives: a changed container reaches the supervisor as a new
/// plan, and the supervisor restarts exactly that container.
///
/// Order of the actions: strays first (they may hold names a create needs), then pods by
/// key, each pod's actions in the order they must run (limits before a plan that starts
/// containers under them), then deletions.
public enum Planner {
    public static func plan(desired: [DesiredPod], observed: Observed, options: PlanOptions) -> Plan {
        var actions: [Action] = []
        for cgroup in observed.strayCgroups.sorted() {
            actions.append(Action(.removeStrayCgroup(cgroup), reason: "a pod cgroup that no pod's state names (a pass that did not finish)"))
        }
        for uid in observed.strayDataUIDs.sorted() {
            actions.append(Action(.removeStrayData(uid: uid), reason: "the data of a pod uid that has no state"))
        }
        for dir in observed.strayLogDirectories.sorted() {
            actions.append(Action(.removeStrayLogs(directory: dir), reason: "the logs of a pod uid that has no state"))
        }
        for id in observed.strayAttachments.sorted() {
            actions.append(Action(.removeStrayAttachment(containerID: id), reason: "a network attachment of a pod uid that has no state"))
        }

        var wanted: [PodKey: DesiredPod] = [:]
        for d in desired where wanted[d.key] == nil { wanted[d.key] = d }
        let refused = hostPortConflicts(wanted, observed: observed)
        for key in wanted.keys.sorted() {
            if let why = refused[key] {
                actions.append(Action(.refuse(key), reason: why))
                continue
            }
            actions += planPod(wanted[key]!, observed.pods[key], options: options, unified: observed.unified)
        }
        for key in observed.pods.keys.sorted() where wanted[key] == nil {
            let o = observed.pods[key]!
            guard let record = o.record else {
                // State without a record, or a record unreadable: a create that did not
                // finish. Nobody owns it; it goes.
                actions.append(Action(.delete(key), reason: "half-created by a pass that did not finish, and not in the input"))
                continue
            }
            if options.held.contains(record.source) { continue }
            if record.deleting && options.owns(record.source) {
                if case .alive = o.supervisor {
                    actions.append(Action(.awaitTermination(key), reason: "its supervisor is stopping the containers"))
                } else {
                    actions.append(Action(.delete(key), reason: "finish deleting: its supervisor has stopped"))
                }
                continue
            }
            if options.prune && options.owns(record.source) && !options.unresolved.contains(key) {
                actions.append(Action(.delete(key), reason: "not in the input (prune, source \(record.source))"))
            }
        }
        return Plan(actions: actions)
    }

    /// `delete` by name: one deletion for each of `keys` that the host has, in key order.
    public static func deletions(_ keys: Set<PodKey>, observed: Observed, reason: String) -> Plan {
        Plan(actions: keys.sorted().filter { observed.pods[$0] != nil }.map { Action(.delete($0), reason: reason) })
    }

    static func planPod(_ d: DesiredPod, _ o: ObservedPod?, options: PlanOptions, unified: Bool) -> [Action] {
        guard let o, let record = o.record else {
            if let o, o.cgroupExists || o.plan != nil || !o.processes.isEmpty {
                return [Action(.recreate(d), reason: "half-created: \(halfCreated(o))", details: networkDetails(d))]
            }
            return [Action(.create(d), reason: "not on this host", details: networkDetails(d))]
        }
        if !options.owns(record.source) && !options.forceOwner {
            // A watcher leaves another owner's pod alone. `apply` is a person asking for
            // this very pod: tell them who owns it instead of reporting success, as kubectl
            // reports a field manager's conflict (`--force-conflicts` there, `--force-owner` here).
            guard options.owner == "apply" else {
                return [Action(.skip(d.key), reason: "owned by \(record.source); the pod keeps its recorded owner")]
            }
            return [Action(.refuse(d.key), reason: "owned by \(record.source), which keeps it as that source says; change the pod there, or apply --force-owner to take it over")]
        }
        if record.deleting {
            if case .alive = o.supervisor {
                return [Action(.awaitTermination(d.key), reason: "terminating; created again once its supervisor has stopped")]
            }
            // A new pod, with a start time of its own.
            return [Action(.recreate(d), reason: "it was deleted and is in the input again", details: networkDetails(d))]
        }
        // The start time belongs to the pod for as long as its uid: whatever makes it again
        // or hands it a plan keeps it, so its active deadline is never counted from anew.
        var d = d
        d.plan.startTime = record.startTime
        if case .alive = o.supervisor, let status = o.status, status.phase == .failed, status.reason == ActiveDeadline.reason {
            // kubelet keeps a pod that ran out of time Failed for good, and so does its
            // supervisor: no repair, restart or new plan would run anything again.
            return [Action(.finished(d.key), reason: "Failed (\(ActiveDeadline.reason)): \(status.message ?? ActiveDeadline.message); "
                           + "its containers stay stopped; delete the pod to run it again")]
        }
        switch o.supervisor {
        case .dead: return [Action(.recreate(d), reason: "its supervisor is dead", details: networkDetails(d))]
        case .none: return [Action(.recreate(d), reason: "no supervisor was recorded (a create that did not finish)", details: networkDetails(d))]
        case .alive: break
        }
        let immutable = ImmutableFields.names.compactMap { name -> String? in
            let was = record.immutable[name] ?? "", now = d.immutable[name] ?? ""
            if was == now { return nil }
            // The volumes' canonical JSON is long; its name says enough.
            return name == "volumes" ? "volumes changed" : "\(name) \(shown(was)) → \(shown(now))"
        }
        if !immutable.isEmpty {
            return [Action(.recreate(d), reason: "cannot change in place: " + immutable.joined(separator: ", "), details: networkDetails(d))]
        }
        guard o.cgroupExists else { return [Action(.recreate(d), reason: "its cgroup is gone")] }
        guard let current = o.plan else { return [Action(.recreate(d), reason: "its launch plan is gone")] }
        if record.uid != d.uid { return [Action(.recreate(d), reason: "a new uid \(d.uid) (was \(record.uid))")] }

        if let why = ActiveDeadline.refusedChange(from: current.activeDeadlineSeconds, to: d.plan.activeDeadlineSeconds) {
            // As the API server refuses the update; the pod runs on under its deadline.
            return [Action(.refuse(d.key), reason: why)]
        }

        // The pod's IPs are what its attachment gave when it started: every action keeps them.
        if d.network != nil {
            d.plan = d.plan.assigningPodIPs(current.podIPs)
            d.setup.podIPs = current.podIPs
        }
        var actions: [Action] = []
        if d.network != nil, let problem = o.networkProblem {
            actions.append(Action(.repairNetwork(d), reason: "its network attachment is broken: \(problem)"))
        }
        if record.source != d.source {
            let why = options.owns(record.source) ? "now defined by \(d.source) (was \(record.source))" : "taken over from \(record.source) (--force-owner)"
            actions.append(Action(.recordSource(d.key, source: d.source), reason: why))
        }
        if record.contents != d.contents {
            actions.append(Action(.refreshFiles(d), reason: "configMap, secret or downward API contents changed (swapped in place, no restart)"))
        }
        // Limits first, so that containers a new plan starts or restarts run under them.
        actions += resizes(d, o, unified: unified, existing: Set(current.containers.map(\.name)))

        var want = d.plan
        want.generation = current.generation
        if want != current {
            let before = Dictionary(current.containers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            let after = Set(want.containers.map(\.name))
            let restart = want.containers.filter { c in before[c.name].map { $0.specHash != c.specHash } ?? false }.map(\.name)
            let add = want.containers.filter { before[$0.name] == nil }.map(\.name)
            let remove = current.containers.filter { !after.contains($0.name) }.map(\.name)
            var parts: [String] = []
            if !restart.isEmpty { parts.append("changed: " + restart.joined(separator: ", ")) }
            if !add.isEmpty { parts.append("added: " + add.joined(separator: ", ")) }
            if !remove.isEmpty { parts.append("removed: " + remove.joined(separator: ", ")) }
            if parts.isEmpty { parts.append("pod settings changed, no container restarts") }
            actions.append(Action(.updatePlan(d, generation: max(record.generation, current.generation) + 1, restart: restart, add: add, remove: remove),
                                  reason: parts.joined(separator: "; "), details: planDetails(current, want)))
        } else if (o.status?.observedGeneration ?? 0) < record.generation {
            actions.append(Action(.resignal(d.key, generation: record.generation),
                                  reason: "the supervisor has not taken up generation \(record.generation) (it reports \(o.status?.observedGeneration ?? 0))"))
        }
        return actions
    }

    /// `diff`'s lines under a new plan: each container added, removed or changed (with its
    /// fields), then the pod's own settings.
    static func planDetails(_ current: LaunchPlan, _ want: LaunchPlan) -> [ActionDetail] {
        let before = Dictionary(current.containers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let after = Set(want.containers.map(\.name))
        var out: [ActionDetail] = []
        for c in want.containers {
            guard let was = before[c.name] else {
                out.append(ActionDetail("+", "container \(c.name)", depth: 1))
                continue
            }
            guard was != c else { continue }
            out.append(ActionDetail("~", "container \(c.name): " + (was.specHash != c.specHash ? "restart" : "no restart"), depth: 1))
            out += ContainerChanges.fields(was, c)
        }
        for c in current.containers where !after.contains(c.name) {
            out.append(ActionDetail("-", "container \(c.name)", depth: 1))
        }
        if current.terminationGracePeriodSeconds != want.terminationGracePeriodSeconds {
            out.append(ActionDetail("~", "terminationGracePeriodSeconds: \(current.terminationGracePeriodSeconds) → \(want.terminationGracePeriodSeconds)", depth: 1))
        }
        if current.activeDeadlineSeconds != want.activeDeadlineSeconds {
            let shown = { (d: Int64?) in d.map { "\($0)s" } ?? "(none)" }
            out.append(ActionDetail("~", "activeDeadlineSeconds: \(shown(current.activeDeadlineSeconds)) → \(shown(want.activeDeadlineSeconds))", depth: 1))
        }
        return out
    }

    /// `diff`'s line for a pod that will be attached: the network and its host ports.
    static func networkDetails(_ d: DesiredPod) -> [ActionDetail] {
        guard let n = d.network else { return [] }
        let ports = n.portMappings.isEmpty ? "" : ", host ports " + n.portMappings.map(\.description).joined(separator: ", ")
        return [ActionDetail("+", "network \(n.network.name) (\(n.network.isDefault ? "podrec's default, written to " : "")\(n.network.file))\(ports)", depth: 1)]
    }

    /// Host ports two pods ask for (ARCHITECTURE: podrec holds each for its pod's life, so
    /// two pods cannot take the same one): a pod that holds a port keeps it; among pods that
    /// do not hold it yet, the first in key order gets it. Each pod refused, with the reason
    /// naming the holder. A holder is any pod with a record on the host (a terminating one
    /// too, until its supervisor is gone), or a pod of this input that got the port.
    static func hostPortConflicts(_ wanted: [PodKey: DesiredPod], observed: Observed) -> [PodKey: String] {
        var held: [(key: PodKey, mapping: PortMapping)] = []
        for (key, o) in observed.pods {
            guard let record = o.record else { continue }
            held += record.hostPorts.map { (key, $0) }
        }
        var refused: [PodKey: String] = [:]
        for key in wanted.keys.sorted() {
            let mappings = wanted[key]!.network?.portMappings ?? []
            var taken: [String] = []
            for m in mappings {
                if let holder = held.first(where: { $0.key != key && $0.mapping.conflicts(with: m) }) {
                    taken.append("host port \(m.hostPort)/\(m.proto)" + (m.hostIP.isEmpty ? "" : " on \(m.hostIP)")
                                 + " is held by pod \(holder.key) (\(holder.mapping))")
                }
            }
            if taken.isEmpty {
                held += mappings.map { (key, $0) }
            } else {
                refused[key] = taken.joined(separator: "; ")
            }
        }
        return refused
    }

    static func halfCreated(_ o: ObservedPod) -> String {
        var what: [String] = []
        if o.cgroupExists { what.append("a cgroup") }
        if o.plan != nil { what.append("a launch plan") }
        if !o.processes.isEmpty { what.append("\(o.processes.count) processes") }
        return what.joined(separator: ", ") + " without a record"
    }

    static func shown(_ value: String) -> String { value.isEmpty ? "(none)" : value }

    // MARK: Limits

    /// In-place resizes: each limit the input sets that the kernel has otherwise. Containers
    /// that do not run yet (added by this plan) get theirs when their cgroup is made.
    ///
    /// Order: the containers whose CPU quota goes down, then the pod, then the other
    /// containers. cgroup v1 refuses a quota above the parent's (`tg_cfs_schedulable_down`:
    /// EINVAL), so the pod's quota may go down only once no container's is above its new
    /// value, and a container's may go up only once the pod's has. With the pod always first,
    /// lowering a container's CPU limit failed at every pass, for good, whenever the pod's new
    /// quota was below that container's old one: 200m + 50m → 50m + 50m writes the pod's
    /// 10000 µs while container a still has 20000 µs (found by the chaos soak).
    static func resizes(_ d: DesiredPod, _ o: ObservedPod, unified: Bool, existing: Set<String>) -> [Action] {
        var lowered: [Action] = [], rest: [Action] = []
        let targets: [(String?, CgroupLimits)] = [(nil, d.limits.pod)]
            + d.plan.containers.filter { existing.contains($0.name) }.compactMap { c in d.limits.containers[c.name].map { (c.name, $0) } }
        for (container, wanted) in targets {
            guard let reading = o.limits[container ?? ""] else { continue }
            let out = resize(d.key, container, wanted, reading, usage: o.memoryUsage[container ?? ""] ?? 0, unified: unified)
            if container != nil, let cpuMax = wanted.cpuMax, lowersQuota(from: reading.cpuMax, to: cpuMax) {
                lowered += out
            } else {
                rest += out
            }
        }
        return lowered + rest
    }

    /// Whether `to` allows less CPU time per period than `from` (`max` is no limit; an
    /// unknown reading counts as no limit, so the container goes first).
    static func lowersQuota(from: CPUMax?, to: CPUMax) -> Bool {
        guard case .value(let new) = to.quota else { return false }
        guard let from, case .value(let old) = from.quota else { return true }
        return Double(new) / Double(max(to.period, 1)) < Double(old) / Double(max(from.period, 1))
    }

    /// One cgroup's resize (or deferred memory) actions: what differs from `reading`.
    static func resize(_ key: PodKey, _ container: String?, _ wanted: CgroupLimits, _ reading: CgroupReading,
                       usage: Int64, unified: Bool) -> [Action] {
        var out: [Action] = []
        var write = CgroupLimits()
        var changes: [LimitChange] = []
        if let shares = wanted.cpuShares {
            if unified {
                let weight = ResourceMath.sharesToWeight(min(max(shares, ResourceMath.minShares), ResourceMath.maxShares))
                if reading.cpuWeight != weight {
                    write.cpuShares = shares
                    changes.append(LimitChange(name: "cpu.weight", from: reading.cpuWeight.map(String.init) ?? "?", to: String(weight)))
                }
            } else if reading.cpuShares != shares {
                write.cpuShares = shares
                changes.append(LimitChange(name: "cpu.shares", from: reading.cpuShares.map(String.init) ?? "?", to: String(shares)))
            }
        }
        if let cpuMax = wanted.cpuMax, reading.cpuMax != cpuMax {
            write.cpuMax = cpuMax
            changes.append(LimitChange(name: "cpu.max", from: reading.cpuMax.map(describe) ?? "?", to: describe(cpuMax)))
        }
        if let memory = wanted.memory, reading.memory != memory {
            if case .value(let bytes) = memory, bytes < usage, isLowering(from: reading.memory, to: bytes) {
                out.append(Action(.deferredResize(key, container: container, wanted: bytes, usage: usage),
                                  reason: "memory \(describeMemory(reading.memory)) → \(Self.bytes(bytes)) is below the \(Self.bytes(usage)) in use; deferred, as kubelet defers it"))
            } else {
                write.memory = memory
                changes.append(LimitChange(name: "memory", from: describeMemory(reading.memory), to: describeMemory(memory)))
            }
        }
        if let pids = wanted.pids, reading.pids != pids {
            write.pids = pids
            changes.append(LimitChange(name: "pids", from: describe(reading.pids), to: describe(pids)))
        }
        if !changes.isEmpty {
            out.append(Action(.resize(key, container: container, limits: write, changes: changes),
                              reason: changes.map(\.description).joined(separator: ", ") + " (in place)"))
        }
        return out
    }

    static func isLowering(from current: CgroupLimit?, to bytes: Int64) -> Bool {
        switch current {
        case .value(let was): return bytes < was
        case .max, nil: return true
        }
    }

    static func describe(_ limit: CgroupLimit?) -> String { LimitText.limit(limit) }
    static func describeMemory(_ limit: CgroupLimit?) -> String { LimitText.memory(limit) }
    static func bytes(_ v: Int64) -> String { LimitText.bytes(v) }
    static func describe(_ m: CPUMax) -> String { "\(describe(m.quota)) \(m.period)" }
}

/// Limits as people read them, in `diff`, `describe` and the plan's reasons.
public enum LimitText {
    public static func limit(_ limit: CgroupLimit?) -> String {
        switch limit {
        case .max: return "max"
        case .value(let v): return String(v)
        case nil: return "?"
        }
    }

    public static func memory(_ limit: CgroupLimit?) -> String {
        if case .value(let v) = limit { return bytes(v) }
        return Self.limit(limit)
    }

    /// Bytes as a Kubernetes quantity when exact: 64Mi, 1Gi, 512Ki; else the number.
    public static func bytes(_ v: Int64) -> String {
        for (unit, size) in [("Gi", Int64(1) << 30), ("Mi", Int64(1) << 20), ("Ki", Int64(1) << 10)] where v >= size && v % size == 0 {
            return "\(v / size)\(unit)"
        }
        return String(v)
    }
}
