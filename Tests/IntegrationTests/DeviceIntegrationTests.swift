import Cgroups
import Glibc
import Kernel
import KernelTestSupport
import Spawn
import Testing
import PodModel

extension Integration {
    /// The device allowlist on the real kernel, by its effect: a process in the restricted
    /// cgroup opens (and mknods) device nodes and reports what the kernel said. Here (cgroup
    /// v1) the driver writes devices.deny and devices.allow; in ../shared/tools/cgroup2-vm
    /// (cgroup v2) it attaches a BPF_PROG_TYPE_CGROUP_DEVICE program. The same tests, the
    /// same expectations: the check is at open(2) and mknod(2), and a refusal is EPERM.
    ///
    /// /dev/kmsg (c 1:11) stands for a device the list leaves out: it exists on the host
    /// and in the guest, and root may read it, so EPERM can only come from the cgroup, which
    /// a process in an unrestricted sibling cgroup proves each time.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct DeviceIntegrationTests {
        @Test func theDefaultAllowlistOpensDevNullAndRefusesKmsg() throws {
            try HostTool.require("/usr/bin/python3", package: "python3")  // bed.probe
            try DeviceBed.run("devices") { bed in
                let restricted = try bed.cgroup("app", allow: DeviceRule.containerDefault)
                let open = try bed.cgroup("open", allow: nil)
                let node = bed.dir + "/kmsg"
                let probes = ["r:/dev/null", "w:/dev/null", "rw:/dev/zero", "r:/dev/urandom", "rw:/dev/full",
                              "r:/dev/kmsg", "mknod:\(node),1,11", "r:\(node)"]
                let inside = try bed.probe(probes, in: restricted)
                #expect(inside == [
                    "r:/dev/null": "ok", "w:/dev/null": "ok", "rw:/dev/zero": "ok", "r:/dev/urandom": "ok", "rw:/dev/full": "ok",
                    // Not in the list: refused at open, whatever the file's mode says.
                    "r:/dev/kmsg": "EPERM",
                    // `c *:* m` lets any char node be made; opening it is another check.
                    "mknod:\(node),1,11": "ok", "r:\(node)": "EPERM",
                ])
                try Sys.unlink(node)

                let outside = try bed.probe(["r:/dev/kmsg", "mknod:\(node),1,11", "r:\(node)"], in: open)
                #expect(outside == ["r:/dev/kmsg": "ok", "mknod:\(node),1,11": "ok", "r:\(node)": "ok"], "unrestricted sibling")
                try Sys.unlink(node)
            }
        }

        @Test func aRuleAllowsOnlyTheAccessItNames() throws {
            try HostTool.require("/usr/bin/python3", package: "python3")  // bed.probe
            try DeviceBed.run("devaccess") { bed in
                let app = try bed.cgroup("app", allow: [DeviceRule(.char, 1, 3, "r"), DeviceRule(.char, 1, 5, "rw")])
                let node = bed.dir + "/null"
                let seen = try bed.probe(["r:/dev/null", "w:/dev/null", "rw:/dev/null", "rw:/dev/zero", "r:/dev/full",
                                          "mknod:\(node),1,3"], in: app)
                #expect(seen == [
                    "r:/dev/null": "ok",
                    "w:/dev/null": "EPERM",
                    // O_RDWR asks for read and write in one check: both must be allowed.
                    "rw:/dev/null": "EPERM",
                    "rw:/dev/zero": "ok",
                    "r:/dev/full": "EPERM",
                    // No rule grants m.
                    "mknod:\(node),1,3": "EPERM",
                ])
            }
        }

        @Test func aFailedAttachNamesTheStepAndTheDirectory() throws {
            try DeviceBed.run("devfail") { bed in
                // Not a cgroup2 directory (a plain one here and in the guest): the program
                // loads, and the attach finds no cgroup behind the fd.
                let rules = [DeviceFilterRule(.char, major: 1, minor: 3, access: .all)]
                do throws(KernelError) {
                    try Sys.attachDeviceFilter(cgroupDirectory: bed.dir, rules: rules)
                    Issue.record("attached a device filter to \(bed.dir)")
                } catch {
                    #expect(error.operation == "bpf BPF_PROG_ATTACH")
                    #expect(error.errno.rawValue == EBADF)
                    #expect(error.description == "bpf BPF_PROG_ATTACH \(bed.dir) \"BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI\": EBADF (Bad file descriptor)")
                }
                // A rule the program cannot hold is refused before any bpf call.
                do throws(KernelError) {
                    try Sys.attachDeviceFilter(cgroupDirectory: bed.dir, rules: [DeviceFilterRule(.char, major: 1 << 40, minor: nil, access: .read)])
                    Issue.record("attached a device filter with major 1<<40")
                } catch {
                    #expect(error.operation == "bpf BPF_PROG_LOAD")
                    #expect(error.errno.rawValue == EINVAL)
                    #expect(error.argument == "rule 0: major or minor \(1 << 40) out of range")
                }
                // The driver checks DeviceRule's access letters itself.
                let path = try bed.cgroup("app", allow: nil)
                let bad = [DeviceRule(.char, 1, 3, "rx")]
                let refused = { () -> CgroupError? in do throws(CgroupError) { try bed.driver.restrictDevices(path, allow: bad); return nil } catch { return error } }()
                if bed.driver.setup.mode == .unified {
                    #expect(refused == .invalidValue("device access \"rx\" in \"c 1:3 rx\": only r, w and m"))
                } else {
                    // v1 hands the text to the kernel, which says EINVAL.
                    guard case .kernel(let e)? = refused else { Issue.record("v1: \(String(describing: refused))"); return }
                    #expect(e.errno.rawValue == EINVAL)
                }
            }
        }
    }
}

/// One test's cgroups (below a unique parent, made with the host's driver), its temp dir
/// and its processes, through a `SpawnLab`, which checks at the end that none is left.
final class DeviceBed {
    let lab: SpawnLab
    let driver: any CgroupDriver
    let parent: String
    let dir: String

    var mode: String { driver.setup.mode.rawValue }

    private init(lab: SpawnLab, driver: any CgroupDriver, parent: String, dir: String) {
        self.lab = lab
        self.driver = driver
        self.parent = parent
        self.dir = dir
    }

    static func run(_ label: String, _ body: (DeviceBed) throws -> Void) throws {
        // Under PODREC_REQUIRE_PRIVILEGED=1 (the VM) this fails instead of skipping.
        try #require(Privilege.isRoot, "device tests need root")
        let lab = try SpawnLab()
        defer { lab.finish() }
        let bed = DeviceBed(lab: lab, driver: try Cgroups.driver(), parent: lab.cgroupName(label), dir: try lab.tempDir())
        // Runs before lab.finish(), which then finds no cgroup of this name left anywhere.
        defer { do { try bed.driver.remove(bed.parent) } catch { Issue.record("removing \(bed.parent): \(error)") } }
        try body(bed)
    }

    /// Creates `parent/name`; with `allow`, restricts its devices as the pod launcher does.
    func cgroup(_ name: String, allow rules: [DeviceRule]?) throws -> String {
        let path = parent + "/" + name
        try driver.create(path)
        if let rules { try driver.restrictDevices(path, allow: rules) }
        return path
    }

    /// Runs a process born in `path` (v1: it writes its `tasks` files first; v2: clone3
    /// CLONE_INTO_CGROUP) that tries each probe and reports, per probe, "ok" or the errno's
    /// name. A probe is `r:PATH`, `w:PATH` or `rw:PATH` (open with O_RDONLY, O_WRONLY or
    /// O_RDWR), or `mknod:PATH,MAJOR,MINOR` (a char node).
    func probe(_ probes: [String], in path: String) throws -> [String: String] {
        let script = """
            import errno, os, stat, sys
            flags = {"r": os.O_RDONLY, "w": os.O_WRONLY, "rw": os.O_RDWR}
            for probe in sys.argv[1:]:
                kind, _, arg = probe.partition(":")
                try:
                    if kind == "mknod":
                        node, major, minor = arg.split(",")
                        os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(int(major), int(minor)))
                    else:
                        os.close(os.open(arg, flags[kind]))
                    print(probe, "ok")
                except OSError as e:
                    print(probe, errno.errorcode.get(e.errno, str(e.errno)))
            """
        var request = SpawnRequest(["/usr/bin/python3", "-S", "-c", script] + probes)
        let cgroupFDs = try request.joinCgroup(path, of: driver)
        defer { for fd in cgroupFDs { Sys.close(fd) } }
        let run = try lab.run(request)
        #expect(run.status == .exited(0), "probe output: \(run.output)")
        var seen: [String: String] = [:]
        for line in run.output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { seen[String(parts[0])] = String(parts[1]) }
        }
        print("devices \(path) (\(mode)): " + probes.map { "\($0) \(seen[$0] ?? "?")" }.joined(separator: ", "))
        return seen
    }
}
