import Glibc
import Kernel
import KernelTestSupport
import Testing

extension Integration {
    /// seccomp, end to end through the built `podrec`, on the real kernel: what each profile
    /// lets a container's processes (its main process, `podrec exec`, an exec probe) do.
    ///
    /// The calls are made by a tiny static C probe (Tests/Fixtures/seccomp/syscall_probe.c,
    /// compiled here), with arguments chosen so that the kernel itself answers something
    /// other than EPERM where it can (EFAULT on a bad pointer before any capability check):
    /// an EPERM is then the filter's. Every denial has its positive control, the same call
    /// reaching the kernel under `Unconfined` or `privileged`.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct SeccompTests {
        typealias CLI = CLIPodTests.CLI

        static let escapeCalls = ["unshare-user", "clone-newuser", "keyctl", "add_key", "mount", "bpf", "reboot"]

        /// The probe, built into `<lab>/bin`, which the pods mount at /probe.
        static func probe(_ lab: PodLab) throws -> String {
            try SyscallProbe.build(lab, "seccomp/syscall_probe.c", as: "syscall_probe")
        }

        /// One line per call: `name ERRNO` or `name OK`, into a dictionary.
        static func results(_ output: String) -> [String: String] { SyscallProbe.results(output) }

        static func probeVolume(_ dir: String) -> String {
            "  volumes: [{name: probe, hostPath: {path: \(dir), type: Directory}}]"
        }

        static func container(_ name: String, command: String = "exec sleep 3600", extra: String = "") -> String {
            """
              - name: \(name)
                image: host
                command: [sh, -c, '\(command)']
                volumeMounts: [{name: probe, mountPath: /probe, readOnly: true}]
            \(extra)
            """
        }

        static func pod(_ name: String, probe: String, spec: String = "", containers: [String]) -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name)}
            spec:
              terminationGracePeriodSeconds: 1
            \(spec)
            \(probeVolume(probe))
              containers:
            \(containers.joined(separator: "\n"))
            """
        }

        /// `wait`: until the pod is Ready (`apply --wait`).
        static func apply(_ podrec: CLI, _ file: String, _ yaml: String, _ flags: [String] = [], wait: Bool = true) throws {
            let applied = try podrec.run([podrec.binary, "apply", "-f", try podrec.write(file, yaml)] + (wait ? ["--wait"] : []) + flags)
            try #require(applied.status == 0, "\(applied.output)")
        }

        /// The `Seccomp:` mode of the container's main process: 2 is a filter, 0 none.
        static func seccompMode(_ podrec: CLI, _ pod: String, _ container: String) throws -> String? {
            let pid = try #require(try podrec.pid(pod, container))
            let status = try Sys.readString("/proc/\(pid)/status")
            return status.split(separator: "\n").first { $0.hasPrefix("Seccomp:") }.map { String($0.dropFirst(8).filter { !$0.isWhitespace }) }
        }

        /// With no profile (podrec's default, RuntimeDefault) the escape calls fail with
        /// EPERM, and clone3 with ENOSYS (so that libc falls back to clone), in the main
        /// process and through `podrec exec`. A pod-level Unconfined lets the same calls
        /// reach the kernel (the control), and a container-level RuntimeDefault in that pod
        /// wins over it. reboot's control needs CAP_SYS_BOOT, whose kernel check comes first,
        /// and bpf's CAP_SYS_ADMIN where unprivileged BPF is off.
        @Test func runtimeDefaultDeniesTheEscapeCallsThatUnconfinedLetsThrough() throws {
            let (lab, podrec) = try CLI.lab("seccomp-default")
            defer { podrec.finish() }
            let bin = try Self.probe(lab)
            let all = (Self.escapeCalls + ["clone3"]).joined(separator: " ")
            try Self.apply(podrec, "confined.yaml", Self.pod("confined", probe: bin, containers: [
                Self.container("app", command: "/probe/syscall_probe \(all); exec sleep 3600"),
            ]))
            try Self.apply(podrec, "open.yaml", Self.pod("open", probe: bin, spec: "  securityContext: {seccompProfile: {type: Unconfined}}", containers: [
                Self.container("app"),
                Self.container("boot", extra: "    securityContext: {capabilities: {add: [SYS_BOOT, SYS_ADMIN]}}"),
                Self.container("strict", extra: "    securityContext: {seccompProfile: {type: RuntimeDefault}}"),
            ]))
            #expect(try Self.seccompMode(podrec, "confined", "app") == "2")
            #expect(try Self.seccompMode(podrec, "open", "app") == "0")
            #expect(try Self.seccompMode(podrec, "open", "strict") == "2")

            // The main process itself, from its log.
            var logged: [String: String] = [:]
            try CLIWatchTests.waitFor("the probe's output in the log") {
                logged = Self.results(try podrec("logs", "confined").output)
                return logged.count == Self.escapeCalls.count + 1
            }
            for call in Self.escapeCalls { #expect(logged[call] == "EPERM", "main process, \(call): \(logged)") }
            #expect(logged["clone3"] == "ENOSYS", "\(logged)")

            // podrec exec, in the confined container and in the pod-level-Unconfined one's
            // container that names RuntimeDefault itself.
            for (pod, container) in [("confined", "app"), ("open", "strict")] {
                let run = try podrec.run([podrec.binary, "exec", pod, "-c", container, "--", "/probe/syscall_probe"] + Self.escapeCalls + ["clone3"])
                let got = Self.results(run.output)
                for call in Self.escapeCalls { #expect(got[call] == "EPERM", "\(pod)/\(container) exec, \(call): \(run.output)") }
                #expect(got["clone3"] == "ENOSYS", "\(pod)/\(container): \(run.output)")
            }

            // The control: the same calls reach the kernel, which answers for itself.
            let open = try podrec.run([podrec.binary, "exec", "open", "-c", "app", "--", "/probe/syscall_probe"] + Self.escapeCalls + ["clone3"])
            let got = Self.results(open.output)
            #expect(got["unshare-user"] == "OK" && got["clone-newuser"] == "OK", "\(open.output)")
            #expect(got["keyctl"] == "OK" || got["keyctl"] == "ENOKEY", "\(open.output)")
            for call in ["add_key", "mount"] { #expect(got[call] == "EFAULT", "\(call): \(open.output)") }
            // bpf without CAP_SYS_ADMIN: with unprivileged BPF off (2 here and in the VM),
            // 6.1 says EPERM itself before it reads the attributes, newer kernels read them
            // first (EFAULT). The control that the call reaches the kernel is `boot`'s, below,
            // with CAP_SYS_ADMIN: EFAULT. (RuntimeDefault allows bpf with CAP_SYS_ADMIN, as
            // containerd's does, so bpf's denial matters for the containers without it.)
            #expect(got["bpf"] == "EFAULT" || got["bpf"] == "EPERM", "\(open.output)")
            #expect(got["clone3"] == "EINVAL", "\(open.output)")
            // Without CAP_SYS_BOOT the kernel says EPERM itself; with it, EINVAL (bad magic).
            #expect(got["reboot"] == "EPERM", "\(open.output)")
            let boot = try podrec.run([podrec.binary, "exec", "open", "-c", "boot", "--", "/probe/syscall_probe", "reboot", "bpf"])
            #expect(Self.results(boot.output)["reboot"] == "EINVAL", "\(boot.output)")
            #expect(Self.results(boot.output)["bpf"] == "EFAULT", "\(boot.output)")
        }

        /// Ordinary work is untouched by RuntimeDefault: a shell pipeline, and busybox httpd
        /// serving a page on the pod's loopback to a client exec'd into the pod.
        @Test func ordinaryWorkRunsUnderRuntimeDefault() throws {
            try HostTool.require("/bin/busybox", package: "busybox-static")
            let (lab, podrec) = try CLI.lab("seccomp-work")
            defer { podrec.finish() }
            let bin = try Self.probe(lab)
            try Self.apply(podrec, "web.yaml", Self.pod("web", probe: bin, containers: [
                Self.container("web", command: "mkdir -p /tmp/www && echo hello-seccomp > /tmp/www/index.html && exec busybox httpd -f -p 127.0.0.1:8080 -h /tmp/www"),
            ]))
            #expect(try Self.seccompMode(podrec, "web", "web") == "2")
            var page = ""
            try CLIWatchTests.waitFor("the page") {
                page = try podrec("exec", "web", "--", "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/").output
                return page == "hello-seccomp\n"
            }
            let shell = try podrec("exec", "web", "--", "sh", "-c", "echo a b c | tr a-z A-Z | wc -w; ls /proc/self/fd | wc -l >/dev/null && echo ok")
            #expect(shell.output == "3\nok\n", "\(shell.output)")
        }

        /// A Localhost profile that answers mkdir with EACCES: the container's mkdir fails
        /// with it, through `podrec exec` and in an exec readiness probe (the pod turns Ready
        /// only because the probe saw EACCES), while the same probe in an Unconfined pod
        /// (the control) makes its directory and never turns Ready.
        @Test func aLocalhostProfileDeniesMkdirInExecAndExecProbes() throws {
            let (lab, podrec) = try CLI.lab("seccomp-localhost")
            defer { podrec.finish() }
            let bin = try Self.probe(lab)
            let root = lab.tmp + "/seccomp"
            try Sys.mkdirs(root + "/profiles", mode: 0o755)
            try Sys.writeFileAtomically(root + "/profiles/no-mkdir.json", Array("""
                {"defaultAction": "SCMP_ACT_ALLOW",
                 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
                """.utf8), mode: 0o644)
            let readiness = """
                    readinessProbe: {exec: {command: [sh, -c, '/probe/syscall_probe mkdir | grep -q EACCES']}, periodSeconds: 1}
                """
            try Self.apply(podrec, "local.yaml", Self.pod("local", probe: bin, containers: [
                Self.container("app", extra: readiness + "\n    securityContext: {seccompProfile: {type: Localhost, localhostProfile: profiles/no-mkdir.json}}"),
            ]), ["--seccomp-root", root])
            try Self.apply(podrec, "control.yaml", Self.pod("control", probe: bin, spec: "  securityContext: {seccompProfile: {type: Unconfined}}",
                                                             containers: [Self.container("app", extra: readiness)]), ["--seccomp-root", root],
                           wait: false)  // never Ready: that is the control
            try CLIWatchTests.waitFor("control running") { try podrec.pid("control", "app") != nil }

            let denied = try podrec("exec", "local", "--", "sh", "-c", "mkdir /tmp/d 2>&1; echo status=$?")
            #expect(denied.output.contains("Permission denied") && denied.output.contains("status=1"), "\(denied.output)")
            #expect(Self.results(try podrec("exec", "local", "--", "/probe/syscall_probe", "mkdir").output)["mkdir"] == "EACCES")
            #expect(Self.results(try podrec("exec", "control", "--", "/probe/syscall_probe", "mkdir").output)["mkdir"] == "OK")

            try CLIWatchTests.waitFor("local ready") { try CLIProbeTests.ready(podrec, "local") == "1/1" }
            #expect(try CLIProbeTests.ready(podrec, "control") == "0/1")
        }

        /// A profile that cannot be used is an error of `apply` at plan time, naming the
        /// file and the reason, and nothing is created: one that is not JSON, one naming an
        /// unknown syscall, one with an unknown action, one that leaves the seccomp root
        /// through a symlink, and one that is missing.
        @Test func aBadLocalhostProfileIsRefusedAtPlanTime() throws {
            let (lab, podrec) = try CLI.lab("seccomp-bad")
            defer { podrec.finish() }
            let bin = try Self.probe(lab)
            let root = lab.tmp + "/seccomp"
            try Sys.mkdirs(root, mode: 0o755)
            let cases: [(file: String, contents: String?, reason: String)] = [
                ("broken.json", #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": ["#, "not JSON"),
                ("unknown-call.json", #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "no_such_call"], "action": "SCMP_ACT_ERRNO"}]}"#,
                 #"syscalls[0].names: unknown syscall "no_such_call""#),
                ("unknown-action.json", #"{"defaultAction": "SCMP_ACT_MAYBE"}"#, #"defaultAction: unknown action "SCMP_ACT_MAYBE""#),
                ("escape.json", nil, "outside the seccomp root"),
                ("missing.json", nil, "no such profile"),
            ]
            try Sys.writeFileAtomically(lab.tmp + "/outside.json", Array(#"{"defaultAction": "SCMP_ACT_ALLOW"}"#.utf8), mode: 0o644)
            try #require(symlink(lab.tmp + "/outside.json", root + "/escape.json") == 0)
            for c in cases {
                if let contents = c.contents { try Sys.writeFileAtomically(root + "/" + c.file, Array(contents.utf8), mode: 0o644) }
                let yaml = Self.pod("bad", probe: bin, containers: [
                    Self.container("app", extra: "    securityContext: {seccompProfile: {type: Localhost, localhostProfile: \(c.file)}}"),
                ])
                let run = try podrec.run([podrec.binary, "apply", "-f", try podrec.write("bad.yaml", yaml), "--seccomp-root", root])
                #expect(run.status != 0, "\(c.file): \(run.output)")
                #expect(run.output.contains("spec.containers[0].securityContext.seccompProfile.localhostProfile"), "\(c.file): \(run.output)")
                #expect(run.output.contains(root + "/" + c.file) && run.output.contains(c.reason), "\(c.file): \(run.output)")
                #expect(try podrec("get").output == "No resources found\n", "\(c.file)")
            }
            #expect(!Sys.exists(lab.tmp + "/run/pods/default_bad"))
        }

        /// `privileged` is unconfined whatever the profile says, as in Kubernetes; and
        /// `--seccomp-default unconfined` leaves a container without a profile unconfined.
        @Test func privilegedAndTheUnconfinedDefaultHaveNoFilter() throws {
            let (lab, podrec) = try CLI.lab("seccomp-priv")
            defer { podrec.finish() }
            let bin = try Self.probe(lab)
            try Self.apply(podrec, "priv.yaml", Self.pod("priv", probe: bin, containers: [
                Self.container("app", extra: "    securityContext: {privileged: true, seccompProfile: {type: RuntimeDefault}}"),
            ]))
            #expect(try Self.seccompMode(podrec, "priv", "app") == "0")
            let run = try podrec.run([podrec.binary, "exec", "priv", "--", "/probe/syscall_probe", "unshare-user", "mount"])
            #expect(Self.results(run.output) == ["unshare-user": "OK", "mount": "EFAULT"], "\(run.output)")

            try Self.apply(podrec, "plain.yaml", Self.pod("plain", probe: bin, containers: [Self.container("app")]),
                           ["--seccomp-default", "unconfined"])
            #expect(try Self.seccompMode(podrec, "plain", "app") == "0")
        }

        /// A profile change is a change of the container: `diff` shows it and `apply`
        /// restarts that container (a new pid) with the new filter.
        @Test func aProfileChangeRestartsTheContainer() throws {
            let (lab, podrec) = try CLI.lab("seccomp-change")
            defer { podrec.finish() }
            let bin = try Self.probe(lab)
            let before = Self.pod("change", probe: bin, containers: [Self.container("app"), Self.container("other")])
            try Self.apply(podrec, "pod.yaml", before)
            let pid = try #require(try podrec.pid("change", "app"))
            let otherPID = try #require(try podrec.pid("change", "other"))
            let after = Self.pod("change", probe: bin, containers: [
                Self.container("app", extra: "    securityContext: {seccompProfile: {type: Unconfined}}"), Self.container("other"),
            ])
            let diff = try podrec("diff", "-f", try podrec.write("pod.yaml", after))
            #expect(diff.output.contains("seccomp: RuntimeDefault → Unconfined"), "\(diff.output)")
            try Self.apply(podrec, "pod.yaml", after)
            try CLIWatchTests.waitFor("app restarted") { (try podrec.pid("change", "app")).map { $0 != pid } ?? false }
            #expect(try Self.seccompMode(podrec, "change", "app") == "0")
            #expect(try podrec.pid("change", "other") == otherPID)
        }
    }
}
