import ArgumentParser
import Kernel
import Planner
import PodModel
import Reconciler
import YAML

extension Podrec {
    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get",
            abstract: "List pods: NAME READY STATUS RESTARTS AGE, as kubectl prints them.",
            discussion: "Reads the kernel and the supervisors' status; takes no lock."
        )

        @Argument(help: "pods (the only kind)")
        var kind: String = "pods"
        @Option(name: .shortAndLong, help: "wide, json or yaml.")
        var output: String?
        @OptionGroup var roots: RootOptions

        func run() throws {
            guard ["pods", "pod", "po"].contains(kind) else { throw CLIError("unknown kind \"\(kind)\": podrec has pods") }
            let reconciler = try roots.reconciler()
            let observed = try reconciler.observed()
            let now = WallClock.now()
            let node = Sys.nodeAddress()
            var rows: [[String]] = []
            var json: [JSONValue] = []
            for key in observed.pods.keys.sorted() {
                let pod = observed.pods[key]!
                let row = Self.row(pod, now: now)
                let ips = Self.podIPs(pod, node: node)
                rows.append([key.namespace == "default" ? key.name : key.description] + row
                            + (output == "wide" ? [ips.first ?? "<none>", Self.supervisor(pod)] : []))
                json.append(.object([
                    JSONMember("namespace", .string(key.namespace)), JSONMember("name", .string(key.name)),
                    JSONMember("ready", .string(row[0])), JSONMember("status", .string(row[1])),
                    JSONMember("restarts", .string(row[2])), JSONMember("age", .string(row[3])),
                    JSONMember("podIP", .string(ips.first ?? "")), JSONMember("podIPs", .array(ips.map { .string($0) })),
                    JSONMember("hostIP", .string(node)),
                ]))
            }
            if output == "json" {
                print(JSONValue.array(json).serialized(indent: 2))
                return
            }
            if output == "yaml" {
                // Flat string fields only: each quoted as JSON quotes it, which YAML reads.
                for case .object(let members) in json {
                    for (i, m) in members.enumerated() {
                        print((i == 0 ? "- " : "  ") + m.key + ": " + m.value.serialized())
                    }
                }
                return
            }
            if let output, output != "wide" { throw CLIError("unknown output format \"\(output)\": wide, json or yaml") }
            if rows.isEmpty {
                print("No resources found")
                return
            }
            let header = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] + (output == "wide" ? ["IP", "SUPERVISOR"] : [])
            print(Self.table([header] + rows), terminator: "")
        }

        /// The pod's IPs as kubectl shows them: its network's addresses (from the plan the
        /// attachment filled in), the node's on the host's network; none with only `lo`.
        static func podIPs(_ pod: ObservedPod, node: String) -> [String] {
            guard let plan = pod.plan else { return [] }
            return plan.hostNetwork ? [node] : plan.podIPs
        }

        /// READY, STATUS, RESTARTS, AGE for one pod, with kubectl's STATUS rules: a waiting or
        /// terminated container's reason wins over the phase.
        static func row(_ pod: ObservedPod, now: Int64) -> [String] {
            guard let status = pod.status else {
                let state = pod.supervisor == .dead ? "SupervisorDead" : (pod.record == nil ? "Unknown" : "Pending")
                return ["0/\(pod.plan?.containers.filter { $0.kind != .initContainer }.count ?? 0)", state, "0", "?"]
            }
            let counted = status.containers.filter { $0.kind != .initContainer }
            let ready = status.readyContainers
            var state = status.phase.rawValue
            if case .dead = pod.supervisor { state = "SupervisorDead" }
            else if let c = counted.first(where: { $0.state == .waiting && $0.reason != nil && $0.reason != "ContainerCreating" }) { state = c.reason! }
            else if status.phase == .running, let c = counted.first(where: { $0.state == .terminated }), let r = c.reason { state = r }
            if status.terminated { state = "Terminating" }
            let restarts = status.containers.reduce(0) { $0 + $1.restartCount }
            let started = status.containers.compactMap { $0.startedAt?.nanoseconds }.min() ?? status.updatedAt.nanoseconds
            return ["\(ready.ready)/\(ready.of)", state, String(restarts), age(now - started)]
        }

        static func supervisor(_ pod: ObservedPod) -> String {
            switch pod.supervisor {
            case .alive(let pid): return "pid \(pid)"
            case .dead: return "dead"
            case .none: return "none"
            }
        }

        /// kubectl's short durations: 42s, 5m, 3h, 2d.
        static func age(_ nanoseconds: Int64) -> String {
            let s = max(nanoseconds / 1_000_000_000, 0)
            if s < 120 { return "\(s)s" }
            if s < 7200 { return "\(s / 60)m" }
            if s < 172_800 { return "\(s / 3600)h" }
            return "\(s / 86400)d"
        }

        static func table(_ rows: [[String]]) -> String {
            var widths = [Int](repeating: 0, count: rows.map(\.count).max() ?? 0)
            for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
            return rows.map { row in
                row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 3) }.joined()
            }.joined(separator: "\n") + "\n"
        }
    }
}
