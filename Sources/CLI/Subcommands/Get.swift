import ArgumentParser
import Glibc
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
            discussion: """
                Reads the kernel and the supervisors' status; takes no lock. With -w, then prints a
                row for each change of a pod's READY, STATUS or RESTARTS, and a Terminating row when a
                pod is gone, until interrupted; it waits on inotify and the supervisors' pidfds, not a
                timer.
                """
        )

        @Argument(help: "pods (the only kind)")
        var kind: String = "pods"
        @Option(name: .shortAndLong, help: "wide, json or yaml.")
        var output: String?
        @Flag(name: .shortAndLong, help: "After the list, print each change of a pod until interrupted (json: one object per line).")
        var watch = false
        @OptionGroup var roots: RootOptions

        func run() throws {
            guard ["pods", "pod", "po"].contains(kind) else { throw CLIError("unknown kind \"\(kind)\": podrec has pods") }
            if let output, !["wide", "json", "yaml"].contains(output) { throw CLIError("unknown output format \"\(output)\": wide, json or yaml") }
            let reconciler = try roots.reconciler()
            let changes = watch ? try StateChanges(stateRoot: reconciler.roots.stateRoot) : nil
            let observed = try reconciler.observed()
            changes?.follow(observed)
            let node = Sys.nodeAddress()
            let listed = observed.pods.keys.sorted().map { Self.listing(observed.pods[$0]!, now: WallClock.now(), node: node, wide: output == "wide") }
            let rows = listed.map(\.row)
            let json = listed.map(\.json)
            switch output {
            case "json" where watch:
                // One object per line from the start, as the changes come.
                for object in json { print(object.serialized()) }
            case "json":
                print(JSONValue.array(json).serialized(indent: 2))
            case "yaml":
                print(json.map(Self.yaml).joined(), terminator: "")
            default:
                if rows.isEmpty {
                    print("No resources found")
                } else {
                    let header = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] + (output == "wide" ? ["IP", "SUPERVISOR"] : [])
                    print(Self.table([header] + rows), terminator: "")
                }
            }
            if let changes {
                fflush(nil)  // every stream: stdout is a pipe to whoever follows the changes
                follow(changes, reconciler, node: node, shown: Dictionary(uniqueKeysWithValues: listed.map { ($0.key, $0) }))
            }
        }

        /// One pod as a table row (NAME first) and as JSON; `columns` are READY, STATUS and
        /// RESTARTS, what `-w` compares (AGE changes all the time).
        struct Listing {
            var key: PodKey
            var row: [String]
            var json: JSONValue
            var columns: [String] { Array(row[1...3]) }
        }

        static func listing(_ pod: ObservedPod, now: Int64, node: String, wide: Bool) -> Listing {
            let key = pod.key
            let row = Self.row(pod, now: now)
            let ips = Self.podIPs(pod, node: node)
            return Listing(key: key, row: [key.namespace == "default" ? key.name : key.description] + row
                                          + (wide ? [ips.first ?? "<none>", Self.supervisor(pod)] : []),
                           json: .object([
                               JSONMember("namespace", .string(key.namespace)), JSONMember("name", .string(key.name)),
                               JSONMember("ready", .string(row[0])), JSONMember("status", .string(row[1])),
                               JSONMember("restarts", .string(row[2])), JSONMember("age", .string(row[3])),
                               JSONMember("podIP", .string(ips.first ?? "")), JSONMember("podIPs", .array(ips.map { .string($0) })),
                               JSONMember("hostIP", .string(node)),
                           ]))
        }

        /// `-w`: a row per pod whose READY, STATUS or RESTARTS changed, or that appeared, as
        /// `kubectl get -w` prints watch events; a pod that is gone gets a last row with STATUS
        /// Terminating (kubectl prints the DELETED event's object, which has a deletion
        /// timestamp). Columns are padded to the first table's widths where they fit.
        func follow(_ changes: StateChanges, _ reconciler: Reconciler, node: String, shown: [PodKey: Listing]) {
            var shown = shown
            var widths = Self.widths(shown.values.map(\.row) + [["NAME", "READY", "STATUS", "RESTARTS", "AGE"]])
            func emit(_ l: Listing) {
                if output == "json" { print(l.json.serialized()) }
                else if output == "yaml" { print("---\n" + Self.yaml(l.json), terminator: "") }
                else {
                    widths = zip(widths + [Int](repeating: 0, count: max(0, l.row.count - widths.count)), l.row).map { max($0, $1.count) }
                    print(Self.table([l.row], widths: widths), terminator: "")
                }
                fflush(nil)  // every stream: stdout is a pipe to whoever follows the changes
            }
            while true {
                do { try changes.wait() } catch { return }
                guard let observed = try? reconciler.observed() else { continue }
                changes.follow(observed)
                let now = WallClock.now()
                for key in observed.pods.keys.sorted() {
                    let l = Self.listing(observed.pods[key]!, now: now, node: node, wide: output == "wide")
                    if shown[key]?.columns != l.columns { emit(l) }
                    shown[key] = l
                }
                for key in shown.keys.sorted() where observed.pods[key] == nil {
                    var last = shown.removeValue(forKey: key)!
                    last.row[2] = "Terminating"
                    if case .object(var members) = last.json, let i = members.firstIndex(where: { $0.key == "status" }) {
                        members[i] = JSONMember("status", .string("Terminating"))
                        last.json = .object(members)
                    }
                    emit(last)
                }
            }
        }

        /// Flat string fields only: each quoted as JSON quotes it, which YAML reads.
        static func yaml(_ object: JSONValue) -> String {
            guard case .object(let members) = object else { return "" }
            return members.enumerated().map { i, m in (i == 0 ? "- " : "  ") + m.key + ": " + m.value.serialized() + "\n" }.joined()
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

        static func widths(_ rows: [[String]]) -> [Int] {
            var widths = [Int](repeating: 0, count: rows.map(\.count).max() ?? 0)
            for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
            return widths
        }

        static func table(_ rows: [[String]], widths: [Int]? = nil) -> String {
            let widths = widths ?? Self.widths(rows)
            return rows.map { row in
                row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count + 3) }.joined()
            }.joined(separator: "\n") + "\n"
        }
    }
}
