import Glibc
import Kernel
import KernelTestSupport
import Testing

extension Integration {
    /// Following pods as an operator does, with the built podrec: `get -w` sees a container
    /// killed by hand, a probe turning unready and a pod deleted, as `kubectl get -w` does.
    /// Each test has its own roots and cgroup parent and checks for leaks.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct CLIOperationsTests {
        typealias CLI = CLIPodTests.CLI
        typealias Background = CLIWatchTests.WatchProcess

        /// The rows of an `events` output: each split into its cells, which are apart by two
        /// spaces or more (LAST SEEN and MESSAGE have single spaces inside).
        static func cells(_ text: String) -> [[String]] {
            text.split(separator: "\n").map { line in
                line.split(separator: "  ", omittingEmptySubsequences: true).map { String($0.drop { $0 == " " }) }.filter { !$0.isEmpty }
            }
        }

        /// The rows of a `get -w` output: each split into its columns.
        static func rows(_ text: String) -> [[String]] {
            text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        }

        @Test func getWatchPrintsEachChange() throws {
            let (_, podrec) = try CLI.lab("get-w")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", """
                apiVersion: v1
                kind: Pod
                metadata: {name: gw}
                spec:
                  terminationGracePeriodSeconds: 1
                  containers:
                  - name: app
                    image: host
                    command: [sleep, '3600']
                    readinessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1}
                """)
            // Ready once /tmp/ready exists: each run of the container has a /tmp of its own.
            #expect(try podrec("apply", "-f", file).status == 0)
            try Integration.CLIWatchTests.waitFor("the container") { try podrec.pid("gw", "app") != nil }
            #expect(try podrec("exec", "gw", "--", "touch", "/tmp/ready").status == 0)
            #expect(try podrec("apply", "-f", file, "--wait").status == 0)
            let get = try Background.background(podrec, ["get", "-w"], log: "get-w.log")
            defer { _ = try? get.stop() }
            func waitForRow(_ columns: [String], _ what: String) throws {
                try Integration.CLIWatchTests.waitFor(what, context: { get.log }) {
                    Self.rows(get.log).contains { $0.count == 5 && $0[0] == "gw" && Array($0[1...3]) == columns }
                }
            }
            try waitForRow(["1/1", "Running", "0"], "the list")
            #expect(Self.rows(get.log).first == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"])

            // Killed by hand: the supervisor restarts it (a row with one restart).
            let pid = try #require(try podrec.pid("gw", "app"))
            try Sys.kill(pid, SIGKILL)
            try Integration.CLIWatchTests.waitFor("the restart") { (try podrec.pid("gw", "app")).map { $0 != pid } == true }
            try Integration.CLIWatchTests.waitFor("a row with one restart", context: { get.log }) {
                Self.rows(get.log).contains { $0.first == "gw" && $0.count == 5 && $0[3] == "1" }
            }
            // Its new run has no /tmp/ready: not ready. Then ready again.
            try waitForRow(["0/1", "Running", "1"], "unready")
            #expect(try podrec("exec", "gw", "--", "touch", "/tmp/ready").status == 0)
            try waitForRow(["1/1", "Running", "1"], "ready again")

            let rowsBefore = Self.rows(get.log).count
            #expect(try podrec("delete", "gw", "--grace-period", "0").status == 0)
            try Integration.CLIWatchTests.waitFor("the Terminating row", context: { get.log }) {
                Self.rows(get.log).dropFirst(rowsBefore).contains { $0.first == "gw" && $0.count == 5 && $0[2] == "Terminating" }
            }
            // Nothing printed that did not change: no two rows in a row with the same READY,
            // STATUS and RESTARTS, except the Terminating row kubectl prints for the deletion.
            let rows = Self.rows(get.log).dropFirst().map { Array($0[1...3]) }
            for (a, b) in zip(rows, rows.dropFirst()) where b[1] != "Terminating" { #expect(a != b, "\(get.log)") }
            #expect(try get.stop() == .signaled(SIGTERM), "runs until interrupted")
        }
    }
}

extension Integration.CLIOperationsTests {
    /// `events -w` tells a pod's story as `kubectl events -w` does, the reconciler's actions
    /// among the supervisor's: Created by apply, Started, a container killed by hand
    /// (started again), a probe failing (Unhealthy, a Warning), Updated by a second apply,
    /// Deleted. `events POD` and `-o json` show the same, for that pod only.
    @Test func eventsWatchTellsAPodsStory() throws {
        let (_, podrec) = try CLI.lab("events-w")
        defer { podrec.finish() }
        func manifest(_ value: String) -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: ev}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: app
                image: host
                command: [sleep, '3600']
                env: [{name: V, value: "\(value)"}]
                readinessProbe: {exec: {command: [test, -f, /tmp/ready]}, periodSeconds: 1}
            """
        }
        let file = try podrec.write("pod.yaml", manifest("1"))
        let other = try podrec.write("other.yaml", Integration.CLIPodTests.pod("quiet"))
        #expect(try podrec("apply", "-f", file, "-f", other).status == 0)
        try Integration.CLIWatchTests.waitFor("the container") { try podrec.pid("ev", "app") != nil }
        let events = try Background.background(podrec, ["events", "-w"], log: "events-w.log")
        defer { _ = try? events.stop() }
        func waitFor(_ reason: String, _ message: String, _ type: String = "Normal") throws {
            try Integration.CLIWatchTests.waitFor("\(type) \(reason) \(message)", context: { events.log }) {
                Self.cells(events.log).contains { $0.count == 5 && $0[1...3] == [type, reason, "pod/ev"] && $0[4].contains(message) }
            }
        }
        try waitFor("Created", "not on this host [app]")
        try waitFor("Started", "Started container app")
        #expect(Self.cells(events.log).first == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"])
        // Not ready: the probe's failures, counted.
        try waitFor("Unhealthy", "Readiness probe failed", "Warning")

        let pid = try #require(try podrec.pid("ev", "app"))
        try Sys.kill(pid, SIGKILL)
        try Integration.CLIWatchTests.waitFor("a second start, counted", context: { events.log }) {
            Self.cells(events.log).contains { $0.count == 5 && $0[0].contains("(x2 over") && $0[1...3] == ["Normal", "Started", "pod/ev"] }
        }
        try podrec.write("pod.yaml", manifest("2"))
        #expect(try podrec("apply", "-f", file).status == 0)
        try waitFor("Updated", "changed: app [plan generation 2 [~ app restart]]")
        #expect(try podrec("delete", "ev", "--grace-period", "0").status == 0)
        try waitFor("Deleted", "deleted by request")

        // One pod's events; the reconciler's stay once the pod is gone.
        let quiet = try podrec("events", "quiet")
        #expect(quiet.status == 0 && Self.cells(quiet.output).contains { $0.count == 5 && $0[2...3] == ["Created", "pod/quiet"] }
                && !quiet.output.contains("pod/ev"), "\(quiet.output)")
        let json = try podrec("events", "ev", "-o", "json").output
        for field in ["\"reason\": \"Created\"", "\"reason\": \"Updated\"", "\"reason\": \"Deleted\"", "\"from\": \"delete\"", "\"from\": \"apply\""] {
            #expect(json.contains(field), "\(field) in \(json)")
        }
        #expect(try events.stop() == .signaled(SIGTERM), "runs until interrupted")
    }
}

extension Integration.CLIOperationsTests {
    /// `top` against known work, as `kubectl top pod --containers` reads it: a busy loop
    /// under a 250m CPU limit reads near 250m (it cannot read more: CFS throttles it), and
    /// a process holding 64 MiB of tmpfs (not reclaimable file pages: part of the working
    /// set) reads near 64Mi.
    @Test func topReadsKnownWork() throws {
        let (lab, podrec) = try CLI.lab("top")
        defer { podrec.finish() }
        let file = try podrec.write("pod.yaml", """
            apiVersion: v1
            kind: Pod
            metadata: {name: busy}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: spin
                image: host
                command: [sh, -c, 'while :; do :; done']
                resources: {limits: {cpu: 250m, memory: 64Mi}}
              - name: hold
                image: host
                command: [sh, -c, 'head -c 67108864 /dev/zero > /dev/shm/held && touch /tmp/held && exec sleep 3600']
                resources: {limits: {memory: 256Mi}}
                readinessProbe: {exec: {command: [test, -f, /tmp/held]}, periodSeconds: 1}
            """)
        #expect(try podrec("apply", "-f", file, "--wait").status == 0)
        // A window that starts once the 64 MiB are written (slow in an emulated VM): a
        // supervisor sample taken after the pod was ready, and a second more.
        let ready = WallClock.now()
        try Integration.CLIWatchTests.waitFor("a CPU sample after the writes", seconds: 30) {
            let text = (try? Sys.readString("\(lab.tmp)/run/pods/default_busy/usage")) ?? ""
            return text.split(separator: "\n").contains { $0.hasPrefix("sample ") && (Int64($0.dropFirst(7)) ?? 0) > ready }
        }
        MonotonicClock.sleep(nanoseconds: 1_500_000_000)
        let run = try podrec("top", "busy", "--containers", "--sort-by", "cpu")
        #expect(run.status == 0, "\(run.output)")
        let rows = Self.rows(run.output)
        #expect(rows.first == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"], "\(run.output)")
        #expect(rows.dropFirst().map { $0.prefix(2) } == [["busy", "spin"], ["busy", "hold"]], "sorted by CPU: \(run.output)")
        func value(_ cell: String, _ unit: String) -> Int? { cell.hasSuffix(unit) ? Int(cell.dropLast(unit.count)) : nil }
        let spin = try #require(rows.first { $0.count == 4 && $0[1] == "spin" })
        let hold = try #require(rows.first { $0.count == 4 && $0[1] == "hold" })
        let cpu = try #require(value(spin[2], "m"), "\(run.output)")
        // At most its quota (with a little slack for the window's edges); on a loaded
        // machine it may get less, never nothing.
        #expect(cpu >= 100 && cpu <= 270, "a busy loop under 250m: \(run.output)")
        // Asleep but for its readiness probe, which runs in its cgroup once a second (a
        // few ms of CPU here, near 100m in an emulated VM).
        #expect((value(hold[2], "m") ?? 1000) < cpu, "mostly sleeping: \(run.output)")
        let held = try #require(value(hold[3], "Mi"), "\(run.output)")
        #expect(held >= 63 && held <= 72, "64 MiB held: \(run.output)")
        #expect((value(spin[3], "Mi") ?? 100) < 8, "\(run.output)")

        let pods = Self.rows(try podrec("top").output)
        #expect(pods.first == ["NAME", "CPU(cores)", "MEMORY(bytes)"] && pods.count == 2 && pods[1][0] == "busy", "\(pods)")
        let json = try podrec("top", "-o", "json").output
        #expect(json.contains("\"cpuMillicores\"") && json.contains("\"memoryWorkingSetBytes\"") && json.contains("\"name\": \"hold\""), "\(json)")
        #expect(try podrec("top", "nosuch").output.contains("pod default/nosuch not found"))
    }
}

extension Integration.CLIOperationsTests {
    /// One HTTP GET from outside podrec (Python's urllib): the status and the body, or the
    /// error's text with status 0.
    static func get(_ podrec: CLI, _ url: String) throws -> (status: Int, body: String) {
        let script = """
            import sys, urllib.request, urllib.error
            try:
                r = urllib.request.urlopen(sys.argv[1], timeout=10); print(r.status); sys.stdout.write(r.read().decode())
            except urllib.error.HTTPError as e:
                print(e.code); sys.stdout.write(e.read().decode())
            except Exception as e:
                print(0); print(e)
            """
        let run = try podrec.run(["/usr/bin/python3", "-c", script, url])
        let lines = run.output.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        return (Int(lines.first ?? "") ?? -1, lines.count > 1 ? String(lines[1]) : "")
    }

    /// The watcher's `/metrics` with 50 pods, checked by real Prometheus tools: `promtool
    /// check metrics` finds nothing wrong with a scrape, the series have cAdvisor's and
    /// kube-state-metrics' names and labels, and a Prometheus server started here on
    /// 127.0.0.1 scrapes the endpoint and answers a PromQL query for a pod's memory.
    /// `/readyz` after the first full pass, `/healthz` while the loop runs.
    @Test func metricsForPrometheus() throws {
        try HostTool.require("/usr/bin/promtool", package: "prometheus")
        try HostTool.require("/usr/bin/prometheus", package: "prometheus")
        let t = try Integration.CLIWatchTests.WatchLab("metrics")
        defer { t.finish() }
        let (lab, podrec, dir) = (t.lab, t.podrec, t.dir)
        let pods = (0..<50).map { i in
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: m\(i)}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - {name: app, image: host, command: [sleep, '3600'], resources: {limits: {memory: 48Mi}}}
            """
        }
        try Integration.CLIWatchTests.writeByRename(dir + "/pods.yaml", pods.joined(separator: "\n---\n") + "\n")
        let watcher = try Background.start(podrec, dir: dir, "--metrics-address", "127.0.0.1:0")
        defer { _ = try? watcher.stop() }
        let line = try #require(watcher.log.split(separator: "\n").first { $0.contains("metrics on http://") }, "\(watcher.log)")
        let base = String(line[line.range(of: "http://")!.lowerBound...].dropLast("/metrics".count))
        try Integration.CLIWatchTests.waitFor("ready", seconds: 120, context: { watcher.log }) { try Self.get(podrec, base + "/readyz").status == 200 }
        #expect(try Self.get(podrec, base + "/healthz") == (200, "ok\n"))
        #expect(try Self.get(podrec, base + "/nothing").status == 404)

        try Integration.CLIWatchTests.waitFor("50 pods running", seconds: 120) {
            try Self.get(podrec, base + "/metrics").body.components(separatedBy: "phase=\"Running\"} 1.0").count == 51
        }
        let scrape = try Self.get(podrec, base + "/metrics").body
        let file = try podrec.write("scrape.txt", scrape)
        let check = try podrec.run(["/bin/sh", "-c", "/usr/bin/promtool check metrics < \(file)"])
        #expect(check.status == 0 && check.output.isEmpty, "promtool: \(check.output)")
        for series in ["container_memory_working_set_bytes{namespace=\"default\",pod=\"m7\",container=\"app\"} ",
                       "container_spec_memory_limit_bytes{namespace=\"default\",pod=\"m7\",container=\"app\"} 50331648.0",
                       "kube_pod_container_status_restarts_total{namespace=\"default\",pod=\"m7\",container=\"app\"} 0\n",
                       "kube_pod_status_phase{namespace=\"default\",pod=\"m7\",phase=\"Running\"} 1.0",
                       "container_cpu_usage_seconds_total{namespace=\"default\",pod=\"m7\",container=\"app\"} ",
                       "podrec_reconcile_actions_total{kind=\"create\",outcome=\"ok\"} 50",
                       "podrec_reconcile_pass_duration_seconds_count{scope=\"full\"} ",
                       "podrec_manifest_problems 0"] {
            #expect(scrape.contains(series), "\(series) in the scrape")
        }

        // A real Prometheus, on loopback, scraping every 5 s (a debug build's scrape of 50
        // pods takes over 2 s in an emulated VM).
        let port = try freeLoopbackPort()
        let config = try podrec.write("prometheus.yml", """
            global: {scrape_interval: 5s, scrape_timeout: 5s, evaluation_interval: 5s}
            scrape_configs:
            - job_name: podrec
              static_configs: [{targets: ['\(base.dropFirst("http://".count))']}]
            """)
        let prometheus = try Background.background(podrec, ["--config.file=\(config)", "--storage.tsdb.path=\(lab.tmp)/tsdb",
                                                          "--web.listen-address=127.0.0.1:\(port)"], log: "prometheus.log", binary: "/usr/bin/prometheus")
        defer { _ = try? prometheus.stop() }
        let query = "http://127.0.0.1:\(port)/api/v1/query?query=container_memory_working_set_bytes%7Bpod%3D%22m7%22%7D"
        let targets = "http://127.0.0.1:\(port)/api/v1/targets"
        try Integration.CLIWatchTests.waitFor("Prometheus answers with m7's memory", seconds: 240,
                                              context: { ((try? Self.get(podrec, targets).body) ?? "") + "\n" + prometheus.log }) {
            let answer = try Self.get(podrec, query)
            return answer.status == 200 && answer.body.contains("\"pod\":\"m7\"") && answer.body.contains("\"container\":\"app\"")
        }
        _ = try prometheus.stop()
        try Sys.removeTree(lab.tmp + "/tsdb")
    }
}
