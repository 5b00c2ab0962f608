import Planner
import PodModel
import Testing

/// The planner, table-driven as kubelet's `TestComputePodActions`: one healthy base case,
/// then one mutation per row, each with the actions it must give.
@Suite struct PlannerTests {
    static let key = PodKey(namespace: "default", name: "web")

    static func container(_ name: String, hash: String = "h1", kind: ContainerKind = .main) -> ContainerLaunch {
        ContainerLaunch(name: name, kind: kind, specHash: hash, executable: "/bin/sleep", arguments: ["sleep", "1"],
                        cgroup: "podrec/default_web_u1/\(name)")
    }

    static let immutable = ["hostNetwork": "false", "hostPID": "false", "hostIPC": "false",
                            "shareProcessNamespace": "false", "hostname": "web", "volumes": "v1"]

    static func desired(containers: [ContainerLaunch] = [container("app"), container("side")],
                        memory: Int64 = 64 << 20) -> DesiredPod {
        let plan = LaunchPlan(generation: 0, namespace: "default", name: "web", uid: "u1", hostname: "web",
                              logDirectory: "/l", scratchDirectory: "/s", containers: containers)
        var limits = PodCgroupLimits(pod: CgroupLimits(cpuShares: 204, memory: .value(2 * memory)))
        for c in containers { limits.containers[c.name] = CgroupLimits(cpuShares: 102, cpuMax: CPUMax(quota: .value(50_000)), memory: .value(memory)) }
        return DesiredPod(key: key, source: "apply", uid: "u1", immutable: immutable, plan: plan, limits: limits)
    }

    /// The host exactly as `desired()` asks, plan generation 3 taken up.
    static func observed(from d: DesiredPod = desired(), unified: Bool = false) -> Observed {
        var plan = d.plan
        plan.generation = 3
        var limits: [String: CgroupReading] = [:]
        func reading(_ l: CgroupLimits) -> CgroupReading {
            CgroupReading(cpuShares: unified ? nil : l.cpuShares, cpuWeight: unified ? l.cpuShares.map(ResourceMath.sharesToWeight) : nil,
                          cpuMax: l.cpuMax ?? .unlimited, memory: l.memory ?? .max, pids: l.pids ?? .max)
        }
        limits[""] = reading(d.limits.pod)
        for (name, l) in d.limits.containers { limits[name] = reading(l) }
        let pod = ObservedPod(key: d.key, record: PodRecord(uid: d.uid, source: d.source, immutable: d.immutable, generation: 3),
                              plan: plan, status: PodStatus(observedGeneration: 3, phase: .running), supervisor: .alive(pid: 42),
                              cgroup: "podrec/default_web_u1", cgroupExists: true, limits: limits,
                              memoryUsage: ["app": 10 << 20, "side": 10 << 20, "": 20 << 20], processes: [42, 43, 44])
        return Observed(pods: [d.key: pod], unified: unified)
    }

    static func run(_ d: DesiredPod?, _ o: Observed, prune: Bool = false, owner: String = "apply") -> [Action] {
        Planner.plan(desired: d.map { [$0] } ?? [], observed: o, options: PlanOptions(owner: owner, prune: prune)).actions
    }

    static func kinds(_ actions: [Action]) -> [String] {
        actions.map { a in
            switch a.kind {
            case .create: return "create"
            case .recreate: return "recreate"
            case .updatePlan(_, let g, let r, let add, let rm): return "update g\(g) restart\(r) add\(add) remove\(rm)"
            case .resignal(_, let g): return "resignal g\(g)"
            case .refreshFiles: return "refresh files"
            case .resize(_, let c, _, let changes): return "resize \(c ?? "pod"): " + changes.map(\.description).joined(separator: ", ")
            case .deferredResize(_, let c, let w, let u): return "deferred \(c ?? "pod") \(w) < \(u)"
            case .delete(let k): return "delete \(k)"
            case .awaitTermination(let k): return "await \(k)"
            case .recordSource(_, let source): return "source \(source)"
            case .skip: return "skip"
            case .removeStrayCgroup(let c): return "stray cgroup \(c)"
            case .removeStrayData(let u): return "stray data \(u)"
            case .removeStrayLogs(let d): return "stray logs \(d)"
            case .removeStrayAttachment(let id): return "stray attachment \(id)"
            case .refuse(let k): return "refuse \(k)"
            case .finished(let k): return "finished \(k)"
            case .repairNetwork(let d): return "repair network \(d.key)"
            }
        }
    }

    @Test func createsWhatIsMissingAndDoesNothingWhenAllIsAsAsked() {
        #expect(Self.kinds(Self.run(Self.desired(), Observed())) == ["create"])
        #expect(Self.kinds(Self.run(Self.desired(), Self.observed())) == [])
        #expect(Self.kinds(Self.run(Self.desired(), Self.observed(unified: true))) == [], "v2 compares cpu.weight")
        #expect(!Planner.plan(desired: [Self.desired()], observed: Self.observed(), options: PlanOptions()).hasChanges)
    }

    /// One mutation per row, on the input or on the host, and what it must give.
    @Test(arguments: [
        ("a container's spec changed: that container only",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in d.plan.containers[0].specHash = "h2" },
         ["update g4 restart[\"app\"] add[] remove[]"]),
        ("a container added",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in d.plan.containers.append(container("extra")) },
         ["update g4 restart[] add[\"extra\"] remove[]"]),
        ("a container removed",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in d.plan.containers.removeLast() },
         ["update g4 restart[] add[] remove[\"side\"]"]),
        ("a grace period changed: a new plan, nothing restarts",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in d.plan.terminationGracePeriodSeconds = 5 },
         ["update g4 restart[] add[] remove[]"]),
        ("a memory limit raised: in place",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in d.limits.containers["app"]!.memory = .value(128 << 20) },
         ["resize app: memory 64Mi → 128Mi"]),
        ("a memory limit lowered, still above use: in place",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in d.limits.containers["app"]!.memory = .value(32 << 20) },
         ["resize app: memory 64Mi → 32Mi"]),
        ("a memory limit below use: deferred",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in d.limits.containers["app"]!.memory = .value(8 << 20) },
         ["deferred app 8388608 < 10485760"]),
        ("a limit changed by hand on the host: repaired",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in o.pods[key]!.limits["side"]!.cpuShares = 999 },
         ["resize side: cpu.shares 999 → 102"]),
        ("a pod limit changed by hand",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in o.pods[key]!.limits[""]!.memory = .max },
         ["resize pod: memory max → 128Mi"]),
        ("a configMap's contents changed: swapped in, no restart",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in d.contents = "new" },
         ["refresh files"]),
        ("a dead supervisor: recreate",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in o.pods[key]!.supervisor = .dead },
         ["recreate"]),
        ("hostNetwork changed: recreate",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in d.immutable["hostNetwork"] = "true" },
         ["recreate"]),
        ("volumes changed: recreate",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in d.immutable["volumes"] = "v2" },
         ["recreate"]),
        ("a plan not taken up: signal again",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in o.pods[key]!.status?.observedGeneration = 2 },
         ["resignal g3"]),
        ("no status yet: signal again",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in o.pods[key]!.status = nil },
         ["resignal g3"]),
        ("half-created: a cgroup and no record",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in o.pods[key]!.record = nil; o.pods[key]!.supervisor = .none },
         ["recreate"]),
        ("a crashed container of a live supervisor: the supervisor's, not the planner's",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in
             o.pods[key]!.status?.containers = [ContainerStatus(name: "app", kind: .main, specHash: "h1", state: .waiting, reason: "CrashLoopBackOff", restartCount: 7)] },
         []),
        ("owned by a watcher: apply refuses it and changes nothing",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in o.pods[key]!.record?.source = "watch:/etc/podrec/web.yaml"; d.plan.containers[0].specHash = "h2" },
         ["refuse default/web"]),
        ("leftovers of a crashed pass: removed",
         { @Sendable (d: inout DesiredPod, o: inout Observed) in o.strayCgroups = ["default_old_u0"]; o.strayDataUIDs = ["u0"]; o.strayLogDirectories = ["default_old_u0"] },
         ["stray cgroup default_old_u0", "stray data u0", "stray logs default_old_u0"]),
    ] as [(String, @Sendable (inout DesiredPod, inout Observed) -> Void, [String])])
    func mutations(_ name: String, _ mutate: @Sendable (inout DesiredPod, inout Observed) -> Void, _ want: [String]) {
        var d = Self.desired()
        var o = Self.observed()
        mutate(&d, &o)
        let actions = Self.run(d, o)
        #expect(Self.kinds(actions) == want, "\(name)")
        for a in actions { #expect(!a.reason.isEmpty, "every action has a reason: \(name)") }
    }

    @Test func aResizeRunsBeforeThePlanThatRestartsUnderIt() {
        var d = Self.desired()
        d.plan.containers[0].specHash = "h2"
        d.limits.containers["app"]!.memory = .value(128 << 20)
        #expect(Self.kinds(Self.run(d, Self.observed())) == ["resize app: memory 64Mi → 128Mi", "update g4 restart[\"app\"] add[] remove[]"])
    }

    /// cgroup v1 refuses a child's CPU quota above its parent's, so a quota that goes down is
    /// written to the containers before the pod, and one that goes up to the pod first. The
    /// chaos soak found the pod always first: 200m + 50m → 50m + 50m failed at every pass.
    @Test(arguments: [
        ("a container lowered below the pod's new quota", (app: 20_000 as Int64, side: 5_000 as Int64, pod: 25_000 as Int64),
         (app: 5_000 as Int64, side: 5_000 as Int64, pod: 10_000 as Int64),
         ["resize app: cpu.max 20000 100000 → 5000 100000", "resize pod: cpu.max 25000 100000 → 10000 100000"]),
        ("a container raised", (app: 5_000, side: 5_000, pod: 10_000), (app: 20_000, side: 5_000, pod: 25_000),
         ["resize pod: cpu.max 10000 100000 → 25000 100000", "resize app: cpu.max 5000 100000 → 20000 100000"]),
        ("one lowered, one raised", (app: 20_000, side: 5_000, pod: 25_000), (app: 5_000, side: 15_000, pod: 20_000),
         ["resize app: cpu.max 20000 100000 → 5000 100000", "resize pod: cpu.max 25000 100000 → 20000 100000",
          "resize side: cpu.max 5000 100000 → 15000 100000"]),
    ] as [(String, (app: Int64, side: Int64, pod: Int64), (app: Int64, side: Int64, pod: Int64), [String])])
    func cpuQuotasGoDownChildrenFirstAndUpParentFirst(_ name: String, _ was: (app: Int64, side: Int64, pod: Int64),
                                                      _ now: (app: Int64, side: Int64, pod: Int64), _ want: [String]) {
        func limits(_ q: (app: Int64, side: Int64, pod: Int64)) -> DesiredPod {
            var d = Self.desired()
            d.limits.pod.cpuMax = CPUMax(quota: .value(q.pod))
            d.limits.containers["app"]!.cpuMax = CPUMax(quota: .value(q.app))
            d.limits.containers["side"]!.cpuMax = CPUMax(quota: .value(q.side))
            return d
        }
        #expect(Self.kinds(Self.run(limits(now), Self.observed(from: limits(was)))) == want, "\(name)")
    }

    @Test func pruningDeletesOnlyThisOwnersPodsAndOnlyWhenAsked() {
        let o = Self.observed()
        #expect(Self.kinds(Self.run(nil, o)) == [], "apply without --prune deletes nothing")
        #expect(Self.kinds(Self.run(nil, o, prune: true)) == ["delete default/web"])
        #expect(Self.kinds(Self.run(nil, o, prune: true, owner: "watch:/etc/podrec")) == [], "a watcher prunes only its own")
        var watched = o
        watched.pods[Self.key]!.record?.source = "watch:/etc/podrec/web.yaml"
        #expect(Self.kinds(Self.run(nil, watched, prune: true, owner: "watch:/etc/podrec")) == ["delete default/web"])
        #expect(Self.kinds(Self.run(nil, watched, prune: true)) == [], "apply --prune leaves a watcher's pod")
        let held = Planner.plan(desired: [], observed: watched,
                                options: PlanOptions(owner: "watch:/etc/podrec", prune: true, held: ["watch:/etc/podrec/web.yaml"]))
        #expect(Self.kinds(held.actions) == [], "a file that failed to load keeps its pods")
    }

    /// A pod of the input that could not be built this pass (an image not in the store) is
    /// not missing from the input: prune leaves it as it runs.
    @Test func aPodThatFailedToBuildIsNeverPruned() {
        let o = Self.observed()
        let unresolved = Planner.plan(desired: [], observed: o, options: PlanOptions(owner: "apply", prune: true, unresolved: [Self.key]))
        #expect(Self.kinds(unresolved.actions) == [])
        let other = Planner.plan(desired: [], observed: o,
                                 options: PlanOptions(owner: "apply", prune: true, unresolved: [PodKey(namespace: "default", name: "db")]))
        #expect(Self.kinds(other.actions) == ["delete default/web"], "only the pod that failed is kept")
    }

    @Test func deletionsByNameAreThePodsTheHostHas() {
        let plan = Planner.deletions([Self.key, PodKey(namespace: "default", name: "gone")], observed: Self.observed(), reason: "deleted by request")
        #expect(Self.kinds(plan.actions) == ["delete default/web"])
        #expect(plan.actions.map(\.reason) == ["deleted by request"])
    }

    @Test func aHalfCreatedPodNotInTheInputIsRemoved() {
        var o = Self.observed()
        o.pods[Self.key]!.record = nil
        #expect(Self.kinds(Self.run(nil, o)) == ["delete default/web"])
    }

    @Test func theReasonsSayWhatChanged() {
        var d = Self.desired()
        d.immutable["hostNetwork"] = "true"
        #expect(Self.run(d, Self.observed()).first?.reason == "cannot change in place: hostNetwork false → true")
        var resized = Self.desired()
        resized.limits.containers["app"]!.memory = .value(128 << 20)
        #expect(Self.run(resized, Self.observed()).first?.reason == "memory 64Mi → 128Mi (in place)")
    }

    /// `diff`'s lines under a new plan: each container marked, then its changed fields; a
    /// secret's value never appears, neither in env nor expanded into argv.
    @Test func aNewPlanListsEachContainerAndFieldWithoutSecrets() {
        var app = Self.container("app")
        app.environment = ["MODE=a", "PASS=hunter2-old", "GONE=1"]
        app.secretEnvironment = ["PASS"]
        app.arguments = ["sh", "-c", "login hunter2-old"]
        let o = Self.observed(from: Self.desired(containers: [app, Self.container("side")]))
        var changed = app
        changed.specHash = "h2"
        changed.environment = ["MODE=b", "PASS=hunter2-new", "NEW=x"]
        changed.arguments = ["sh", "-c", "login hunter2-new; sleep 2"]
        changed.mounts = [MountSpec(source: "/v/data", target: "/data", readOnly: true)]
        changed.tty = true
        let d = Self.desired(containers: [changed, Self.container("extra")])
        let update = Self.run(d, o).first { if case .updatePlan = $0.kind { true } else { false } }
        let lines = update?.details.map { String(repeating: "  ", count: $0.depth) + $0.description } ?? []
        #expect(lines == [
            "  ~ container app: restart",
            "    ~ command: sh -c 'login $(PASS)' → sh -c 'login $(PASS); sleep 2'",
            "    ~ env MODE: a → b",
            "    ~ env PASS: (secret) changed",
            "    + env NEW=x",
            "    - env GONE",
            "    ~ tty: false → true",
            "    + mount /data (read-only)",
            "  + container extra",
            "  - container side",
        ])
        #expect(!lines.joined().contains("hunter2"))
    }

    /// A pod recorded as deleting (a watcher told its supervisor to stop): nothing to do
    /// while the supervisor lives; then the removal is finished, or, if the input has the
    /// pod again, it is created anew.
    @Test func aTerminatingPodIsFinishedOrRecreatedOnceItsSupervisorHasStopped() {
        var o = Self.observed()
        o.pods[Self.key]!.record?.deleting = true
        o.pods[Self.key]!.record?.source = "watch:/etc/podrec/web.yaml"
        let watch = "watch:/etc/podrec"
        #expect(Self.kinds(Self.run(nil, o, prune: true, owner: watch)) == ["await default/web"])
        #expect(Self.kinds(Self.run(Self.desired(), o, owner: watch)) == ["await default/web"])
        #expect(Self.kinds(Self.run(nil, o)) == [], "apply does not finish a watcher's deletion")
        o.pods[Self.key]!.supervisor = .dead
        #expect(Self.kinds(Self.run(nil, o, prune: true, owner: watch)) == ["delete default/web"])
        #expect(Self.kinds(Self.run(Self.desired(), o, owner: watch)) == ["recreate"])
    }

    /// A watched file renamed: the pod is the same, its record takes the new file's name.
    @Test func aPodNowDefinedByAnotherFileKeepsRunningUnderItsNewSource() {
        var o = Self.observed()
        o.pods[Self.key]!.record?.source = "watch:/d/a.yaml"
        var d = Self.desired()
        d.source = "watch:/d/b.yaml"
        let actions = Self.run(d, o, owner: "watch:/d")
        #expect(Self.kinds(actions) == ["source watch:/d/b.yaml"])
        #expect(actions.first?.reason == "now defined by watch:/d/b.yaml (was watch:/d/a.yaml)")
    }

    /// A pod a watcher owns, in `apply`'s input: refused with the owner named (a pass
    /// that changed nothing must not look like success); another watcher skips it; with
    /// `--force-owner` apply takes it over, its record names apply, and the rest of the
    /// plan is as for its own pod.
    @Test func aPodAnotherSourceOwnsIsRefusedSkippedOrTakenOver() {
        var o = Self.observed()
        o.pods[Self.key]!.record?.source = "watch:/etc/podrec/web.yaml"
        var d = Self.desired()
        d.plan.containers[0].specHash = "h2"
        let refused = Self.run(d, o)
        #expect(Self.kinds(refused) == ["refuse default/web"])
        #expect(refused.first?.reason.hasPrefix("owned by watch:/etc/podrec/web.yaml") == true)
        #expect(Plan(actions: refused).hasChanges, "diff exits 1: apply would not do what the file says")
        #expect(Self.kinds(Self.run(d, o, owner: "watch:/srv/other")) == ["skip"], "a watcher leaves another owner's pod alone")
        let taken = Planner.plan(desired: [d], observed: o, options: PlanOptions(owner: "apply", forceOwner: true)).actions
        #expect(Self.kinds(taken) == ["source apply", "update g4 restart[\"app\"] add[] remove[]"])
        #expect(taken.first?.reason == "taken over from watch:/etc/podrec/web.yaml (--force-owner)")
    }

    @Test func aRecordKeepsItsDeletingMark() throws {
        var record = PodRecord(uid: "u1", source: "apply", immutable: [:], generation: 2)
        #expect(try PodRecord.decode(record.encoded()).deleting == false)
        record.deleting = true
        #expect(try PodRecord.decode(record.encoded()).deleting == true)
    }
}
