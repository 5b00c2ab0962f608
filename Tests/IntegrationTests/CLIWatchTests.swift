import Foundation
import Cgroups
import Glibc
import Kernel
import KernelTestSupport
import Spawn
import Testing
import PodModel

extension Integration {
    /// `podrec watch DIR`, the built binary against real pods: files created, edited in place
    /// and by rename, renamed and deleted; invalid and refused files; the directory replaced;
    /// a burst of changes; the watcher killed at random points. Each test has its own roots
    /// and cgroup parent, deletes every pod it made, and checks that nothing leaked.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct CLIWatchTests {
        typealias CLI = CLIPodTests.CLI

        /// One test's lab, its podrec and a manifest dir; `finish` deletes every pod, then
        /// checks that nothing leaked.
        struct WatchLab {
            let lab: PodLab
            let podrec: CLI
            let dir: String

            init(_ label: String) throws {
                (lab, podrec) = try CLI.lab(label)
                do { dir = try CLIWatchTests.directory(lab) } catch {
                    lab.finish()
                    throw error
                }
            }

            func finish(sourceLocation: SourceLocation = #_sourceLocation) {
                podrec.finish(sourceLocation: sourceLocation)
            }
        }

        /// One watcher process, its output in a file. A class, so that the wait status is
        /// kept once it is reaped: a second `stop` (a test's own, then its `defer`) must not
        /// signal a pid that may already belong to another process.
        final class WatchProcess {
            let pid: Int32
            let logPath: String
            private(set) var exit: WaitStatus?

            init(pid: Int32, logPath: String) {
                self.pid = pid
                self.logPath = logPath
            }

            static func start(_ podrec: CLI, dir: String, _ extra: String...) throws -> WatchProcess {
                let w = try background(podrec, ["watch", dir] + extra, log: "watch.log")
                try CLIWatchTests.waitFor("the watcher's first pass") {
                    if w.log.contains("watching ") { return true }
                    if let status = Sys.reapChild(w.pid) { w.exit = WaitStatus(status) }
                    return w.exit != nil
                }
                return w
            }

            /// Any podrec command (or `binary`), running on with its stdout and stderr in
            /// `<lab>/<log>` (`get -w`, `events -w`, a Prometheus server).
            static func background(_ podrec: CLI, _ arguments: [String], log: String, binary: String? = nil) throws -> WatchProcess {
                let logPath = podrec.lab.tmp + "/" + log
                let fd = try Sys.openForAppending(logPath, mode: 0o644)
                defer { Sys.close(fd) }
                var request = SpawnRequest([binary ?? podrec.binary] + arguments, environment: podrec.environment)
                request.stdout = fd
                request.stderr = fd
                let child = try spawn(request)
                if let pidfd = child.pidfd { Sys.close(pidfd) }
                return WatchProcess(pid: child.pid, logPath: logPath)
            }

            var log: String { (try? Sys.readString(logPath)) ?? "" }

            /// Waits for `text` in the log. The watcher logs a pass's actions when the pass is
            /// done, so what they did can show in the kernel and in `get` before the line does.
            func waitForLine(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
                try CLIWatchTests.waitFor("the log line \"\(text)\"", context: { self.log }, sourceLocation: sourceLocation) { log.contains(text) }
            }

            func signal(_ signal: Int32) throws { try Sys.kill(pid, signal) }

            /// Signals the watcher and reaps it: its wait status. Once reaped, the status kept.
            @discardableResult
            func stop(_ signal: Int32 = SIGTERM) throws -> WaitStatus {
                if let exit { return exit }
                try Sys.kill(pid, signal)
                let status = WaitStatus(try Sys.wait(pid))
                exit = status
                return status
            }
        }

        /// `context`: what to report on a timeout (the pods, the watcher's log).
        static func waitFor(_ what: String, seconds: Double = 30, context: () -> String = { "" },
                            sourceLocation: SourceLocation = #_sourceLocation, _ condition: () throws -> Bool) throws {
            let deadline = MonotonicClock.now() + Int64(seconds * 1e9)
            while MonotonicClock.now() < deadline {
                if try condition() { return }
                MonotonicClock.sleep(nanoseconds: 10_000_000)
            }
            Issue.record("timed out waiting for \(what)\n\(context())", sourceLocation: sourceLocation)
            throw CancellationError()
        }

        /// `podrec get`: name → STATUS.
        static func pods(_ podrec: CLI) throws -> [String: String] {
            var out: [String: String] = [:]
            for words in try podrec.getRows() where words.count >= 3 { out[words[0]] = words[2] }
            return out
        }

        static func pod(_ name: String, value: String = "1", command: String = "exec sleep 3600") -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name)}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: app
                image: host
                command: [sh, -c, '\(command)']
                env: [{name: V, value: "\(value)"}]

            """
        }

        /// A manifest directory, mode 0755.
        static func directory(_ lab: PodLab, _ name: String = "manifests") throws -> String {
            let dir = lab.tmp + "/" + name
            try Sys.mkdir(dir, mode: 0o755)
            try Sys.chmod(dir, 0o755)
            return dir
        }

        /// Writes in place: open with O_TRUNC, write, close, as editors that do not rename do.
        static func writeInPlace(_ path: String, _ text: String) throws {
            let fd = try Sys.open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
            defer { Sys.close(fd) }
            try Sys.writeAll(fd, Array(text.utf8))
        }

        /// Writes by rename, as most editors and `kubectl`-style tools save.
        static func writeByRename(_ path: String, _ text: String) throws {
            try Sys.writeFileAtomically(path, Array(text.utf8), mode: 0o644, durable: false)
        }

        /// The value of V in a pod's launch plan.
        static func value(_ lab: PodLab, _ pod: String) -> String? {
            guard let plan = try? Sys.readString("\(lab.tmp)/run/pods/default_\(pod)/plan") else { return nil }
            return plan.split(separator: "\n").first { $0.hasPrefix("env V=") }.map { String($0.dropFirst(6)) }
        }

        @Test func filesCreatedEditedRenamedAndDeletedDriveThePods() throws {
            let t = try WatchLab("watch-files")
            defer { t.finish() }
            let (lab, podrec, dir) = (t.lab, t.podrec, t.dir)
            let watcher = try WatchProcess.start(podrec, dir: dir)
            defer { _ = try? watcher.stop() }

            // Created by rename.
            try Self.writeByRename(dir + "/a.yaml", Self.pod("wa"))
            try Self.waitFor("wa running") { try Self.pods(podrec)["wa"] == "Running" }
            let first = try podrec.pid("wa", "app")

            // Edited in place: the container restarts with the new spec.
            try Self.writeInPlace(dir + "/a.yaml", Self.pod("wa", value: "2"))
            try Self.waitFor("the in-place edit") {
                let pid = try podrec.pid("wa", "app")
                return Self.value(lab, "wa") == "2" && pid != nil && pid != first
            }
            let second = try podrec.pid("wa", "app")

            // Edited by rename.
            try Self.writeByRename(dir + "/a.yaml", Self.pod("wa", value: "3"))
            try Self.waitFor("the edit by rename") {
                let pid = try podrec.pid("wa", "app")
                return Self.value(lab, "wa") == "3" && pid != nil && pid != second
            }
            let third = try podrec.pid("wa", "app")

            // The file renamed: the same pod, now from b.yaml; it keeps running as it was.
            try Sys.rename(dir + "/a.yaml", dir + "/b.yaml")
            try watcher.signal(SIGHUP)
            try Self.waitFor("the resync after the rename") { watcher.log.contains("SIGHUP: resync") }
            MonotonicClock.sleep(nanoseconds: 100_000_000)
            #expect(try Self.pods(podrec) == ["wa": "Running"])
            #expect(try podrec.pid("wa", "app") == third, "a renamed file does not restart its pods")

            // A second pod, then the file deleted: both are gone, gracefully.
            try Self.writeByRename(dir + "/c.yaml", Self.pod("wc"))
            try Self.waitFor("wc running") { try Self.pods(podrec)["wc"] == "Running" }
            try Sys.unlink(dir + "/b.yaml")
            try Self.waitFor("wa deleted") { try Self.pods(podrec)["wa"] == nil }
            #expect(try Self.pods(podrec) == ["wc": "Running"])
            try watcher.waitForLine("event b.yaml: deleted")
            try watcher.waitForLine("- pod default/wa: not in the input (prune, source watch:\(dir)/b.yaml) (stopping; finished when its supervisor exits)")
            try watcher.waitForLine("- pod default/wa: finish deleting: its supervisor has stopped")

            // SIGTERM stops the watcher and leaves the pods running.
            #expect(try watcher.stop(SIGTERM) == .exited(0))
            #expect(watcher.log.contains("SIGTERM: stopping; the pods keep running"))
            #expect(try Self.pods(podrec) == ["wc": "Running"])
        }

        /// A file that fails to parse or validate, or that anyone could write, changes nothing:
        /// its pods run on, and the error is logged once per change, not at each resync.
        @Test func badAndRefusedFilesChangeNothingAndAreReportedOncePerChange() throws {
            let t = try WatchLab("watch-bad")
            defer { t.finish() }
            let (lab, podrec, dir) = (t.lab, t.podrec, t.dir)
            try Self.writeByRename(dir + "/a.yaml", Self.pod("wa"))
            let watcher = try WatchProcess.start(podrec, dir: dir)
            defer { _ = try? watcher.stop() }
            try Self.waitFor("wa running") { try Self.pods(podrec)["wa"] == "Running" }
            let pid = try podrec.pid("wa", "app")

            try Self.writeInPlace(dir + "/a.yaml", Self.pod("wa", value: "2") + "  bogus: 1\n")
            try Self.waitFor("the error") { watcher.log.contains("a.yaml:") && watcher.log.contains("spec.bogus: unknown field") }
            for _ in 0..<2 {
                let before = watcher.log.components(separatedBy: "\n").count
                try watcher.signal(SIGHUP)
                try Self.waitFor("a resync") { watcher.log.components(separatedBy: "\n").count > before }
            }
            MonotonicClock.sleep(nanoseconds: 100_000_000)
            let log = watcher.log
            #expect(log.components(separatedBy: "spec.bogus: unknown field").count == 2, "logged once: \(log)")
            #expect(try podrec.pid("wa", "app") == pid, "its pod runs on as it was")
            #expect(Self.value(lab, "wa") == "1")

            // Writable by others: refused, with the mode; the pod runs on.
            try Self.writeInPlace(dir + "/a.yaml", Self.pod("wa", value: "3"))
            try Sys.chmod(dir + "/a.yaml", 0o666)
            try Self.waitFor("the refusal") { watcher.log.contains("a.yaml: refused: mode 0666 is writable by group and others") }
            #expect(try podrec.pid("wa", "app") == pid)
            try Sys.chmod(dir + "/a.yaml", 0o644)
            try Self.waitFor("the fixed file applied") { Self.value(lab, "wa") == "3" }

            // Two files that define one pod: an error for both; the recorded owner keeps it.
            try Self.writeByRename(dir + "/0-first.yaml", Self.pod("wa", value: "9"))
            try watcher.waitForLine("\(dir)/0-first.yaml: error: pod default/wa is also defined in \(dir)/a.yaml; ignored here: \(dir)/a.yaml keeps it")
            try watcher.waitForLine("\(dir)/a.yaml: error: pod default/wa is also defined in \(dir)/0-first.yaml; this file keeps it")
            #expect(Self.value(lab, "wa") == "3")
        }

        /// A resync (SIGHUP here, else every --resync seconds) repairs what it finds in the
        /// kernel: a limit written by hand, a supervisor killed by hand.
        @Test func theResyncRepairsDrift() throws {
            let t = try WatchLab("watch-drift")
            defer { t.finish() }
            let (lab, podrec, dir) = (t.lab, t.podrec, t.dir)
            try Self.writeByRename(dir + "/a.yaml", CLIPodTests.pod("wd"))
            let watcher = try WatchProcess.start(podrec, dir: dir)
            defer { _ = try? watcher.stop() }
            try Self.waitFor("wd running") { try Self.pods(podrec)["wd"] == "Running" }
            let memoryFile = try CLIPodTests.memoryFile(lab, pod: "wd", container: "app")
            try Sys.writeString(memoryFile, String(96 << 20))
            try watcher.signal(SIGHUP)
            try Self.waitFor("the limit restored") { (try Sys.readString(memoryFile)) == "33554432\n" }
            try watcher.waitForLine("memory 96Mi → 32Mi (in place)")

            let supervisor = try #require(try podrec.supervisorPID("wd"))
            try Sys.kill(supervisor, SIGKILL)
            try watcher.signal(SIGHUP)
            try Self.waitFor("the pod recreated") {
                let now = try? podrec.supervisorPID("wd")
                let status = try Self.pods(podrec)["wd"]
                return now != nil && now != supervisor && status == "Running"
            }
            try watcher.waitForLine("~ pod default/wd recreate: its supervisor is dead")
        }

        /// A watched pod touched by hand. `delete` removes it and says that the watcher will
        /// bring it back unless its file goes, as kubectl says of a mirror pod; the watcher
        /// does. `apply` of the same pod changes nothing and exits 1 naming the owner;
        /// `apply --force-owner` takes it over: its record names apply, and the watcher leaves
        /// it alone from then on (an edit of the file no longer reaches it).
        @Test func aWatchedPodDeletedOrAppliedByHand() throws {
            let t = try WatchLab("watch-owner")
            defer { t.finish() }
            let (lab, podrec, dir) = (t.lab, t.podrec, t.dir)
            try Self.writeByRename(dir + "/a.yaml", Self.pod("wo"))
            let watcher = try WatchProcess.start(podrec, dir: dir)
            defer { _ = try? watcher.stop() }
            try Self.waitFor("wo running") { try Self.pods(podrec)["wo"] == "Running" }
            let first = try #require(try podrec.supervisorPID("wo"))

            let deleted = try podrec("delete", "wo", "--grace-period", "0")
            #expect(deleted.status == 0, "\(deleted.output)")
            #expect(deleted.output.contains("pod default/wo deleted"))
            #expect(deleted.output.contains("warning: pod default/wo is defined by \(dir)/a.yaml; its watcher creates it again unless that file goes"),
                    "\(deleted.output)")
            try watcher.signal(SIGHUP)
            try Self.waitFor("wo back", context: { watcher.log }) {
                let now = try? podrec.supervisorPID("wo")
                let status = try Self.pods(podrec)["wo"]
                return now != nil && now != first && status == "Running"
            }

            let file = try podrec.write("wo.yaml", Self.pod("wo", value: "2"))
            let refused = try podrec("apply", "-f", file)
            #expect(refused.status == 1, "\(refused.output)")
            #expect(refused.output.contains("! pod default/wo refused: owned by watch:\(dir)/a.yaml"), "\(refused.output)")
            #expect(refused.output.contains("--force-owner"), "\(refused.output)")
            #expect(Self.value(lab, "wo") == "1", "refused: the pod runs as its file says")
            let diff = try podrec("diff", "-f", file, "--force-owner")
            #expect(diff.status == 1 && diff.output.contains("~ pod default/wo source apply: taken over from watch:\(dir)/a.yaml (--force-owner)"),
                    "\(diff.output)")

            let taken = try podrec("apply", "-f", file, "--force-owner")
            #expect(taken.status == 0, "\(taken.output)")
            #expect(Self.value(lab, "wo") == "2")
            #expect(try podrec("apply", "-f", file).output.contains("no changes"), "apply owns it now")
            try Self.writeByRename(dir + "/a.yaml", Self.pod("wo", value: "3"))
            try watcher.signal(SIGHUP)
            try watcher.waitForLine("= pod default/wo: owned by apply")
            #expect(Self.value(lab, "wo") == "2", "the watcher leaves apply's pod alone")
        }

        /// Under systemd (`Type=notify`, `WatchdogSec=`): READY=1 once the first full pass
        /// has made the directory's pods, WATCHDOG=1 every half of WATCHDOG_USEC while the
        /// loop runs, STOPPING=1 on SIGTERM; the variables do not reach the pods. The shipped
        /// unit file passes `systemd-analyze verify` where systemd is installed.
        @Test func theSystemdNotifyProtocol() throws {
            let t = try WatchLab("watch-notify")
            defer { t.finish() }
            let dir = t.dir
            var podrec = t.podrec
            let listener = try NotifyListener(path: t.lab.tmp + "/notify")
            defer { listener.close() }
            podrec.extraEnvironment = ["NOTIFY_SOCKET=\(listener.path)", "WATCHDOG_USEC=200000"]
            try Self.writeByRename(dir + "/a.yaml", Self.pod("wn", command: "echo NOTIFY_SOCKET=$NOTIFY_SOCKET; exec sleep 3600"))
            let watcher = try WatchProcess.start(podrec, dir: dir)
            defer { _ = try? watcher.stop() }
            let ready = try #require(listener.receive(until: "READY=1", milliseconds: 30_000), "READY=1\n\(watcher.log)")
            #expect(ready.last == "READY=1\nSTATUS=watching \(dir)\n")
            #expect(try podrec.getRow("wn") != nil, "the first pass made the pod before READY=1")
            var pets = 0
            let start = MonotonicClock.now()
            while pets < 3, MonotonicClock.now() - start < 10_000_000_000 {
                if listener.receive(milliseconds: 1000) == "WATCHDOG=1\n" { pets += 1 }
            }
            #expect(pets == 3, "the watchdog is petted while the loop runs")
            try watcher.signal(SIGTERM)
            #expect(listener.receive(until: "STOPPING=1", milliseconds: 10_000) != nil)
            #expect(try watcher.stop() == .exited(0))
            try Self.waitFor("the pod's log") { (try? podrec("logs", "wn").output.contains("NOTIFY_SOCKET=")) ?? false }
            #expect(try podrec("logs", "wn").output == "NOTIFY_SOCKET=\n", "the pod does not inherit the notify socket")

            let unit = try Sys.readString(CLIPodTests.repository + "/contrib/systemd/podrec-watch.service")
            #expect(unit.contains("\nType=notify\n") && unit.contains("\nWatchdogSec="))
            let analyze = "/usr/bin/systemd-analyze"
            if access(analyze, X_OK) == 0 {
                let copy = try podrec.write("podrec-watch.service", unit.replacingOccurrences(of: "/usr/local/bin/podrec", with: podrec.binary))
                let verify = try podrec.run([analyze, "verify", copy])
                // An unknown key is only a warning to verify: no output at all is the pass.
                #expect(verify.status == 0 && verify.output.isEmpty, "\(verify.output)")
            }
        }

        /// A file made invalid keeps its pods as they were, and that includes repairing them:
        /// a limit written by hand and a supervisor killed while the file is broken are put
        /// back as the file last said. (Found by the chaos soak: such a pod stayed
        /// SupervisorDead until the file was fixed.) Its error is logged once.
        @Test func aBrokenFilesPodsAreStillRepaired() throws {
            let t = try WatchLab("watch-held")
            defer { t.finish() }
            let (lab, podrec, dir) = (t.lab, t.podrec, t.dir)
            try Self.writeByRename(dir + "/a.yaml", CLIPodTests.pod("wh"))
            let watcher = try WatchProcess.start(podrec, dir: dir)
            try Self.waitFor("wh running") { try Self.pods(podrec)["wh"] == "Running" }
            try Self.writeByRename(dir + "/a.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: wh\n")
            try Self.waitFor("the error") { watcher.log.contains("a.yaml: not applied; its pods keep running as they are") }

            let memoryFile = try CLIPodTests.memoryFile(lab, pod: "wh", container: "app")
            try Sys.writeString(memoryFile, String(96 << 20))
            try watcher.signal(SIGHUP)
            try Self.waitFor("the limit restored", context: { watcher.log }) { (try Sys.readString(memoryFile)) == "33554432\n" }

            let supervisor = try #require(try podrec.supervisorPID("wh"))
            try Sys.kill(supervisor, SIGKILL)
            try Self.waitFor("the pod recreated", context: { "get: \((try? podrec("get").output) ?? "?")\nlog:\n\(watcher.log)" }) {
                let now = try? podrec.supervisorPID("wh")
                let status = try Self.pods(podrec)["wh"]
                return now != nil && now != supervisor && status == "Running"
            }
            try watcher.signal(SIGHUP)
            MonotonicClock.sleep(nanoseconds: 300_000_000)
            #expect(watcher.log.components(separatedBy: "a.yaml: not applied").count == 2, "the error once, not at each resync: \(watcher.log)")

            // A watcher started while the file is broken has its last good content too (kept
            // in the state root), and repairs the pod as well.
            try watcher.stop(SIGKILL)
            let again = try WatchProcess.start(podrec, dir: dir)
            defer { _ = try? again.stop() }
            let second = try #require(try podrec.supervisorPID("wh"))
            try Sys.kill(second, SIGKILL)
            try Self.waitFor("the pod recreated by the new watcher", context: { "get: \((try? podrec("get").output) ?? "?")\nlog:\n\(again.log)" }) {
                let now = try? podrec.supervisorPID("wh")
                let status = try Self.pods(podrec)["wh"]
                return now != nil && now != second && status == "Running"
            }
        }

        /// A file renamed, then saved in place: the pass may read it truncated, before the
        /// editor's write. Its pods, recorded under the old name, keep running (held under
        /// the new one), and the save then lands on the same pods, with no restart. (Found by
        /// the chaos soak: every pod of the file was deleted and created again.) The watcher
        /// is stopped meanwhile so that it reads the file empty every time.
        @Test func aFileRenamedAndReadMidSaveKeepsItsPods() throws {
            let t = try WatchLab("watch-rename-save")
            defer { t.finish() }
            let (lab, podrec, dir) = (t.lab, t.podrec, t.dir)
            try Self.writeByRename(dir + "/a.yaml", Self.pod("wr"))
            let watcher = try WatchProcess.start(podrec, dir: dir)
            defer { _ = try? watcher.stop() }
            try Self.waitFor("wr running") { try Self.pods(podrec)["wr"] == "Running" }
            let supervisor = try Sys.readString("\(lab.tmp)/run/pods/default_wr/supervisor")

            try watcher.signal(SIGSTOP)
            try Sys.rename(dir + "/a.yaml", dir + "/b.yaml")
            try Self.writeInPlace(dir + "/b.yaml", "")
            try watcher.signal(SIGCONT)
            try Self.waitFor("b.yaml read empty") { watcher.log.contains("b.yaml: not applied; its pods keep running as they are") }
            #expect(!watcher.log.contains("- pod default/wr"), "\(watcher.log)")
            #expect(try Self.pods(podrec) == ["wr": "Running"])

            try Self.writeInPlace(dir + "/b.yaml", Self.pod("wr", value: "2"))
            try Self.waitFor("the save applied", context: { watcher.log }) { Self.value(lab, "wr") == "2" }
            #expect(try Sys.readString("\(lab.tmp)/run/pods/default_wr/supervisor") == supervisor, "the same pod: \(watcher.log)")
            #expect(try Sys.readString("\(lab.tmp)/run/pods/default_wr/record").contains("source watch:\(dir)/b.yaml"))
        }

        /// `--log-format json`: one object per line, with the pod and the action's mark.
        @Test func theLogAsJSON() throws {
            let t = try WatchLab("watch-json")
            defer { t.finish() }
            let (podrec, dir) = (t.podrec, t.dir)
            let watcher = try WatchProcess.start(podrec, dir: dir, "--log-format", "json")
            defer { _ = try? watcher.stop() }
            try Self.writeByRename(dir + "/a.yaml", Self.pod("wj"))
            try Self.waitFor("wj running") { try Self.pods(podrec)["wj"] == "Running" }
            // The pass's actions are logged when it is done, which can be after `get` shows the pod.
            try watcher.waitForLine(#""pod":"default/wj""#)
            #expect(try watcher.stop(SIGTERM) == .exited(0))
            let lines = watcher.log.split(separator: "\n")
            let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(objects.count == lines.count, "every line is one JSON object: \(watcher.log)")
            #expect(objects.contains { $0["kind"] as? String == "event" && $0["file"] as? String == dir + "/a.yaml" })
            #expect(objects.contains { $0["kind"] as? String == "action" && $0["pod"] as? String == "default/wj" && $0["op"] as? String == "+" })
        }

        @Test func anUnsafeDirectoryIsRefusedAtStart() throws {
            let lab = try PodLab("watch-unsafe")
            defer { lab.finish() }
            let podrec = CLI(lab: lab)
            let dir = try Self.directory(lab)
            try Sys.chmod(dir, 0o777)
            let run = try podrec("watch", dir)
            #expect(run.status != 0)
            #expect(run.output.contains("\(dir): refused: mode 0777 is writable by group and others"), "\(run.output)")
        }

        /// The directory moved away (its pods keep running), then a new one in its place: the
        /// new one's files are what counts.
        @Test func theDirectoryReplacedOrRemovedAndCreatedAgain() throws {
            let t = try WatchLab("watch-dir")
            defer { t.finish() }
            let (lab, podrec, dir) = (t.lab, t.podrec, t.dir)
            try Self.writeByRename(dir + "/a.yaml", Self.pod("wa"))
            let watcher = try WatchProcess.start(podrec, dir: dir)
            defer { _ = try? watcher.stop() }
            try Self.waitFor("wa running") { try Self.pods(podrec)["wa"] == "Running" }

            try Sys.rename(dir, lab.tmp + "/old")
            try Self.waitFor("the directory gone") { watcher.log.contains("directory \(dir): moved away") || watcher.log.contains("directory \(dir): renamed away") }
            MonotonicClock.sleep(nanoseconds: 100_000_000)
            #expect(try Self.pods(podrec) == ["wa": "Running"], "a missing directory deletes nothing")

            let staging = try Self.directory(lab, "staging")
            try Self.writeByRename(staging + "/b.yaml", Self.pod("wb"))
            try Sys.rename(staging, dir)
            try Self.waitFor("the new directory's pods") { try Self.pods(podrec) == ["wb": "Running"] }
        }

        /// A hundred changes as fast as they can be made, in place and by rename, over ten
        /// files: coalesced into few passes, and the pods end as the files say.
        @Test func aBurstOfAHundredChanges() throws {
            let t = try WatchLab("watch-burst")
            defer { t.finish() }
            let (lab, podrec, dir) = (t.lab, t.podrec, t.dir)
            let watcher = try WatchProcess.start(podrec, dir: dir)
            defer { _ = try? watcher.stop() }
            var last: [String: String] = [:]
            for i in 0..<100 {
                let name = "b\(i % 10)"
                last[name] = String(i)
                if i % 2 == 0 {
                    try Self.writeByRename("\(dir)/\(name).yaml", Self.pod(name, value: String(i)))
                } else {
                    try Self.writeInPlace("\(dir)/\(name).yaml", Self.pod(name, value: String(i)))
                }
            }
            try Self.waitFor("every pod as its file says", seconds: 30) {
                let pods = try Self.pods(podrec)
                return pods.count == 10 && pods.values.allSatisfy { $0 == "Running" } && last.allSatisfy { Self.value(lab, $0.key) == $0.value }
            }
            #expect(watcher.log.components(separatedBy: " event ").count - 1 >= 100, "one line per event")
        }

        /// kill -9 at random points, many times, with changes made meanwhile: each start
        /// converges; no pod is lost or doubled; files removed while it was down lose their
        /// pods. Pods of `apply` are never touched.
        @Test func killedAtRandomPointsItConverges() throws {
            let t = try WatchLab("watch-chaos")
            defer { t.finish() }
            let (lab, podrec, dir) = (t.lab, t.podrec, t.dir)
            let applied = try podrec.write("applied.yaml", Self.pod("applied"))
            #expect(try podrec("apply", "-f", applied).status == 0)

            var generator = SystemRandomNumberGenerator()
            var expected: [String: String] = [:] // pod → V
            for round in 0..<20 {
                let watcher = try WatchProcess.start(podrec, dir: dir)
                let name = "k\(Int.random(in: 0..<5, using: &generator))"
                if expected[name] != nil && Bool.random(using: &generator) {
                    try Sys.unlink("\(dir)/\(name).yaml")
                    expected[name] = nil
                } else {
                    try Self.writeByRename("\(dir)/\(name).yaml", Self.pod(name, value: String(round)))
                    expected[name] = String(round)
                }
                MonotonicClock.sleep(nanoseconds: Int64.random(in: 0..<40_000_000, using: &generator))
                try watcher.stop(SIGKILL)
            }
            // Removed while it is down.
            if let gone = expected.keys.sorted().first {
                try Sys.unlink("\(dir)/\(gone).yaml")
                expected[gone] = nil
            }
            let watcher = try WatchProcess.start(podrec, dir: dir)
            defer { _ = try? watcher.stop() }
            var want = expected.mapValues { _ in "Running" }
            want["applied"] = "Running"
            try Self.waitFor("convergence", seconds: 30, context: {
                "want \(want) with V \(expected)\nget: \((try? podrec("get").output) ?? "?")\nlog:\n\(watcher.log)"
            }) {
                try Self.pods(podrec) == want && expected.allSatisfy { Self.value(lab, $0.key) == $0.value }
            }
            let states = try Sys.listDirectory(lab.tmp + "/run/pods")
            #expect(Set(states) == Set(want.keys.map { "default_" + $0 }), "one state dir per pod: \(states)")
        }
    
        /// Under systemd's `Delegate=yes` (cgroup v2), the pods live under the unit's own
        /// cgroup: the watcher moves itself into a leaf, `<own>/watcher`, so that its cgroup
        /// may enable controllers for the pods beside it. On v1 there is no such rule, and
        /// it stays where it was started.
        @Test func underItsOwnCgroupTheWatcherMovesIntoALeaf() throws {
            let lab = try PodLab("watch-leaf")
            defer { lab.finish() }
            let podrec = CLI(lab: lab)
            let unit = lab.cgroupParent, pods = lab.cgroupParent + "/pods"
            defer { _ = try? podrec("delete", "--all", "--grace-period", "0", "--cgroup-root", pods) }
            let dir = try Self.directory(lab)
            try Self.writeByRename(dir + "/a.yaml", Self.pod("wl"))

            var request = SpawnRequest([podrec.binary, "watch", dir, "--cgroup-root", pods], environment: podrec.environment)
            let logPath = lab.tmp + "/watch.log"
            let logFD = try Sys.openForAppending(logPath, mode: 0o644)
            request.stdout = logFD
            request.stderr = logFD
            var unitFD: Int32?
            if lab.driver.setup.mode == .unified {
                try lab.driver.create(unit)
                let fd = try CgroupJoin.openDirectory(lab.driver.setup.root + "/" + unit)
                unitFD = fd
                request.cgroup = .v2(dirFD: fd, path: lab.driver.setup.root + "/" + unit)
            }
            let child = try spawn(request)
            Sys.close(logFD)
            if let fd = unitFD { Sys.close(fd) }
            if let fd = child.pidfd { Sys.close(fd) }
            let watcher = WatchProcess(pid: child.pid, logPath: logPath)
            defer { _ = try? watcher.stop() }
            try Self.waitFor("wl running") { try podrec("get", "--cgroup-root", pods).output.contains(" Running ") }

            let cgroup = try Sys.readString("/proc/\(child.pid)/cgroup")
            if lab.driver.setup.mode == .unified {
                #expect(cgroup == "0::/\(unit)/watcher\n", "\(cgroup)")
                #expect(watcher.log.contains("moved into the leaf cgroup \(unit)/watcher"), "\(watcher.log)")
                let podDirs = try Sys.listDirectory(lab.driver.setup.root + "/" + pods)
                #expect(podDirs.contains { $0.hasPrefix("default_wl_") }, "\(podDirs)")
            } else {
                #expect(cgroup == (try Sys.readString("/proc/self/cgroup")), "not moved on v1")
                #expect(!watcher.log.contains("moved into"))
            }
        }
    }
}
