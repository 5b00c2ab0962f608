import Cgroups
import Glibc
import Kernel
import KernelTestSupport
import PodModel
import ContainerRuntime
import HostSetup
import Testing

/// One pod test's world: its own state, data and log roots under a temp dir, its own
/// cgroup parent, the built `podrec-supervisor`, and a leak check at the end. The test
/// runner becomes a child subreaper, so supervisors it starts (and their orphans) are its
/// to reap, never the host init's.
final class PodLab {
    let before: HostSnapshot
    let tmp: String
    let cgroupParent: String
    let driver: any CgroupDriver
    var launchers: [PodLauncher] = []

    /// The supervisor beside the test bundle (`swift build` puts both in the bin dir).
    static var supervisorExecutable: String {
        if let env = getenv("PODREC_SUPERVISOR") { return String(cString: env) }
        let exe = (try? Sys.readlink("/proc/self/exe")) ?? ""
        var dir = parentDirectory(exe)
        // The bundle is .../podrecPackageTests.xctest (a file on Linux) or a dir holding it.
        if dir.hasSuffix(".xctest") { dir = parentDirectory(dir) }
        return dir + "/podrec-supervisor"
    }

    init(_ label: String) throws {
        try Sys.setChildSubreaper()
        before = HostSnapshot.take()
        tmp = try makeTemporaryDirectory("podrec-pod-\(label)")
        try Sys.chmod(tmp, 0o755)
        cgroupParent = TestNames.cgroupParent(label)
        driver = try Cgroups.driver()
        try #require(Sys.exists(Self.supervisorExecutable), "build podrec-supervisor first (swift build)")
    }

    func layout(_ name: String, namespace: String = "default", uid: String? = nil) -> PodLayout {
        PodLayout(root: tmp + "/run", dataRoot: tmp + "/data", logRoot: tmp + "/log", cgroupParent: cgroupParent,
                  namespace: namespace, name: name, uid: uid ?? "uid-\(name)")
    }

    func launcher(_ layout: PodLayout) -> PodLauncher {
        let l = PodLauncher(layout: layout, supervisorExecutable: Self.supervisorExecutable, driver: driver)
        launchers.append(l)
        return l
    }

    /// A plan for `layout` with `containers` (image: host), cgroup paths filled in.
    func plan(_ layout: PodLayout, generation: Int = 1, grace: Int64 = 2, sharePID: Bool = false,
              _ containers: [ContainerLaunch]) -> LaunchPlan {
        let l = PodLauncher(layout: layout, supervisorExecutable: "", driver: driver)
        var plan = LaunchPlan(generation: generation, namespace: layout.namespace, name: layout.name, uid: layout.uid,
                              hostname: layout.name, shareProcessNamespace: sharePID, terminationGracePeriodSeconds: grace,
                              logDirectory: layout.logDirectory, scratchDirectory: layout.state.scratchDirectory,
                              cgroupMount: driver.setup.root, containers: containers)
        for i in plan.containers.indices { plan.containers[i].cgroup = l.containerCgroup(plan.containers[i].name) }
        return plan
    }

    /// A container running `script` under busybox sh, from the host's read-only /bin. A suite
    /// that uses it checks for busybox first: `HostTool.require("/bin/busybox", ...)`.
    static func shell(_ name: String, _ script: String, kind: ContainerKind = .main, restart: RestartPolicy = .always) -> ContainerLaunch {
        ContainerLaunch(name: name, kind: kind, specHash: "h-\(name)", restartPolicy: restart, executable: "/bin/busybox",
                        arguments: ["sh", "-c", script], environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], cgroup: "")
    }

    /// Waits until `path` contains `needle`; returns the file's text.
    func waitForText(_ path: String, _ needle: String, seconds: Double = 30) -> String {
        let deadline = MonotonicClock.now() + Int64(seconds * 1e9)
        var text = ""
        while MonotonicClock.now() < deadline {
            text = (try? Sys.readString(path)) ?? ""
            if text.contains(needle) { return text }
            MonotonicClock.sleep(nanoseconds: 20_000_000)
        }
        return text
    }

    /// The message parts of a CRI log, one per `F` line.
    static func logLines(_ text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            return parts.count == 4 ? String(parts[3]) : nil
        }
    }

    /// Stops every pod, removes state and temp dirs, and records any leak as an issue.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) {
        for l in launchers {
            do { try l.stop(graceMilliseconds: 5_000) } catch { Issue.record("stop: \(error)", sourceLocation: sourceLocation) }
            try? PodVolumes().teardown(layout: l.layout)
        }
        try? Sys.removeTree(tmp)
        // Let the last exits reach us, and the cgroup parent go once they have. Bounded by
        // time, not by a count of polls: under emulation (the cgroup v2 VM) on a busy host
        // an exit can take a second or more. A real leak stays, and is reported.
        var leaks: [String] = []
        let deadline = MonotonicClock.now() + 15_000_000_000
        repeat {
            _ = Sys.reapAll()
            if let parentDirs = try? driver.directories(cgroupParent) {
                for _ in parentDirs { _ = try? driver.remove(cgroupParent) }
            }
            leaks = HostSnapshot.take().leaks(since: before, cgroupNames: [cgroupParent], cgroupRoot: driver.setup.root)
            if leaks.isEmpty { break }
            MonotonicClock.sleep(nanoseconds: 20_000_000)
        } while MonotonicClock.now() < deadline
        for leak in leaks { Issue.record("leak: \(leak)", sourceLocation: sourceLocation) }
    }
}
