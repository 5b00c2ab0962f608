import Cgroups
import Glibc
import Kernel
import Planner
import PodModel
import Procfs
import Reconciler
import ContainerRuntime
import HostSetup
import Testing
import KernelTestSupport

/// The Observer against a fake host in a temp dir: state, data and log roots, a fake
/// `/proc` (`<pid>/stat`) and a fake cgroupfs, v1 (this machine's hierarchies) or v2, that
/// the real drivers read as they read the kernel's. Nothing of the host is read.
@Suite struct ObserverFixtureTests {
    static let mib: Int64 = 1 << 20

    // MARK: A healthy pod

    @Test(arguments: [false, true])
    func aHealthyPodIsSeenWholeFromStateCgroupsAndProc(unified: Bool) throws {
        let host = try FakeHost(unified: unified)
        defer { host.remove() }
        let key = PodKey(namespace: "default", name: "web")
        let plan = host.plan(key, uid: "u1", containers: ["app", "log"])
        try host.state(key, record: PodRecord(uid: "u1", source: "apply", immutable: ["hostNetwork": "false"], generation: 3),
                       plan: plan, status: PodStatus(observedGeneration: 3, phase: .running, supervisorPID: 100),
                       supervisor: "100 5000\n")
        try host.process(100, startTime: 5000)
        let pod = host.podCgroup(key, uid: "u1")
        try host.cgroup(pod, FakeLimits(cpuShares: 2048, quota: 150_000, memory: 256 * Self.mib, pids: 300, memoryUsage: 90 * Self.mib))
        try host.cgroup(pod + "/_infra", procs: [100])
        try host.cgroup(pod + "/app", FakeLimits(cpuShares: 512, quota: 50_000, memory: 128 * Self.mib, memoryUsage: 64 * Self.mib), procs: [101, 102])
        try host.cgroup(pod + "/log", FakeLimits(memoryUsage: 3 * Self.mib), procs: [103])
        try host.dir("data/pods/u1/volumes/cache")
        try host.dir("log/pods/default_web_u1/app")

        let observation = try host.observer(processes: .always).observation()
        let observed = observation.observed
        #expect(observation.problems == [])
        #expect(observed.unified == unified)
        #expect(observed.strayCgroups == [])
        #expect(observed.strayDataUIDs == [])
        #expect(observed.strayLogDirectories == [])
        #expect(Array(observed.pods.keys) == [key])
        let o = try #require(observed.pods[key])
        #expect(o.record == PodRecord(uid: "u1", source: "apply", immutable: ["hostNetwork": "false"], generation: 3))
        #expect(o.plan == plan)
        #expect(o.status?.observedGeneration == 3)
        #expect(o.status?.supervisorPID == 100)
        #expect(o.supervisor == .alive(pid: 100))
        #expect(o.cgroup == "podrec/default_web_u1")
        #expect(o.cgroupExists)
        #expect(o.processes == [100, 101, 102, 103])
        #expect(o.limits == [
            "": host.reading(cpuShares: 2048, quota: 150_000, memory: .value(256 * Self.mib), pids: .value(300)),
            "app": host.reading(cpuShares: 512, quota: 50_000, memory: .value(128 * Self.mib), pids: .max),
            "log": host.reading(cpuShares: nil, quota: nil, memory: .max, pids: .max),
        ])
        #expect(o.memoryUsage == ["": 90 * Self.mib, "app": 64 * Self.mib, "log": 3 * Self.mib])

        // `get`'s observation: the same state and supervisor, nothing of cgroupfs, no strays.
        try host.cgroup("podrec/default_gone_u9")
        var light = try host.observer(processes: .always)
        light.readsCgroups = false
        let seen = try #require(try light.observe().pods[key])
        #expect(seen.record == o.record && seen.plan == o.plan && seen.status == o.status && seen.supervisor == o.supervisor)
        #expect(seen.cgroup == "podrec/default_web_u1")
        #expect(!seen.cgroupExists && seen.limits.isEmpty && seen.memoryUsage.isEmpty && seen.processes.isEmpty)
        #expect(try light.observe().strayCgroups.isEmpty)
        #expect(try host.observer().observe().strayCgroups == ["default_gone_u9"])
    }

    /// A container of the plan whose cgroup is not made yet (an update that did not
    /// finish) has no limits and no usage: the planner sees it missing.
    @Test func aContainerCgroupNotMadeYetHasNoLimits() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        let key = PodKey(namespace: "default", name: "web")
        try host.state(key, record: PodRecord(uid: "u1", source: "apply", immutable: [:], generation: 1),
                       plan: host.plan(key, uid: "u1", containers: ["app", "new"]), supervisor: "100 5000")
        try host.process(100, startTime: 5000)
        let pod = host.podCgroup(key, uid: "u1")
        try host.cgroup(pod)
        try host.cgroup(pod + "/app")
        let o = try #require(try host.observer().observe().pods[key])
        #expect(Set(o.limits.keys) == ["", "app"])
        #expect(Set(o.memoryUsage.keys) == ["", "app"])
    }

    /// By default a live supervisor's pod is not walked for processes (the reconciler never
    /// acts on them); a dead supervisor's and a record-less pod's are.
    @Test func processesAreListedWhereTheReconcilerMayActOnThem() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        let record = PodRecord(uid: "u1", source: "apply", immutable: [:], generation: 1)
        let live = PodKey(namespace: "default", name: "live"), dead = PodKey(namespace: "default", name: "dead")
        let bare = PodKey(namespace: "default", name: "bare")
        try host.state(live, record: record, supervisor: "100 5000")
        try host.state(dead, record: record, supervisor: "200 5000")
        try host.state(bare, plan: host.plan(bare, uid: "u1", containers: []), supervisor: "100 5000")
        try host.process(100, startTime: 5000)
        for (key, pid) in [(live, Int32(101)), (dead, 201), (bare, 301)] {
            try host.cgroup(host.podCgroup(key, uid: "u1") + "/app", procs: [pid])
        }
        let observed = try host.observer().observe()
        #expect(observed.pods[live]?.supervisor == .alive(pid: 100))
        #expect(observed.pods[live]?.processes == [])
        #expect(observed.pods[dead]?.processes == [201])
        #expect(observed.pods[bare]?.processes == [301])
        #expect(try host.observer(processes: .always).observe().pods[live]?.processes == [101])
    }

    // MARK: The supervisor

    @Test func aSupervisorWhosePidHasAnotherStartTimeIsDead() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        let key = PodKey(namespace: "default", name: "web")
        try host.state(key, record: PodRecord(uid: "u1", source: "apply", immutable: [:], generation: 1), supervisor: "100 5000\n")
        try host.process(100, startTime: 7777)  // the pid was reused
        #expect(try host.observer().observe().pods[key]?.supervisor == .dead)
    }

    @Test func aSupervisorWhosePidIsGoneIsDead() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        let key = PodKey(namespace: "default", name: "web")
        try host.state(key, record: PodRecord(uid: "u1", source: "apply", immutable: [:], generation: 1), supervisor: "100 5000\n")
        #expect(try host.observer().observe().pods[key]?.supervisor == .dead)
    }

    @Test(arguments: ["Z", "X"])
    func aZombieOrDeadSupervisorIsDead(state: String) throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        let key = PodKey(namespace: "default", name: "web")
        try host.state(key, record: PodRecord(uid: "u1", source: "apply", immutable: [:], generation: 1), supervisor: "100 5000\n")
        try host.process(100, startTime: 5000, state: state)
        #expect(try host.observer().observe().pods[key]?.supervisor == .dead)
    }

    @Test func noSupervisorFileIsNone() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        let key = PodKey(namespace: "default", name: "web")
        try host.state(key, record: PodRecord(uid: "u1", source: "apply", immutable: [:], generation: 1))
        #expect(try host.observer().observe().pods[key]?.supervisor == SupervisorState.none)
    }

    /// A damaged identity proves nothing lives: `.dead`, and the problem says why.
    @Test func aSupervisorFileThatIsNoIdentityIsDeadWithAProblem() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        let key = PodKey(namespace: "default", name: "web")
        try host.state(key, record: PodRecord(uid: "u1", source: "apply", immutable: [:], generation: 1), supervisor: "100\n")
        try host.process(100, startTime: 5000)
        let observation = try host.observer().observation()
        #expect(observation.observed.pods[key]?.supervisor == .dead)
        #expect(observation.problems.map(\.path) == [host.path("run/pods/default_web/supervisor")])
    }

    /// "Could not read" is never "not running": a `/proc/PID/stat` that cannot be read (here
    /// a directory: EISDIR) fails the pass instead of making the supervisor `.dead`.
    @Test func aProcReadFailureThrowsInsteadOfDead() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        let key = PodKey(namespace: "default", name: "web")
        try host.state(key, record: PodRecord(uid: "u1", source: "apply", immutable: [:], generation: 1), supervisor: "100 5000\n")
        try host.dir("proc/100/stat")
        #expect {
            try host.observer().observe()
        } throws: { error in
            guard let e = error as? ObserveError, case .procfs = e.cause else { return false }
            return e.pod == key
        }
    }

    /// Likewise for a state file: EISDIR is no "missing".
    @Test func aStateFileReadFailureThrows() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        let key = PodKey(namespace: "default", name: "web")
        try host.state(key, record: PodRecord(uid: "u1", source: "apply", immutable: [:], generation: 1))
        try host.dir("run/pods/default_web/status")
        #expect {
            try host.observer().observe()
        } throws: { error in
            guard let e = error as? ObserveError, case .kernel(let k) = e.cause else { return false }
            return e.pod == key && k.path == host.path("run/pods/default_web/status")
        }
    }

    // MARK: Half-made pods and strays

    @Test func aStateDirWithoutItsCgroup() throws {
        let host = try FakeHost(unified: true)
        defer { host.remove() }
        let key = PodKey(namespace: "default", name: "web")
        try host.state(key, record: PodRecord(uid: "u1", source: "apply", immutable: [:], generation: 1),
                       plan: host.plan(key, uid: "u1", containers: ["app"]), supervisor: "100 5000")
        let observed = try host.observer().observe()
        let o = try #require(observed.pods[key])
        #expect(o.cgroup == "podrec/default_web_u1")
        #expect(!o.cgroupExists)
        #expect(o.limits.isEmpty)
        #expect(o.memoryUsage.isEmpty)
        #expect(o.processes.isEmpty)
        #expect(o.supervisor == .dead)
        #expect(observed.strayCgroups == [])
    }

    /// A cgroup that no state names (a create that crashed before its state dir, or a
    /// recreate's old uid) is stray; so are data and log dirs of uids without state.
    @Test(arguments: [false, true])
    func cgroupsDataAndLogsWithoutStateAreStray(unified: Bool) throws {
        let host = try FakeHost(unified: unified)
        defer { host.remove() }
        let key = PodKey(namespace: "default", name: "web")
        try host.state(key, record: PodRecord(uid: "u2", source: "apply", immutable: [:], generation: 1))
        try host.cgroup(host.podCgroup(key, uid: "u2"))
        try host.cgroup(host.podCgroup(key, uid: "u1") + "/app", procs: [555])  // the old uid's
        try host.cgroup(host.podCgroup(PodKey(namespace: "kube-system", name: "gone"), uid: "u9"))
        try host.dir("data/pods/u1/volumes/x")
        try host.dir("data/pods/u2/volumes/x")
        try host.dir("data/pods/u9")
        try host.dir("log/pods/default_web_u1/app")
        try host.dir("log/pods/default_web_u2/app")
        try host.dir("log/pods/kube-system_gone_u9")
        try host.dir("log/pods/other_web_u2")  // a uid with state, but not this key's

        let observed = try host.observer().observe()
        #expect(observed.strayCgroups == ["default_web_u1", "kube-system_gone_u9"])
        #expect(observed.strayDataUIDs == ["u1", "u9"])
        #expect(observed.strayLogDirectories == [
            host.path("log/pods/default_web_u1"), host.path("log/pods/kube-system_gone_u9"), host.path("log/pods/other_web_u2"),
        ])
        #expect(observed.pods[key]?.cgroupExists == true)
        #expect(observed.pods.count == 1)
    }

    /// On v1, a cgroup that a crashed pass made in some hierarchies only is still found.
    @Test func aV1CgroupInOneHierarchyOnlyIsFound() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        try host.dir("cgroup/pids/podrec/default_half_u5")
        #expect(try host.observer().observe().strayCgroups == ["default_half_u5"])
    }

    @Test func nothingOnTheHostIsAnEmptyObservation() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        let observation = try host.observer().observation()
        #expect(observation.observed.pods.isEmpty)
        #expect(observation.observed.strayCgroups.isEmpty)
        #expect(observation.observed.strayDataUIDs.isEmpty)
        #expect(observation.observed.strayLogDirectories.isEmpty)
        #expect(observation.problems.isEmpty)
    }

    // MARK: Files that do not decode

    /// A record that does not decode leaves `record` nil, with a problem; the plan's uid
    /// still claims the pod's cgroup, data and logs, so a live pod's are never taken for
    /// leftovers.
    @Test func aCorruptRecordIsNilAndThePlanStillClaimsTheUid() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        let key = PodKey(namespace: "default", name: "web")
        let plan = host.plan(key, uid: "u1", containers: ["app"])
        try host.state(key, plan: plan, supervisor: "100 5000")
        try host.write("run/pods/default_web/record", "podrec-pod-record 1\nuid u1\ngeneration many\n")
        try host.process(100, startTime: 5000)
        try host.cgroup(host.podCgroup(key, uid: "u1"))
        try host.cgroup(host.podCgroup(key, uid: "u1") + "/app", procs: [101])
        try host.dir("data/pods/u1")
        try host.dir("log/pods/default_web_u1")

        let observation = try host.observer().observation()
        let o = try #require(observation.observed.pods[key])
        #expect(o.record == nil)
        #expect(o.plan == plan)
        #expect(o.supervisor == .alive(pid: 100))
        #expect(o.cgroupExists)
        #expect(o.processes == [101])
        #expect(observation.observed.strayCgroups == [])
        #expect(observation.observed.strayDataUIDs == [])
        #expect(observation.observed.strayLogDirectories == [])
        #expect(observation.problems.count == 1)
        let problem = try #require(observation.problems.first)
        #expect(problem.pod == key)
        #expect(problem.path == host.path("run/pods/default_web/record"))
        #expect(problem.reason.contains("line 3"), "\(problem)")
    }

    // MARK: The light reads

    /// `glance` (top, the metrics): the pods with a plan, sorted, with their status and the
    /// cgroup the plan's uid names, and nothing of the cgroups read; `claimedUIDs` (the
    /// network's sweep): the record's and the plan's uid, as the observation claims them.
    @Test func aGlanceAndTheClaimedUIDsReadOnlyTheStateFiles() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        let web = PodKey(namespace: "default", name: "web"), db = PodKey(namespace: "prod", name: "db")
        let noPlan = PodKey(namespace: "default", name: "new"), corrupt = PodKey(namespace: "default", name: "bad")
        try host.state(web, record: PodRecord(uid: "u1", source: "apply", immutable: [:], generation: 1),
                       plan: host.plan(web, uid: "u1", containers: ["app"]), status: PodStatus(observedGeneration: 1, phase: .running, supervisorPID: 100))
        try host.state(db, plan: host.plan(db, uid: "u2", containers: ["db", "log"]))
        try host.state(noPlan, record: PodRecord(uid: "u3", source: "apply", immutable: [:], generation: 1))
        try host.state(corrupt, plan: host.plan(corrupt, uid: "u4", containers: ["app"]))
        try host.write("run/pods/default_bad/record", "podrec-pod-record 1\nuid u5\ngeneration many\n")
        try host.write("run/pods/default_web/status", "not a status")

        let pods = try host.observer().glance()
        #expect(pods.map(\.key) == [corrupt, web, db])
        #expect(pods.map(\.cgroup) == ["podrec/default_bad_u4", "podrec/default_web_u1", "podrec/prod_db_u2"])
        #expect(pods[2].plan.containers.map(\.name) == ["db", "log"])
        #expect(pods.allSatisfy { $0.status == nil })  // web's does not decode
        #expect(try host.observer().glance(scope: [db, noPlan]).map(\.key) == [db])
        #expect(try host.observer().claimedUIDs() == ["u1", "u2", "u3", "u4"])

        // A state file that cannot be read (EISDIR): no claim can be trusted, so it throws.
        try Sys.unlink(host.path("run/pods/default_new/record"))
        try host.dir("run/pods/default_new/record")
        #expect(throws: ObserveError.self) { try host.observer().claimedUIDs() }
    }

    /// No record and no plan: the one cgroup of this key is the pod's (`<ns>_<name>_…`
    /// belongs to no other key).
    @Test func aStateDirWithoutRecordOrPlanGetsItsKeysOnlyCgroup() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        let key = PodKey(namespace: "default", name: "web")
        try host.state(key)
        try host.write("run/pods/default_web/plan", "not a plan\n")
        try host.cgroup(host.podCgroup(key, uid: "u1"), procs: [77])
        try host.cgroup(host.podCgroup(PodKey(namespace: "default", name: "web2"), uid: "u3"))
        try host.dir("data/pods/u1")
        let observation = try host.observer().observation()
        let o = try #require(observation.observed.pods[key])
        #expect(o.record == nil)
        #expect(o.plan == nil)
        #expect(o.cgroup == "podrec/default_web_u1")
        #expect(o.cgroupExists)
        #expect(o.processes == [77])
        #expect(observation.observed.strayCgroups == ["default_web2_u3"])
        #expect(observation.observed.strayDataUIDs == [])
        #expect(observation.problems.map(\.path) == [host.path("run/pods/default_web/plan")])
    }

    @Test func aCorruptStatusIsNilWithAProblem() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        let key = PodKey(namespace: "default", name: "web")
        try host.state(key, record: PodRecord(uid: "u1", source: "apply", immutable: [:], generation: 1))
        try host.write("run/pods/default_web/status", "podrec-pod-status 1\nphase Sleeping\n")
        let observation = try host.observer().observation()
        #expect(observation.observed.pods[key]?.status == nil)
        #expect(observation.observed.pods[key]?.record?.uid == "u1")
        #expect(observation.problems.map(\.path) == [host.path("run/pods/default_web/status")])
    }

    /// Entries of the state root that are no pod's state dir are reported and skipped.
    @Test func entriesThatAreNoStateDirAreSkipped() throws {
        let host = try FakeHost(unified: false)
        defer { host.remove() }
        try host.dir("run/pods/nounderscore")
        try host.write("run/pods/default_afile", "x")
        let observation = try host.observer().observation()
        #expect(observation.observed.pods.isEmpty)
        #expect(Set(observation.problems.map(\.path)) == [host.path("run/pods/nounderscore"), host.path("run/pods/default_afile")])
    }

    // MARK: Long names

    /// A name too long for one cgroup path component is found by its shortened form; the
    /// same key's unshortened name would be another pod's.
    @Test(arguments: [false, true])
    func aLongNameIsMatchedByItsShortenedCgroup(unified: Bool) throws {
        let host = try FakeHost(unified: unified)
        defer { host.remove() }
        // A DNS subdomain of 220 bytes: its state dir `longns_<name>` (227 bytes) still fits
        // one path component, its cgroup `longns_<name>_<uid>` (264) does not. (Longer
        // names, up to the 253 a subdomain allows, do not fit a state dir either.)
        let name = ["a", "b", "c"].map { String(repeating: $0, count: 63) }.joined(separator: ".") + "." + String(repeating: "d", count: 28)
        let key = PodKey(namespace: "longns", name: name)
        let uid = "0d6f9c5e-4d1b-4c3e-9a43-1f2e3d4c5b6a"
        let component = CgroupNames.pod(namespace: key.namespace, name: key.name, uid: uid)
        try #require(component.utf8.count == 255 && component != "\(key.namespace)_\(name)_\(uid)")
        try host.state(key, record: PodRecord(uid: uid, source: "apply", immutable: [:], generation: 1),
                       plan: host.plan(key, uid: uid, containers: ["app"]), supervisor: "100 5000")
        try host.process(100, startTime: 5000)
        try host.cgroup("podrec/" + component, FakeLimits(memory: 64 * Self.mib))
        try host.cgroup("podrec/" + component + "/app", FakeLimits(pids: 10), procs: [101])
        // Another uid of the same key: stray.
        let old = CgroupNames.pod(namespace: key.namespace, name: key.name, uid: "old-uid")
        try host.cgroup("podrec/" + old)

        let observed = try host.observer(processes: .always).observe()
        let o = try #require(observed.pods[key])
        #expect(o.cgroup == "podrec/" + component)
        #expect(o.cgroupExists)
        #expect(o.limits[""]?.memory == .value(64 * Self.mib))
        #expect(o.limits["app"]?.pids == .value(10))
        #expect(o.processes == [101])
        #expect(o.supervisor == .alive(pid: 100))
        #expect(observed.strayCgroups == [old])
    }
}

// MARK: - The fake host

/// Limits as a fake cgroup's knobs show them; nil is the kernel's default.
typealias FakeLimits = CgroupFixture.Limits

/// A temp dir holding `run/`, `data/`, `log/`, `proc/` and `cgroup/`, shaped as the host's.
final class FakeHost {
    let root: String
    let unified: Bool
    let parent = "podrec"

    /// v1: this machine's hierarchies (`CgroupFixture.hostV1`: separate cpu and cpuacct, a
    /// cpuset podrec does not use, the named systemd one) and the hybrid cgroup2 mount.
    init(unified: Bool) throws {
        root = try makeTemporaryDirectory("podrec-observe")
        self.unified = unified
        try dir("proc")
        if unified {
            try CgroupFixture.v2(path("cgroup"), subtree: "cpu memory pids", procs: [1])
        } else {
            try CgroupFixture.v1(path("cgroup"), unified: true, procs: [1])
        }
        try cgroup(parent)
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    var roots: Roots {
        Roots(proc: path("proc"), cgroup: path("cgroup"), state: path("run"), data: path("data"), log: path("log"), cgroupParent: parent)
    }

    func driver() throws -> any CgroupDriver {
        try Cgroups.driver(setup: CgroupSetup.detect(root: path("cgroup")))
    }

    func observer(processes: Observer.ProcessListing = .unlessSupervisorAlive) throws -> Observer {
        Observer(roots: roots, driver: try driver(), processListing: processes)
    }

    func dir(_ relative: String) throws { try Sys.mkdirs(path(relative), mode: 0o755) }

    func write(_ relative: String, _ text: String) throws {
        try Sys.mkdirs(parentDirectory(path(relative)), mode: 0o755)
        try Sys.writeFileAtomically(path(relative), Array(text.utf8), mode: 0o644, durable: false)
    }

    /// `/proc/<pid>/stat` as the kernel writes it: state field 3, starttime field 22.
    func process(_ pid: Int32, startTime: UInt64, state: String = "S") throws {
        try write("proc/\(pid)/stat", "\(pid) (podrec-supervi) \(state) 1 \(pid) \(pid) 0 -1 4194560 0 0 0 0 7 3 0 0 20 0 1 0 \(startTime) 2265088 210 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n")
    }

    func podCgroup(_ key: PodKey, uid: String) -> String {
        CgroupNames.podPath(parent: parent, namespace: key.namespace, name: key.name, uid: uid)
    }

    /// A cgroup with the knobs the kernel gives a new one, then `limits` and `procs`. On v1
    /// the directory is made in every hierarchy.
    func cgroup(_ relative: String, _ limits: FakeLimits = FakeLimits(), procs: [Int32] = []) throws {
        if unified {
            try CgroupFixture.v2Cgroup(path("cgroup/\(relative)"), limits: limits, procs: procs)
        } else {
            try CgroupFixture.populateV1(path("cgroup"), relative, limits: limits, procs: procs)
        }
    }

    /// What the driver reads back for those limits, in this version's cpu unit.
    /// A nil `cpuShares` is the kernel's default: 1024 shares on v1, weight 100 on v2.
    func reading(cpuShares: Int64?, quota: Int64?, memory: CgroupLimit, pids: CgroupLimit) -> CgroupReading {
        CgroupReading(cpuShares: unified ? nil : cpuShares ?? 1024, cpuWeight: unified ? cpuShares.map(ResourceMath.sharesToWeight) ?? 100 : nil,
                      cpuMax: CPUMax(quota: quota.map { .value($0) } ?? .max, period: 100_000), memory: memory, pids: pids)
    }

    func plan(_ key: PodKey, uid: String, containers: [String]) -> LaunchPlan {
        let pod = podCgroup(key, uid: uid)
        return LaunchPlan(generation: 1, namespace: key.namespace, name: key.name, uid: uid, hostname: String(key.name.prefix(63)),
                          logDirectory: path("log/pods/\(key.namespace)_\(key.name)_\(uid)"),
                          scratchDirectory: path("run/pods/\(key.namespace)_\(key.name)/roots"), cgroupMount: path("cgroup"),
                          containers: containers.map {
                              ContainerLaunch(name: $0, specHash: "h-\($0)", executable: "/bin/sh", arguments: ["sh"],
                                              cgroup: pod + "/" + CgroupNames.component($0))
                          })
    }

    /// A state dir with the files given; nil ones are left out.
    func state(_ key: PodKey, record: PodRecord? = nil, plan: LaunchPlan? = nil, status: PodStatus? = nil, supervisor: String? = nil) throws {
        let d = "run/pods/\(key.namespace)_\(key.name)"
        try dir(d)
        if let record { try write("\(d)/record", record.encoded()) }
        if let plan { try write("\(d)/plan", plan.encoded()) }
        if let status { try write("\(d)/status", status.encoded()) }
        if let supervisor { try write("\(d)/supervisor", supervisor) }
    }

    func remove() { try? Sys.removeTree(root) }
}
