import Cgroups
import Glibc
import Kernel
import KernelTestSupport
import Planner
import PodModel
import Procfs
import Reconciler
import ContainerRuntime
import HostSetup
import Testing

extension Integration {
    /// The Observer on the real kernel: pods started by `PodLauncher` (the built
    /// `podrec-supervisor`, real containers), with the record the executor writes, observed
    /// through the state dirs, cgroupfs and /proc.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct ObserverIntegrationTests {
        /// Before each test: their containers are `PodLab.shell`, busybox.
        init() throws { try HostTool.require("/bin/busybox", package: "busybox-static") }

        static let mib: Int64 = 1 << 20

        static func observer(_ lab: PodLab, processes: Observer.ProcessListing = .unlessSupervisorAlive) -> Observer {
            Observer(roots: Roots(state: lab.tmp + "/run", data: lab.tmp + "/data", log: lab.tmp + "/log", cgroupParent: lab.cgroupParent),
                     driver: lab.driver, processListing: processes)
        }

        /// The record, as the executor writes it beside the plan.
        static func writeRecord(_ record: PodRecord, _ layout: PodLayout) throws {
            try Sys.mkdirs(layout.state.path, mode: 0o700)
            try Sys.writeFileAtomically(layout.state.path + "/record", Array(record.encoded().utf8), mode: 0o600, durable: false)
        }

        /// What the kernel reads back for `limits`, in this version's cpu unit.
        static func reading(_ limits: CgroupLimits, unified: Bool) -> CgroupReading {
            let shares = limits.cpuShares ?? 1024
            return CgroupReading(cpuShares: unified ? nil : shares,
                                 cpuWeight: unified ? (limits.cpuShares.map(ResourceMath.sharesToWeight) ?? 100) : nil,
                                 cpuMax: limits.cpuMax ?? .unlimited, memory: limits.memory ?? .max, pids: limits.pids ?? .max)
        }

        /// Waits until `done` holds, for at most `seconds`.
        static func wait(seconds: Double = 30, _ done: () throws -> Bool) rethrows -> Bool {
            let deadline = MonotonicClock.now() + Int64(seconds * 1e9)
            while MonotonicClock.now() < deadline {
                if try done() { return true }
                MonotonicClock.sleep(nanoseconds: 5_000_000)
            }
            return try done()
        }

        /// A running pod: supervisor alive, its record, plan and status, limits as written,
        /// and its processes. Then its supervisor is killed: a zombie is `.dead`, and so is
        /// the reaped pid; the orphaned containers still show in the pod's cgroup.
        @Test func aRunningPodIsAliveWithItsLimitsAndProcessesAndDeadOnceItsSupervisorIsKilled() throws {
            let lab = try PodLab("observe")
            defer { lab.finish() }
            let layout = lab.layout("web")
            let key = PodKey(namespace: layout.namespace, name: layout.name)
            let plan = lab.plan(layout, [PodLab.shell("app", "exec sleep 3600"), PodLab.shell("side", "exec sleep 3600")])
            let podLimits = CgroupLimits(cpuShares: 1536, cpuMax: CPUMax(quota: .value(200_000)), memory: .value(256 * Self.mib), pids: .value(300))
            let appLimits = CgroupLimits(cpuShares: 512, cpuMax: CPUMax(quota: .value(50_000)), memory: .value(64 * Self.mib), pids: .value(50))
            let sideLimits = CgroupLimits(memory: .value(32 * Self.mib))
            let limits = PodCgroupLimits(pod: podLimits, containers: ["app": appLimits, "side": sideLimits])
            let record = PodRecord(uid: layout.uid, source: "apply", immutable: ["hostNetwork": "false"], generation: 1)
            try Self.writeRecord(record, layout)
            let launcher = lab.launcher(layout)
            let status = try launcher.create(plan, limits: limits)
            try #require(status.containers.map(\.state) == [.running, .running])
            let supervisor = status.supervisorPID
            let containerPids = status.containers.compactMap(\.pid)
            try #require(containerPids.count == 2)
            let unified = lab.driver.setup.mode == .unified

            let observation = try Self.observer(lab, processes: .always).observation()
            #expect(observation.problems == [])
            let observed = observation.observed
            #expect(observed.unified == unified)
            #expect(observed.strayCgroups == [])
            #expect(observed.strayDataUIDs == [])
            #expect(observed.strayLogDirectories == [])
            #expect(Array(observed.pods.keys) == [key])
            let o = try #require(observed.pods[key])
            #expect(o.supervisor == .alive(pid: supervisor))
            #expect(o.record == record)
            #expect(o.plan == plan)
            #expect(o.status?.observedGeneration == 1)
            #expect(o.cgroup == launcher.podCgroup)
            #expect(o.cgroupExists)
            #expect(o.limits == [
                "": Self.reading(podLimits, unified: unified),
                "app": Self.reading(appLimits, unified: unified),
                "side": Self.reading(sideLimits, unified: unified),
            ])
            #expect(Set(o.memoryUsage.keys) == ["", "app", "side"])
            #expect(o.memoryUsage.values.allSatisfy { $0 > 0 }, "\(o.memoryUsage)")
            #expect(Set(o.processes).isSuperset(of: [supervisor] + containerPids), "\(o.processes)")
            // By default a live supervisor's tree is not walked.
            #expect(try Self.observer(lab).observe().pods[key]?.processes == [])

            // The supervisor killed: first a zombie (this process is its parent and has not
            // reaped it), then gone. Neither is alive.
            try Sys.kill(supervisor, SIGKILL)
            let reader = ProcfsReader()
            #expect(try Self.wait { try reader.stat(of: supervisor)?.state.hasExited ?? true })
            #expect(try Self.observer(lab).observe().pods[key]?.supervisor == .dead)
            _ = Sys.reapChild(supervisor)
            #expect(try Self.wait { try reader.stat(of: supervisor) == nil })
            let after = try #require(try Self.observer(lab).observe().pods[key])
            #expect(after.supervisor == .dead)
            #expect(after.cgroupExists)
            // Without a shared PID namespace the containers outlive it, orphaned to this
            // process (a subreaper), still in their cgroups: the planner's recreate kills them.
            #expect(Set(after.processes).isSuperset(of: containerPids), "\(after.processes)")
            #expect(!after.processes.contains(supervisor))
        }

        /// A limit changed by hand shows as the kernel has it; a cgroup, data dir and log dir
        /// that no state claims are strays; a state dir whose pod was never started has no
        /// supervisor and no cgroup.
        @Test func aLimitChangedByHandAndStraysShow() throws {
            let lab = try PodLab("observe-stray")
            defer { lab.finish() }
            let layout = lab.layout("web")
            let key = PodKey(namespace: layout.namespace, name: layout.name)
            let plan = lab.plan(layout, [PodLab.shell("app", "exec sleep 3600")])
            try Self.writeRecord(PodRecord(uid: layout.uid, source: "apply", immutable: [:], generation: 1), layout)
            let launcher = lab.launcher(layout)
            try launcher.create(plan, limits: PodCgroupLimits(containers: ["app": CgroupLimits(pids: .value(40))]))
            _ = try lab.driver.setPidsMax(.value(41), at: launcher.containerCgroup("app"))

            let stray = lab.layout("gone", uid: "uid-gone")
            try lab.driver.create(CgroupNames.podPath(parent: lab.cgroupParent, namespace: "default", name: "gone", uid: "uid-gone") + "/_infra")
            try Sys.mkdirs(stray.dataDirectory + "/volumes/cache", mode: 0o700)
            try Sys.mkdirs(stray.logDirectory + "/app", mode: 0o700)
            let halfMade = lab.layout("half", uid: "uid-half")
            try Self.writeRecord(PodRecord(uid: halfMade.uid, source: "apply", immutable: [:], generation: 1), halfMade)

            let observed = try Self.observer(lab).observe()
            #expect(observed.pods[key]?.limits["app"]?.pids == .value(41))
            #expect(observed.pods[key]?.supervisor != SupervisorState.none)
            #expect(observed.strayCgroups == ["default_gone_uid-gone"])
            #expect(observed.strayDataUIDs == ["uid-gone"])
            #expect(observed.strayLogDirectories == [stray.logDirectory])
            let half = try #require(observed.pods[PodKey(namespace: "default", name: "half")])
            #expect(half.supervisor == SupervisorState.none)
            #expect(!half.cgroupExists)
            #expect(half.processes.isEmpty)
        }

        /// The work of one observation over 200 pods of two containers each, on the real
        /// cgroupfs, counted in read calls (deterministic, unlike time: speed is for the
        /// benchmarks). Every supervisor file names this process, which is alive, so (by
        /// default) no pod's tree is walked, as for healthy pods.
        @Test func observingTwoHundredPodsReadsAFewFilesPerPod() throws {
            let lab = try PodLab("observe-many")
            defer { lab.finish() }
            let me = try #require(try ProcfsReader().stat(of: getpid()))
            let count = 200
            for i in 0..<count {
                let layout = lab.layout("pod-\(i)")
                let plan = lab.plan(layout, [PodLab.shell("app", "true"), PodLab.shell("side", "true")])
                try Self.writeRecord(PodRecord(uid: layout.uid, source: "apply", immutable: [:], generation: 1), layout)
                try Sys.writeFileAtomically(layout.state.path(.plan), Array(plan.encoded().utf8), mode: 0o600, durable: false)
                try Sys.writeFileAtomically(layout.state.path(.status), Array(PodStatus(observedGeneration: 1, phase: .running).encoded().utf8),
                                            mode: 0o600, durable: false)
                try Sys.writeFileAtomically(layout.state.path(.supervisor), Array("\(me.pid) \(me.startTime.rawValue)\n".utf8), mode: 0o600, durable: false)
                try Sys.mkdirs(layout.dataDirectory, mode: 0o700)
                try Sys.mkdirs(layout.logDirectory, mode: 0o700)
                let pod = CgroupNames.podPath(parent: lab.cgroupParent, namespace: layout.namespace, name: layout.name, uid: layout.uid)
                try lab.driver.create(pod + "/_infra")
                try lab.driver.apply(CgroupLimits(cpuShares: 256, memory: .value(128 * Self.mib)), to: pod)
                for c in plan.containers {
                    try lab.driver.create(c.cgroup)
                    try lab.driver.apply(CgroupLimits(cpuShares: 128, cpuMax: CPUMax(quota: .value(20_000)), memory: .value(64 * Self.mib), pids: .value(20)), to: c.cgroup)
                }
            }
            let observer = Self.observer(lab)
            let readsBefore = try Self.readCalls()
            let observed = try observer.observe()
            let reads = try Self.readCalls() - readsBefore
            #expect(observed.pods.count == count)
            #expect(observed.pods.values.allSatisfy { $0.supervisor == .alive(pid: me.pid) && $0.cgroupExists && $0.limits.count == 3 })
            #expect(observed.strayCgroups.isEmpty && observed.strayDataUIDs.isEmpty && observed.strayLogDirectories.isEmpty)
            // The files read, two read calls each (the data, then EOF), per pod: 4 state
            // files, /proc/PID/stat, 3 cgroups × limits (v1: 5 files, v2: 4) and memory use
            // (1): 46 on v1. Deterministic, so it holds under emulation too.
            #expect(reads <= 50 * count, "\(reads) read calls for \(count) pods")
        }

        /// `syscr` of this thread: read(2) calls and the like so far.
        static func readCalls() throws -> Int {
            let text = try Sys.readString("/proc/thread-self/io")
            let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("syscr:") })
            return try #require(line.split(separator: " ").last.flatMap { Int($0) })
        }
    }
}
