import ContainerRuntime
import Spawn
import Testing
import PodModel

/// The root filesystem plan, step by step: pure, no kernel.
struct ContainerRootfsTests {
    static let r = "/run/podrec/pods/p/roots/c"
    static let nosuidNodevNoexec: UInt = 2 | 4 | 8  // MS_NOSUID | MS_NODEV | MS_NOEXEC

    /// The steps of `/proc`, `/dev`, `/sys` and `/tmp` that every root shares.
    static func layout(shm: MountStep = .mount(source: "shm", target: r + "/dev/shm", fstype: "tmpfs",
                                               flags: nosuidNodevNoexec, data: "mode=1777,size=67108864")) -> [MountStep] {
        var steps: [MountStep] = [.directory(r + "/proc", mode: 0o555), .proc(at: r + "/proc"),
                                  .directory(r + "/dev", mode: 0o755), .tmpfs(at: r + "/dev", size: 65536, mode: 0o755)]
        for name in ["null", "zero", "full", "random", "urandom", "tty"] {
            steps += [.file(r + "/dev/" + name, mode: 0o666), .bind(from: "/dev/" + name, to: r + "/dev/" + name, recursive: false, readOnly: false)]
        }
        steps += [.symlink(r + "/dev/fd", target: "/proc/self/fd"), .symlink(r + "/dev/stdin", target: "/proc/self/fd/0"),
                  .symlink(r + "/dev/stdout", target: "/proc/self/fd/1"), .symlink(r + "/dev/stderr", target: "/proc/self/fd/2"),
                  .symlink(r + "/dev/ptmx", target: "pts/ptmx"), .directory(r + "/dev/pts", mode: 0o755),
                  .mount(source: "devpts", target: r + "/dev/pts", fstype: "devpts", flags: 2 | 8,
                         data: "newinstance,ptmxmode=0666,mode=0620,gid=5"),
                  .directory(r + "/dev/shm", mode: 0o1777), shm,
                  .directory(r + "/sys", mode: 0o555),
                  .mount(source: "sysfs", target: r + "/sys", fstype: "sysfs", flags: 1 | nosuidNodevNoexec, data: nil)]
        steps += masks
        steps += [.directory(r + "/tmp", mode: 0o1777), .tmpfs(at: r + "/tmp", size: nil, mode: 0o1777)]
        return steps
    }

    /// containerd's masked and read-only kernel paths, each only where the kernel has it.
    static let masks: [MountStep] = [
        "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    ].map { .ifPresent(.bind(from: "/dev/null", to: r + $0, recursive: false, readOnly: false)) }
        + ["/proc/acpi", "/proc/asound", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"].map {
            .ifPresent(.mount(source: "tmpfs", target: r + $0, fstype: "tmpfs", flags: 1 | nosuidNodevNoexec, data: "size=0"))
        }
        + ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"].map {
            .ifPresent(.bind(from: r + $0, to: r + $0, recursive: true, readOnly: true))
        }

    @Test func aPrivilegedContainerKeepsTheKernelPathsUnmasked() throws {
        var request = RootfsRequest(root: .host, scratch: Self.r, hostEntries: [:])
        request.maskKernelPaths = false
        let plan = try ContainerRootfs.mounts(request)
        #expect(!plan.mounts.contains { if case .ifPresent = $0 { true } else { false } })
    }

    @Test func theHostRootStepByStep() throws {
        let hostEntries: [String: HostEntry] = ["usr": .directory, "etc": .directory, "opt": .directory,
                                                "bin": .symlink(target: "usr/bin"), "lib": .symlink(target: "usr/lib"),
                                                "lib64": .symlink(target: "usr/lib64"), "sbin": .symlink(target: "usr/sbin")]
        let plan = try ContainerRootfs.mounts(RootfsRequest(root: .host, scratch: Self.r + "/", hostEntries: hostEntries))
        #expect(plan.rootfs == Self.r)
        let r = Self.r
        var expected: [MountStep] = [
            .makePrivate("/"),
            .tmpfs(at: r, size: 64 << 20, mode: 0o755),
            .directory(r + "/usr", mode: 0o755), .bind(from: "/usr", to: r + "/usr", recursive: true, readOnly: true),
            .symlink(r + "/bin", target: "usr/bin"),
            .symlink(r + "/sbin", target: "usr/sbin"),
            .symlink(r + "/lib", target: "usr/lib"),
            .symlink(r + "/lib64", target: "usr/lib64"),
            .directory(r + "/etc", mode: 0o755), .bind(from: "/etc", to: r + "/etc", recursive: true, readOnly: true),
            .directory(r + "/opt", mode: 0o755), .bind(from: "/opt", to: r + "/opt", recursive: true, readOnly: true),
        ]
        expected += Self.layout()
        for dir in ["/var", "/run", "/home"] {
            expected += [.directory(r + dir, mode: 0o755), .tmpfs(at: r + dir, size: nil, mode: 0o755)]
        }
        #expect(plan.mounts.count == expected.count)
        for (i, (got, want)) in zip(plan.mounts, expected).enumerated() {
            #expect(got == want, "step \(i)")
        }
    }

    @Test func theRulesEveryHostPlanFollows() throws {
        let plan = try ContainerRootfs.mounts(RootfsRequest(root: .host, scratch: Self.r, volumes: [VolumeMount(source: "/srv/d", target: "/data")],
                                                        hostEntries: ["usr": .directory, "lib": .directory]))
        #expect(plan.mounts.first == .makePrivate("/"))
        // Nothing is bound from the host but the allowlist, /dev's nodes, /sys and the volume,
        // and every host dir is bound read-only and recursively.
        var sources: [String] = []
        for var step in plan.mounts {
            if case .ifPresent(let inner) = step { step = inner }
            if case .bind(let from, _, let recursive, let readOnly) = step {
                sources.append(from)
                if ["/usr", "/lib"].contains(from) { #expect(recursive && readOnly, "\(step)") }
            }
            // Every mount point, dir, file and symlink is inside the new root.
            switch step {
            case .makePrivate: break
            case .directory(let p, _), .file(let p, _), .symlink(let p, _), .tmpfs(let p, _, _), .proc(let p), .readOnly(let p), .idmap(_, let p, _, _):
                #expect(p == Self.r || p.hasPrefix(Self.r + "/"), "\(step)")
            case .bind(_, let to, _, _), .bindBeneath(_, _, let to, _): #expect(to.hasPrefix(Self.r + "/"), "\(step)")
            case .mount(_, let target, _, _, _): #expect(target.hasPrefix(Self.r + "/"), "\(step)")
            case .ifPresent: Issue.record("nested ifPresent: \(step)")
            }
        }
        // The masks bind /dev/null, and the read-only kernel paths onto themselves.
        let masks = ContainerRootfs.maskedFiles.map { _ in "/dev/null" } + ContainerRootfs.readOnlyKernelPaths.map { Self.r + $0 }
        #expect(sources == ["/usr", "/lib", "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"] + masks + ["/srv/d"])
        #expect(!sources.contains("/root") && !sources.contains("/run/podrec"))
        #expect(plan.mounts.last == .bind(from: "/srv/d", to: Self.r + "/data", recursive: true, readOnly: false))
    }

    @Test func anImageIsAnOverlayWithTheSameLayoutButNoHostDirs() throws {
        let request = RootfsRequest(root: .image(rootfs: "/var/lib/podrec/images/busybox/rootfs", upper: "/run/podrec/c/upper/",
                                                 work: "/run/podrec/c/work"),
                                    scratch: Self.r, hostEntries: ["usr": .directory])
        let plan = try ContainerRootfs.mounts(request)
        let overlay = MountStep.mount(source: "overlay", target: Self.r, fstype: "overlay", flags: 0,
                                      data: "lowerdir=/var/lib/podrec/images/busybox/rootfs,upperdir=/run/podrec/c/upper,workdir=/run/podrec/c/work")
        #expect(plan.mounts == [.makePrivate("/"), overlay] + Self.layout())
        #expect(plan.rootfs == Self.r)
    }

    /// Several layers: lowerdir lists them top first; a stack over mount(2)'s page is refused.
    @Test func layersAreStackedTopFirst() throws {
        let plan = try ContainerRootfs.mounts(RootfsRequest(root: .image(layers: ["/l/3/", "/l/2", "/l/1"], upper: "/u", work: "/w"), scratch: Self.r))
        #expect(plan.mounts[1] == .mount(source: "overlay", target: Self.r, fstype: "overlay", flags: 0,
                                         data: "lowerdir=/l/3:/l/2:/l/1,upperdir=/u,workdir=/w"))
        let deep = (0..<60).map { "/var/lib/podrec/images/layers/sha256/\(String(repeating: "a", count: 63))\($0 % 10)/rootfs" }
        #expect(throws: RootfsError(what: "image layers", path: "60 layers", reason: .overlayOptionsTooLong)) {
            try ContainerRootfs.mounts(RootfsRequest(root: .image(layers: deep, upper: "/u", work: "/w"), scratch: Self.r))
        }
    }

    @Test func aCommaOrColonInAnOverlayPathIsRefused() {
        #expect(throws: RootfsError(what: "upper dir", path: "/a,b", reason: .overlayOptionCharacter)) {
            try ContainerRootfs.mounts(RootfsRequest(root: .image(rootfs: "/i", upper: "/a,b", work: "/w"), scratch: Self.r))
        }
        #expect(throws: RootfsError(what: "image layer", path: "/i:j", reason: .overlayOptionCharacter)) {
            try ContainerRootfs.mounts(RootfsRequest(root: .image(rootfs: "/i:j", upper: "/u", work: "/w"), scratch: Self.r))
        }
    }

    @Test func thePodsShmIsBoundAndHostNetworkBindsTheHostsSys() throws {
        let plan = try ContainerRootfs.mounts(RootfsRequest(root: .host, scratch: Self.r, sharedShm: "/run/podrec/pods/p/shm",
                                                        ownNetworkNamespace: false))
        #expect(plan.mounts.contains(.bind(from: "/run/podrec/pods/p/shm", to: Self.r + "/dev/shm", recursive: false, readOnly: false)))
        #expect(!plan.mounts.contains { if case .mount(_, _, "tmpfs", _, _) = $0 { return true } else { return false } })
        #expect(plan.mounts.contains(.bind(from: "/sys", to: Self.r + "/sys", recursive: true, readOnly: true)))
        #expect(!plan.mounts.contains { if case .mount(_, _, "sysfs", _, _) = $0 { return true } else { return false } })
    }

    @Test func volumesComeLastShallowFirstWithTheirParentsMadeInsideTheRoot() throws {
        let volumes = [
            VolumeMount(source: "/v/cache", target: "/data/cache"),
            VolumeMount(source: "/v/data", target: "/data/", readOnly: true),
            VolumeMount(source: "/v/conf/app.yaml", target: "/etc/app/./app.yaml", readOnly: true, kind: .file),
            VolumeMount(source: "/v/logs", target: "/logs"),
        ]
        let plan = try ContainerRootfs.mounts(RootfsRequest(root: .image(rootfs: "/i", upper: "/u", work: "/w"), scratch: Self.r, volumes: volumes))
        let r = Self.r
        let tail: [MountStep] = [
            .directory(r + "/data"), .bind(from: "/v/data", to: r + "/data", recursive: true, readOnly: true),
            .directory(r + "/logs"), .bind(from: "/v/logs", to: r + "/logs", recursive: true, readOnly: false),
            .directory(r + "/data/cache"), .bind(from: "/v/cache", to: r + "/data/cache", recursive: true, readOnly: false),
            .directory(r + "/etc"), .directory(r + "/etc/app"), .file(r + "/etc/app/app.yaml"),
            .bind(from: "/v/conf/app.yaml", to: r + "/etc/app/app.yaml", recursive: true, readOnly: true),
        ]
        #expect(Array(plan.mounts.suffix(tail.count)) == tail)
        #expect(plan.mounts.count == 2 + Self.layout().count + tail.count)
    }

    /// A subPath is bound by the path below its volume, which the shim opens again at each
    /// start without following symlinks: the container may have rewritten it since.
    @Test func aSubPathIsBoundFromBeneathItsVolume() throws {
        let volumes = [
            VolumeMount(source: "/v/data/a/b", target: "/sub", readOnly: true, beneath: "/v/data/"),
            VolumeMount(source: "/v/data/f.txt", target: "/f.txt", kind: .file, beneath: "/v/data"),
        ]
        let plan = try ContainerRootfs.mounts(RootfsRequest(root: .host, scratch: Self.r, volumes: volumes))
        let r = Self.r
        #expect(Array(plan.mounts.suffix(4)) == [
            .directory(r + "/sub"), .bindBeneath(volume: "/v/data", path: "a/b", to: r + "/sub", readOnly: true),
            .file(r + "/f.txt"), .bindBeneath(volume: "/v/data", path: "f.txt", to: r + "/f.txt", readOnly: false),
        ])
        for source in ["/v/database", "/v/data", "/w/data/x"] {
            #expect(throws: RootfsError(what: "volume 0 source", path: source, reason: .outsideVolume("/v/data"))) {
                try ContainerRootfs.mounts(RootfsRequest(root: .host, scratch: Self.r,
                                                     volumes: [VolumeMount(source: source, target: "/x", beneath: "/v/data")]))
            }
        }
    }

    @Test(arguments: [
        ("/data/../../root", RootfsError.Reason.parentComponent),
        ("/..", .parentComponent),
        ("data", .notAbsolute),
        ("", .notAbsolute),
        ("/", .isRoot),
        ("//./", .isRoot),
    ])
    func anUnsafeVolumeTargetIsRefused(target: String, reason: RootfsError.Reason) {
        let volumes = [VolumeMount(source: "/v/ok", target: "/ok"), VolumeMount(source: "/v/x", target: target)]
        #expect(throws: RootfsError(what: "volume 1 target", path: target, reason: reason)) {
            try ContainerRootfs.mounts(RootfsRequest(root: .host, scratch: Self.r, volumes: volumes))
        }
    }

    @Test func unsafeHostPathsAreRefused() {
        #expect(throws: RootfsError(what: "volume 0 source", path: "/v/../etc", reason: .parentComponent)) {
            try ContainerRootfs.mounts(RootfsRequest(root: .host, scratch: Self.r, volumes: [VolumeMount(source: "/v/../etc", target: "/x")]))
        }
        #expect(throws: RootfsError(what: "scratch dir", path: "roots/c", reason: .notAbsolute)) {
            try ContainerRootfs.mounts(RootfsRequest(root: .host, scratch: "roots/c"))
        }
        #expect(throws: RootfsError(what: "scratch dir", path: "/", reason: .isRoot)) {
            try ContainerRootfs.mounts(RootfsRequest(root: .host, scratch: "/"))
        }
        let error = RootfsError(what: "volume 1 target", path: "/a/../b", reason: .parentComponent)
        #expect(error.description == #"volume 1 target "/a/../b": a '..' component is not allowed"#)
    }
}
