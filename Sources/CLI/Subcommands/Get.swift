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
                print(Self.yaml(.array(json)), terminator: "")
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
                           ] + Self.statusMembers(pod)))
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
                else if output == "yaml" { print("---\n" + Self.yaml(.array([l.json])), terminator: "") }
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

        /// The pod's IPs as kubectl shows them: its network's addresses (from the plan the
        /// attachment filled in), the node's on the host's network; none with only `lo`.
        static func podIPs(_ pod: ObservedPod, node: String) -> [String] {
            guard let plan = pod.plan else { return [] }
            return plan.hostNetwork ? [node] : plan.podIPs
        }

        /// The pod's status as the API shows it, in its words: `phase`, `reason`, `message`,
        /// `startTime`, and per container `state` and `lastState` (`terminated.message` is
        /// what the container wrote at its terminationMessagePath).
        static func statusMembers(_ pod: ObservedPod) -> [JSONMember] {
            guard let status = pod.status else { return [] }
            var out = [JSONMember("phase", .string(status.phase.rawValue))]
            if let r = status.reason { out.append(JSONMember("reason", .string(r))) }
            if let m = status.message { out.append(JSONMember("message", .string(m))) }
            if let t = status.startTime { out.append(JSONMember("startTime", .string(stamp(t)))) }
            func containers(_ kinds: [ContainerKind]) -> JSONValue {
                .array(status.containers.filter { kinds.contains($0.kind) }.map { c in
                    var state: [JSONMember] = []
                    switch c.state {
                    case .running:
                        state = [JSONMember("running", .object(c.startedAt.map { [JSONMember("startedAt", .string(stamp($0)))] } ?? []))]
                    case .waiting:
                        var w: [JSONMember] = []
                        if let r = c.reason { w.append(JSONMember("reason", .string(r))) }
                        if let m = c.message { w.append(JSONMember("message", .string(m))) }
                        state = [JSONMember("waiting", .object(w))]
                    case .terminated:
                        if let t = c.termination { state = [JSONMember("terminated", terminated(t))] }
                    }
                    var members = [JSONMember("name", .string(c.name)), JSONMember("state", .object(state)),
                                   JSONMember("lastState", .object(c.lastTermination.map { [JSONMember("terminated", terminated($0))] } ?? [])),
                                   JSONMember("ready", .bool(c.ready ?? (c.state == .running))),
                                   JSONMember("restartCount", .int(Int64(c.restartCount)))]
                    if c.kind == .sidecar || c.kind == .main { members.append(JSONMember("started", .bool(c.state == .running))) }
                    return .object(members)
                })
            }
            out.append(JSONMember("initContainerStatuses", containers([.initContainer, .sidecar])))
            out.append(JSONMember("containerStatuses", containers([.main])))
            return out
        }

        /// `state.terminated` as the API spells it.
        static func terminated(_ t: Termination) -> JSONValue {
            var m = [JSONMember("exitCode", .int(Int64(t.exitCode)))]
            if let s = t.signal { m.append(JSONMember("signal", .int(Int64(s)))) }
            m.append(JSONMember("reason", .string(t.reason)))
            if let msg = t.message { m.append(JSONMember("message", .string(msg))) }
            if let s = t.startedAt { m.append(JSONMember("startedAt", .string(stamp(s)))) }
            m.append(JSONMember("finishedAt", .string(stamp(t.finishedAt))))
            return .object(m)
        }

        /// metav1.Time's form: RFC 3339 in seconds, UTC.
        static func stamp(_ t: WallTime) -> String { String(t.rfc3339Nano.prefix(19)) + "Z" }

        /// A JSON value as block YAML, every scalar quoted as JSON quotes it (YAML reads JSON
        /// strings, numbers and booleans as they are).
        static func yaml(_ value: JSONValue, indent: Int = 0) -> String {
            let pad = String(repeating: "  ", count: indent)
            switch value {
            case .array(let items):
                if items.isEmpty { return pad + "[]\n" }
                return items.map { item -> String in
                    let body = yaml(item, indent: indent + 1)
                    // The first line of the item after `- `, the rest as they are.
                    let trimmed = body.dropFirst(pad.count + 2)
                    return pad + "- " + trimmed
                }.joined()
            case .object(let members):
                if members.isEmpty { return pad + "{}\n" }
                return members.map { m -> String in
                    switch m.value {
                    case .object(let inner) where !inner.isEmpty: return pad + m.key + ":\n" + yaml(m.value, indent: indent + 1)
                    case .array(let inner) where !inner.isEmpty: return pad + m.key + ":\n" + yaml(m.value, indent: indent + 1)
                    case .object: return pad + m.key + ": {}\n"
                    case .array: return pad + m.key + ": []\n"
                    default: return pad + m.key + ": " + m.value.serialized() + "\n"
                    }
                }.joined()
            default:
                return pad + value.serialized() + "\n"
            }
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
            // A reason of the pod's own (DeadlineExceeded) is what kubectl starts from, and a
            // pod that failed for it shows it, not its killed containers' Error.
            if let reason = status.reason, status.phase == .failed, pod.supervisor != .dead { state = reason }
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
