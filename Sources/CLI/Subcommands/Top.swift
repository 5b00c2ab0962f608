import ArgumentParser
import Cgroups
import Kernel
import PodModel
import PodState
import Reconciler
import YAML

extension Podrec {
    struct Top: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "top",
            abstract: "CPU and memory of pods (or their containers), as kubectl top pod prints them.",
            discussion: """
                CPU(cores) is in millicores over the window since the supervisor's last CPU sample at
                least 1 s old (it samples every 10 s, as kubelet's cAdvisor does), so top answers at
                once; <unknown> for a pod younger than 1 s. MEMORY(bytes) is the working set, as
                kubelet computes it: the memory in use less the inactive file pages. Reads cgroupfs and
                the state dirs; takes no lock.
                """
        )

        enum SortBy: String, ExpressibleByArgument, CaseIterable { case cpu, memory }
        enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case json }

        @Argument(help: "Pods: NAME or NAMESPACE/NAME; all when none.")
        var pods: [String] = []
        @Flag(help: "A row per container.")
        var containers = false
        @Option(name: .customLong("sort-by"), help: "cpu or memory: the highest first.")
        var sortBy: SortBy?
        @Option(name: .shortAndLong, help: "json: one object per pod, with its containers.")
        var output: OutputFormat?
        @OptionGroup var roots: RootOptions

        /// One cgroup's usage: millicores over the window (nil: no window yet) and the
        /// working set in bytes.
        struct Usage {
            var millicores: Int64?
            var workingSet: Int64?
        }

        struct PodUsage {
            var key: PodKey
            var pod: Usage
            var containers: [(name: String, usage: Usage)]
        }

        func run() throws {
            let reconciler = try roots.reconciler()
            let keys = pods.map(Delete.key)
            let observed = try reconciler.observed(scope: keys.isEmpty ? nil : Set(keys))
            for key in keys where observed.pods[key] == nil { throw CLIError("pod \(key) not found") }
            var rows = observed.pods.keys.sorted().compactMap { key in
                let pod = observed.pods[key]!
                return pod.plan.map { Self.usage(key, plan: $0, podCgroup: pod.cgroup, driver: reconciler.driver, state: reconciler.roots.stateRoot.pod(key)) }
            }
            if let sortBy {
                func value(_ u: Usage) -> Int64 { (sortBy == .cpu ? u.millicores : u.workingSet) ?? -1 }
                rows.sort { value($0.pod) > value($1.pod) }
                for i in rows.indices { rows[i].containers.sort { value($0.usage) > value($1.usage) } }
            }
            if output == .json {
                print(JSONValue.array(rows.map(Self.json)).serialized(indent: 2))
                return
            }
            if rows.isEmpty {
                print("No resources found")
                return
            }
            let name = { (key: PodKey) in key.namespace == "default" ? key.name : key.description }
            let table: [[String]] = containers
                ? [["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]] + rows.flatMap { r in r.containers.map { [name(r.key), $0.name] + Self.cells($0.usage) } }
                : [["NAME", "CPU(cores)", "MEMORY(bytes)"]] + rows.map { [name($0.key)] + Self.cells($0.pod) }
            print(Get.table(table), terminator: "")
        }

        /// The counters now, against the supervisor's newest sample at least a second old.
        static func usage(_ key: PodKey, plan: LaunchPlan, podCgroup: String?, driver: any CgroupDriver, state: PodStateDirectory) -> PodUsage {
            let now = WallClock.now()
            let samples = ((try? state.text(.usage)) ?? nil).flatMap(UsageSample.decode) ?? []
            let start = UsageSample.start(of: samples, now: now)
            func read(_ name: String, _ cgroup: String) -> Usage {
                let cpu = (try? driver.cpuUsage(cgroup)) ?? nil
                var millicores: Int64?
                if let cpu, let start, let before = start.cpu[name] {
                    // ns of CPU per ns of wall time, in thousandths of a core.
                    millicores = max(0, cpu - before) * 1000 / max(1, now - start.time.nanoseconds)
                }
                return Usage(millicores: millicores, workingSet: (try? driver.workingSet(cgroup)) ?? nil)
            }
            let containers = plan.containers.map { (name: $0.name, usage: read($0.name, $0.cgroup)) }
            let pod = podCgroup.map { read("", $0) } ?? Usage()
            return PodUsage(key: key, pod: pod, containers: containers)
        }

        /// kubectl top's spelling: `250m`, `64Mi`.
        static func cells(_ u: Usage) -> [String] {
            [u.millicores.map { "\($0)m" } ?? "<unknown>", u.workingSet.map { "\($0 >> 20)Mi" } ?? "<unknown>"]
        }

        static func json(_ r: PodUsage) -> JSONValue {
            func usage(_ u: Usage) -> [JSONMember] {
                [JSONMember("cpuMillicores", u.millicores.map { .int($0) } ?? .null),
                 JSONMember("memoryWorkingSetBytes", u.workingSet.map { .int($0) } ?? .null)]
            }
            return .object([JSONMember("namespace", .string(r.key.namespace)), JSONMember("name", .string(r.key.name))] + usage(r.pod)
                           + [JSONMember("containers", .array(r.containers.map { .object([JSONMember("name", .string($0.name))] + usage($0.usage)) }))])
        }
    }
}
