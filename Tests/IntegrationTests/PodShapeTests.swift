import ImageModel
import Glibc
import Images
import Kernel
import Reconciler
import KernelTestSupport
import Manifest
import PodBuilder
import PodModel
import ContainerRuntime
import HostSetup
import Testing

extension Integration {
    /// Pod shapes beyond the seed: an image from the store, the host's namespaces, a
    /// read-only root, and a container that floods its log.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct PodShapeTests {
        static func start(_ lab: PodLab, _ yaml: String, name: String, images: ImageLookup = .none) throws -> (PodLayout, PodStatus) {
            let set = ManifestLoader.load([ManifestFile(name: "pod.yaml", bytes: Array(yaml.utf8))])
            try #require(set.diagnostics.filter { $0.severity == .error }.isEmpty, "\(set.diagnostics)")
            let layout = lab.layout(name)
            let creator = LabCreator(lab: lab, images: images)
            lab.launchers.append(creator.launcher(layout))
            let status = try creator.create(try #require(set.pods.first?.pod), manifests: set, layout: layout)
            return (layout, status)
        }

        /// Debian's busybox-static as an image rootfs in the lab's store.
        static func busyboxImage(_ lab: PodLab) throws -> ImageStore {
            let src = lab.tmp + "/busybox-rootfs"
            for d in ["bin", "etc", "tmp", "proc", "dev", "sys"] { try Sys.mkdirs(src + "/" + d, mode: 0o755) }
            try Sys.chmod(src + "/tmp", 0o1777)
            try Sys.writeFileAtomically(src + "/bin/busybox", try Sys.readFile("/bin/busybox"), mode: 0o755)
            for applet in ["sh", "cat", "echo", "touch", "ls", "id", "sleep"] { try Sys.symlink("busybox", src + "/bin/" + applet) }
            try Sys.writeFileAtomically(src + "/etc/os-release", Array("ID=podrec-busybox-test\n".utf8), mode: 0o644)
            let store = ImageStore(dataRoot: lab.tmp + "/data")
            _ = try store.importImage(try ImageReference(parsing: "busybox:test"), from: .path(src),
                                      config: ImageConfig(entrypoint: ["/bin/sh", "-c"], env: ["PATH=/bin", "FROM_IMAGE=yes"]))
            return store
        }

        /// An image container runs on a copy-on-write view: its writes land in its own upper
        /// dir, never in the stored image; the image's env and entrypoint apply.
        @Test func anImageContainerWritesToItsOwnUpperDirOnly() throws {
            try HostTool.require("/bin/busybox", package: "busybox-static")  // busyboxImage
            let lab = try PodLab("image")
            defer { lab.finish() }
            let store = try Self.busyboxImage(lab)
            let (layout, status) = try Self.start(lab, """
                apiVersion: v1
                kind: Pod
                metadata: {name: img}
                spec:
                  terminationGracePeriodSeconds: 0
                  containers:
                  - name: c
                    image: busybox:test
                    args: ['cat /etc/os-release; echo "env $FROM_IMAGE $PATH"; echo new > /etc/written; cat /etc/written; ls /usr 2>&1 | head -c 60; echo; echo finished; exec sleep 3600']
                """, name: "img", images: .store(store))
            #expect(status.container("c")?.state == .running, "\(status)")
            let lines = PodLab.logLines(lab.waitForText(layout.logDirectory + "/c/0.log", "finished"))
            #expect(lines.contains("ID=podrec-busybox-test"), "\(lines)")
            #expect(lines.contains("env yes /bin"))
            #expect(lines.contains("new"))
            #expect(lines.contains { $0.contains("No such file") }, "the host's /usr is not in an image container")
            let image = try store.image(try ImageReference(parsing: "busybox:test"))
            #expect(!Sys.exists(image.rootfs + "/etc/written"))
            #expect(try Sys.readString(layout.overlayDirectory("c") + "/upper/etc/written") == "new\n")
        }

        /// hostNetwork, hostIPC and hostPID: the container is in the host's namespaces.
        @Test func hostNamespacesAreTheHosts() throws {
            let lab = try PodLab("hostns")
            defer { lab.finish() }
            let (_, status) = try Self.start(lab, """
                apiVersion: v1
                kind: Pod
                metadata: {name: hostns}
                spec:
                  hostNetwork: true
                  hostIPC: true
                  hostPID: true
                  terminationGracePeriodSeconds: 0
                  containers:
                  - {name: c, image: host, command: [sleep, "3600"]}
                """, name: "hostns")
            let pid = try #require(status.container("c")?.pid)
            for ns in ["net", "ipc", "pid", "uts"] {
                #expect(try Sys.readlink("/proc/\(pid)/ns/\(ns)") == (try Sys.readlink("/proc/self/ns/\(ns)")), "\(ns)")
            }
            #expect(try Sys.readlink("/proc/\(pid)/ns/mnt") != (try Sys.readlink("/proc/self/ns/mnt")))
        }

        /// readOnlyRootFilesystem: `/` and the private dirs refuse writes; volumes do not.
        /// BestEffort containers get kubelet's oom_score_adj of 1000, and the supervisor 0.
        /// `/proc/sysrq-trigger` and `/proc/sys` are read-only, `/proc/kcore` and the like
        /// masked: the container's root is the host's root user.
        @Test func aReadOnlyRootAndTheOOMScore() throws {
            let lab = try PodLab("rofs")
            defer { lab.finish() }
            let (layout, status) = try Self.start(lab, """
                apiVersion: v1
                kind: Pod
                metadata: {name: rofs}
                spec:
                  terminationGracePeriodSeconds: 0
                  volumes: [{name: scratch, emptyDir: {}}]
                  containers:
                  - name: c
                    image: host
                    securityContext: {readOnlyRootFilesystem: true}
                    volumeMounts: [{name: scratch, mountPath: /scratch}]
                    command:
                    - sh
                    - -c
                    - |
                      for d in / /tmp /var /home; do touch $d/x 2>/dev/null && echo "wrote $d" || echo "refused $d"; done
                      touch /scratch/x && echo "wrote /scratch"
                      echo "oom $(cat /proc/self/oom_score_adj)"
                      ( : > /proc/sysrq-trigger ) 2>/dev/null && echo "sysrq writable" || echo "sysrq refused"
                      ( echo 1 > /proc/sys/kernel/panic ) 2>/dev/null && echo "sysctl writable" || echo "sysctl refused"
                      echo "kcore $(stat -c %s /proc/kcore 2>/dev/null || echo absent) timer_list $(wc -c < /proc/timer_list)"
                      echo finished
                      exec sleep 3600
                """, name: "rofs")
            let lines = PodLab.logLines(lab.waitForText(layout.logDirectory + "/c/0.log", "finished"))
            #expect(lines.prefix(5) == ["refused /", "refused /tmp", "refused /var", "refused /home", "wrote /scratch"], "\(lines)")
            #expect(lines.contains("oom 1000"))
            // containerd's masked and read-only kernel paths.
            #expect(lines.contains("sysrq refused"), "\(lines)")
            #expect(lines.contains("sysctl refused"))
            // Masked: /dev/null is bound over them, so they read as empty (or the kernel has
            // none: /proc/kcore needs CONFIG_PROC_KCORE).
            let masked = try #require(lines.first { $0.hasPrefix("kcore ") })
            #expect(["kcore 0 timer_list 0", "kcore absent timer_list 0"].contains(masked), "\(lines)")
            #expect(try Sys.readString("/proc/\(status.supervisorPID)/oom_score_adj") == "0\n")
        }

        /// A container that writes 24 MiB of output at once never blocks on its pipe; its
        /// log rotates at 10 MiB and keeps whole lines.
        @Test func aFloodOfOutputDoesNotBlockAndTheLogRotates() throws {
            let lab = try PodLab("flood")
            defer { lab.finish() }
            let (layout, _) = try Self.start(lab, """
                apiVersion: v1
                kind: Pod
                metadata: {name: flood}
                spec:
                  restartPolicy: Never
                  containers:
                  - name: c
                    image: host
                    command: [sh, -c, "head -c 25165824 /dev/zero | tr '\\\\0' x | fold -w 1023; echo; echo finished"]
                """, name: "flood")
            let launcher = PodLauncher(layout: layout, supervisorExecutable: "", driver: lab.driver)
            let status = try launcher.waitForStatus(timeoutMilliseconds: 60_000, what: "flood done") { $0.phase == .succeeded }
            #expect(status.container("c")?.termination?.exitCode == 0)
            let dir = layout.logDirectory + "/c"
            _ = lab.waitForText(dir + "/0.log", "finished")
            let files = try Sys.listDirectory(dir).sorted()
            #expect(files.count == 3, "\(files)")
            #expect(files.contains("0.log"))
            var total = 0
            for f in files {
                let st = try Sys.stat(dir + "/" + f)
                #expect(st.size <= 10 << 20)
                let text = try Sys.readString(dir + "/" + f)
                for line in text.split(separator: "\n") {
                    let message = PodLab.logLines(String(line)).first ?? ""
                    #expect(message.count == 1023 || message == "finished" || message.isEmpty || message.allSatisfy { $0 == "x" })
                    total += message.count
                }
            }
            #expect(total == 25_165_824 + "finished".count)
        }
    }
}
