import Cgroups
import Glibc
import Kernel
import KernelTestSupport
import PodModel
import Testing

extension Integration {
    /// Exhaustion and faults, injected for real under the built `podrec`: a pids limit
    /// reached, a full log disk, the supervisor out of fds, a cgroup write the kernel
    /// refuses, a hostPath that disappears, a volume dir made read-only. Each test checks
    /// the status, event or error text the fault gives, removes the fault, checks that the
    /// pod comes back to Running with its spec, and (the lab) that nothing leaked.
    ///
    /// The supervisor's restart backoff starts at 10 s (kubelet's), so a recovery takes
    /// one or two backoff periods: the waits allow a minute.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct CLIFaultTests {
        typealias CLI = CLIPodTests.CLI

        static func waitFor(_ what: String, seconds: Double = 60, context: () -> String = { "" },
                            sourceLocation: SourceLocation = #_sourceLocation, _ condition: () throws -> Bool) throws {
            try CLIWatchTests.waitFor(what, seconds: seconds, context: context, sourceLocation: sourceLocation, condition)
        }

        /// The pod's events from its status file, as `describe` lists them.
        static func eventList(_ lab: PodLab, _ pod: String) -> [PodEvent] {
            let text = (try? Sys.readString("\(lab.tmp)/run/pods/default_\(pod)/status")) ?? ""
            return (try? PodStatus.decode(text))?.events ?? []
        }

        /// reason → (count, message) of the latest event of each reason.
        static func events(_ lab: PodLab, _ pod: String) -> [String: (count: Int, message: String)] {
            var out: [String: (count: Int, message: String)] = [:]
            for e in eventList(lab, pod) { out[e.reason] = (e.count, e.message) }
            return out
        }

        /// The pod's cgroup dir under `controller` (v1) or the unified one (v2), or a
        /// container's below it.
        static func cgroupDirectory(_ lab: PodLab, _ controller: String, pod: String, container: String? = nil) throws -> String {
            let parentDirs = try lab.driver.directories(lab.cgroupParent)
            let parent = try #require(lab.driver.setup.mode == .unified ? parentDirs.first : parentDirs.first { $0.hasSuffix("/\(controller)/\(lab.cgroupParent)") })
            let podDir = try #require(try Sys.listDirectory(parent).first { $0.hasPrefix("default_\(pod)_") })
            return "\(parent)/\(podDir)" + (container.map { "/" + $0 } ?? "")
        }

        /// The container killed by hand: its supervisor restarts it (the first restart at once).
        static func killContainer(_ podrec: CLI, _ pod: String) throws {
            let pid = try #require(try podrec.pid(pod, "app"))
            try Sys.kill(pid, SIGKILL)
            try waitFor("\(pod)/app to leave pid \(pid)") { try podrec.pid(pod, "app") != pid }
        }

        /// `podrec get`'s STATUS and RESTARTS of `pod`.
        static func row(_ podrec: CLI, _ pod: String) throws -> (status: String, restarts: Int) {
            guard let words = try podrec.getRow(pod), words.count >= 4 else { return ("", -1) }
            return (words[2], Int(words[3]) ?? -1)
        }

        /// A pids limit reached inside a pod: podrec sets no pids.max of its own (kubelet's
        /// podPidsLimit is node config, off by default), so the test writes one on the
        /// container's cgroup. The shell's forks fail ("Cannot fork"), it exits, and the
        /// supervisor, in its own `_infra` cgroup, survives and says why: PidsLimitReached.
        /// With the limit gone, the next restart runs the whole script.
        @Test func aPidsLimitReachedIsContainedAndReported() throws {
            let (lab, podrec) = try CLI.lab("fault-pids")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", CLIPodTests.singlePod("pids", "for i in $(seq 40); do sleep 1000 & done; echo started 40; exec sleep 3600"))
            let applied = try podrec("apply", "-f", file, "--wait")
            try #require(applied.status == 0, "\(applied.output)")
            let supervisor = try #require(try podrec.supervisorPID("pids"))
            let pidsMax = try Self.cgroupDirectory(lab, "pids", pod: "pids", container: "app") + "/pids.max"
            try Sys.writeString(pidsMax, "10")
            defer { try? Sys.writeString(pidsMax, "max") }

            try Self.killContainer(podrec, "pids")
            try Self.waitFor("the PidsLimitReached event", context: { (try? podrec("describe", "pids").output) ?? "" }) {
                Self.events(lab, "pids")["PidsLimitReached"] != nil
            }
            let event = try #require(Self.events(lab, "pids")["PidsLimitReached"])
            #expect(event.message.hasPrefix("Container app: the kernel refused "), "\(event.message)")
            #expect(event.message.contains("its cgroup's pids.max is 10"), "\(event.message)")
            // The shell's own words for EAGAIN ("Cannot fork"), in the log of the run the event
            // came with: the run after the kill on v1; on v2 that start itself may be refused
            // (clone3 into a cgroup whose killed processes are still counted) and the run
            // after the backoff says it. The logs of both latest runs are kept.
            let dir = parentDirectory(try Self.logFile(lab, "pids", restart: 0))
            let runs = try Sys.listDirectory(dir).map { (try? Sys.readString(dir + "/" + $0)) ?? "" }.joined()
            #expect(runs.lowercased().contains("fork"), "\(runs)")
            #expect(Sys.exists("/proc/\(supervisor)"), "the supervisor survives")
            #expect(try podrec.supervisorPID("pids") == supervisor)
            let describe = try podrec("describe", "pids").output
            #expect(describe.contains("PidsLimitReached"), "\(describe)")

            // The fault gone: the next start (after the backoff) forks all it wants.
            try Sys.writeString(pidsMax, "max")
            try Self.waitFor("pids Running with its 40 sleeps", context: { (try? podrec("describe", "pids").output) ?? "" }) {
                guard try Self.row(podrec, "pids").status == "Running", let pid = try podrec.pid("pids", "app") else { return false }
                let restarts = try Self.row(podrec, "pids").restarts
                let log = (try? Sys.readString(try Self.logFile(lab, "pids", restart: restarts))) ?? ""
                return restarts >= 2 && log.contains("started 40") && Sys.exists("/proc/\(pid)")
            }
            #expect(try podrec.supervisorPID("pids") == supervisor)
            #expect(try podrec("diff", "-f", file).status == 0)
        }

        static func logFile(_ lab: PodLab, _ pod: String, restart: Int) throws -> String {
            let dir = try #require(try Sys.listDirectory(lab.tmp + "/log/pods").first { $0.hasPrefix("default_\(pod)_") })
            return "\(lab.tmp)/log/pods/\(dir)/app/\(restart).log"
        }

        /// The log dir on a 128 KiB tmpfs that a burst of output fills: the container keeps
        /// running (its pipes are drained and the output dropped), one FailedLogWrite event
        /// names the file and ENOSPC, and the file holds only whole records. Given room
        /// again, the log goes on, and LogWriteResumed says how much was lost.
        @Test func aFullLogDiskIsReportedOnceAndTheLogResumes() throws {
            let lab = try PodLab("fault-logfull")
            defer { lab.finish() }
            let logDir = lab.tmp + "/log"
            try Sys.mkdir(logDir, mode: 0o755)
            try Sys.mount(source: "podrec-test", target: logDir, fstype: "tmpfs", flags: [.noSuid, .noDev], data: "size=128k,mode=0755")
            defer { try? Sys.unmount(logDir) }
            let podrec = CLI(lab: lab)
            defer { _ = try? podrec("delete", "--all", "--grace-period", "0") }
            // About 400 KiB at once, then a line every 0.2 s.
            let line = String(repeating: "x", count: 100)
            let file = try podrec.write("pod.yaml", CLIPodTests.singlePod("chatty", "i=0; while [ $i -lt 3000 ]; do i=$((i+1)); echo burst $i \(line); done; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"))
            let applied = try podrec("apply", "-f", file, "--wait")
            try #require(applied.status == 0, "\(applied.output)")
            let pid = try #require(try podrec.pid("chatty", "app"))

            try Self.waitFor("the FailedLogWrite event", context: { (try? podrec("describe", "chatty").output) ?? "" }) {
                Self.events(lab, "chatty")["FailedLogWrite"] != nil
            }
            let failed = try #require(Self.events(lab, "chatty")["FailedLogWrite"])
            let path = try Self.logFile(lab, "chatty", restart: 0)
            #expect(failed.message.contains(path) && failed.message.contains("ENOSPC"), "\(failed.message)")
            // Still writing (and failing) for a while: the container is not blocked on its
            // pipe, and the failure is not reported per write. (The log can come and go at
            // the edge of the last page, a short record fitting where a long one did not;
            // such a spell stays one event with a count, as kubelet aggregates.)
            let before = try #require(try podrec.status("chatty", "app", "state"))
            #expect(before == "running")
            MonotonicClock.sleep(nanoseconds: 1_000_000_000)
            let spell = Self.eventList(lab, "chatty").filter { $0.reason == "FailedLogWrite" }
            #expect(spell.count == 1 && spell[0].count < 10, "\(spell)")

            try Sys.mount(source: "podrec-test", target: logDir, fstype: nil, flags: [.remount, .noSuid, .noDev], data: "size=4m,mode=0755")
            try Self.waitFor("the LogWriteResumed event and a tick in the log", context: { (try? podrec("describe", "chatty").output) ?? "" }) {
                Self.events(lab, "chatty")["LogWriteResumed"] != nil && ((try? Sys.readString(path)) ?? "").contains("stdout F tick ")
            }
            let resumed = try #require(Self.events(lab, "chatty")["LogWriteResumed"])
            #expect(resumed.message == "The log of container app is written again; output in between was dropped", "\(resumed.message)")
            #expect(Self.eventList(lab, "chatty").filter { $0.reason == "FailedLogWrite" }.count == 1)
            #expect(try podrec.pid("chatty", "app") == pid, "the same run throughout")
            // Every record whole: a write cut short by ENOSPC was cut back out of the file.
            let records = try Sys.readString(path).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            let torn = records.filter { r in
                let f = r.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                guard f.count == 4, f[1] == "stdout", f[2] == "F" else { return true }
                return f[3].hasPrefix("burst ") ? !f[3].hasSuffix(" " + line) : !f[3].hasPrefix("tick ")
            }
            #expect(torn.isEmpty, "torn records: \(torn.prefix(3))")
            let logs = try podrec("logs", "chatty", "--tail", "1")
            #expect(logs.status == 0 && logs.output.hasPrefix("tick "), "\(logs.output)")
        }

        /// The supervisor's open-files limit lowered below what it holds (`prlimit`, the soft
        /// limit: root here cannot raise a hard limit again): an exec probe that cannot open
        /// the container's namespaces is a prober error (an event, and no failure that would
        /// kill a healthy container, as kubelet throws such a result away); a restart cannot
        /// make its pipes and is a StartError that names EMFILE and the supervisor. With the
        /// limit back, the restart after the backoff runs, under the same supervisor.
        @Test func theSupervisorOutOfFdsKeepsItsPodAndRecovers() throws {
            let (lab, podrec) = try CLI.lab("fault-fds")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", CLIPodTests.singlePod("fds", "echo up; exec sleep 3600", container: """
                    livenessProbe: {exec: {command: ["true"]}, periodSeconds: 1, failureThreshold: 1}
                  - name: side
                    image: host
                    command: [sh, -c, 'exec sleep 3600']
                """))
            let applied = try podrec("apply", "-f", file, "--wait")
            try #require(applied.status == 0, "\(applied.output)")
            let supervisor = try #require(try podrec.supervisorPID("fds"))
            let app = try #require(try podrec.pid("fds", "app"))
            let side = try #require(try podrec.pid("fds", "side"))
            // util-linux prlimit(1): `--nofile=SOFT:` sets the soft limit alone.
            let limits = try Sys.readString("/proc/\(supervisor)/limits").split(separator: "\n").first { $0.hasPrefix("Max open files") }
            let soft = try #require(limits?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first.map(String.init))
            func setSoftLimit(_ value: String) throws -> Bool {
                try podrec.run(["/usr/bin/prlimit", "--pid", String(supervisor), "--nofile=\(value):"]).status == 0
            }
            // Below the fds it holds (0 to 10: stdio, its signalfd, /dev/null and the reserve
            // fd, two pipes per container and app's log), which stay open: every new one
            // fails. Not lower: poll refuses more entries than the limit (1 + 4 here).
            try #require(try setSoftLimit("8"))
            defer { _ = try? setSoftLimit(soft) }

            try Self.waitFor("a probe error event", context: { (try? podrec("describe", "fds").output) ?? "" }) {
                Self.events(lab, "fds")["Unhealthy"] != nil
            }
            let unhealthy = try #require(Self.events(lab, "fds")["Unhealthy"])
            #expect(unhealthy.message.hasPrefix("Liveness probe errored and resulted in unknown state: ") && unhealthy.message.contains("EMFILE"),
                    "\(unhealthy.message)")
            // failureThreshold 1: a probe error counted as a failure would have killed it.
            MonotonicClock.sleep(nanoseconds: 1_500_000_000)
            let stillApp = try podrec.pid("fds", "app")
            #expect(stillApp == app && Self.events(lab, "fds")["Killing"] == nil, "a probe error kills nothing")

            try Self.killContainer(podrec, "fds")
            try Self.waitFor("the StartError", context: { (try? podrec("describe", "fds").output) ?? "" }) {
                (try podrec.status("fds", "app", "reason")) == "CrashLoopBackOff"
            }
            let message = try podrec("describe", "fds").output
            #expect(message.contains("Reason:           StartError") && message.contains("EMFILE (Too many open files): podrec-supervisor (pid \(supervisor)) is at its limit of open files"),
                    "\(message)")
            #expect(try podrec.pid("fds", "side") == side, "the other container runs on")

            try #require(try setSoftLimit(soft))
            try Self.waitFor("fds Running again", context: { (try? podrec("describe", "fds").output) ?? "" }) {
                let r = try Self.row(podrec, "fds")
                return try r.status == "Running" && r.restarts >= 2 && podrec.status("fds", "app", "ready") == "true"
            }
            #expect(try podrec.supervisorPID("fds") == supervisor)
            #expect(try podrec.pid("fds", "side") == side)
            #expect(try podrec("diff", "-f", file).status == 0)
        }

        /// A cgroup write the kernel refuses. cgroup v1: the test's parent cgroup gets a CPU
        /// quota (1.5 CPUs) below the new pod's (2), and the kernel refuses a child quota above its parent's
        /// (EINVAL), both for a new pod and for an in-place resize. cgroup v2 has no such
        /// check (the smaller quota wins), so there the parent's cgroup.max.descendants
        /// refuses the new pod's cgroup (EAGAIN). apply fails with one line naming the file
        /// and errno, records nothing for the new pod, leaves the running one as it was, and
        /// the next apply, the fault gone, converges.
        @Test func aRefusedCgroupWriteFailsTheApplyAndTheNextPassConverges() throws {
            let (lab, podrec) = try CLI.lab("fault-cgroup")
            defer { podrec.finish() }
            // Whole CPUs: under emulation (the cgroup v2 VM) a container throttled to a
            // fraction of one can take longer to start than apply waits for its supervisor.
            let resources = "    resources: {limits: {cpu: CPU, memory: 32Mi}}"
            let first = try podrec.write("first.yaml", CLIPodTests.singlePod("first", "exec sleep 3600", container: resources.replacingOccurrences(of: "CPU", with: "1")))
            let created = try podrec("apply", "-f", first, "--wait")
            try #require(created.status == 0, "\(created.output)")
            let pid = try #require(try podrec.pid("first", "app"))

            let unified = lab.driver.setup.mode == .unified
            let parentDirs = try lab.driver.directories(lab.cgroupParent)
            let knob = try #require(unified ? parentDirs.first.map { $0 + "/cgroup.max.descendants" }
                                            : parentDirs.first { $0.hasSuffix("/cpu/\(lab.cgroupParent)") }.map { $0 + "/cpu.cfs_quota_us" })
            let (fault, healed) = unified ? (try Sys.readString(parentDirs[0] + "/cgroup.stat").split(separator: "\n")
                                                .first { $0.hasPrefix("nr_descendants ") }.map { String($0.dropFirst("nr_descendants ".count)) } ?? "0", "max")
                                          : ("150000", "-1")
            try Sys.writeString(knob, fault)
            defer { try? Sys.writeString(knob, healed) }

            let second = try podrec.write("second.yaml", CLIPodTests.singlePod("second", "exec sleep 3600", container: resources.replacingOccurrences(of: "CPU", with: "2")))
            let refused = try podrec("apply", "-f", second)
            #expect(refused.status == 1, "\(refused.output)")
            let want = unified ? ["mkdir ", "EAGAIN"] : ["cpu.cfs_quota_us \"200000\"", "EINVAL (Invalid argument)"]
            let errorLines = refused.output.split(separator: "\n").filter { $0.contains("error:") }
            #expect(errorLines.count == 1 && want.allSatisfy { errorLines[0].contains($0) } && errorLines[0].contains("+ pod default/second"),
                    "\(refused.output)")
            #expect(!Sys.exists(lab.tmp + "/run/pods/default_second"), "nothing recorded for the refused pod")
            #expect(try Self.row(podrec, "second").status == "")
            #expect(try podrec("diff", "-f", second).status == 1)

            if !unified {
                // An in-place resize refused the same way: the container keeps running.
                _ = try podrec.write("first.yaml", CLIPodTests.singlePod("first", "exec sleep 3600", container: resources.replacingOccurrences(of: "CPU", with: "2")))
                let resize = try podrec("apply", "-f", first)
                #expect(resize.status == 1 && resize.output.contains("cpu.cfs_quota_us \"200000\": EINVAL (Invalid argument)"), "\(resize.output)")
                let diff = try podrec("diff", "-f", first)
                #expect(diff.status == 1 && diff.output.contains("(in place)"), "\(diff.output)")
            }
            #expect(try podrec.pid("first", "app") == pid)

            try Sys.writeString(knob, healed)
            let again = try podrec("apply", "-f", first, "-f", second, "--wait")
            #expect(again.status == 0, "\(again.output)")
            let (a, b) = (try Self.row(podrec, "first").status, try Self.row(podrec, "second").status)
            #expect(a == "Running" && b == "Running")
            #expect(try podrec.pid("first", "app") == pid, "resized in place")
            let diff = try podrec("diff", "-f", first, "-f", second)
            #expect(diff.status == 0, "\(diff.output)")
        }

        /// A hostPath dir removed while its pod runs: the running container keeps its
        /// mount; a restart cannot bind it and is a StartError naming the path and ENOENT,
        /// retried with backoff. Once the dir is back, the next try runs.
        @Test func aHostPathThatDisappearsFailsTheRestartUntilItIsBack() throws {
            let (lab, podrec) = try CLI.lab("fault-hostpath")
            defer { podrec.finish() }
            let host = lab.tmp + "/host"
            try Sys.mkdir(host, mode: 0o755)
            let file = try podrec.write("pod.yaml", CLIPodTests.singlePod("hp", "test -d /h && echo seen; exec sleep 3600",
                                                             extra: "  volumes: [{name: h, hostPath: {path: \(host)}}]",
                                                             container: "    volumeMounts: [{name: h, mountPath: /h}]"))
            let created = try podrec("apply", "-f", file, "--wait")
            try #require(created.status == 0, "\(created.output)")
            let supervisor = try #require(try podrec.supervisorPID("hp"))

            try Sys.rmdir(host)
            try Self.killContainer(podrec, "hp")
            try Self.waitFor("the StartError", context: { (try? podrec("describe", "hp").output) ?? "" }) {
                Self.events(lab, "hp")["Failed"] != nil
            }
            let failed = try #require(Self.events(lab, "hp")["Failed"])
            #expect(failed.message == "Error: mount /h (rbind from \(host)): ENOENT (No such file or directory)", "\(failed.message)")
            #expect(try podrec.status("hp", "app", "state") == "waiting")
            #expect(try podrec.status("hp", "app", "message") == "mount /h (rbind from \(host)): ENOENT (No such file or directory)")
            #expect(Self.events(lab, "hp")["BackOff"] != nil)
            #expect(try podrec.supervisorPID("hp") == supervisor)

            try Sys.mkdir(host, mode: 0o755)
            try Self.waitFor("hp Running again", context: { (try? podrec("describe", "hp").output) ?? "" }) {
                let r = try Self.row(podrec, "hp")
                guard r.status == "Running", r.restarts >= 2 else { return false }
                return ((try? Sys.readString(try Self.logFile(lab, "hp", restart: r.restarts))) ?? "").contains("stdout F seen")
            }
            #expect(try podrec("diff", "-f", file).status == 0)
        }

        /// A volume dir made read-only (a read-only bind mount over it; chmod means nothing
        /// to root). The pod's emptyDir: the restarted container cannot write it, exits, and
        /// backs off (its log says EROFS). The data root's pods dir: a new pod cannot make
        /// its volumes, and apply fails with one line naming the dir and EROFS, recording
        /// nothing. With the mounts gone, the restart and the next apply succeed.
        @Test func aReadOnlyVolumeDirFailsUntilItIsWritable() throws {
            let (lab, podrec) = try CLI.lab("fault-readonly")
            defer { podrec.finish() }
            func pod(_ name: String) -> String {
                CLIPodTests.singlePod(name, "date >> /data/starts && exec sleep 3600", extra: "  volumes: [{name: data, emptyDir: {}}]",
                         container: "    volumeMounts: [{name: data, mountPath: /data}]")
            }
            let file = try podrec.write("ro.yaml", pod("ro"))
            let created = try podrec("apply", "-f", file, "--wait")
            try #require(created.status == 0, "\(created.output)")
            let uid = try #require(try Sys.listDirectory(lab.tmp + "/data/pods").first)
            let volume = "\(lab.tmp)/data/pods/\(uid)/volumes/data"
            let pods = lab.tmp + "/data/pods"
            var mounted: [String] = []
            defer { for m in mounted.reversed() { try? Sys.unmount(m) } }
            for dir in [volume, pods] {
                try Sys.mount(source: dir, target: dir, fstype: nil, flags: [.bind], data: nil)
                mounted.append(dir)
                try Sys.mount(source: dir, target: dir, fstype: nil, flags: [.remount, .bind, .readOnly], data: nil)
            }

            try Self.killContainer(podrec, "ro")
            try Self.waitFor("ro backing off", context: { (try? podrec("describe", "ro").output) ?? "" }) {
                (try podrec.status("ro", "app", "reason")) == "CrashLoopBackOff"
            }
            let log = try podrec("logs", "ro")
            #expect(log.output.contains("/data/starts: Read-only file system"), "\(log.output)")

            let second = try podrec.write("ro2.yaml", pod("ro2"))
            let refused = try podrec("apply", "-f", second)
            #expect(refused.status == 1, "\(refused.output)")
            let errorLines = refused.output.split(separator: "\n").filter { $0.contains("error:") }
            #expect(errorLines.count == 1 && errorLines[0].contains("volume \"data\": mkdir \(pods)/") && errorLines[0].hasSuffix("EROFS (Read-only file system)"),
                    "\(refused.output)")
            #expect(!Sys.exists(lab.tmp + "/run/pods/default_ro2"), "nothing recorded for the refused pod")

            for m in mounted.reversed() { try Sys.unmount(m) }
            mounted = []
            let again = try podrec("apply", "-f", file, "-f", second, "--wait")
            #expect(again.status == 0, "\(again.output)")
            try Self.waitFor("ro Running again", context: { (try? podrec("describe", "ro").output) ?? "" }) {
                let r = try Self.row(podrec, "ro")
                return r.status == "Running" && r.restarts >= 2
            }
            let starts = try Sys.readString(volume + "/starts").split(separator: "\n")
            #expect(starts.count == 2, "the first run and the one after the fault wrote: \(starts)")
            #expect(try podrec("diff", "-f", file, "-f", second).status == 0)
        }
    }
}
