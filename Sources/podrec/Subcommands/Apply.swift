import ArgumentParser
import Manifest
import Planner
import Reconciler

extension Podrec {
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the host run the pods of the manifests.",
            discussion: """
                Creates missing pods, hands changed specs to their supervisors (which restart exactly
                the containers that changed), resizes limits in place, recreates pods whose supervisor
                died or whose immutable fields changed, and repairs drift. A bad manifest changes
                nothing. Exit status: 0 when every action succeeded (a deferred resize included),
                1 otherwise.
                """
        )

        @Option(name: .shortAndLong, help: "Manifest files, directories, or - for stdin.")
        var filename: [String]
        @Flag(help: "Also delete pods applied before that the input no longer has.")
        var prune = false
        @Flag(name: .customLong("dry-run"), help: "Print what would be done, and do nothing.")
        var dryRun = false
        @OptionGroup var roots: RootOptions

        func run() throws {
            let set = try Manifests.load(filename)
            let reconciler = try roots.reconciler()
            var stderr = StandardError()
            if dryRun {
                let planned: Reconciler.Planned
                do { planned = try reconciler.plan(set, owner: "apply", prune: prune, source: { _ in "apply" }) } catch {
                    throw CLIError(error.description)
                }
                for f in planned.failures { print("\(f.file): error: pod \(f.key): \(f.message)", to: &stderr) }
                print(DiffText.render(planned.plan), terminator: "")
                if !planned.failures.isEmpty { throw ExitCode.failure }
                return
            }
            let (planned, outcomes): (Reconciler.Planned, [Executor.Outcome])
            do {
                (planned, outcomes) = try reconciler.apply(set, owner: "apply", prune: prune, source: { _ in "apply" })
            } catch { throw CLIError(error.description) }
            for f in planned.failures { print("\(f.file): error: pod \(f.key): \(f.message)", to: &stderr) }
            for o in outcomes {
                let line = DiffText.line(o.action)
                if let error = o.error {
                    print("\(line): error: \(error)", to: &stderr)
                } else {
                    print(o.deferred ? "\(line) (deferred)" : line)
                }
            }
            if planned.plan.actions.isEmpty && planned.failures.isEmpty { print("no changes") }
            if !planned.failures.isEmpty || outcomes.contains(where: { !$0.ok }) { throw ExitCode.failure }
        }
    }
}

/// Reading and validating the input: a bad manifest stops everything before the host is
/// touched, with every diagnostic as FILE:LINE:COLUMN.
enum Manifests {
    /// `exitCode`: what a bad input exits with (1 for `apply`, 2 for `diff`, as kubectl).
    static func load(_ inputs: [String], exitCode: Int32 = 1) throws -> ManifestSet {
        let (files, failures) = Input.read(inputs)
        var stderr = StandardError()
        for failure in failures { print(failure, to: &stderr) }
        let set = ManifestLoader.load(files)
        for diagnostic in set.diagnostics { print(diagnostic, to: &stderr) }
        if !failures.isEmpty || !set.isValid { throw ExitCode(exitCode) }
        return set
    }
}
