import ArgumentParser
import Glibc
import Kernel
import PodModel
import PodState
import Reconciler
import YAML

extension Podrec {
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "events",
            abstract: "The pods' events, oldest first: LAST SEEN TYPE REASON OBJECT MESSAGE, as kubectl events prints them.",
            discussion: """
                Merges the events each supervisor keeps (the last 30 of its pod: starts, kills, probe
                failures, back-offs) with the reconciler's (what apply, watch and delete did: Created,
                Updated, Resized, Killing, Deleted, and Failed... when an action failed). Repeats are
                counted: "5s (x3 over 1m)". With -w, then prints each new or repeated event until
                interrupted; it waits on inotify and the supervisors' pidfds, not a timer. Takes no lock.
                """
        )

        enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case json }

        @Argument(help: "Only this pod's events: NAME or NAMESPACE/NAME.")
        var pod: String?
        @Flag(name: .shortAndLong, help: "After the list, print each new event until interrupted.")
        var watch = false
        @Option(name: .shortAndLong, help: "json: one object per event (one per line with -w).")
        var output: OutputFormat?
        @OptionGroup var roots: RootOptions

        /// One event as `events` prints it; repeats of the same type, reason, object and
        /// message are one row, counted.
        struct Row: Hashable {
            var type: String
            var reason: String
            var pod: PodKey
            var message: String
            var from: String
            var count: Int
            var first: WallTime
            var last: WallTime

            var identity: [String] { [type, reason, pod.description, message] }
            var object: String { "pod/" + (pod.namespace == "default" ? pod.name : pod.description) }

            func cells(now: Int64) -> [String] {
                var seen = Get.age(max(now - last.nanoseconds, 0))
                if count > 1 { seen += " (x\(count) over \(Get.age(max(now - first.nanoseconds, 0))))" }
                return [seen, type, reason, object, message]
            }

            var json: JSONValue {
                .object([JSONMember("namespace", .string(pod.namespace)), JSONMember("pod", .string(pod.name)),
                         JSONMember("type", .string(type)), JSONMember("reason", .string(reason)), JSONMember("message", .string(message)),
                         JSONMember("from", .string(from)), JSONMember("count", .int(Int64(count))),
                         JSONMember("firstTimestamp", .string(first.rfc3339Nano)),
                         JSONMember("lastTimestamp", .string(last.rfc3339Nano))])
            }
        }

        func run() throws {
            let reconciler = try roots.reconciler()
            let only = pod.map(Delete.key)
            let changes = watch ? try StateChanges(stateRoot: reconciler.roots.stateRoot, events: true) : nil
            let observed = try reconciler.observed(scope: only.map { [$0] })
            changes?.follow(observed)
            let rows = Self.rows(observed, reconciler.roots.stateRoot.events(), only: only)
            let now = WallClock.now()
            switch output {
            case .json where watch: for r in rows { print(r.json.serialized()) }
            case .json: print(JSONValue.array(rows.map(\.json)).serialized(indent: 2))
            case nil:
                if rows.isEmpty {
                    print("No events found")
                } else {
                    print(Get.table([["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]] + rows.map { $0.cells(now: now) }), terminator: "")
                }
            }
            guard let changes else { return }
            fflush(nil)  // every stream: stdout is a pipe to whoever follows the events
            var shown = Dictionary(rows.map { ($0.identity, $0) }, uniquingKeysWith: { _, b in b })
            var widths = Get.widths([["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]] + rows.map { $0.cells(now: now) })
            while true {
                do { try changes.wait() } catch { return }
                guard let observed = try? reconciler.observed(scope: only.map { [$0] }) else { continue }
                changes.follow(observed)
                let now = WallClock.now()
                for r in Self.rows(observed, reconciler.roots.stateRoot.events(), only: only) where shown[r.identity] != r {
                    // A repeat that only aged is not news; a new count or a new last time is.
                    if let before = shown[r.identity], before.count == r.count, before.last == r.last { continue }
                    shown[r.identity] = r
                    if output == .json { print(r.json.serialized()); continue }
                    let cells = r.cells(now: now)
                    widths = zip(widths, cells).map { max($0, $1.count) }
                    print(Get.table([cells], widths: widths), terminator: "")
                }
                fflush(nil)
            }
        }

        /// The supervisors' events of the observed pods and the reconciler's, merged and
        /// counted, oldest last-seen first. Secret values never appear: the supervisors'
        /// messages go through the pod's redactor, as `describe` does; the reconciler's are
        /// `diff`'s reasons, which never hold one.
        static func rows(_ observed: Observed, _ reconcilerEvents: [ReconcilerEvent], only: PodKey?) -> [Row] {
            var rows: [[String]: Row] = [:]
            func add(_ r: Row) {
                if var existing = rows[r.identity] {
                    existing.count += r.count
                    existing.first = min(existing.first, r.first)
                    existing.last = max(existing.last, r.last)
                    rows[r.identity] = existing
                } else {
                    rows[r.identity] = r
                }
            }
            for (key, pod) in observed.pods where only == nil || only == key {
                let redact = SecretRedactor(pod.plan?.containers ?? [])
                for e in pod.status?.events ?? [] {
                    add(Row(type: e.type, reason: e.reason, pod: key, message: redact(e.message), from: "supervisor",
                            count: e.count, first: e.first, last: e.last))
                }
            }
            for e in reconcilerEvents where only == nil || only == e.pod {
                add(Row(type: e.type, reason: e.reason, pod: e.pod, message: e.message, from: e.source, count: 1, first: e.time, last: e.time))
            }
            return rows.values.sorted { ($0.last, $0.first, $0.identity.joined()) < ($1.last, $1.first, $1.identity.joined()) }
        }
    }
}
