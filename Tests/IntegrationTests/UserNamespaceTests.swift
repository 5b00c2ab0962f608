import Glibc
import ImageModel
import Images
import Kernel
import KernelTestSupport
import PodModel
import Spawn
import Testing

extension Integration {
    /// `hostUsers: false`, end to end through the built `podrec`, on the real kernel: the
    /// pod's own range of host ids, what its files are owned by, and what its root cannot do
    /// to the host. Each denial has its control: the same action from a pod with the host's
    /// user namespace, which succeeds. The denials are tested on `privileged` containers
    /// (every capability, no seccomp filter, /proc/sys writable): what stops them is the user
    /// namespace alone.
    ///
    /// The actions are made by a tiny static C probe (Tests/Fixtures/userns/userns_probe.c,
    /// compiled here), mounted at /probe.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct UserNamespaceTests {
        typealias CLI = CLIPodTests.CLI

        static func probe(_ lab: PodLab) throws -> String {
            try SyscallProbe.build(lab, "userns/userns_probe.c", as: "userns_probe")
        }

        static func pod(_ name: String, hostUsers: Bool, privileged: Bool = false, volumes: [String] = [], mounts: [String] = [],
                        command: String = "exec sleep 3600", extra: String = "") -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name)}
            spec:
              terminationGracePeriodSeconds: 1
              hostUsers: \(hostUsers)
              volumes: [\(volumes.joined(separator: ", "))]
              containers:
              - name: app
                image: host
                command: [sh, -c, '\(command)']
                volumeMounts: [\(mounts.joined(separator: ", "))]
                securityContext: {privileged: \(privileged)}
            \(extra)
            """
        }

        static func apply(_ podrec: CLI, _ file: String, _ yaml: String, flags: [String] = [], env: [String] = []) throws -> CLIPodTests.Run {
            let path = try podrec.write(file, yaml)
            let argv = (env.isEmpty ? [] : ["/usr/bin/env"] + env) + [podrec.binary, "apply", "-f", path, "--wait"] + flags
            return try podrec.run(argv)
        }

        /// The pod's recorded range, `START\tCOUNT` as an `IDRange`.
        static func recorded(_ lab: PodLab, _ pod: String) throws -> IDRange? {
            let text = try Sys.readString("\(lab.tmp)/run/pods/default_\(pod)/record")
            return try PodRecord.decode(text).userNamespace
        }

        /// `/proc/PID/uid_map` of the container's main process, as its own namespace shows it
        /// (read through `podrec exec`, which enters that namespace): `0 START COUNT`.
        static func uidMap(_ podrec: CLI, _ pod: String) throws -> [String] {
            let run = try podrec("exec", pod, "--", "cat", "/proc/self/uid_map")
            try #require(run.status == 0, "\(run.output)")
            return run.output.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        }

        /// One line per action: `action ERRNO` or `action OK`.
        static func results(_ output: String) -> [String: String] { SyscallProbe.results(output) }

        /// The pod's range in its uid_map and gid_map, its root is that range's first id
        /// on the host (the main process's Uid line), a file it makes in an emptyDir is
        /// owned by that id on the host, the emptyDir itself is, and `podrec exec` enters
        /// the same namespace. runAsUser is an id inside: 1000 is the range's start + 1000.
        @Test func thePodGetsItsOwnRangeAndOwnsWhatItWrites() throws {
            let (lab, podrec) = try CLI.lab("userns-range")
            defer { podrec.finish() }
            // The readiness probe passes only in the pod's user namespace: exec probes enter it.
            let start = UserNamespaceRange.defaultStart
            let yaml = Self.pod("iso", hostUsers: false, volumes: ["{name: scratch, emptyDir: {}}"],
                                mounts: ["{name: scratch, mountPath: /data}"],
                                command: "touch /data/made-by-root; exec sleep 3600",
                                extra: "    readinessProbe: {exec: {command: [sh, -c, 'read a b c < /proc/self/uid_map; test \"$a $b $c\" = \"0 \(start) 65536\"']}, periodSeconds: 1}")
            let applied = try Self.apply(podrec, "iso.yaml", yaml)
            try #require(applied.status == 0, "\(applied.output)")
            let range = try #require(try Self.recorded(lab, "iso"))
            #expect(range == IDRange(start: start, count: 65536))
            #expect(try podrec.getRow("iso")?.dropFirst().first == "1/1", "Ready: the exec probe ran in the namespace")
            #expect(try Self.uidMap(podrec, "iso") == ["0", "\(range.start)", "65536"])
            let gid = try podrec("exec", "iso", "--", "cat", "/proc/self/gid_map")
            #expect(gid.output.split(whereSeparator: { $0 == " " || $0 == "\n" }) == ["0", "\(range.start)", "65536"], "\(gid.output)")

            let pid = try #require(try podrec.pid("iso", "app"))
            let status = try Sys.readString("/proc/\(pid)/status")
            #expect(status.contains("\nUid:\t\(range.start)\t\(range.start)\t\(range.start)\t\(range.start)\n"), "\(status)")

            let volume = try #require(try Sys.listDirectory("\(lab.tmp)/data/pods").first.map { "\(lab.tmp)/data/pods/\($0)/volumes/scratch" })
            try CLIWatchTests.waitFor("the container's file") { (try? Sys.stat(volume + "/made-by-root", followSymlinks: false)) != nil }
            let made = try Sys.stat(volume + "/made-by-root", followSymlinks: false)
            #expect(made.uid == range.start && made.gid == range.start)
            let dir = try Sys.stat(volume, followSymlinks: false)
            #expect(dir.uid == range.start, "the emptyDir is owned by the namespace's root")

            // An exec'd process as runAsUser-like id 1000 inside: id 1000 is start + 1000 outside.
            let asUser = try podrec("exec", "iso", "--", "sh", "-c", "id -u; setpriv --reuid=1000 --regid=1000 --clear-groups touch /data/by-1000 || echo no-setpriv")
            if !asUser.output.contains("no-setpriv") {
                let file = try Sys.stat(volume + "/by-1000", followSymlinks: false)
                #expect(file.uid == range.start + 1000, "\(asUser.output)")
            }
            #expect(asUser.output.hasPrefix("0\n"), "\(asUser.output)")
        }

        /// runAsUser, runAsGroup, fsGroup and supplementalGroups are ids inside the namespace.
        @Test func securityContextIdsAreInsideIds() throws {
            let (lab, podrec) = try CLI.lab("userns-ids")
            defer { podrec.finish() }
            let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: ids}
            spec:
              terminationGracePeriodSeconds: 1
              hostUsers: false
              securityContext: {runAsUser: 1000, runAsGroup: 2000, fsGroup: 3000, supplementalGroups: [4000]}
              volumes: [{name: scratch, emptyDir: {}}]
              containers:
              - name: app
                image: host
                command: [sh, -c, 'touch /data/f; exec sleep 3600']
                volumeMounts: [{name: scratch, mountPath: /data}]
            """
            let applied = try Self.apply(podrec, "ids.yaml", yaml)
            try #require(applied.status == 0, "\(applied.output)")
            let range = try #require(try Self.recorded(lab, "ids"))
            let pid = try #require(try podrec.pid("ids", "app"))
            let status = try Sys.readString("/proc/\(pid)/status")
            let s = range.start
            #expect(status.contains("\nUid:\t\(s + 1000)\t\(s + 1000)\t\(s + 1000)\t\(s + 1000)\n"), "\(status)")
            #expect(status.contains("\nGid:\t\(s + 2000)\t\(s + 2000)\t\(s + 2000)\t\(s + 2000)\n"), "\(status)")
            #expect(status.contains("\nGroups:\t\(s + 3000) \(s + 4000)"), "\(status)")
            let inside = try podrec("exec", "ids", "--", "id")
            #expect(inside.output.contains("uid=1000") && inside.output.contains("gid=2000") && inside.output.contains("3000")
                    && inside.output.contains("4000"), "\(inside.output)")
        }

        /// Escapes: even privileged, the namespace's root cannot read a host root's 0600 file
        /// through a hostPath, signal or ptrace a host root process (one that the test puts
        /// into the container's PID namespace, so that the container can name it), load a
        /// kernel module, or write a sysctl under /proc/sys. A privileged pod on the host's
        /// user namespace does each of them (the controls).
        @Test func theNamespaceRootCannotReachTheHost() throws {
            let (lab, podrec) = try CLI.lab("userns-escape")
            defer { podrec.finish() }
            let bin = try Self.probe(lab)
            let secretDir = lab.tmp + "/secret"
            try Sys.mkdirs(secretDir, mode: 0o755)
            try Sys.writeFileAtomically(secretDir + "/key", Array("host secret\n".utf8), mode: 0o600)
            let volumes = ["{name: probe, hostPath: {path: \(bin), type: Directory}}", "{name: secret, hostPath: {path: \(secretDir), type: Directory}}"]
            let mounts = ["{name: probe, mountPath: /probe, readOnly: true}", "{name: secret, mountPath: /secret}"]
            for (name, hostUsers) in [("iso", false), ("control", true)] {
                let applied = try Self.apply(podrec, name + ".yaml", Self.pod(name, hostUsers: hostUsers, privileged: true, volumes: volumes, mounts: mounts))
                try #require(applied.status == 0, "\(applied.output)")
            }

            var got: [String: [String: String]] = [:]
            var victims: [String: Int32] = [:]
            defer { for (_, pid) in victims { _ = try? Sys.kill(pid, Signal.kill); _ = Sys.reapChild(pid) } }
            for pod in ["iso", "control"] {
                // Two host-root processes in the container's PID namespace: one to signal, one
                // to ptrace. Spawned by the test, as host root, outside any user namespace.
                let main = try #require(try podrec.pid(pod, "app"))
                var nspids: [Int32] = []
                for role in ["kill", "ptrace"] {
                    let fd = try Sys.openForReading("/proc/\(main)/ns/pid")
                    defer { Sys.close(fd) }
                    var request = SpawnRequest(["/bin/sleep", "600"])
                    request.joinNamespaces = [NamespaceJoin(.pid, fd: fd)]
                    let victim = try spawn(request)
                    if let pidfd = victim.pidfd { Sys.close(pidfd) }
                    victims[pod + role] = victim.pid
                    let status = try Sys.readString("/proc/\(victim.pid)/status")
                    let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("NSpid:") })
                    nspids.append(try #require(line.split(whereSeparator: { $0 == "\t" || $0 == " " }).last.flatMap { Int32($0) }))
                }
                let run = try podrec.run([podrec.binary, "exec", pod, "--", "/probe/userns_probe", "read:/secret/key",
                                          "kill:\(nspids[0])", "ptrace:\(nspids[1])", "finit_module",
                                          "rewrite:/proc/sys/vm/overcommit_ratio"])
                got[pod] = Self.results(run.output)
                #expect(got[pod]?.count == 5, "\(pod): \(run.output)")
            }
            let iso = got["iso"] ?? [:], control = got["control"] ?? [:]
            #expect(iso["read:/secret/key"] == "EACCES", "\(iso)")
            #expect(control["read:/secret/key"] == "OK", "\(control)")
            #expect(iso.first { $0.key.hasPrefix("kill:") }?.value == "EPERM", "\(iso)")
            #expect(control.first { $0.key.hasPrefix("kill:") }?.value == "OK", "\(control)")
            #expect(iso.first { $0.key.hasPrefix("ptrace:") }?.value == "EPERM", "\(iso)")
            #expect(control.first { $0.key.hasPrefix("ptrace:") }?.value == "OK", "\(control)")
            #expect(iso["rewrite:/proc/sys/vm/overcommit_ratio"] == "EACCES", "\(iso)")
            #expect(control["rewrite:/proc/sys/vm/overcommit_ratio"] == "OK", "\(control)")
            // The signalled victim is gone; the one the namespace's root signalled lives on.
            if let pid = victims["controlkill"] {
                try CLIWatchTests.waitFor("the control's victim to die") { Sys.reapChild(pid) != nil }
                victims["controlkill"] = nil
            }
            if let pid = victims["isokill"] { #expect(Sys.reapChild(pid) == nil, "the namespace's root killed a host process") }
            // A kernel built without modules answers ENOSYS to everyone (this host's is):
            // then there is nothing to load and the check says so; with modules, the control
            // reaches the fd check (EBADF) and the namespace's root is refused (EPERM).
            if control["finit_module"] == "ENOSYS" {
                #expect(iso["finit_module"] == "ENOSYS", "\(iso)")
                print("userns: this kernel has no module support (finit_module ENOSYS): the module check has no control here")
            } else {
                #expect(control["finit_module"] == "EBADF", "\(control)")
                #expect(iso["finit_module"] == "EPERM", "\(iso)")
            }
        }

        /// Ranges: two pods get disjoint ones; with a pool of three (`--userns-range`, and
        /// `PODREC_USERNS_RANGE`), a fourth pod finds none and is refused with a reason; once
        /// a pod is deleted its range goes to the next pod.
        @Test func rangesAreDisjointAndReusedAfterDelete() throws {
            let (lab, podrec) = try CLI.lab("userns-pool")
            defer { podrec.finish() }
            let start: UInt32 = 3 << 30
            let pool = "\(start):\(3 * 65536)"
            for name in ["a", "b", "c"] {
                let applied = try Self.apply(podrec, name + ".yaml", Self.pod(name, hostUsers: false), flags: ["--userns-range", pool])
                try #require(applied.status == 0, "\(applied.output)")
            }
            var ranges: [String: IDRange] = [:]
            for name in ["a", "b", "c"] { ranges[name] = try #require(try Self.recorded(lab, name)) }
            #expect(Set(ranges.values.map(\.start)) == [start, start + 65536, start + 131072], "\(ranges)")
            for name in ["a", "b", "c"] {
                #expect(try Self.uidMap(podrec, name) == ["0", "\(ranges[name]!.start)", "65536"])
            }
            let full = try Self.apply(podrec, "d.yaml", Self.pod("d", hostUsers: false), env: ["PODREC_USERNS_RANGE=\(pool)"])
            #expect(full.status != 0 && full.output.contains("no free user namespace range"), "\(full.output)")

            let deleted = try podrec("delete", "b", "--grace-period", "0")
            try #require(deleted.status == 0, "\(deleted.output)")
            let d = try Self.apply(podrec, "d.yaml", Self.pod("d", hostUsers: false), env: ["PODREC_USERNS_RANGE=\(pool)"])
            try #require(d.status == 0, "\(d.output)")
            #expect(try Self.recorded(lab, "d") == ranges["b"])
            #expect(try Self.uidMap(podrec, "d") == ["0", "\(ranges["b"]!.start)", "65536"])
            // A pass over pods that hold theirs changes nothing.
            let again = try podrec.run([podrec.binary, "diff", "-f", lab.tmp + "/a.yaml", "--userns-range", pool])
            #expect(again.status == 0, "\(again.output)")
        }

        /// kill -9 of a pod's supervisor: the next pass makes the pod again with the range
        /// its record holds, no other record holds it, and once the pod is deleted the range
        /// is the next pod's: nothing leaked.
        @Test func aKilledSupervisorLeaksNoRange() throws {
            let (lab, podrec) = try CLI.lab("userns-kill")
            defer { podrec.finish() }
            let file = lab.tmp + "/k.yaml"
            let applied = try Self.apply(podrec, "k.yaml", Self.pod("k", hostUsers: false))
            try #require(applied.status == 0, "\(applied.output)")
            let range = try #require(try Self.recorded(lab, "k"))
            let supervisor = try #require(SupervisorIdentity(line: try Sys.readString("\(lab.tmp)/run/pods/default_k/supervisor")))
            try Sys.kill(supervisor.pid, Signal.kill)
            try CLIWatchTests.waitFor("the supervisor to die") {
                // Gone, or a zombie its new parent has not reaped yet.
                guard let stat = try? Sys.readString("/proc/\(supervisor.pid)/stat") else { return true }
                return stat.contains(") Z ")
            }

            let next = try podrec.run([podrec.binary, "apply", "-f", file, "--wait"])
            try #require(next.status == 0, "\(next.output)")
            let after = try #require(SupervisorIdentity(line: try Sys.readString("\(lab.tmp)/run/pods/default_k/supervisor")))
            #expect(after.pid != supervisor.pid, "the pod was made again")
            #expect(try Self.recorded(lab, "k") == range)
            #expect(try Self.uidMap(podrec, "k") == ["0", "\(range.start)", "65536"])
            let other = try Self.apply(podrec, "o.yaml", Self.pod("o", hostUsers: false))
            try #require(other.status == 0, "\(other.output)")
            let otherRange = try #require(try Self.recorded(lab, "o"))
            #expect(!otherRange.overlaps(range), "\(otherRange) \(range)")

            let deleted = try podrec("delete", "k", "--grace-period", "0")
            try #require(deleted.status == 0, "\(deleted.output)")
            let reused = try Self.apply(podrec, "r.yaml", Self.pod("r", hostUsers: false))
            try #require(reused.status == 0, "\(reused.output)")
            #expect(try Self.recorded(lab, "r") == range, "the killed pod's range is free once it is gone")
        }

        /// hostUsers: false with hostNetwork, hostPID or hostIPC is refused in the API
        /// server's words, and nothing is made.
        @Test func hostNamespacesAreRefused() throws {
            let (lab, podrec) = try CLI.lab("userns-refused")
            defer { podrec.finish() }
            let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: h}
            spec:
              hostUsers: false
              hostNetwork: true
              hostPID: true
              hostIPC: true
              containers: [{name: app, image: host, command: [sleep, "1"]}]
            """
            let run = try podrec.run([podrec.binary, "apply", "-f", try podrec.write("h.yaml", yaml)])
            #expect(run.status != 0)
            for field in ["spec.hostNetwork", "spec.HostPID", "spec.HostIPC"] {
                #expect(run.output.contains("\(field): Forbidden: when `pod.Spec.HostUsers` is false"), "\(run.output)")
            }
            #expect(try podrec.getRow("h") == nil)
        }
    }
}

extension Integration.UserNamespaceTests {
    /// Whether the filesystem at `path` takes idmapped mounts on this kernel: not
    /// overlayfs, tmpfs from Linux 6.3; the disk filesystems these tests run on (ext4,
    /// xfs, btrfs) do.
    static func idmappable(_ path: String) throws -> Bool {
        let type = try Sys.filesystemType(path)
        if type == Sys.overlayfsMagic { return false }
        if type == Sys.tmpfsMagic {
            var u = utsname()
            uname(&u)
            let release = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let parts = release.split(separator: ".").prefix(2).compactMap { Int($0.prefix { $0.isNumber }) }
            return parts.count == 2 && (parts[0], parts[1]) >= (6, 3)
        }
        return true
    }

    /// An image container's root is an overlayfs of layers host root owns; idmapped to the
    /// pod's namespace, they show as owned by its root (0, not nobody), which may write its
    /// own `/`: the write lands in its upper dir owned by the range's first id, as in an
    /// emptyDir, and the stored image is untouched.
    @Test func anImageRootIsIdmappedToTheNamespace() throws {
        try HostTool.require("/bin/busybox", package: "busybox-static")
        let (lab, podrec) = try CLI.lab("userns-image")
        defer { podrec.finish() }
        let store = try Integration.PodShapeTests.busyboxImage(lab)
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: img}
        spec:
          terminationGracePeriodSeconds: 1
          hostUsers: false
          containers:
          - name: c
            image: busybox:test
            args: ['exec sleep 3600']
        """
        let applied = try Self.apply(podrec, "img.yaml", yaml)
        let layers = "\(lab.tmp)/data/images"
        if !(try Self.idmappable(layers)) {
            // The store's filesystem takes no idmapped mount (the cgroup v2 VM's /tmp is an
            // overlayfs; tmpfs before 6.3): the container is refused, saying which mount.
            #expect(applied.status != 0, "\(applied.output)")
            #expect(applied.output.contains("idmapped to the pod's user namespace") && applied.output.contains("EINVAL"), "\(applied.output)")
            print("userns: the image store's filesystem cannot be idmapped here; an image root is refused")
            return
        }
        try #require(applied.status == 0, "\(applied.output)")
        let range = try #require(try Self.recorded(lab, "img"))
        #expect(try Self.uidMap(podrec, "img") == ["0", "\(range.start)", "65536"])
        let run = try podrec("exec", "img", "--", "sh", "-c", "ls -ln /bin/busybox /etc/os-release; ls -lnd /; echo new > /etc/written && cat /etc/written")
        let lines = run.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        // `ls -ln`: mode, links, uid, gid, ...
        for line in lines where line.count > 4 {
            #expect(line[2] == "0" && line[3] == "0", "owned by the namespace's root: \(run.output)")
        }
        #expect(lines.filter { $0.count > 4 }.count == 3, "\(run.output)")
        #expect(run.output.hasSuffix("new\n"), "\(run.output)")
        let upper = try #require(try Sys.listDirectory("\(lab.tmp)/data/pods").first.map { "\(lab.tmp)/data/pods/\($0)/overlay/c/upper/etc/written" })
        let written = try Sys.stat(upper, followSymlinks: false)
        #expect(written.uid == range.start, "the upper dir is not idmapped: the namespace's root writes as its host id")
        let image = try store.image(try ImageReference(parsing: "busybox:test"))
        #expect(!Sys.exists(image.rootfs + "/etc/written"))
    }
}
