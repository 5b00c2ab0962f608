import ImageModel
import Glibc
import Images
import Kernel
import KernelTestSupport
import ContainerRuntime
import HostSetup
import Spawn
import Testing
import PodModel

extension Integration {
    /// `ContainerRootfs`'s plans on the real kernel: a container pivoted into its planned root
    /// sees the allowlist read-only, its own /tmp, /proc, /dev and /sys, its volumes, and
    /// nothing else of the host; an image container writes to its upper dir only.
    ///
    /// The mounts live in the child's own mount namespace: each `SpawnLab` checks afterwards
    /// that none appeared in ours, and each test checks that no mount point was made on the
    /// host (the scratch dir is still empty).
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct RootfsIntegrationTests {
        /// A podrec-like layout in a temp dir: a state dir with another pod's secret volume,
        /// this container's scratch dir, and two volume sources.
        struct Layout {
            var tmp: String
            var scratch: String { tmp + "/state/pods/p/roots/c" }
            var otherPodsVolume: String { tmp + "/state/pods/other/volumes/secret" }
            var volumeRW: String { tmp + "/data/rw" }
            var volumeRO: String { tmp + "/data/ro" }

            init(_ lab: SpawnLab) throws {
                tmp = try lab.tempDir()
                for dir in [scratch, otherPodsVolume, volumeRW, volumeRO] { try Sys.mkdirs(dir, mode: 0o755) }
                try Sys.writeFileAtomically(otherPodsVolume + "/token", Array("s3cret\n".utf8), mode: 0o644)
                try Sys.writeFileAtomically(volumeRO + "/conf", Array("from-the-host\n".utf8), mode: 0o644)
            }
        }

        @Test func aHostRootWithItsOwnPIDNamespaceSeesTheAllowlistItsVolumesAndNothingElse() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            let layout = try Layout(lab)
            let hostEntries = HostSystemDirectories.probe()
            #expect(hostEntries["usr"] == .directory)
            let plan = try ContainerRootfs.mounts(RootfsRequest(
                root: .host, scratch: layout.scratch,
                volumes: [VolumeMount(source: layout.volumeRW, target: "/data"),
                          VolumeMount(source: layout.volumeRO, target: "/config/app", readOnly: true)],
                hostEntries: hostEntries))
            var request = SpawnRequest(["/bin/sh", "-c", """
                ls -A / | tr '\\n' ' '; echo
                test -x /usr/bin/env && echo env-exists
                touch /usr/podrec-x 2>&1
                touch /tmp/x && echo tmp-writable
                test -e /root && echo root-visible: $(ls -A /root) || echo no-root
                test -e \(layout.otherPodsVolume) && echo state-visible || echo no-state
                grep -rs s3cret /tmp /var /run /home /data /config || echo no-secret
                echo written > /data/f && cat /data/f
                touch /config/app/f 2>&1; cat /config/app/conf
                echo "pid $$ init $(cat /proc/1/comm)"
                echo discarded > /dev/null && echo "zero $(head -c 5 /dev/zero | wc -c) fd $(readlink /dev/fd)"
                awk '$5 == "/sys" { for (i = 7; $i != "-"; i++) {}; print $6, $(i + 1) }' /proc/self/mountinfo
                # Mount point and fs type, in mount order.
                awk '{ for (i = 7; $i != "-"; i++) {}; if ($5 == "/" || $5 == "/tmp" || $5 == "/data") printf "%s %s ", $5, $(i + 1) }' /proc/self/mountinfo; echo
                """])
            request.newPIDNamespace = true
            request.unshare = [.mount, .network]
            request.mounts = plan.mounts
            request.rootfs = plan.rootfs
            let run = try lab.run(request)

            var top = HostSystemDirectories.allowlist.filter { hostEntries[$0] != nil }
            top += ["proc", "dev", "sys", "tmp", "var", "run", "home", "data", "config"]
            let lines = run.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let expected = [
                top.sorted().joined(separator: " ") + " ",
                "env-exists",
                "touch: cannot touch '/usr/podrec-x': Read-only file system",
                "tmp-writable",
                "no-root",
                "no-state",
                "no-secret",
                "written",
                "touch: cannot touch '/config/app/f': Read-only file system",
                "from-the-host",
                "pid 1 init sh",
                "zero 5 fd /proc/self/fd",
                "ro,nosuid,nodev,noexec,relatime sysfs",
                "/ tmpfs /tmp tmpfs /data \(fsType(layout.volumeRW)) ",
                "",
            ]
            #expect(lines == expected, "\(run)")
            #expect(run.status == .exited(0))
            // The volume was the host dir; nothing was made on the host for the mounts.
            #expect(try Sys.readString(layout.volumeRW + "/f") == "written\n")
            #expect(try Sys.listDirectory(layout.scratch) == [])
        }

        /// A mount point below a read-only host dir cannot be made (it would be made on the
        /// host): the spawn fails at that volume's mkdir with EROFS, and the host is untouched.
        @Test func aVolumeBelowAReadOnlyHostDirThatLacksItsMountPointFailsWithEROFS() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            let layout = try Layout(lab)
            let missing = "/etc/podrec-test-\(getpid())-missing"
            try #require(!Sys.exists(missing))
            let plan = try ContainerRootfs.mounts(RootfsRequest(root: .host, scratch: layout.scratch,
                                                            volumes: [VolumeMount(source: layout.volumeRW, target: missing + "/app")],
                                                            hostEntries: HostSystemDirectories.probe()))
            var request = SpawnRequest(["/bin/true"])
            request.newPIDNamespace = true
            request.unshare = [.mount, .network]
            request.mounts = plan.mounts
            request.rootfs = plan.rootfs
            do {
                let child = try lab.spawn(request)
                Issue.record("spawned \(child.pid)")
                _ = lab.reap(child.pid)
            } catch let error as SpawnError {
                #expect(error.stage == .mount)
                #expect(error.errno.rawValue == EROFS)
                #expect(error.description == "mkdir \(missing): EROFS (Read-only file system)")
                #expect(plan.mounts[error.index ?? 0] == .directory(layout.scratch + missing))
            }
            #expect(!Sys.exists(missing))
            #expect(try Sys.listDirectory(layout.scratch) == [])
        }

        @Test func aHostRootInTheHostsPIDAndNetworkNamespacesGetsAFreshProcAndTheHostsSysReadOnly() throws {
            let lab = try SpawnLab()
            defer { lab.finish() }
            let layout = try Layout(lab)
            let plan = try ContainerRootfs.mounts(RootfsRequest(root: .host, scratch: layout.scratch, ownNetworkNamespace: false,
                                                            hostEntries: HostSystemDirectories.probe()))
            var request = SpawnRequest(["/bin/sh", "-c", """
                test "$$" != 1 && test -d /proc/$$ && test -r /proc/1/cmdline && echo host-pids
                touch /sys/kernel/podrec-x 2>&1 | sed 's/:.*: /: /'
                awk '$5 == "/sys" { print $6 }' /proc/self/mountinfo | cut -d, -f1
                ls /dev | tr '\\n' ' '; echo
                """])
            request.unshare = [.mount]
            request.mounts = plan.mounts
            request.rootfs = plan.rootfs
            let run = try lab.run(request)
            #expect(run == SpawnRun(output: """
                host-pids
                touch: Read-only file system
                ro
                fd full null ptmx pts random shm stderr stdin stdout tty urandom zero \n
                """, status: .exited(0)))
            #expect(try Sys.listDirectory(layout.scratch) == [])
        }

        @Test func anImageRootWritesToItsUpperDirAndNeverToTheImage() throws {
            try HostTool.require("/bin/busybox", package: "busybox-static")
            let lab = try SpawnLab()
            defer { lab.finish() }
            let tmp = try lab.tempDir()
            // A one-binary image: bin/busybox and bin/sh -> busybox.
            let source = tmp + "/source"
            try Sys.mkdirs(source + "/bin", mode: 0o755)
            try Sys.writeFileAtomically(source + "/bin/busybox", try Sys.readFile("/bin/busybox"), mode: 0o755)
            try Sys.symlink("busybox", source + "/bin/sh")
            let image = try ImageStore(dataRoot: tmp + "/data").importImage(try ImageReference(parsing: "podrec-test/busybox"),
                                                                            from: .path(source))
            // overlayfs takes no upper dir on an overlayfs (the VM's /, so its /tmp): the
            // container's upper and work dirs go on a tmpfs, /dev/shm, on both hosts.
            let rw = try makeTemporaryDirectory("podrec-rootfs", under: "/dev/shm")
            defer { try? Sys.removeTree(rw) }
            let upper = rw + "/upper", work = rw + "/work", scratch = tmp + "/root"
            for dir in [upper, work, scratch] { try Sys.mkdirs(dir, mode: 0o755) }
            let plan = try ContainerRootfs.mounts(RootfsRequest(root: .image(rootfs: image.rootfs, upper: upper, work: work), scratch: scratch))

            var request = SpawnRequest(["/bin/sh", "-c", """
                echo hi > /x; /bin/busybox cat /x; /bin/busybox ls /
                /bin/busybox touch /tmp/t && echo tmp-writable
                echo "pid $$"
                """])
            request.newPIDNamespace = true
            request.unshare = [.mount, .network]
            request.mounts = plan.mounts
            request.rootfs = plan.rootfs
            let run = try lab.run(request)
            #expect(run == SpawnRun(output: "hi\nbin\ndev\nproc\nsys\ntmp\nx\ntmp-writable\npid 1\n", status: .exited(0)))
            // The write is in the container's upper dir, with the mount points it made; the
            // image is as imported.
            #expect(try Sys.readString(upper + "/x") == "hi\n")
            #expect(try Sys.listDirectory(upper).sorted() == ["dev", "proc", "sys", "tmp", "x"])
            #expect(try Sys.listDirectory(image.rootfs).sorted() == ["bin"])
            #expect(try Sys.listDirectory(image.rootfs + "/bin").sorted() == ["busybox", "sh"])
            #expect(try Sys.listDirectory(scratch) == [])
        }

        /// A three-layer OCI image (Tests/Fixtures/images/make_image.py: busybox in the base,
        /// a whiteout of /etc/a and an opaque /dir in the second, /srv/top in the third),
        /// imported and stacked: the container sees the merged tree, overlayfs's way.
        @Test func aLayeredImageShowsItsWhiteoutsAndOpaqueDirs() throws {
            try HostTool.require("/bin/busybox", package: "busybox-static")
            try HostTool.require("/usr/bin/python3", package: "python3")
            let lab = try SpawnLab()
            defer { lab.finish() }
            let tmp = try lab.tempDir()
            let script = String(#filePath.dropLast("Tests/IntegrationTests/RootfsIntegrationTests.swift".count)) + "Tests/Fixtures/images/make_image.py"
            let made = system("/usr/bin/python3 '\(script)' oci-archive '\(tmp)/oci.tar' --busybox /bin/busybox >/dev/null")
            try #require(made == 0)
            // The store on tmpfs: the cgroup v2 VM's /tmp is overlayfs, which cannot hold the
            // layers' own whiteouts (import says so; README's images section too).
            let dataRoot = try makeTemporaryDirectory("podrec-images", under: "/dev/shm")
            defer { try? Sys.removeTree(dataRoot) }
            let image = try ImageStore(dataRoot: dataRoot).importImages(nil, from: .path(tmp + "/oci.tar"))[0]
            try #require(image.layerDirectories.count == 3)
            let rw = try makeTemporaryDirectory("podrec-rootfs", under: "/dev/shm")
            defer { try? Sys.removeTree(rw) }
            let upper = rw + "/upper", work = rw + "/work", scratch = tmp + "/root"
            for dir in [upper, work, scratch] { try Sys.mkdirs(dir, mode: 0o755) }
            let plan = try ContainerRootfs.mounts(RootfsRequest(root: .image(layers: image.layerDirectories.reversed(), upper: upper, work: work),
                                                                scratch: scratch))
            var request = SpawnRequest(["/bin/sh", "-c", """
                cat /etc/a 2>/dev/null || echo no-a
                cat /etc/b /etc/c /usr/b-hard /srv/top
                ls /dir
                ls -l /b-link | sed 's/.*-> //'
                rm /etc/b && test ! -e /etc/b && echo rm-ok
                """])
            request.newPIDNamespace = true
            request.unshare = [.mount, .network]
            request.mounts = plan.mounts
            request.rootfs = plan.rootfs
            let run = try lab.run(request)
            #expect(run == SpawnRun(output: "no-a\nb\nc\nb\ntop\nz\n/etc/b\nrm-ok\n", status: .exited(0)))
            // The removal is a whiteout in the container's upper dir; the layer is untouched.
            #expect(Sys.exists(image.layerDirectories[0] + "/etc/b"))
            #expect(try Sys.stat(upper + "/etc/b", followSymlinks: false).type == S_IFCHR)
            #expect(try ImageStore(dataRoot: dataRoot).check() == [])
        }
    }
}

/// The filesystem type name of `path` as mountinfo shows it, for the few this test meets.
private func fsType(_ path: String) -> String {
    let magic = (try? Sys.filesystemType(path)) ?? 0
    switch magic {
    case 0xEF53: return "ext4"
    case 0x0102_1994: return "tmpfs"
    case 0x794C_7630: return "overlay"
    case 0x5846_5342: return "xfs"
    case 0x9123_683E: return "btrfs"
    default: return "0x" + String(magic, radix: 16)
    }
}

