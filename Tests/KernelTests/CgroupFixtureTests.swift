import Cgroups
import Glibc
import Kernel
import Testing
import KernelTestSupport
import PodModel
import Spawn

private typealias F = CgroupFixture

@Suite struct CgroupDetectionTests {
    @Test func aV1TreeIsLegacyWithEachControllerInItsOwnHierarchy() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root)
        let setup = try CgroupSetup.detect(root: root)
        #expect(setup.mode == .legacy)
        #expect(setup.hierarchies["cpu"] == "cpu")
        #expect(setup.hierarchies["cpuacct"] == "cpuacct")
        #expect(setup.hierarchies["memory"] == "memory")
        #expect(setup.hierarchies["name=systemd"] == "systemd")
        #expect(setup.unifiedPath == nil)
    }

    @Test func v1PlusACgroup2MountIsHybrid() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root, unified: true)
        let setup = try CgroupSetup.detect(root: root)
        #expect(setup.mode == .hybrid)
        #expect(setup.unifiedPath == root + "/unified")
        #expect(setup.unifiedControllers == ["hugetlb"])
        // The unified mount is no v1 hierarchy.
        #expect(!setup.hierarchies.values.contains("unified"))
        // Hybrid is driven as v1.
        #expect(try Cgroups.driver(setup: setup) is V1Driver)
    }

    @Test func aRootWithCgroupControllersIsUnified() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v2(root)
        // A child cgroup below a v2 root is not mistaken for anything.
        try F.v2Cgroup(root + "/system.slice")
        let setup = try CgroupSetup.detect(root: root)
        #expect(setup.mode == .unified)
        #expect(setup.unifiedPath == root)
        #expect(setup.unifiedControllers.contains("memory"))
        #expect(setup.hierarchies.isEmpty)
        #expect(try Cgroups.driver(setup: setup) is V2Driver)
    }

    @Test func coMountedControllersShareOneHierarchyAndSymlinksDoNotDuplicateIt() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root, hierarchies: ["cpu,cpuacct", "memory", "pids", "devices", "freezer"])
        try Sys.symlink("cpu,cpuacct", root + "/cpu")
        try Sys.symlink("cpu,cpuacct", root + "/cpuacct")
        let setup = try CgroupSetup.detect(root: root)
        #expect(setup.mode == .legacy)
        #expect(setup.hierarchies["cpu"] == "cpu,cpuacct")
        #expect(setup.hierarchies["cpuacct"] == "cpu,cpuacct")
        let driver = try V1Driver(setup: setup)
        #expect(driver.hierarchyRoots.filter { $0.hasSuffix("cpu,cpuacct") }.count == 1)
        #expect(driver.hierarchyRoots.count == 5)
    }

    @Test func anEmptyRootHasNoCgroupFilesystem() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try Sys.mkdir(root + "/not-a-hierarchy")
        #expect(throws: CgroupError.noCgroupFilesystem(root: root)) { try CgroupSetup.detect(root: root) }
    }

    @Test func detectionIsDoneOncePerProcessPerRoot() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root)
        #expect(try CgroupSetup.detected(root: root).mode == .legacy)
        // The tree changes shape; the cached answer stays, a fresh detect sees the change.
        try F.write(root + "/cgroup.controllers", "cpu memory pids")
        #expect(try CgroupSetup.detected(root: root).mode == .legacy)
        #expect(try CgroupSetup.detect(root: root).mode == .unified)
    }

    @Test func theFilesystemMagicOfRealMountsIsRead() throws {
        // statfs itself, on whatever this host has: /proc is procfs everywhere.
        #expect(try Sys.filesystemType("/proc") == 0x9fa0)
        #expect(throws: KernelError.self) { try Sys.filesystemType("/nonexistent/podrec") }
    }
}

@Suite struct CgroupV1FixtureTests {
    func driver(_ root: String, cpuset: Bool = false) throws -> V1Driver {
        try V1Driver(setup: try CgroupSetup.detect(root: root), cpuset: cpuset)
    }

    @Test func createMakesThePathInEveryUsedHierarchyAndNoOther() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root, unified: true)
        let d = try driver(root)
        try d.create("podrec/default_web_uid/_infra")
        for h in ["cpu", "cpuacct", "memory", "pids", "freezer", "devices"] {
            #expect(Sys.exists("\(root)/\(h)/podrec/default_web_uid/_infra"), "\(h)")
        }
        for h in ["blkio", "systemd", "unified", "cpuset"] {
            #expect(!Sys.exists("\(root)/\(h)/podrec"), "\(h)")
        }
        // Creating again is fine.
        try d.create("podrec/default_web_uid/_infra")
        #expect(d.exists("podrec/default_web_uid"))
        #expect(try d.directories("podrec/x").count == 6)
    }

    @Test func aMissingRequiredControllerIsAnErrorAndAMissingFreezerIsNot() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root, hierarchies: ["cpu", "cpuacct", "memory", "devices", "freezer"])
        #expect(throws: CgroupError.controllerMissing(controller: "pids", at: root)) { try driver(root) }

        let root2 = try F.makeRoot()
        defer { F.remove(root2) }
        try F.v1(root2, hierarchies: ["cpu", "cpuacct", "memory", "pids", "devices"])
        let d = try driver(root2)
        #expect(d.hierarchyRoots.count == 5)
        try d.create("t/a")
        // No freezer: the automatic kill walks; asking for the freezer is an error.
        #expect(try d.kill("t").method == .walk)
        #expect(throws: CgroupError.controllerMissing(controller: "freezer", at: root2)) { try d.kill("t", method: .freeze) }
        #expect(throws: CgroupError.unsupported("cgroup.kill on cgroup v1")) { try d.kill("t", method: .cgroupKill) }
    }

    @Test func limitsAreWrittenToEachControllersFileAndASecondApplyChangesNothing() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root)
        let d = try driver(root)
        let path = "podrec/pod/web"
        try d.create(path)
        try F.populateV1(root, path)
        let limits = CgroupLimits(cpuShares: 512, cpuMax: CPUMax(quota: .value(50_000)), memory: .value(64 * F.mib), pids: .value(100))
        let first = try d.apply(limits, to: path)
        #expect(first == LimitResults(cpuShares: .applied, cpuMax: .applied, memory: .applied, pids: .applied))
        #expect(try F.read("\(root)/cpu/\(path)/cpu.shares") == "512")
        #expect(try F.read("\(root)/cpu/\(path)/cpu.cfs_quota_us") == "50000")
        #expect(try F.read("\(root)/cpu/\(path)/cpu.cfs_period_us") == "100000")
        #expect(try F.read("\(root)/memory/\(path)/memory.limit_in_bytes") == "67108864")
        #expect(try F.read("\(root)/pids/\(path)/pids.max") == "100")
        #expect(try d.limits(path) == CgroupReading(cpuShares: 512, cpuMax: CPUMax(quota: .value(50_000)), memory: .value(64 * F.mib), pids: .value(100)))

        let second = try d.apply(limits, to: path)
        #expect(second == LimitResults(cpuShares: .unchanged, cpuMax: .unchanged, memory: .unchanged, pids: .unchanged))

        // Removing the limits: -1 for quota and memory, "max" for pids.
        let none = try d.apply(CgroupLimits(cpuMax: .unlimited, memory: .max, pids: .max), to: path)
        #expect(none == LimitResults(cpuMax: .applied, memory: .applied, pids: .applied))
        #expect(try F.read("\(root)/cpu/\(path)/cpu.cfs_quota_us") == "-1")
        #expect(try F.read("\(root)/memory/\(path)/memory.limit_in_bytes") == "-1")
        #expect(try F.read("\(root)/pids/\(path)/pids.max") == "max")
        #expect(try d.limits(path).memory == .max)
    }

    @Test func sharesAreClampedToTheKernelRange() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root)
        let d = try driver(root)
        try d.create("p")
        try F.populateV1(root, "p")
        _ = try d.setCPUShares(1, at: "p")
        #expect(try F.read("\(root)/cpu/p/cpu.shares") == "2")
        _ = try d.setCPUShares(1 << 30, at: "p")
        #expect(try F.read("\(root)/cpu/p/cpu.shares") == "262144")
    }

    @Test func loweringMemoryBelowUsageIsDeferredAndNotWritten() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root)
        let d = try driver(root)
        try d.create("p")
        try F.populateV1(root, "p")
        try F.write("\(root)/memory/p/memory.limit_in_bytes", String(256 * F.mib))
        try F.write("\(root)/memory/p/memory.usage_in_bytes", String(100 * F.mib))
        #expect(try d.setMemoryLimit(.value(64 * F.mib), at: "p") == .deferred(current: 100 * F.mib))
        #expect(try F.read("\(root)/memory/p/memory.limit_in_bytes") == String(256 * F.mib))
        // Above usage it is written.
        #expect(try d.setMemoryLimit(.value(128 * F.mib), at: "p") == .applied)
        #expect(try F.read("\(root)/memory/p/memory.limit_in_bytes") == String(128 * F.mib))
        #expect(throws: CgroupError.invalidValue("memory limit 0 bytes")) { try d.setMemoryLimit(.value(0), at: "p") }
    }

    @Test func usageReadsMemoryOOMKillsThrottlingAndPids() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root)
        let d = try driver(root)
        try d.create("p")
        try F.populateV1(root, "p")
        try F.write("\(root)/memory/p/memory.usage_in_bytes", "33554432")
        try F.write("\(root)/memory/p/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
        try F.write("\(root)/cpu/p/cpu.stat", "nr_periods 12\nnr_throttled 9\nthrottled_time 812345678\nnr_bursts 0\nburst_time 0\n")
        try F.write("\(root)/pids/p/pids.current", "4")
        try F.write("\(root)/pids/p/pids.events", "max 2\n")
        let u = try d.usage("p")
        #expect(u == CgroupUsage(memoryBytes: 32 * F.mib, oomKills: 3, cpu: CPUStat(periods: 12, throttledPeriods: 9, throttledMicroseconds: 812_345),
                                 pidsCurrent: 4, pidsMaxEvents: 2))
        // The observer's one-file read: the same bytes; nil for a cgroup that is not there.
        #expect(try d.memoryUsage("p") == 32 * F.mib)
        #expect(try d.memoryUsage("absent") == nil)
        // The supervisor's CPU sample, and top's and the metrics' counters: the working set is
        // the usage less the hierarchy's inactive file pages (not the cgroup's own
        // `inactive_file`).
        try F.write("\(root)/memory/p/memory.stat", "cache 9\ninactive_file 1\nhierarchical_memory_limit 9223372036854771712\ntotal_inactive_file 8388608\ntotal_active_file 0\n")
        try F.write("\(root)/cpuacct/p/cpuacct.usage", "123456789")
        try F.write("\(root)/memory/p/memory.limit_in_bytes", String(64 * F.mib))
        #expect(try d.cpuUsage("p") == 123_456_789)
        #expect(try d.cpuUsage("absent") == nil)
        #expect(try d.counters("p") == CgroupCounters(cpuNanoseconds: 123_456_789, workingSet: 24 * F.mib, memoryLimit: .value(64 * F.mib)))
        #expect(try d.counters("absent") == CgroupCounters())
        try F.write("\(root)/memory/p/memory.limit_in_bytes", "9223372036854771712")
        #expect(try d.counters("p").memoryLimit == .max)
        // More inactive file pages than usage (they are counted apart): never below 0.
        try F.write("\(root)/memory/p/memory.stat", "total_inactive_file 40000000000\n")
        #expect(try d.counters("p").workingSet == 0)
    }

    @Test func aDaemonStaysInItsOwnCgroup() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root, unified: true)
        // Hybrid: the 0:: line names the cgroup2 mount, which holds no pod.
        try F.write(root + "/proc/self/cgroup", "4:memory:/podrec.service\n0::/podrec.service\n")
        let d = try driver(root)
        #expect(try d.moveSelfIntoLeaf(under: "podrec.service/pods", leaf: "watcher", proc: root + "/proc") == nil)
        #expect(!Sys.exists(root + "/unified/podrec.service/watcher"))
        #expect(!d.exists("podrec.service/watcher"))
    }

    @Test func cpusetCopiesCpusAndMemsDownEachNewLevel() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root)
        // The kernel gives each new cpuset cgroup empty cpus and mems.
        try F.populateV1(root, "podrec", hierarchies: ["cpuset"])
        try F.populateV1(root, "podrec/pod", hierarchies: ["cpuset"])
        try F.write("\(root)/cpuset/podrec/cpuset.cpus", "1-2")   // a parent narrower than the root
        try F.write("\(root)/cpuset/podrec/cpuset.mems", "0")
        let d = try driver(root, cpuset: true)
        try d.create("podrec/pod")
        #expect(try F.read("\(root)/cpuset/podrec/cpuset.cpus") == "1-2")
        #expect(try F.read("\(root)/cpuset/podrec/pod/cpuset.cpus") == "1-2")
        #expect(try F.read("\(root)/cpuset/podrec/pod/cpuset.mems") == "0")
        #expect(d.hierarchyRoots.contains(root + "/cpuset"))
    }

    @Test func joiningIsByTheTasksFileOfEachHierarchy() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root)
        let d = try driver(root)
        guard case .tasksFiles(let files) = try d.joinTarget("podrec/pod/web") else {
            Issue.record("v1 must join by tasks")
            return
        }
        #expect(Set(files) == Set(["cpu", "cpuacct", "memory", "pids", "freezer", "devices"].map { "\(root)/\($0)/podrec/pod/web/tasks" }))
        // A spawn request takes the files as they are, and no fd is opened.
        var request = SpawnRequest(["/bin/true"])
        #expect(try request.joinCgroup("podrec/pod/web", of: d) == [])
        #expect(request.cgroup == .v1(tasksFiles: files))
    }

    @Test func moveWritesThePidToCgroupProcsInEveryHierarchy() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root)
        let d = try driver(root)
        try d.create("p")
        try F.populateV1(root, "p")
        try d.move(pid: 4242, to: "p")
        for h in ["cpu", "cpuacct", "memory", "pids", "freezer", "devices"] {
            #expect(try F.read("\(root)/\(h)/p/cgroup.procs") == "4242", "\(h)")
        }
    }

    @Test func processesAreTheUnionOverHierarchiesAndSubtrees() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root)
        let d = try driver(root)
        try d.create("p/a/b")
        try F.write("\(root)/memory/p/cgroup.procs", "10\n11\n")
        try F.write("\(root)/cpu/p/a/cgroup.procs", "11\n12\n")
        try F.write("\(root)/pids/p/a/b/cgroup.procs", "13\n")
        #expect(try d.processes("p") == [10, 11, 12, 13])
        #expect(try d.processes("p", recursive: false) == [10, 11])
        #expect(try d.processes("absent") == [])
    }

    @Test func killFreezesAndThawsAnEmptyTree() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root)
        let d = try driver(root)
        try d.create("p")
        try F.populateV1(root, "p")
        let report = try d.kill("p")
        #expect(report == KillReport(method: .freeze, signalled: []))
        #expect(try F.read("\(root)/freezer/p/freezer.state") == "THAWED")
        // A tree that does not exist has nothing to kill.
        #expect(try d.kill("gone").signalled.isEmpty)
    }

    @Test func killRefusesATreeThatHoldsTheCaller() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root)
        let d = try driver(root)
        try d.create("p/c")
        try F.populateV1(root, "p/c")
        // Only our own pid is listed, so nothing else could be signalled: the refusal
        // comes before any freeze or signal.
        try F.write("\(root)/memory/p/c/cgroup.procs", "\(getpid())\n")
        #expect(throws: CgroupError.selfInTree(path: "p")) { try d.kill("p") }
        #expect(try F.read("\(root)/freezer/p/c/freezer.state") == "THAWED")
    }

    @Test func removeTakesTheTreeDeepestFirstInEveryHierarchy() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root)
        let d = try driver(root)
        try d.create("t/pod/_infra")
        try d.create("t/pod/web")
        let report = try d.remove("t/pod")
        #expect(report.removed.count == 6 * 3)
        #expect(report.removed.first { $0.hasSuffix("/t/pod") }.map { p in
            report.removed.firstIndex(of: p)! > report.removed.firstIndex(of: p + "/web")!
        } == true)
        #expect(!d.exists("t/pod"))
        #expect(d.exists("t"))
        // Removing what is gone succeeds.
        #expect(try d.remove("t/pod").removed.isEmpty)
    }
}

@Suite struct CgroupV2FixtureTests {
    func driver(_ root: String, cpuset: Bool = false) throws -> V2Driver {
        try V2Driver(setup: try CgroupSetup.detect(root: root), cpuset: cpuset)
    }

    @Test func createEnablesControllersInEveryAncestorAndNotInTheLeaf() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v2(root)
        // Existing levels, as the kernel would show them.
        try F.v2Cgroup(root + "/podrec")
        try F.v2Cgroup(root + "/podrec/default_web_uid")
        let d = try driver(root)
        try d.create("podrec/default_web_uid/_infra")
        #expect(try F.read(root + "/cgroup.subtree_control") == "+cpu +memory +pids")
        #expect(try F.read(root + "/podrec/cgroup.subtree_control") == "+cpu +memory +pids")
        #expect(try F.read(root + "/podrec/default_web_uid/cgroup.subtree_control") == "+cpu +memory +pids")
        #expect(Sys.exists(root + "/podrec/default_web_uid/_infra"))
        #expect(!Sys.exists(root + "/podrec/default_web_uid/_infra/cgroup.subtree_control"))
    }

    @Test func controllersAlreadyEnabledAreNotWrittenAgain() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v2(root)
        try F.write(root + "/cgroup.subtree_control", "cpu io memory pids")
        try F.v2Cgroup(root + "/podrec", subtree: "memory")
        let d = try driver(root)
        try d.create("podrec/x")
        #expect(try F.read(root + "/cgroup.subtree_control") == "cpu io memory pids")
        #expect(try F.read(root + "/podrec/cgroup.subtree_control") == "+cpu +pids")
    }

    @Test func aControllerTheParentDoesNotOfferIsMissing() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v2(root)
        try F.v2Cgroup(root + "/podrec", controllers: "cpu memory")
        let d = try driver(root)
        #expect(throws: CgroupError.controllerMissing(controller: "pids", at: root + "/podrec")) { try d.create("podrec/x") }

        let bare = try F.makeRoot()
        defer { F.remove(bare) }
        try F.v2(bare, controllers: "cpu io")
        #expect(throws: CgroupError.controllerMissing(controller: "memory", at: bare)) { try driver(bare) }
    }

    @Test func cpusetIsEnabledWhenAskedFor() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v2(root)
        let d = try driver(root, cpuset: true)
        try d.create("x")
        #expect(try F.read(root + "/cgroup.subtree_control") == "+cpu +memory +pids +cpuset")
    }

    @Test func limitsAreWrittenAsV2ValuesWithSharesConvertedToWeight() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v2(root)
        try F.v2Cgroup(root + "/p")
        let d = try driver(root)
        let limits = CgroupLimits(cpuShares: 512, cpuMax: CPUMax(quota: .value(50_000)), memory: .value(64 * F.mib), pids: .value(100))
        #expect(try d.apply(limits, to: "p") == LimitResults(cpuShares: .applied, cpuMax: .applied, memory: .applied, pids: .applied))
        #expect(try F.read(root + "/p/cpu.weight") == "59")
        #expect(try F.read(root + "/p/cpu.max") == "50000 100000")
        #expect(try F.read(root + "/p/memory.max") == "67108864")
        #expect(try F.read(root + "/p/pids.max") == "100")
        #expect(try d.limits("p") == CgroupReading(cpuWeight: 59, cpuMax: CPUMax(quota: .value(50_000)), memory: .value(64 * F.mib), pids: .value(100)))
        #expect(try d.apply(limits, to: "p") == LimitResults(cpuShares: .unchanged, cpuMax: .unchanged, memory: .unchanged, pids: .unchanged))

        // 1024 shares is the v2 default weight, 100.
        #expect(try d.setCPUShares(1024, at: "p") == .applied)
        #expect(try F.read(root + "/p/cpu.weight") == "100")

        let none = try d.apply(CgroupLimits(cpuMax: .unlimited, memory: .max, pids: .max), to: "p")
        #expect(none == LimitResults(cpuMax: .applied, memory: .applied, pids: .applied))
        #expect(try F.read(root + "/p/cpu.max") == "max 100000")
        #expect(try F.read(root + "/p/memory.max") == "max")
        #expect(try F.read(root + "/p/pids.max") == "max")
    }

    @Test func loweringMemoryBelowUsageIsDeferredAndNotWritten() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v2(root)
        try F.v2Cgroup(root + "/p")
        try F.write(root + "/p/memory.max", String(256 * F.mib))
        try F.write(root + "/p/memory.current", String(100 * F.mib))
        let d = try driver(root)
        #expect(try d.setMemoryLimit(.value(64 * F.mib), at: "p") == .deferred(current: 100 * F.mib))
        #expect(try F.read(root + "/p/memory.max") == String(256 * F.mib))
        let results = try d.apply(CgroupLimits(memory: .value(32 * F.mib)), to: "p")
        #expect(results.deferred)
        // Raising is never deferred; "max" needs no usage check.
        #expect(try d.setMemoryLimit(.value(512 * F.mib), at: "p") == .applied)
        #expect(try d.setMemoryLimit(.max, at: "p") == .applied)
        #expect(try F.read(root + "/p/memory.max") == "max")
    }

    @Test func usageReadsMemoryEventsAndCpuStat() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v2(root)
        try F.v2Cgroup(root + "/p")
        try F.write(root + "/p/memory.current", "1048576")
        try F.write(root + "/p/memory.events", "low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 0\n")
        try F.write(root + "/p/cpu.stat", "usage_usec 900\nuser_usec 800\nsystem_usec 100\nnr_periods 10\nnr_throttled 8\nthrottled_usec 75000\n")
        try F.write(root + "/p/pids.events", "max 1\n")
        let u = try driver(root).usage("p")
        #expect(u == CgroupUsage(memoryBytes: F.mib, oomKills: 2, cpu: CPUStat(periods: 10, throttledPeriods: 8, throttledMicroseconds: 75_000),
                                 pidsCurrent: 0, pidsMaxEvents: 1))
        // The observer's one-file read: the same bytes; nil for a cgroup that is not there.
        #expect(try driver(root).memoryUsage("p") == F.mib)
        #expect(try driver(root).memoryUsage("absent") == nil)
        // top's and the metrics' reads: usage_usec in ns; the working set less inactive_file
        // (not inactive_anon).
        try F.write(root + "/p/memory.stat", "anon 4096\ninactive_anon 4096\ninactive_file 262144\nactive_file 0\n")
        try F.write(root + "/p/memory.max", "max")
        let d = try driver(root)
        #expect(try d.cpuUsage("p") == 900_000)
        #expect(try d.cpuUsage("absent") == nil)
        #expect(try d.counters("p") == CgroupCounters(cpuNanoseconds: 900_000, workingSet: F.mib - 262_144, memoryLimit: .max))
        #expect(try d.counters("absent") == CgroupCounters())
        try F.write(root + "/p/memory.max", "67108864")
        #expect(try d.counters("p").memoryLimit == .value(64 * F.mib))
    }

    @Test func killUsesCgroupKillWhenTheKernelHasIt() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v2(root)
        try F.v2Cgroup(root + "/p")
        let report = try driver(root).kill("p")
        #expect(report.method == .cgroupKill)
        #expect(try F.read(root + "/p/cgroup.kill") == "1")
    }

    @Test func killFreezesWhenCgroupKillIsMissing() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v2(root)
        try F.v2Cgroup(root + "/p", kill: false)
        // The kernel would report frozen once every task stopped; nothing runs here.
        try F.write(root + "/p/cgroup.events", "populated 0\nfrozen 1\n")
        let d = try driver(root)
        #expect(throws: CgroupError.unsupported("cgroup.kill (Linux 5.14+) at \(root)/p")) { try d.kill("p", method: .cgroupKill) }
        let report = try d.kill("p")
        #expect(report.method == .freeze)
        #expect(try F.read(root + "/p/cgroup.freeze") == "0")
    }

    @Test func joiningIsByTheDirectoryFd() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v2(root)
        try F.v2Cgroup(root + "/p")
        let d = try driver(root)
        #expect(try d.joinTarget("p") == .directory(root + "/p"))
        let fd = try CgroupJoin.openDirectory(root + "/p")
        defer { Sys.close(fd) }
        #expect(fd >= 0)
        // O_PATH: the fd names the directory but cannot read it.
        #expect(Glibc.fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        #expect(throws: CgroupError.self) { try CgroupJoin.openDirectory(root + "/absent") }
        // A spawn request gets such an fd, which the caller closes once spawned.
        var request = SpawnRequest(["/bin/true"])
        let fds = try request.joinCgroup("p", of: d)
        defer { for fd in fds { Sys.close(fd) } }
        #expect(fds.count == 1)
        #expect(request.cgroup == .v2(dirFD: fds[0], path: root + "/p"))
        #expect(throws: CgroupError.self) { try request.joinCgroup("absent", of: d) }
    }

    @Test func moveAndProcesses() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v2(root)
        try F.v2Cgroup(root + "/p")
        try F.v2Cgroup(root + "/p/c")
        let d = try driver(root)
        try d.move(pid: 77, to: "p/c")
        #expect(try F.read(root + "/p/c/cgroup.procs") == "77")
        #expect(try d.processes("p") == [77])
        #expect(try d.processes("p", recursive: false) == [])
    }
}

@Suite struct CgroupPathTests {
    @Test(arguments: ["", "/abs", "a//b", "a/../b", "./a", "a/.", "a/"])
    func pathsThatWouldEscapeOrAreNotDirectoriesAreRefused(_ path: String) throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v2(root)
        let d = try V2Driver(setup: try CgroupSetup.detect(root: root))
        #expect {
            try d.create(path)
        } throws: { error in
            if case .invalidPath = error as? CgroupError { return true }
            return false
        }
        #expect(!Sys.exists(root + "/a"))
    }

    @Test func aComponentOver255BytesIsRefusedUnlessShortened() throws {
        let root = try F.makeRoot()
        defer { F.remove(root) }
        try F.v1(root)
        let d = try V1Driver(setup: try CgroupSetup.detect(root: root))
        let long = String(repeating: "n", count: 300)
        #expect(throws: CgroupError.self) { try d.create("podrec/" + long) }
        try d.create("podrec/" + CgroupNames.component(long))
        #expect(d.exists("podrec/" + CgroupNames.component(long)))
    }
}
