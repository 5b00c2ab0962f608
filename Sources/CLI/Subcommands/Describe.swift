import ArgumentParser
import Kernel
import Planner
import PodModel
import Reconciler

extension Podrec {
    struct Describe: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "describe",
            abstract: "Show one pod in detail, as kubectl describe does.",
            discussion: """
                POD is NAME or NAMESPACE/NAME (namespace default); `describe pod POD` works too. Prints \
                the pod's record, its supervisor and status, then each container in start order (init \
                containers and sidecars, then the main ones): its root, command, state, last \
                termination, restart count, spec hash, the limits its cgroup has, the names of its \
                environment variables (never their values: they may hold secrets) and its mounts; then \
                the events the status tells of. Reads the state files, cgroupfs and /proc; takes no lock.
                """
        )

        @Argument(help: ArgumentHelp("NAME or NAMESPACE/NAME (or: pod NAME).", valueName: "pod"))
        var words: [String]
        @OptionGroup var roots: RootOptions

        func validate() throws {
            if words.count == 2 && !["pods", "pod", "po"].contains(words[0]) {
                throw ValidationError("unknown kind \"\(words[0])\": podrec has pods")
            }
            if words.isEmpty || words.count > 2 { throw ValidationError("name one pod") }
        }

        func run() throws {
            // `describe web` and kubectl's `describe pod web`.
            let name = words[words.count - 1]
            let key = Delete.key(name)
            let reconciler = try roots.reconciler()
            let observed = try reconciler.observed(scope: [key])
            guard let pod = observed.pods[key] else { throw Logs.fail("pod \"\(name)\" not found") }
            print(Self.render(pod, unified: observed.unified, now: WallClock.now()), terminator: "")
        }

        // MARK: Text

        static func render(_ pod: ObservedPod, unified: Bool, now: Int64) -> String {
            let redact = SecretRedactor(pod.plan?.containers ?? [])
            var out = Lines()
            let status = pod.status
            out.field(0, "Name", pod.key.name)
            out.field(0, "Namespace", pod.key.namespace)
            out.field(0, "UID", pod.record?.uid ?? pod.plan.map { "\($0.uid) (from the plan; no record)" } ?? "<none>")
            out.field(0, "Source", pod.record?.source ?? "<none>")
            out.field(0, "Supervisor", Get.supervisor(pod))
            var phase = status?.phase.rawValue ?? "Unknown (no status yet)"
            if status?.terminated == true { phase += " (stopped)" }
            out.field(0, "Status", phase)
            // kubectl's Reason and Message: the pod's own (DeadlineExceeded), not a container's.
            if let r = status?.reason { out.field(0, "Reason", r) }
            if let m = status?.message { out.field(0, "Message", m) }
            if let t = status?.startTime ?? pod.plan?.startTime { out.field(0, "Start Time", time(t, now: now)) }
            if let d = pod.plan?.activeDeadlineSeconds { out.field(0, "Active deadline", "\(d)s") }
            if let status {
                // Kubernetes' Ready condition: every container but init ones ready.
                let (ready, of) = status.readyContainers
                out.field(0, "Ready", "\(ready == of && of > 0 ? "True" : "False") (\(ready)/\(of) containers)")
            }
            out.field(0, "Generation", (pod.record?.generation ?? pod.plan?.generation).map(String.init) ?? "<none>")
            out.field(0, "Observed generation", status.map { String($0.observedGeneration) } ?? "<none>")
            if let plan = pod.plan {
                out.field(0, "Hostname", plan.hostname)
                let ips = Get.podIPs(pod, node: Sys.nodeAddress())
                out.field(0, "IP", ips.first ?? "<none>")
                if ips.count > 1 { out.field(0, "IPs", ips.joined(separator: ", ")) }
                if let ports = pod.record?.hostPorts, !ports.isEmpty { out.field(0, "Host ports", ports.map(\.description).joined(separator: ", ")) }
                var host: [String] = []
                if plan.hostNetwork { host.append("network") }
                if plan.hostPID { host.append("pid") }
                if plan.hostIPC { host.append("ipc") }
                if !host.isEmpty { out.field(0, "Host namespaces", host.joined(separator: ", ")) }
                if plan.shareProcessNamespace { out.field(0, "Shared PID namespace", "true") }
                out.field(0, "Grace period", "\(plan.terminationGracePeriodSeconds)s")
            }
            out.field(0, "Cgroup", pod.cgroup.map { pod.cgroupExists ? $0 : "\($0) (missing)" } ?? "<none>")
            if let reading = pod.limits[""] { out.field(0, "Pod limits", limitSummary(reading, unified: unified)) }

            // Start order: the plan's, then any container the status still has but the plan no longer.
            var launches: [(String, ContainerKind, ContainerLaunch?)] = (pod.plan?.containers ?? []).map { ($0.name, $0.kind, $0) }
            for c in status?.containers ?? [] where !launches.contains(where: { $0.0 == c.name }) { launches.append((c.name, c.kind, nil)) }
            let initial = launches.filter { $0.1 != .main }
            let mains = launches.filter { $0.1 == .main }
            for (title, group) in [("Init Containers", initial), ("Containers", mains)] where !group.isEmpty {
                out.add("\(title):")
                for (name, kind, launch) in group {
                    container(&out, name: name, kind: kind, launch: launch, status: status?.container(name),
                              reading: pod.limits[name], unified: unified, now: now, redact: redact)
                }
            }
            out.add("Events:")
            let table = eventTable(pod.status?.events ?? [], now: now, redact: redact)
            let list = events(pod, now: now, redact: redact, hasEvents: !table.isEmpty)
            if list.isEmpty && table.isEmpty { out.add("  <none>") }
            for line in table { out.add("  " + line) }
            for e in list { out.add("  " + e) }
            return out.text
        }

        static func container(_ out: inout Lines, name: String, kind: ContainerKind, launch: ContainerLaunch?, status: ContainerStatus?,
                              reading: CgroupReading?, unified: Bool, now: Int64, redact: SecretRedactor) {
            out.add("  \(name):")
            switch kind {
            case .initContainer: out.field(2, "Kind", "init")
            case .sidecar: out.field(2, "Kind", "sidecar (restartPolicy Always)")
            case .main: break
            }
            if let launch {
                switch launch.root {
                case .host: out.field(2, "Image root", "host")
                case .image(let layers, _, _):
                    out.field(2, layers.count == 1 ? "Image root" : "Image layers", layers.joined(separator: ":"))
                }
                out.field(2, "Executable", redact(launch.executable))
                out.field(2, "Command", redact(ShellWords.join(launch.arguments)))
                if let dir = launch.workingDirectory { out.field(2, "Working dir", dir) }
                if launch.uid != nil || launch.gid != nil { out.field(2, "User", "\(launch.uid ?? 0):\(launch.gid ?? 0)") }
                if launch.privileged { out.field(2, "Privileged", "true") }
                if launch.readOnlyRootFilesystem { out.field(2, "Read-only root", "true") }
                // As kubectl describe: Stdin, StdinOnce and TTY, when set.
                if launch.stdin { out.field(2, "Stdin", "true") }
                if launch.stdinOnce { out.field(2, "StdinOnce", "true") }
                if launch.tty { out.field(2, "TTY", "true") }
                if kind == .main { out.field(2, "Restart policy", launch.restartPolicy.rawValue) }
            } else {
                out.field(2, "Plan", "<not in the plan: being removed>")
            }

            if let status {
                switch status.state {
                case .running:
                    out.field(2, "State", "Running")
                    if let t = status.startedAt { out.field(3, "Started", time(t, now: now)) }
                    if let pid = status.pid { out.field(3, "Pid", String(pid)) }
                case .waiting:
                    out.field(2, "State", "Waiting")
                    if let r = status.reason { out.field(3, "Reason", r) }
                    if let m = status.message { out.field(3, "Message", redact(m)) }
                    if let t = status.nextStartAt { out.field(3, "Next start", time(t, now: now)) }
                case .terminated:
                    out.field(2, "State", "Terminated")
                    if let t = status.termination { termination(&out, t, now: now) } else if let r = status.reason { out.field(3, "Reason", r) }
                    if let m = status.message { out.field(3, "Message", redact(m)) }
                }
                if let t = status.lastTermination {
                    out.field(2, "Last State", "Terminated")
                    termination(&out, t, now: now)
                }
                if let ready = status.ready { out.field(2, "Ready", ready ? "True" : "False") }
                out.field(2, "Restart Count", String(status.restartCount))
                if let planned = launch?.specHash, planned != status.specHash {
                    out.field(2, "Spec hash", "\(status.specHash) (the plan has \(planned): restarting)")
                } else {
                    out.field(2, "Spec hash", status.specHash)
                }
            } else {
                out.field(2, "State", "Unknown (no status yet)")
                out.field(2, "Restart Count", "0")
                if let launch { out.field(2, "Spec hash", launch.specHash) }
            }

            if let reading {
                out.field(2, "Limits", "")
                out.field(3, "memory", memory(reading.memory))
                if let m = reading.cpuMax { out.field(3, "cpu.max", cpuMax(m)) }
                // The version's own unit: cpu.weight on v2, cpu.shares on v1.
                if let w = reading.cpuWeight { out.field(3, "cpu.weight", String(w)) }
                if let s = reading.cpuShares { out.field(3, "cpu.shares", String(s)) }
                out.field(3, "pids", limit(reading.pids))
            } else {
                out.field(2, "Limits", "<no cgroup>")
            }
            if let launch {
                for kind in ProbeSpec.Kind.allCases {
                    guard let probe = launch.probe(kind) else { continue }
                    out.field(2, kind.rawValue.prefix(1).uppercased() + kind.rawValue.dropFirst(), redact(Self.probe(probe)))
                    if let report = status?.probes.first(where: { $0.kind == kind }) {
                        let result = report.success.map { $0 ? "success" : "failure" } ?? "not run yet"
                        let failures = report.failures > 0 ? " (\(report.failures) failure\(report.failures == 1 ? "" : "s") in a row)" : ""
                        out.field(3, "Last", result + failures + (report.message.map { ": " + redact($0) } ?? ""))
                    }
                }
                // Names only: a value may come from a Secret.
                let names = launch.environment.map { entry in entry.firstIndex(of: "=").map { String(entry[..<$0]) } ?? entry }
                out.field(2, "Environment", names.isEmpty ? "<none>" : names.joined(separator: ", ") + " (values not shown)")
                if launch.mounts.isEmpty {
                    out.field(2, "Mounts", "<none>")
                } else {
                    out.field(2, "Mounts", "")
                    for m in launch.mounts { out.add("      \(m.target) ← \(m.source) (\(m.readOnly ? "ro" : "rw"))") }
                }
            }
        }

        /// kubectl's line: `http-get http://127.0.0.1:8080/healthz delay=0s timeout=1s
        /// period=10s #success=1 #failure=3`.
        static func probe(_ p: ProbeSpec) -> String {
            let action: String
            switch p.action {
            case .exec(let argv): action = "exec [\(argv.joined(separator: " "))]"
            case .httpGet(let h): action = "http-get \(h.https ? "https" : "http")://\(h.host):\(h.port)\(h.path)"
            case .tcpSocket(let host, let port): action = "tcp-socket \(host):\(port)"
            case .grpc(_, let port, let service): action = "grpc <pod>:\(port) \(service)"
            case .sleep(let seconds): action = "sleep \(seconds)s"
            }
            return "\(action) delay=\(p.initialDelaySeconds)s timeout=\(p.timeoutSeconds)s period=\(p.periodSeconds)s #success=\(p.successThreshold) #failure=\(p.failureThreshold)"
        }

        static func termination(_ out: inout Lines, _ t: Termination, now: Int64) {
            out.field(3, "Reason", t.reason)
            // The container's own words (its termination message), as kubectl prints them:
            // the first line beside the label, the rest under it.
            if let m = t.message, !m.isEmpty {
                var lines = m.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                if lines.count > 1 && lines.last == "" { lines.removeLast() }
                out.field(3, "Message", lines[0])
                for line in lines.dropFirst() { out.add(String(repeating: " ", count: 24) + line) }
            }
            out.field(3, "Exit Code", String(t.exitCode))
            if let s = t.signal { out.field(3, "Signal", "\(s) (\(signalName(s)))") }
            if let started = t.startedAt { out.field(3, "Started", time(started, now: now)) }
            out.field(3, "Finished", time(t.finishedAt, now: now))
        }

        /// What the status tells of, most notable first per container: restarts and the
        /// last exit, a back-off, a start error, an exit; and of the pod: a dead supervisor,
        /// a plan not taken yet or refused, a stop.
        /// The supervisor's events as kubectl prints them: Type, Reason, Age (`3s (x2 over
        /// 10s)`), From, Message.
        static func eventTable(_ events: [PodEvent], now: Int64, redact: SecretRedactor) -> [String] {
            guard !events.isEmpty else { return [] }
            var rows = [["Type", "Reason", "Age", "From", "Message"], ["----", "------", "----", "----", "-------"]]
            for e in events {
                var age = Get.age(max(now - e.last.nanoseconds, 0))
                if e.count > 1 { age += " (x\(e.count) over \(Get.age(max(now - e.first.nanoseconds, 0))))" }
                rows.append([e.type, e.reason, age, "podrec", redact(e.message)])
            }
            var widths = [Int](repeating: 0, count: 4)
            for r in rows { for i in 0..<4 { widths[i] = max(widths[i], r[i].count) } }
            return rows.map { r in (0..<4).map { r[$0] + String(repeating: " ", count: widths[$0] - r[$0].count + 2) }.joined() + r[4] }
        }

        static func events(_ pod: ObservedPod, now: Int64, redact: SecretRedactor, hasEvents: Bool = false) -> [String] {
            var out: [String] = []
            if case .dead = pod.supervisor { out.append("supervisor: dead; the next apply recreates the pod") }
            guard let status = pod.status else {
                out.append("pod: no status yet" + (pod.record == nil ? " and no record (a create that did not finish)" : ""))
                return out
            }
            if let e = status.planError { out.append("plan: refused by the supervisor: \(redact(e))") }
            if let g = pod.record?.generation ?? pod.plan?.generation, status.observedGeneration < g {
                out.append("plan: generation \(g) written, the supervisor has \(status.observedGeneration)")
            }
            // The supervisor's events tell of restarts and back-offs where it keeps them.
            for c in status.containers where !hasEvents {
                let last = c.termination ?? c.lastTermination
                if c.restartCount > 0 {
                    var e = "container \(c.name): restarted \(c.restartCount) time\(c.restartCount == 1 ? "" : "s")"
                    if let t = last { e += ", last exit \(t.exitCode) \(t.reason) at \(time(t.finishedAt, now: now))" }
                    out.append(e)
                } else if let t = last, !(c.kind == .initContainer && t.exitCode == 0) {
                    // (An init container that ran to 0 did what it is for: no event.)
                    out.append("container \(c.name): exited \(t.exitCode) \(t.reason) at \(time(t.finishedAt, now: now))")
                }
                if c.state == .waiting, c.reason == "CrashLoopBackOff" {
                    out.append("container \(c.name): back-off restarting" + (c.nextStartAt.map { ", next start at \(time($0, now: now))" } ?? ""))
                }
                if c.state != .running, let m = c.message, last?.reason == "StartError" || c.reason == "StartError" {
                    out.append("container \(c.name): start error: \(redact(m))")
                }
            }
            if status.terminated { out.append("pod: stopped") }
            return out
        }

        // MARK: Values

        /// `2026-11-29T08:30:00Z (42s ago)`, or `(in 10s)` for a time to come.
        static func time(_ t: WallTime, now: Int64) -> String {
            let stamp = String(t.rfc3339Nano.prefix(19)) + "Z"
            return t.nanoseconds > now ? "\(stamp) (in \(Get.age(t.nanoseconds - now)))" : "\(stamp) (\(Get.age(now - t.nanoseconds)) ago)"
        }

        static func memory(_ limit: CgroupLimit?) -> String { LimitText.memory(limit) }
        static func limit(_ limit: CgroupLimit?) -> String { LimitText.limit(limit) }

        /// `20000 100000 (200m)`: quota and period in µs, and the CPU they make.
        static func cpuMax(_ m: CPUMax) -> String {
            guard case .value(let quota) = m.quota, m.period > 0 else { return "max \(m.period)" }
            return "\(quota) \(m.period) (\(quota * 1000 / m.period)m)"
        }

        static func limitSummary(_ r: CgroupReading, unified: Bool) -> String {
            var parts = ["memory \(memory(r.memory))"]
            if let m = r.cpuMax { parts.append("cpu.max \(cpuMax(m))") }
            if let w = r.cpuWeight { parts.append("cpu.weight \(w)") }
            if let s = r.cpuShares { parts.append("cpu.shares \(s)") }
            parts.append("pids \(limit(r.pids))")
            return parts.joined(separator: ", ")
        }

        static func signalName(_ s: Int32) -> String {
            let names: [Int32: String] = [1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 15: "SIGTERM"]
            return names[s] ?? "signal \(s)"
        }

    }
}

extension Podrec.Describe {
    /// Lines of `Label:   value`, the values of one indent aligned.
    struct Lines {
        var text = ""

        mutating func add(_ line: String) { text += line + "\n" }

        /// `indent` levels of two spaces; values start at column 24 (or one space after a
        /// longer label).
        mutating func field(_ indent: Int, _ label: String, _ value: String) {
            let head = String(repeating: "  ", count: indent) + label + ":"
            if value.isEmpty { return add(head) }
            add(head + String(repeating: " ", count: max(24 - head.count, 1)) + value)
        }
    }
}
