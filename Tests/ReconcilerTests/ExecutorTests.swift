import Kernel
import Planner
import PodModel
import Reconciler
import Testing

/// A host that does nothing but record each call the executor makes, with its arguments,
/// answer with canned statuses, and fail the calls it is told to. Tests are single-threaded.
final class RecordingHost: ExecutorHost, @unchecked Sendable {
    /// The wall clock, stopped: a new pod's start time.
    static let clock = WallTime(1_700_000_000 * 1_000_000_000)
    func wallClock() -> WallTime { Self.clock }
    enum Call {
        case writeRecord(PodRecord, PodLayout)
        case setUp(PodSetup, PodLayout)
        case launch(LaunchPlan, PodCgroupLimits, PodLayout)
        case repairNetwork(NetworkAttachment, PodSetup, PodLayout)
        case removeAttachment(String)
        case undoCreate(PodLayout)
        case update(LaunchPlan, PodCgroupLimits, PodLayout)
        case resignal(Int, PodLayout)
        case resize(CgroupLimits, cgroup: String)
        case requestStop(PodLayout)
        case delete(PodLayout, graceMilliseconds: Int64)
        case removeCgroup(String)
        case removeState(PodStateDirectory)
        case removeData(PodLayout)
        case removeLogs(String)

        /// The call as one line: its name, the pod, and the arguments that tell calls apart.
        var text: String {
            func pod(_ l: PodLayout) -> String { "\(l.namespace)/\(l.name)" }
            switch self {
            case .writeRecord(let r, let l): return "writeRecord \(pod(l)) uid \(r.uid) g\(r.generation)" + (r.deleting ? " deleting" : "")
            case .setUp(_, let l): return "setUp \(pod(l))"
            case .launch(let p, _, let l): return "launch \(pod(l)) g\(p.generation)"
            case .repairNetwork(let n, let s, let l): return "repairNetwork \(pod(l)) \(n.containerID) ips \(s.podIPs)"
            case .removeAttachment(let id): return "removeAttachment \(id)"
            case .undoCreate(let l): return "undoCreate \(pod(l))"
            case .update(let p, _, let l): return "update \(pod(l)) g\(p.generation)"
            case .resignal(let g, let l): return "resignal \(pod(l)) g\(g)"
            case .resize(_, let cgroup): return "resize \(cgroup)"
            case .requestStop(let l): return "requestStop \(pod(l))"
            case .delete(let l, let grace): return "delete \(pod(l)) uid \(l.uid) grace \(grace)"
            case .removeCgroup(let path): return "removeCgroup \(path)"
            case .removeState(let s): return "removeState \(s.path)"
            case .removeData(let l): return "removeData \(l.dataDirectory)"
            case .removeLogs(let path): return "removeLogs \(path)"
            }
        }

        var name: String { String(text.prefix { $0 != " " }) }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private(set) var calls: [Call] = []
    /// Call name → the message it fails with.
    var failures: [String: String] = [:]
    var launchStatus = PodStatus(observedGeneration: 1, phase: .running)
    var updateStatus = PodStatus(phase: .running)
    var resizeDeferred = false
    var supervisorLives = true

    var texts: [String] { calls.map(\.text) }

    private func record(_ call: Call) throws {
        calls.append(call)
        if let message = failures[call.name] { throw Failure(description: message) }
    }

    func writeRecord(_ record: PodRecord, layout: PodLayout) throws { try self.record(.writeRecord(record, layout)) }
    func setUp(_ setup: PodSetup, layout: PodLayout) throws { try record(.setUp(setup, layout)) }
    /// The network a launch was given, by pod name.
    private(set) var launchedNetworks: [String: NetworkAttachment] = [:]
    func launch(_ plan: LaunchPlan, limits: PodCgroupLimits, network: NetworkAttachment?, setup: PodSetup, layout: PodLayout) throws -> PodStatus {
        launchedNetworks[layout.name] = network
        try record(.launch(plan, limits, layout))
        return launchStatus
    }
    func repairNetwork(_ network: NetworkAttachment, setup: PodSetup, layout: PodLayout) throws {
        try record(.repairNetwork(network, setup, layout))
    }
    func removeAttachment(containerID: String) throws { try record(.removeAttachment(containerID)) }
    func undoCreate(layout: PodLayout) { try? record(.undoCreate(layout)) }
    func update(_ plan: LaunchPlan, limits: PodCgroupLimits, layout: PodLayout) throws -> PodStatus {
        try record(.update(plan, limits, layout))
        var status = updateStatus
        status.observedGeneration = plan.generation
        return status
    }
    func resignal(generation: Int, layout: PodLayout) throws -> PodStatus {
        try record(.resignal(generation, layout))
        return PodStatus(observedGeneration: generation, phase: .running)
    }
    func resize(_ limits: CgroupLimits, cgroup: String) throws -> Bool {
        try record(.resize(limits, cgroup: cgroup))
        return resizeDeferred
    }
    func requestStop(layout: PodLayout) throws -> Bool {
        try record(.requestStop(layout))
        return supervisorLives
    }
    func delete(layout: PodLayout, graceMilliseconds: Int64) throws { try record(.delete(layout, graceMilliseconds: graceMilliseconds)) }
    func removeCgroup(_ path: String) throws { try record(.removeCgroup(path)) }
    func removeState(_ state: PodStateDirectory) throws { try record(.removeState(state)) }
    func removeData(layout: PodLayout) throws { try record(.removeData(layout)) }
    func removeLogs(_ path: String) throws { try record(.removeLogs(path)) }
}

/// The executor against `RecordingHost`: it does the plan's actions, exactly, in order, and
/// nothing else; a failure stops the rest of that pod's actions and no other pod's. No root,
/// no host: every path below is made up and nothing touches it.
@Suite struct ExecutorTests {
    static let roots = Roots(proc: "/fake/proc", cgroup: "/fake/cgroup", state: "/fake/run", data: "/fake/data", log: "/fake/log",
                             cgroupParent: "podrec-test")
    static let web = PodKey(namespace: "default", name: "web")
    static let db = PodKey(namespace: "default", name: "db")

    static func container(_ pod: PodKey, _ name: String, uid: String) -> ContainerLaunch {
        ContainerLaunch(name: name, specHash: "h-\(name)", executable: "/bin/sleep", arguments: ["sleep", "1"],
                        cgroup: roots.layout(pod, uid: uid).containerCgroup(name))
    }

    /// A pod with two containers, limits, a configMap volume and a hostname: a whole build
    /// whose every part the tests can recognise in the host's calls.
    static func desired(_ key: PodKey = web, uid: String = "u1", grace: Int64 = 7, contents: String = "c1") -> DesiredPod {
        let layout = roots.layout(key, uid: uid)
        let plan = LaunchPlan(generation: 0, namespace: key.namespace, name: key.name, uid: uid, hostname: key.name,
                              terminationGracePeriodSeconds: grace, logDirectory: layout.logDirectory,
                              scratchDirectory: layout.state.scratchDirectory, sharedShm: layout.shmDirectory,
                              containers: [container(key, "app", uid: uid), container(key, "side", uid: uid)])
        let limits = PodCgroupLimits(pod: CgroupLimits(cpuShares: 204, memory: .value(128 << 20)),
                                     containers: ["app": CgroupLimits(cpuShares: 102, memory: .value(64 << 20)),
                                                  "side": CgroupLimits(cpuShares: 102, memory: .value(64 << 20))])
        let files = ProjectedFiles(files: [.init(path: "a.conf", bytes: Array(contents.utf8), mode: 0o644)], secret: false)
        let setup = PodSetup(volumes: [(name: "conf", spec: .files(files))],
                             expectedVolumes: ["conf": PreparedVolume(path: layout.volumeDirectory("conf"), isFile: false, readOnly: true)],
                             memoryLimit: 128 << 20, hostname: key.name, hostAliases: [(ip: "10.0.0.1", hostnames: ["db"])],
                             subPathDirectories: [SubPathDirectory(volume: layout.volumeDirectory("conf"), path: "sub")])
        return DesiredPod(key: key, source: "apply", uid: uid, immutable: ["hostname": key.name], plan: plan, limits: limits,
                          setup: setup, contents: contents)
    }

    /// The host running `d` at `generation`, its supervisor as given.
    static func observed(_ d: DesiredPod, generation: Int = 3, supervisor: SupervisorState = .alive(pid: 42), deleting: Bool = false) -> ObservedPod {
        var plan = d.plan
        plan.generation = generation
        var record = d.record(generation: generation)
        record.deleting = deleting
        return ObservedPod(key: d.key, record: record, plan: plan, status: PodStatus(observedGeneration: generation, phase: .running),
                           supervisor: supervisor, cgroup: roots.layout(d.key, uid: d.uid).podCgroup, cgroupExists: true)
    }

    static func run(_ actions: [Action], observed: Observed = Observed(), host: RecordingHost, grace: Int64? = nil,
                    stopWithoutWaiting: Bool = false) -> [Executor.Outcome] {
        Executor(host: host, roots: roots, graceMilliseconds: grace, stopWithoutWaiting: stopWithoutWaiting)
            .run(Plan(actions: actions), observed: observed)
    }

    /// Whether two set-ups ask for the same host (`PodSetup` holds tuples, so it is not
    /// Equatable).
    static func same(_ a: PodSetup, _ b: PodSetup) -> Bool {
        a.volumes.map(\.name) == b.volumes.map(\.name) && a.volumes.map(\.spec) == b.volumes.map(\.spec)
            && a.expectedVolumes == b.expectedVolumes && a.memoryLimit == b.memoryLimit && a.shmSize == b.shmSize
            && a.overlayScratch == b.overlayScratch && a.hostname == b.hostname && a.hostNetwork == b.hostNetwork
            && a.hostAliases.map(\.ip) == b.hostAliases.map(\.ip) && a.hostAliases.map(\.hostnames) == b.hostAliases.map(\.hostnames)
            && a.subPathDirectories == b.subPathDirectories
    }

    /// The plan as the executor sends it: at `generation`, and with the start time it
    /// records for a pod that has none yet (the recording host's clock).
    static func withGeneration(_ plan: LaunchPlan, _ generation: Int) -> LaunchPlan {
        var plan = plan
        plan.generation = generation
        if plan.startTime == nil { plan.startTime = RecordingHost.clock }
        return plan
    }

    /// The record the executor writes for `d`: with its start time.
    static func recorded(_ d: DesiredPod, generation: Int) -> PodRecord {
        var d = d
        d.plan = withGeneration(d.plan, generation)
        return d.record(generation: generation)
    }

    /// Checks that the calls of a create of `d` carry its build unchanged (generation 1).
    static func expectCreateCalls(_ calls: [RecordingHost.Call], of d: DesiredPod, sourceLocation: SourceLocation = #_sourceLocation) {
        let layout = roots.layout(d.key, uid: d.uid)
        guard calls.count == 3, case .writeRecord(let record, let l0) = calls[0], case .setUp(let setup, let l1) = calls[1],
              case .launch(let plan, let limits, let l2) = calls[2] else {
            Issue.record("not a create: \(calls.map(\.text))", sourceLocation: sourceLocation)
            return
        }
        #expect(record == recorded(d, generation: 1), sourceLocation: sourceLocation)
        #expect(same(setup, d.setup), "the desired pod's setup, unchanged", sourceLocation: sourceLocation)
        #expect(plan == withGeneration(d.plan, 1), "the desired pod's plan at generation 1", sourceLocation: sourceLocation)
        #expect(limits == d.limits, sourceLocation: sourceLocation)
        #expect(l0 == layout && l1 == layout && l2 == layout, sourceLocation: sourceLocation)
    }

    // MARK: create

    @Test func createWritesTheRecordSetsUpAndLaunchesAndNothingElse() {
        let host = RecordingHost()
        let d = Self.desired()
        let outcomes = Self.run([Action(.create(d), reason: "not on this host")], host: host)
        #expect(host.texts == ["writeRecord default/web uid u1 g1", "setUp default/web", "launch default/web g1"])
        Self.expectCreateCalls(host.calls, of: d)
        #expect(outcomes.count == 1)
        #expect(outcomes.allSatisfy { $0.ok && !$0.deferred && !$0.stopping })
    }

    /// A container that could not start fails `apply` with its message; the supervisor runs
    /// and keeps the pod, so nothing is undone.
    @Test func aStartErrorFailsTheCreateWithoutUndoingIt() {
        let host = RecordingHost()
        host.launchStatus.containers = [
            ContainerStatus(name: "app", kind: .main, specHash: "h-app", state: .waiting, reason: "StartError", message: "exec /bin/nope: ENOENT"),
            ContainerStatus(name: "side", kind: .main, specHash: "h-side", state: .running),
        ]
        let outcomes = Self.run([Action(.create(Self.desired()), reason: "not on this host")], host: host)
        #expect(outcomes.map(\.error) == ["container app: exec /bin/nope: ENOENT"])
        #expect(host.texts == ["writeRecord default/web uid u1 g1", "setUp default/web", "launch default/web g1"], "no undoCreate")
    }

    /// The supervisor tries a failed start again at once, so its first status may already
    /// show the container backing off: a StartError all the same.
    @Test func aStartErrorInBackoffFailsTheCreateToo() {
        let host = RecordingHost()
        var app = ContainerStatus(name: "app", kind: .main, specHash: "h-app", state: .waiting, reason: "CrashLoopBackOff",
                                  message: "exec /bin/nope: ENOENT")
        app.lastTermination = Termination(exitCode: 128, reason: "StartError", startedAt: nil, finishedAt: WallTime(1))
        var done = ContainerStatus(name: "side", kind: .main, specHash: "h-side", state: .terminated, reason: "Error")
        done.termination = Termination(exitCode: 1, reason: "Error", startedAt: WallTime(1), finishedAt: WallTime(2))
        host.launchStatus.containers = [app, done]
        let outcomes = Self.run([Action(.create(Self.desired()), reason: "not on this host")], host: host)
        #expect(outcomes.map(\.error) == ["container app: exec /bin/nope: ENOENT"], "a crash that is no StartError is not one")
    }

    /// The set-up fails: the outcome says the host's words, the create is undone, the rest of
    /// that pod's actions are not attempted, and another pod's still run.
    @Test func aFailureMidPodStopsThatPodOnlyAndUndoesTheCreate() {
        let host = RecordingHost()
        host.failures["setUp"] = "volume conf: EROFS"
        let web = Self.desired(), db = Self.desired(Self.db, uid: "u2")
        var observed = Observed()
        observed.pods[Self.web] = Self.observed(web)
        let resize = Action(.resize(Self.web, container: "app", limits: CgroupLimits(memory: .value(96 << 20)), changes: []), reason: "r")
        let outcomes = Self.run([Action(.create(web), reason: "new"), resize, Action(.create(db), reason: "new")],
                                observed: observed, host: host)
        #expect(outcomes.map(\.error) == ["volume conf: EROFS", "not attempted: an earlier action on this pod failed", "volume conf: EROFS"])
        #expect(host.texts == ["writeRecord default/web uid u1 g1", "setUp default/web", "undoCreate default/web",
                               "writeRecord default/db uid u2 g1", "setUp default/db", "undoCreate default/db"],
                "no resize of web; db still attempted")

        // The same with only web's set-up failing: db is created in full.
        let host2 = RecordingHost()
        let failing = FailingFor(host: host2, pod: "web", call: "setUp")
        let outcomes2 = Executor(host: failing, roots: Self.roots).run(
            Plan(actions: [Action(.create(web), reason: "new"), resize, Action(.create(db), reason: "new")]), observed: observed)
        #expect(outcomes2.map(\.ok) == [false, false, true])
        #expect(outcomes2[1].error == "not attempted: an earlier action on this pod failed")
        #expect(host2.texts == ["writeRecord default/web uid u1 g1", "setUp default/web", "undoCreate default/web",
                                "writeRecord default/db uid u2 g1", "setUp default/db", "launch default/db g1"])
    }

    /// A failed record write (the first step) leaves nothing to undo, and says so by not
    /// undoing: the record is the create's first trace on the host.
    @Test func aFailedRecordWriteIsNotUndone() {
        let host = RecordingHost()
        host.failures["writeRecord"] = "ENOSPC"
        let outcomes = Self.run([Action(.create(Self.desired()), reason: "new")], host: host)
        #expect(outcomes.map(\.error) == ["ENOSPC"])
        #expect(host.texts == ["writeRecord default/web uid u1 g1"])
    }

    // MARK: change

    @Test func updatePlanWritesTheRecordSetsUpAndHandsOverThePlan() {
        let host = RecordingHost()
        var d = Self.desired()
        d.plan.containers[0].specHash = "h2"
        var observed = Observed()
        observed.pods[d.key] = Self.observed(Self.desired())
        let outcomes = Self.run([Action(.updatePlan(d, generation: 4, restart: ["app"], add: [], remove: []), reason: "changed: app")],
                                observed: observed, host: host)
        #expect(outcomes.map(\.ok) == [true])
        #expect(host.texts == ["writeRecord default/web uid u1 g4", "setUp default/web", "update default/web g4"])
        guard case .writeRecord(let record, _) = host.calls[0], case .setUp(let setup, _) = host.calls[1],
              case .update(let plan, let limits, let layout) = host.calls[2] else { return }
        #expect(record == Self.recorded(d, generation: 4))
        #expect(Self.same(setup, d.setup))
        #expect(plan == Self.withGeneration(d.plan, 4))
        #expect(limits == d.limits)
        #expect(layout == Self.roots.layout(d.key, uid: d.uid))
    }

    @Test func anUpdateWhoseContainerCannotStartFails() {
        let host = RecordingHost()
        host.updateStatus.containers = [ContainerStatus(name: "app", kind: .main, specHash: "h2", reason: "StartError", message: "exec: ENOENT")]
        let d = Self.desired()
        var observed = Observed()
        observed.pods[d.key] = Self.observed(d)
        let outcomes = Self.run([Action(.updatePlan(d, generation: 4, restart: ["app"], add: [], remove: []), reason: "r")],
                                observed: observed, host: host)
        #expect(outcomes.map(\.error) == ["container app: exec: ENOENT"])
        #expect(host.texts.last == "update default/web g4")
    }

    @Test func resizeWritesTheContainersOrThePodsCgroup() {
        let host = RecordingHost()
        let d = Self.desired()
        var observed = Observed()
        observed.pods[d.key] = Self.observed(d)
        let layout = Self.roots.layout(d.key, uid: d.uid)
        let app = CgroupLimits(memory: .value(96 << 20)), pod = CgroupLimits(cpuShares: 300)
        let outcomes = Self.run([Action(.resize(d.key, container: "app", limits: app, changes: []), reason: "r"),
                                 Action(.resize(d.key, container: nil, limits: pod, changes: []), reason: "r")],
                                observed: observed, host: host)
        #expect(outcomes.map(\.ok) == [true, true])
        #expect(outcomes.map(\.deferred) == [false, false])
        #expect(host.texts == ["resize \(layout.containerCgroup("app"))", "resize \(layout.podCgroup)"])
        guard case .resize(let l0, _) = host.calls[0], case .resize(let l1, _) = host.calls[1] else { return }
        #expect(l0 == app && l1 == pod)

        host.resizeDeferred = true
        let deferred = Self.run([Action(.resize(d.key, container: "app", limits: app, changes: []), reason: "r")], observed: observed, host: host)
        #expect(deferred.map(\.ok) == [true])
        #expect(deferred.map(\.deferred) == [true])
    }

    @Test func aResizeOfAPodWithoutARecordFails() {
        let host = RecordingHost()
        let outcomes = Self.run([Action(.resize(Self.web, container: nil, limits: CgroupLimits(cpuShares: 2), changes: []), reason: "r")], host: host)
        #expect(outcomes.map(\.error) == ["default/web: no record"])
        #expect(host.texts.isEmpty)
    }

    @Test func refreshFilesSetsUpThenWritesTheRecordAtItsGeneration() {
        let host = RecordingHost()
        let d = Self.desired(contents: "c2")
        var observed = Observed()
        observed.pods[d.key] = Self.observed(Self.desired(), generation: 5)
        let outcomes = Self.run([Action(.refreshFiles(d), reason: "contents changed")], observed: observed, host: host)
        #expect(outcomes.map(\.ok) == [true])
        #expect(host.texts == ["setUp default/web", "writeRecord default/web uid u1 g5"])
        guard case .setUp(let setup, _) = host.calls[0], case .writeRecord(let record, _) = host.calls[1] else { return }
        #expect(Self.same(setup, d.setup))
        #expect(record.contents == "c2")
    }

    @Test func resignalSignalsForTheRecordedGeneration() {
        let host = RecordingHost()
        let d = Self.desired()
        var observed = Observed()
        observed.pods[d.key] = Self.observed(d)
        let outcomes = Self.run([Action(.resignal(d.key, generation: 3), reason: "r")], observed: observed, host: host)
        #expect(outcomes.map(\.ok) == [true])
        #expect(host.texts == ["resignal default/web g3"])
    }

    @Test func recordSourceRewritesTheRecordOnly() {
        let host = RecordingHost()
        let d = Self.desired()
        var observed = Observed()
        observed.pods[d.key] = Self.observed(d)
        _ = Self.run([Action(.recordSource(d.key, source: "watch:/w/b.yaml"), reason: "r")], observed: observed, host: host)
        #expect(host.texts == ["writeRecord default/web uid u1 g3"])
        guard case .writeRecord(let record, _) = host.calls.first else { return }
        #expect(record.source == "watch:/w/b.yaml")
    }

    // MARK: delete

    @Test func deleteStopsWithThePodsGracePeriodOrTheOneGiven() {
        let d = Self.desired(grace: 7)
        var observed = Observed()
        observed.pods[d.key] = Self.observed(d)
        let host = RecordingHost()
        #expect(Self.run([Action(.delete(d.key), reason: "prune")], observed: observed, host: host).map(\.ok) == [true])
        #expect(host.texts == ["delete default/web uid u1 grace 7000"])

        let given = RecordingHost()
        _ = Self.run([Action(.delete(d.key), reason: "prune")], observed: observed, host: given, grace: 250)
        #expect(given.texts == ["delete default/web uid u1 grace 250"])

        // No plan on the host: 30 s.
        observed.pods[d.key]!.plan = nil
        let unknown = RecordingHost()
        _ = Self.run([Action(.delete(d.key), reason: "prune")], observed: observed, host: unknown)
        #expect(unknown.texts == ["delete default/web uid u1 grace 30000"])
    }

    @Test func deleteWithoutWaitingRecordsDeletingAndSignals() {
        let d = Self.desired()
        var observed = Observed()
        observed.pods[d.key] = Self.observed(d)
        let host = RecordingHost()
        let outcomes = Self.run([Action(.delete(d.key), reason: "prune")], observed: observed, host: host, stopWithoutWaiting: true)
        #expect(outcomes.map(\.stopping) == [true])
        #expect(outcomes.map(\.ok) == [true])
        #expect(host.texts == ["writeRecord default/web uid u1 g3 deleting", "requestStop default/web"], "no delete")

        // Already recorded as deleting: only the signal.
        observed.pods[d.key] = Self.observed(d, deleting: true)
        let again = RecordingHost()
        _ = Self.run([Action(.delete(d.key), reason: "prune")], observed: observed, host: again, stopWithoutWaiting: true)
        #expect(again.texts == ["requestStop default/web"])

        // A dead supervisor: nothing to wait for, deleted at once.
        observed.pods[d.key] = Self.observed(d, supervisor: .dead)
        let dead = RecordingHost()
        let done = Self.run([Action(.delete(d.key), reason: "prune")], observed: observed, host: dead, stopWithoutWaiting: true)
        #expect(done.map(\.stopping) == [false])
        #expect(dead.texts == ["delete default/web uid u1 grace 7000"])
    }

    @Test func recreateWithoutWaitingStopsFirstAndCreatesNothing() {
        let d = Self.desired()
        var observed = Observed()
        observed.pods[d.key] = Self.observed(d)
        let host = RecordingHost()
        let outcomes = Self.run([Action(.recreate(d), reason: "volumes changed")], observed: observed, host: host, stopWithoutWaiting: true)
        #expect(outcomes.map(\.stopping) == [true])
        #expect(host.texts == ["writeRecord default/web uid u1 g3 deleting", "requestStop default/web"])
    }

    @Test func recreateDeletesThenCreates() {
        let d = Self.desired()
        var observed = Observed()
        observed.pods[d.key] = Self.observed(d, supervisor: .dead)
        let host = RecordingHost()
        let outcomes = Self.run([Action(.recreate(d), reason: "its supervisor is dead")], observed: observed, host: host)
        #expect(outcomes.map(\.ok) == [true])
        #expect(host.texts == ["delete default/web uid u1 grace 7000", "writeRecord default/web uid u1 g1", "setUp default/web", "launch default/web g1"])
        Self.expectCreateCalls(Array(host.calls.dropFirst()), of: d)
    }

    @Test func deleteOfAPodWithNeitherRecordNorPlanRemovesItsCgroupAndState() {
        let cgroup = "podrec-test/default_web_u9"
        var observed = Observed()
        observed.pods[Self.web] = ObservedPod(key: Self.web, cgroup: cgroup, cgroupExists: true)
        let host = RecordingHost()
        let outcomes = Self.run([Action(.delete(Self.web), reason: "half-created")], observed: observed, host: host)
        #expect(outcomes.map(\.ok) == [true])
        #expect(host.texts == ["removeCgroup \(cgroup)", "removeState /fake/run/pods/default_web"])

        // No cgroup either: the state dir alone.
        observed.pods[Self.web] = ObservedPod(key: Self.web)
        let bare = RecordingHost()
        _ = Self.run([Action(.delete(Self.web), reason: "half-created")], observed: observed, host: bare)
        #expect(bare.texts == ["removeState /fake/run/pods/default_web"])
    }

    @Test func awaitTerminationSignalsAgain() {
        let d = Self.desired()
        var observed = Observed()
        observed.pods[d.key] = Self.observed(d, deleting: true)
        let host = RecordingHost()
        _ = Self.run([Action(.awaitTermination(d.key), reason: "stopping")], observed: observed, host: host)
        #expect(host.texts == ["requestStop default/web"])
    }

    // MARK: leftovers, and what touches nothing

    @Test func straysAreRemovedWhereTheObserverFoundThem() {
        let host = RecordingHost()
        let outcomes = Self.run([Action(.removeStrayCgroup("default_old_u0"), reason: "r"),
                                 Action(.removeStrayData(uid: "u0"), reason: "r"),
                                 Action(.removeStrayLogs(directory: "/fake/log/pods/default_old_u0"), reason: "r"),
                                 Action(.removeStrayLogs(directory: "default_old_u1"), reason: "r")], host: host)
        #expect(outcomes.map(\.ok) == [true, true, true, true])
        #expect(host.texts == ["removeCgroup podrec-test/default_old_u0", "removeData /fake/data/pods/u0",
                               "removeLogs /fake/log/pods/default_old_u0", "removeLogs /fake/log/pods/default_old_u1"])
    }

    @Test func skipAndADeferredResizeTouchNothing() {
        let host = RecordingHost()
        let d = Self.desired()
        var observed = Observed()
        observed.pods[d.key] = Self.observed(d)
        let outcomes = Self.run([Action(.skip(d.key), reason: "owned by watch:/w/a.yaml"),
                                 Action(.deferredResize(d.key, container: "app", wanted: 1 << 20, usage: 8 << 20), reason: "below use")],
                                observed: observed, host: host)
        #expect(host.calls.isEmpty)
        #expect(outcomes.map(\.ok) == [true, true])
        #expect(outcomes.map(\.deferred) == [false, true])
    }

    // MARK: diff equals apply

    /// The planner's plan for a new pod, run: the host gets the DesiredPod's own plan, limits
    /// and set-up, unchanged but for the generation the planner gave.
    @Test func theHostGetsTheDesiredPodsBuildAsPlanned() {
        let d = Self.desired(), db = Self.desired(Self.db, uid: "u2", grace: 1)
        let plan = Planner.plan(desired: [d, db], observed: Observed(), options: PlanOptions())
        #expect(plan.actions.count == 2)
        let host = RecordingHost()
        let outcomes = Executor(host: host, roots: Self.roots).run(plan, observed: Observed())
        #expect(outcomes.map(\.ok) == [true, true])
        #expect(outcomes.map { $0.action.key } == [Self.db, Self.web], "in the plan's order")
        Self.expectCreateCalls(Array(host.calls.prefix(3)), of: db)
        Self.expectCreateCalls(Array(host.calls.dropFirst(3)), of: d)

        // A changed container of the running pod: the planner's updatePlan carries the new
        // build, and the host gets exactly it.
        var changed = d
        changed.plan.containers[1].arguments = ["sleep", "2"]
        changed.plan.containers[1].specHash = "h-side-2"
        var observed = Observed()
        observed.pods[d.key] = Self.observed(d)
        observed.pods[d.key]!.limits = ["": CgroupReading(cpuShares: 204, cpuMax: .unlimited, memory: .value(128 << 20), pids: .max),
                                        "app": CgroupReading(cpuShares: 102, cpuMax: .unlimited, memory: .value(64 << 20), pids: .max),
                                        "side": CgroupReading(cpuShares: 102, cpuMax: .unlimited, memory: .value(64 << 20), pids: .max)]
        let update = Planner.plan(desired: [changed], observed: observed, options: PlanOptions())
        let host2 = RecordingHost()
        let outcomes2 = Executor(host: host2, roots: Self.roots).run(update, observed: observed)
        #expect(outcomes2.map(\.ok) == [true])
        #expect(host2.texts == ["writeRecord default/web uid u1 g4", "setUp default/web", "update default/web g4"])
        guard host2.calls.count == 3, case .update(let sent, let limits, _) = host2.calls[2], case .setUp(let setup, _) = host2.calls[1] else { return }
        #expect(sent == Self.withGeneration(changed.plan, 4))
        #expect(limits == changed.limits)
        #expect(Self.same(setup, changed.setup))
    }
}

/// Fails one call of one pod, passing the rest to `host`.
struct FailingFor: ExecutorHost, @unchecked Sendable {
    let host: RecordingHost
    let pod: String
    let call: String

    func check(_ name: String, _ layout: PodLayout) throws {
        if name == call && layout.name == pod { throw RecordingHost.Failure(description: "\(name) of \(pod) failed") }
    }

    func writeRecord(_ record: PodRecord, layout: PodLayout) throws {
        try host.writeRecord(record, layout: layout)
        try check("writeRecord", layout)
    }
    func setUp(_ setup: PodSetup, layout: PodLayout) throws {
        try host.setUp(setup, layout: layout)
        try check("setUp", layout)
    }
    func launch(_ plan: LaunchPlan, limits: PodCgroupLimits, network: NetworkAttachment?, setup: PodSetup, layout: PodLayout) throws -> PodStatus {
        let status = try host.launch(plan, limits: limits, network: network, setup: setup, layout: layout)
        try check("launch", layout)
        return status
    }
    func repairNetwork(_ network: NetworkAttachment, setup: PodSetup, layout: PodLayout) throws {
        try host.repairNetwork(network, setup: setup, layout: layout)
        try check("repairNetwork", layout)
    }
    func removeAttachment(containerID: String) throws { try host.removeAttachment(containerID: containerID) }
    func undoCreate(layout: PodLayout) { host.undoCreate(layout: layout) }
    func update(_ plan: LaunchPlan, limits: PodCgroupLimits, layout: PodLayout) throws -> PodStatus {
        try host.update(plan, limits: limits, layout: layout)
    }
    func resignal(generation: Int, layout: PodLayout) throws -> PodStatus { try host.resignal(generation: generation, layout: layout) }
    func resize(_ limits: CgroupLimits, cgroup: String) throws -> Bool { try host.resize(limits, cgroup: cgroup) }
    func requestStop(layout: PodLayout) throws -> Bool { try host.requestStop(layout: layout) }
    func delete(layout: PodLayout, graceMilliseconds: Int64) throws { try host.delete(layout: layout, graceMilliseconds: graceMilliseconds) }
    func removeCgroup(_ path: String) throws { try host.removeCgroup(path) }
    func removeState(_ state: PodStateDirectory) throws { try host.removeState(state) }
    func removeData(layout: PodLayout) throws { try host.removeData(layout: layout) }
    func removeLogs(_ path: String) throws { try host.removeLogs(path) }
}

/// The network's actions: the attachment goes with the launch, a repair and a stray
/// attachment reach the host as such, and a refused pod fails the pass and touches nothing.
@Suite struct ExecutorNetworkTests {
    static let network = NetworkConfig(name: "podrec", file: "/fake/net.d/10-podrec.conflist", bytes: Array("{}".utf8), isDefault: true)

    static func desired() -> DesiredPod {
        var d = ExecutorTests.desired()
        d.network = NetworkAttachment(network: network, key: d.key, uid: d.uid, portMappings: [PortMapping(hostPort: 8080, containerPort: 80)])
        return d
    }

    @Test func aCreateHandsTheAttachmentToTheLaunch() {
        let host = RecordingHost()
        let d = Self.desired()
        let outcomes = ExecutorTests.run([Action(.create(d), reason: "not on this host")], host: host)
        #expect(outcomes.allSatisfy { $0.ok })
        #expect(host.launchedNetworks["web"] == d.network)
        #expect(d.record(generation: 1).hostPorts == [PortMapping(hostPort: 8080, containerPort: 80)], "the record names the ports it holds")
    }

    @Test func aRepairAndAStrayAttachmentReachTheHost() {
        let host = RecordingHost()
        var d = Self.desired()
        d.setup.podIPs = ["10.89.0.7"]
        let outcomes = ExecutorTests.run([Action(.repairNetwork(d), reason: "broken"), Action(.removeStrayAttachment(containerID: "podrec-gone"), reason: "stray")],
                                         host: host)
        #expect(outcomes.allSatisfy { $0.ok })
        #expect(host.texts == ["repairNetwork default/web podrec-u1 ips [\"10.89.0.7\"]", "removeAttachment podrec-gone"])
    }

    @Test func aRefusedPodFailsAndTouchesNothing() {
        let host = RecordingHost()
        let outcomes = ExecutorTests.run([Action(.refuse(ExecutorTests.web), reason: "host port 8080/tcp is held by pod default/db (8080->80/tcp)")],
                                         host: host)
        #expect(host.calls.isEmpty)
        #expect(outcomes.first?.error == "not applied; the pod is left as it is")
    }
}
