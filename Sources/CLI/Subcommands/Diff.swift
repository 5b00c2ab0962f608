import ArgumentParser
import Planner
import Reconciler
import YAML
import PodModel

extension Podrec {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "Show what apply would change, and why.",
            discussion: """
                Each line marks a pod or a container: + to create, - to delete, ~ to change, with the
                reason. Secrets never appear. Takes no lock. Exit status, as kubectl diff: 0 when the
                host is as the manifests ask, 1 when it differs (a deferred resize included), 2 on error.
                """
        )

        enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case json }

        @Option(name: .shortAndLong, help: "Manifest files, directories, or - for stdin.")
        var filename: [String]
        @Flag(help: "Show the deletions apply --prune would make.")
        var prune = false
        @Flag(name: .customLong("force-owner"), help: "Show what apply --force-owner would do.")
        var forceOwner = false
        @Option(name: .shortAndLong, help: "json: one object per action.")
        var output: OutputFormat?
        @OptionGroup var roots: RootOptions

        func run() throws {
            do {
                let set = try Manifests.load(filename, exitCode: 2)
                var input = Reconciler.Input(sets: [set], source: { _ in "apply" })
                input.forceOwner = forceOwner
                let planned = try roots.reconciler().plan(input, owner: "apply", prune: prune)
                var stderr = StandardError()
                for f in planned.failures { print("\(f.file): error: pod \(f.key): \(f.message)", to: &stderr) }
                if output == .json {
                    print(JSONValue.array(planned.pulls.map(DiffText.json) + planned.plan.actions.map(DiffText.json)).serialized(indent: 2))
                } else {
                    print(DiffText.render(planned.pulls) + DiffText.render(planned.plan), terminator: "")
                }
                if !planned.failures.isEmpty { throw ExitCode(2) }
                if planned.plan.hasChanges || !planned.pulls.isEmpty { throw ExitCode(1) }
            } catch let e as ExitCode {
                throw e
            } catch {
                var stderr = StandardError()
                print("error: \(error)", to: &stderr)
                throw ExitCode(2)
            }
        }
    }
}

/// Plans as text: `+`, `-` or `~`, what, and why.
enum DiffText {
    static func render(_ plan: Plan) -> String {
        plan.actions.map { a in line(a) + "\n" + a.details.map { detail($0) + "\n" }.joined() }.joined()
    }

    /// The pulls a pass waits for, before its actions: `+ image REF: pull, WHY`, then each
    /// pod that waits for it. Their creates show once the image is in the store.
    static func render(_ pulls: [PendingPull]) -> String {
        pulls.map { p in
            line(p) + "\n" + p.pods.map { detail(ActionDetail("~", "pod \($0): waits for it", depth: 1)) + "\n" }.joined()
        }.joined()
    }

    static func line(_ p: PendingPull) -> String {
        Terminal.paint("+ image \(p.reference)", colour("+")) + ": " + reason(p)
    }

    static func reason(_ p: PendingPull) -> String {
        "pull, \(p.reason)" + (p.pullSecrets.isEmpty ? "" : " (imagePullSecrets: \(p.pullSecrets.map(\.id).joined(separator: ", ")))")
    }

    static func json(_ p: PendingPull) -> JSONValue {
        .object([JSONMember("op", .string("+")), JSONMember("what", .string("image \(p.reference)")),
                 JSONMember("reason", .string(reason(p))), JSONMember("pods", .array(p.pods.map { .string($0.description) }))])
    }

    /// A container or a field under a pod's line, indented by its depth.
    static func detail(_ d: ActionDetail) -> String {
        String(repeating: "    ", count: d.depth) + Terminal.paint(d.description, colour(d.mark))
    }

    static func colour(_ mark: Character) -> String { mark == "+" ? "32" : mark == "-" ? "31" : mark == "~" ? "33" : "2" }

    static func line(_ a: Action) -> String {
        let (mark, what) = describe(a)
        return Terminal.paint("\(mark) \(what)", colour(Character(mark))) + ": " + a.reason
    }

    static func describe(_ a: Action) -> (String, String) { (a.mark, a.subject) }

    static func json(_ a: Action) -> JSONValue {
        let (mark, what) = describe(a)
        var members = [JSONMember("op", .string(mark)), JSONMember("what", .string(what)), JSONMember("reason", .string(a.reason))]
        if let k = a.key { members.insert(JSONMember("pod", .string(k.description)), at: 0) }
        if !a.details.isEmpty {
            members.append(JSONMember("details", .array(a.details.map {
                .object([JSONMember("op", .string(String($0.mark))), JSONMember("what", .string($0.text)), JSONMember("depth", .int(Int64($0.depth)))])
            })))
        }
        return .object(members)
    }
}
