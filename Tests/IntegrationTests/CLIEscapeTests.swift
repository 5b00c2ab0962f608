import Glibc
import Kernel
import KernelTestSupport
import Testing

extension Integration {
    /// What a container must not reach, tried from inside real containers started by the
    /// built `podrec`: host processes, the host's root, a subPath or a symlink that leads
    /// out of its volume (the attacks behind CVE-2017-1002101 and CVE-2021-25741), another
    /// pod's secret, a host disk's device node, the supervisor's `/proc/PID/root`,
    /// dropped capabilities and no_new_privs. Each check has its positive control where
    /// one exists (the same attempt that must succeed with `hostPID`, `privileged` or
    /// without no_new_privs), so that a broken check cannot pass by failing for another
    /// reason.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct CLIEscapeTests {
        typealias CLI = CLIPodTests.CLI
        typealias Run = CLIPodTests.Run

        /// `sh -c script` in a running container, stdout and stderr together.
        static func sh(_ podrec: CLI, _ pod: String, _ container: String, _ script: String) throws -> Run {
            try podrec("exec", pod, "-c", container, "--", "sh", "-c", script)
        }

        static func apply(_ podrec: CLI, _ name: String, _ yaml: String) throws {
            let applied = try podrec("apply", "-f", try podrec.write(name, yaml), "--wait")
            try #require(applied.status == 0, "\(applied.output)")
        }

        /// Without hostPID the container's /proc holds its own processes only: neither this
        /// test process nor the pod's supervisor can be seen or signalled. With hostPID both
        /// can be seen, which shows that the same check would notice them.
        @Test func hostProcessesAreHiddenUnlessHostPID() throws {
            let (_, podrec) = try CLI.lab("esc-pid")
            defer { podrec.finish() }
            try Self.apply(podrec, "own.yaml", CLIPodTests.singlePod("own"))
            try Self.apply(podrec, "host.yaml", CLIPodTests.singlePod("host", extra: "  hostPID: true"))
            let me = getpid()
            let supervisor = try #require(try podrec.supervisorPID("own"))
            // Pids are renumbered inside; ours are large on any running host, theirs small.
            try #require(me > 100 && supervisor > 100)
            for pid in [me, supervisor] {
                let own = try Self.sh(podrec, "own", "app", "ls /proc/\(pid)/ >/dev/null 2>&1 && echo seen; kill -0 \(pid) 2>/dev/null && echo signalled; echo done")
                #expect(own.output == "done\n", "pid \(pid): \(own.output)")
                let host = try Self.sh(podrec, "host", "app", "ls /proc/\(pid)/ >/dev/null 2>&1 && echo seen; echo done")
                #expect(host.output == "seen\ndone\n", "pid \(pid) with hostPID: \(host.output)")
            }
            let hostNS = try Sys.readlink("/proc/self/ns/pid")
            #expect(try Self.sh(podrec, "own", "app", "readlink /proc/self/ns/pid").output != hostNS + "\n")
        }

        /// The host's directories are read-only binds (image: host) and the writable ones
        /// are the container's own tmpfs: nothing written inside lands on the host, and
        /// the binds cannot be made writable again without CAP_SYS_ADMIN.
        @Test func theHostRootCannotBeWrittenThroughTheView() throws {
            let (_, podrec) = try CLI.lab("esc-root")
            defer { podrec.finish() }
            try Self.apply(podrec, "pod.yaml", CLIPodTests.singlePod("writer"))
            let name = "podrec-escape-\(getpid())"
            let readOnly = ["/etc", "/usr", "/usr/local", "/bin", "/sbin", "/lib", "/opt", "/srv", "/root"]
            // The container's own: its root (scratch) and the tmpfs at each of these.
            let own = ["/", "/tmp", "/var", "/run", "/home"]
            var script = ""
            for dir in readOnly + own { script += "touch \(dir)/\(name) 2>/dev/null && echo wrote \(dir); " }
            script += "touch /proc/1/root/usr/\(name) 2>/dev/null && echo wrote proc-root; "
            script += "mount -o remount,rw /usr 2>/dev/null && echo remounted; echo done"
            let run = try Self.sh(podrec, "writer", "app", script)
            #expect(!readOnly.contains { run.output.contains("wrote \($0)\n") }, "\(run.output)")
            #expect(!run.output.contains("proc-root") && !run.output.contains("remounted") && run.output.hasSuffix("done\n"), "\(run.output)")
            for dir in readOnly + own where Sys.exists(dir) {
                #expect(!Sys.exists("\(dir)/\(name)"), "\(dir)/\(name) appeared on the host")
            }
        }

        /// CVE-2021-25741: a container that can write a volume replaces the directory (and a
        /// file) that a second container mounts by subPath with a symlink to the host's `/`
        /// (and `/etc/shadow`), then the second container restarts. The restart must fail
        /// with the symlink named, never bind the host's root; once the attacker puts a
        /// directory back, the victim starts again.
        @Test func aSubPathSwappedForASymlinkIsNotFollowedAtRestart() throws {
            let (lab, podrec) = try CLI.lab("esc-subpath")
            defer { podrec.finish() }
            // A hostPath that both containers share, made before the pod (a subPath that does
            // not exist yet would be made as a directory).
            let shared = lab.tmp + "/shared"
            try Sys.mkdirs(shared + "/sub", mode: 0o755)
            try Sys.writeFileAtomically(shared + "/conf.txt", Array("safe\n".utf8), mode: 0o644)
            try Self.apply(podrec, "pod.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: swap}
                spec:
                  terminationGracePeriodSeconds: 1
                  volumes: [{name: shared, hostPath: {path: \(shared), type: Directory}}]
                  containers:
                  - name: attacker
                    image: host
                    command: [sh, -c, 'exec sleep 3600']
                    volumeMounts: [{name: shared, mountPath: /vol}]
                  - name: dir
                    image: host
                    command: [sh, -c, 'ls /data/etc/shadow 2>/dev/null && echo HOST ROOT; exec sleep 3600']
                    volumeMounts: [{name: shared, mountPath: /data, subPath: sub}]
                  - name: file
                    image: host
                    command: [sh, -c, 'cat /conf.txt; exec sleep 3600']
                    volumeMounts: [{name: shared, mountPath: /conf.txt, subPath: conf.txt}]
                """)
            let swapped = try Self.sh(podrec, "swap", "attacker",
                                      "rmdir /vol/sub && ln -s / /vol/sub && rm /vol/conf.txt && ln -s /etc/shadow /vol/conf.txt && echo swapped")
            try #require(swapped.output == "swapped\n", "\(swapped.output)")
            let before = try CLILogsDescribeTests.waitFor({ try podrec("logs", "swap", "-c", "file") }) { $0.output.contains("safe") }
            #expect(before.output == "safe\n", "\(before.output)")
            for victim in ["dir", "file"] {
                let pid = try #require(try podrec.pid("swap", victim))
                try #require(kill(pid, SIGKILL) == 0)
                let waited = try CLILogsDescribeTests.waitFor({ try podrec("describe", "swap") }) {
                    $0.output.contains("mount /\(victim == "dir" ? "data" : "conf.txt") (rbind of the subPath")
                }
                #expect(waited.output.contains("ELOOP (Too many levels of symbolic links)"), "\(waited.output)")
                #expect(try podrec.status("swap", victim, "state") == "waiting")
            }
            for victim in ["dir", "file"] {
                let logs = try podrec("logs", "swap", "-c", victim).output
                #expect(!logs.contains("HOST ROOT") && !logs.contains("root:"), "\(victim): \(logs)")
            }

            // The attacker gives up: the next start after the back-off binds the real ones.
            let restored = try Self.sh(podrec, "swap", "attacker",
                                       "rm /vol/sub /vol/conf.txt && mkdir /vol/sub && echo restored > /vol/conf.txt && echo ok")
            try #require(restored.output == "ok\n", "\(restored.output)")
            for victim in ["dir", "file"] {
                try CLIWatchTests.waitFor("\(victim) running again", seconds: 40, context: { (try? podrec("describe", "swap").output) ?? "" }) {
                    try podrec.status("swap", victim, "state") == "running"
                }
            }
            let file = try CLILogsDescribeTests.waitFor({ try podrec("logs", "swap", "-c", "file") }) { $0.output.contains("restored") }
            #expect(file.output.contains("restored") && !file.output.contains("root:"), "\(file.output)")
        }

        /// CVE-2017-1002101: the symlink is in the volume before the pod is made (a hostPath
        /// another pod shares). `apply` refuses every subPath that resolves outside the
        /// volume, through an absolute link, a `..` link or a link in a parent, and creates
        /// nothing; a link that stays inside is followed.
        @Test func aSubPathThroughASymlinkOutOfItsVolumeIsRefused() throws {
            let (lab, podrec) = try CLI.lab("esc-subpath-pre")
            defer { podrec.finish() }
            let volume = lab.tmp + "/shared"
            try Sys.mkdirs(volume + "/real", mode: 0o755)
            try Sys.writeFileAtomically(volume + "/real/f", Array("inside\n".utf8), mode: 0o644)
            try Sys.mkdirs(volume + "/deep", mode: 0o755)
            try Sys.symlink("/", volume + "/root")
            try Sys.symlink("../../..", volume + "/up")
            try Sys.symlink("/etc", volume + "/deep/etc")
            try Sys.symlink("real", volume + "/inside")
            func pod(_ sub: String) -> String {
                CLIPodTests.singlePod("sub", container: """
                    volumeMounts: [{name: v, mountPath: /data, subPath: '\(sub)'}]
                  volumes: [{name: v, hostPath: {path: \(volume), type: Directory}}]
                """)
            }
            for sub in ["root", "up", "deep/etc", "root/etc", "up/tmp"] {
                let run = try podrec("apply", "-f", try podrec.write("bad.yaml", pod(sub)))
                #expect(run.status != 0, "\(sub): \(run.output)")
                #expect(run.output.contains("spec.containers[0].volumeMounts[0].subPath: \"\(sub)\" leads outside the volume"),
                        "\(sub): \(run.output)")
                #expect(!Sys.exists(lab.tmp + "/run/pods/default_sub"), "\(sub): a pod record was written")
            }
            try Self.apply(podrec, "good.yaml", pod("inside"))
            #expect(try Self.sh(podrec, "sub", "app", "cat /data/f").output == "inside\n")
        }

        /// A container's own symlinks in its volumes resolve inside its own view, and
        /// removing the pod unlinks them without following: an emptyDir holding a link to
        /// a host directory leaves that directory alone.
        @Test func symlinksInVolumesStayInTheContainersView() throws {
            let (lab, podrec) = try CLI.lab("esc-links")
            defer { podrec.finish() }
            let keep = lab.tmp + "/keep"
            try Sys.mkdirs(keep, mode: 0o755)
            try Sys.writeFileAtomically(keep + "/file", Array("mine\n".utf8), mode: 0o644)
            try Self.apply(podrec, "pod.yaml", CLIPodTests.singlePod("links", container: """
                    volumeMounts: [{name: scratch, mountPath: /scratch}, {name: host, mountPath: /host}]
                  volumes:
                  - {name: scratch, emptyDir: {}}
                  - {name: host, hostPath: {path: \(lab.tmp)/hostvol, type: DirectoryOrCreate}}
                """))
            let run = try Self.sh(podrec, "links", "app", """
                ln -s / /host/root && ln -s \(keep) /scratch/keep && ln -s / /scratch/root && \
                cat /host/root\(keep)/file /scratch/keep/file 2>/dev/null; echo done
                """)
            #expect(run.output == "done\n", "\(run.output)")
            #expect(try podrec("delete", "links", "--grace-period", "0").status == 0)
            #expect(try Sys.readString(keep + "/file") == "mine\n")
            #expect(Sys.exists("/etc/passwd"))
        }

        /// Another pod's secret lives on a tmpfs under the data root, which is not in any
        /// container's view, and the other pod's processes are not in this one's /proc.
        @Test func anotherPodsSecretCannotBeRead() throws {
            let (lab, podrec) = try CLI.lab("esc-secret")
            defer { podrec.finish() }
            let value = "s3cr3t-\(getpid())"
            try Self.apply(podrec, "holder.yaml", """
                apiVersion: v1
                kind: Secret
                metadata: {name: token}
                stringData: {key: \(value)}
                ---
                \(CLIPodTests.singlePod("holder", container: """
                    volumeMounts: [{name: t, mountPath: /token, readOnly: true}]
                  volumes: [{name: t, secret: {secretName: token}}]
                """))
                """)
            try Self.apply(podrec, "thief.yaml", CLIPodTests.singlePod("thief"))
            #expect(try Self.sh(podrec, "holder", "app", "cat /token/key").output == value)
            let uid = try #require(try Sys.listDirectory(lab.tmp + "/data/pods").first { Sys.exists("\(lab.tmp)/data/pods/\($0)/volumes/t") })
            let hostPath = "\(lab.tmp)/data/pods/\(uid)/volumes/t/key"
            #expect(try Sys.readString(hostPath) == value)
            let holderPid = try #require(try podrec.pid("holder", "app"))
            let run = try Self.sh(podrec, "thief", "app", """
                cat \(hostPath) 2>/dev/null; cat /proc/\(holderPid)/root/token/key 2>/dev/null; \
                for p in /proc/[0-9]*; do cat $p/root/token/key $p/root\(hostPath) 2>/dev/null; done; echo done
                """)
            #expect(run.output == "done\n", "\(run.output)")
        }

        /// A root container keeps CAP_MKNOD (containerd's default set), so it can make a
        /// node for a host disk on a volume without nodev; the device allowlist refuses the
        /// open with EPERM. A privileged container, allowed every device, opens the same
        /// node: the control that the node and the mount would have allowed it.
        @Test func aHostDiskNodeCannotBeOpenedWithoutPrivileged() throws {
            let (lab, podrec) = try CLI.lab("esc-device")
            defer { podrec.finish() }
            let disk = try #require(Self.hostDisk(in: lab.tmp), "no block device that this host lets root open")
            try Self.apply(podrec, "pod.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: disk}
                spec:
                  terminationGracePeriodSeconds: 1
                  volumes: [{name: v, emptyDir: {}}]
                  containers:
                  - name: plain
                    image: host
                    command: [sh, -c, 'exec sleep 3600']
                    volumeMounts: [{name: v, mountPath: /vol}]
                  - name: privileged
                    image: host
                    command: [sh, -c, 'exec sleep 3600']
                    securityContext: {privileged: true}
                    volumeMounts: [{name: v, mountPath: /vol}]
                """)
            let open = "b \(disk.major) \(disk.minor) && echo made; (exec 3</vol/NODE) 2>&1 && echo opened"
            let plain = try Self.sh(podrec, "disk", "plain", "mknod /vol/plain " + open.replacingOccurrences(of: "NODE", with: "plain"))
            #expect(plain.output.hasPrefix("made\n") && plain.output.contains("Operation not permitted")
                    && !plain.output.contains("opened"), "\(disk): \(plain.output)")
            let privileged = try Self.sh(podrec, "disk", "privileged", "mknod /vol/priv " + open.replacingOccurrences(of: "NODE", with: "priv"))
            #expect(privileged.output == "made\nopened\n", "\(disk): \(privileged.output)")
        }

        /// The first whole disk the host lists that root may open here (a sandbox may refuse
        /// its own disk), else the first loop device: tried through a node made in `dir`,
        /// as the containers make theirs.
        static func hostDisk(in dir: String) -> (major: Int, minor: Int)? {
            var candidates: [(major: Int, minor: Int)] = []
            for line in ((try? Sys.readString("/proc/partitions")) ?? "").split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ")
                guard f.count == 4, let major = Int(f[0]), let minor = Int(f[1]) else { continue }
                if ["ram", "zram", "sr", "nbd"].contains(where: { f[3].hasPrefix($0) }) { continue }
                candidates.append((major, minor))
            }
            candidates.append((7, 0))
            let node = dir + "/probe-node"
            for c in candidates {
                defer { unlink(node) }
                // glibc's makedev, a macro Swift does not import.
                guard mknod(node, S_IFBLK | 0o600, dev_t((c.major & 0xfff) << 8 | (c.minor & 0xff) | (c.minor & ~0xff) << 12)) == 0 else { continue }
                let fd = Glibc.open(node, O_RDONLY | O_CLOEXEC)
                if fd >= 0 {
                    close(fd)
                    return c
                }
            }
            return nil
        }

        /// `/proc/PID/root` of a process with more capabilities than the caller needs
        /// CAP_SYS_PTRACE, which no default container has: with hostPID, where the
        /// supervisor and the host's init are in view, both stay closed; without it they
        /// are not in view, also with a shared process namespace.
        @Test func theSupervisorsProcRootIsClosed() throws {
            let (lab, podrec) = try CLI.lab("esc-procroot")
            defer { podrec.finish() }
            try Self.apply(podrec, "host.yaml", CLIPodTests.singlePod("hostpid", extra: "  hostPID: true"))
            try Self.apply(podrec, "shared.yaml", CLIPodTests.singlePod("shared", extra: "  shareProcessNamespace: true"))
            let marker = lab.tmp + "/marker"
            try Sys.writeFileAtomically(marker, Array("host\n".utf8), mode: 0o644)
            for pod in ["hostpid", "shared"] {
                let supervisor = try #require(try podrec.supervisorPID(pod))
                // Every process in view, but with hostPID only the supervisor and init: any
                // host process with fewer capabilities than a container is open to it there,
                // as in Kubernetes, which is why hostPID is a privileged setting.
                let all = pod == "hostpid" ? "" : "for p in /proc/[0-9]*; do cat $p/root\(marker) 2>/dev/null && echo read $p; done; "
                let run = try Self.sh(podrec, pod, "app", """
                    for p in \(supervisor) 1; do cat /proc/$p/root\(marker) /proc/$p/cwd\(marker) 2>/dev/null && echo read $p; done; \
                    \(all)echo done
                    """)
                #expect(run.output == "done\n", "\(pod): \(run.output)")
            }
            // With hostPID the supervisor is in view, so the refusal above is the kernel's.
            let seen = try Self.sh(podrec, "hostpid", "app", "ls /proc/\(try #require(try podrec.supervisorPID("hostpid")))/root/ 2>&1")
            #expect(seen.output.contains("Permission denied"), "\(seen.output)")
        }

        /// What `/proc/1/status` of the container says, and what the kernel then allows: a
        /// dropped CAP_CHOWN fails chown as root; no_new_privs keeps a setuid-root binary
        /// from raising the effective uid, which it does raise without it (the control).
        @Test func droppedCapabilitiesAndNoNewPrivsHold() throws {
            let (lab, podrec) = try CLI.lab("esc-caps")
            defer { podrec.finish() }
            // A setuid-root `id` on a hostPath: the host's / is not nosuid here.
            let bin = lab.tmp + "/suid"
            try Sys.mkdirs(bin, mode: 0o755)
            try Sys.writeFileAtomically(bin + "/id", try Sys.readFile("/usr/bin/id"), mode: 0o755)
            try #require(chmod(bin + "/id", 0o4755) == 0)
            try Self.apply(podrec, "pod.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: caps}
                spec:
                  terminationGracePeriodSeconds: 1
                  volumes: [{name: bin, hostPath: {path: \(bin), type: Directory}}]
                  containers:
                  - name: dropped
                    image: host
                    command: [sh, -c, 'exec sleep 3600']
                    securityContext: {capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}
                  - name: nnp
                    image: host
                    command: [sh, -c, '/suid/id; exec sleep 3600']
                    securityContext: {runAsUser: 1000, runAsGroup: 1000, allowPrivilegeEscalation: false}
                    volumeMounts: [{name: bin, mountPath: /suid, readOnly: true}]
                  - name: escalates
                    image: host
                    command: [sh, -c, '/suid/id; exec sleep 3600']
                    securityContext: {runAsUser: 1000, runAsGroup: 1000}
                    volumeMounts: [{name: bin, mountPath: /suid, readOnly: true}]
                """)
            func status(_ c: String) throws -> [String] {
                try Self.sh(podrec, "caps", c, "grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs):' /proc/1/status | tr -d '\\t'")
                    .output.split(separator: "\n").map(String.init)
            }
            #expect(try status("dropped") == ["CapPrm:0000000000000400", "CapEff:0000000000000400", "CapBnd:0000000000000400", "NoNewPrivs:0"])
            #expect(try status("nnp") == ["CapPrm:0000000000000000", "CapEff:0000000000000000", "CapBnd:00000000a80425fb", "NoNewPrivs:1"])
            #expect(try status("escalates").last == "NoNewPrivs:0")
            let chown = try Self.sh(podrec, "caps", "dropped", "touch /tmp/f && chown 1:1 /tmp/f 2>&1; id -u")
            #expect(chown.output.contains("Operation not permitted") && chown.output.hasSuffix("0\n"), "\(chown.output)")

            let nnp = try CLILogsDescribeTests.waitFor({ try podrec("logs", "caps", "-c", "nnp") }) { $0.output.contains("uid=") }
            #expect(nnp.output.hasPrefix("uid=1000") && !nnp.output.contains("euid=0"), "\(nnp.output)")
            let escalates = try CLILogsDescribeTests.waitFor({ try podrec("logs", "caps", "-c", "escalates") }) { $0.output.contains("uid=") }
            #expect(escalates.output.contains("euid=0"), "\(escalates.output)")
        }
    }
}
