import ArgumentParser
import Kernel
import Manifest
import Planner
import Reconciler
import PodModel
import YAML

extension Podrec {
    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Make the host run the pods of the manifests.",
            discussion: """
                Creates missing pods, hands changed specs to their supervisors (which restart exactly
                the containers that changed), resizes limits in place, recreates pods whose supervisor
                died or whose immutable fields changed, and repairs drift. A bad manifest changes
                nothing. Exit status: 0 when every action succeeded (a deferred resize included),
                1 otherwise. With -o json, one object per action done: diff -o json's object for
                it, with its result (ok, deferred, stopping or error) and the error's text.
                """
        )

        enum OutputFormat: String, ExpressibleByArgument, CaseIterable { case json }

        @Option(name: .shortAndLong, help: "Manifest files, directories, or - for stdin.")
        var filename: [String]
        @Flag(help: "Also delete pods applied before that the input no longer has.")
        var prune = false
        @Flag(name: .customLong("force-owner"), help: "Take over pods of the input that a watcher owns: they are applied, and the watcher leaves them alone from now on.")
        var forceOwner = false
        @Flag(name: .customLong("dry-run"), help: "Print what would be done, and do nothing.")
        var dryRun = false
        @Flag(help: "Return once every pod of the input is Running and Ready (or has Succeeded); fail with the reason otherwise.")
        var wait = false
        @Option(help: "With --wait: how long to wait, in seconds.")
        var timeout: Int = 60
        @Option(name: .shortAndLong, help: "json: one object per action done, as diff -o json prints it, with its result.")
        var output: OutputFormat?
        @OptionGroup var roots: RootOptions
        @OptionGroup var registry: RegistryFlags

        func run() throws {
            let set = try Manifests.load(filename)
            let reconciler = try roots.reconciler()
            var stderr = StandardError()
            var input = Reconciler.Input(sets: [set], source: { _ in "apply" })
            input.forceOwner = forceOwner
            if dryRun {
                let planned: Reconciler.Pass
                do { planned = try reconciler.plan(input, owner: "apply", prune: prune) } catch {
                    throw CLIError(error.description)
                }
                for f in planned.failures { print("\(f.file): error: pod \(f.key): \(f.message)", to: &stderr) }
                if output == .json {
                    print(JSONValue.array(planned.pulls.map(DiffText.json) + planned.plan.actions.map(DiffText.json)).serialized(indent: 2))
                } else {
                    print(DiffText.render(planned.pulls) + DiffText.render(planned.plan), terminator: "")
                }
                if !planned.failures.isEmpty { throw ExitCode.failure }
                return
            }
            // The pass does what needs no pull; the pods waiting for an image are left as
            // they are. The pulls then run, all at once and without the lock, and a second
            // pass makes those pods (or says why not).
            var (planned, outcomes) = try pass(reconciler, input)
            let firstOutcomes = outcomes.count
            var pulled: [PullRunner.Result] = []
            var json: [JSONValue] = []
            if !planned.pulls.isEmpty {
                let fetcher = try registry.fetcher(dataRoot: roots.roots.data)
                report(planned, outcomes, into: &json, lastPass: false)
                pulled = PullRunner.run(planned.pulls, with: fetcher, progress: output == nil)
                for r in pulled {
                    if output == .json { json.append(r.json) } else if let error = r.error {
                        print("\(DiffText.line(r.pull)): error: \(error)", to: &stderr)
                    }
                }
                input.pulled = Set(pulled.filter { $0.error == nil }.map(\.pull.reference))
                for r in pulled { if let error = r.error { input.unpulled[r.pull.reference] = error } }
                (planned, outcomes) = try pass(reconciler, input)
            }
            let first = firstOutcomes + pulled.count
            report(planned, outcomes, into: &json, lastPass: true)
            if output == .json { print(JSONValue.array(json).serialized(indent: 2)) }
            if output == nil && first == 0 && outcomes.isEmpty && planned.failures.isEmpty { print("no changes") }
            if !planned.failures.isEmpty || outcomes.contains(where: { !$0.ok }) || pulled.contains(where: { $0.error != nil }) {
                throw ExitCode.failure
            }
            if wait { try waitForPods(planned.desired.map(\.key), reconciler) }
        }

        func pass(_ reconciler: Reconciler, _ input: Reconciler.Input) throws -> (Reconciler.Pass, [Executor.Outcome]) {
            do { return try reconciler.apply(input, owner: "apply", prune: prune) } catch { throw CLIError(error.description) }
        }

        /// One pass's failures (the last pass's: the first one's pods waiting for an image are
        /// no failure) and outcomes: as text now, or into `json`.
        func report(_ planned: Reconciler.Pass, _ outcomes: [Executor.Outcome], into json: inout [JSONValue], lastPass: Bool) {
            var stderr = StandardError()
            if lastPass { for f in planned.failures { print("\(f.file): error: pod \(f.key): \(f.message)", to: &stderr) } }
            if output == .json {
                json += outcomes.map(Self.json)
                return
            }
            for o in outcomes {
                let line = DiffText.line(o.action)
                if let error = o.error {
                    print("\(line): error: \(error)", to: &stderr)
                } else {
                    print(o.deferred ? "\(line) (deferred)" : line)
                }
            }
        }
    }
}

extension Podrec.Apply {
    /// One action done: `diff -o json`'s object for it, with `result` (`ok`, `deferred`,
    /// `stopping`, `error`) and, when it failed, `error`.
    static func json(_ o: Executor.Outcome) -> JSONValue {
        guard case .object(var members) = DiffText.json(o.action) else { return DiffText.json(o.action) }
        let result = o.error != nil ? "error" : o.deferred ? "deferred" : o.stopping ? "stopping" : "ok"
        members.append(JSONMember("result", .string(result)))
        if let error = o.error { members.append(JSONMember("error", .string(error))) }
        return .object(members)
    }

    /// Polls the pods' status until each is Running (every container but init ones running,
    /// and ready where a readiness or startup probe says) or Succeeded, and stays so for a second with no restart: a crash loop whose first
    /// restart is immediate must not pass for running. A Failed pod or the timeout ends
    /// the wait with the reasons.
    func waitForPods(_ keys: [PodKey], _ reconciler: Reconciler) throws {
        let second: Int64 = 1_000_000_000
        let deadline = MonotonicClock.now() + Int64(timeout) * second
        var waiting: [String] = []
        var steady: (since: Int64, restarts: Int)?
        while true {
            let observed = try reconciler.observed(scope: Set(keys))
            waiting = []
            var failed: [String] = []
            for key in keys {
                guard let status = observed.pods[key]?.status else { waiting.append("pod \(key): no status yet"); continue }
                let mains = status.containers.filter { $0.kind == .main }
                switch status.phase {
                case .succeeded: continue
                case .failed:
                    failed.append("pod \(key) failed: " + mains.map { "\($0.name) \($0.reason ?? $0.state.rawValue)" }.joined(separator: ", "))
                case .running, .pending:
                    // Running, and ready where the supervisor says (probes): kubectl's Ready.
                    let notRunning = status.containers.filter { $0.kind != .initContainer && ($0.state != .running || $0.ready == false) }
                    if status.phase == .running && notRunning.isEmpty { continue }
                    waiting.append("pod \(key) \(status.phase.rawValue): " + notRunning.map { c in
                        let why = c.state == .running ? "not ready" + (c.probes.first { $0.success == false }?.message.map { " (\($0))" } ?? "")
                                                      : (c.reason ?? c.state.rawValue) + (c.message.map { " (\($0))" } ?? "")
                        return "\(c.name) \(why)"
                    }.joined(separator: ", "))
                }
            }
            if !failed.isEmpty { throw CLIError(failed.joined(separator: "; ")) }
            let restarts = keys.compactMap { observed.pods[$0]?.status }.flatMap(\.containers).reduce(0) { $0 + $1.restartCount }
            if waiting.isEmpty {
                if let s = steady, s.restarts == restarts {
                    if MonotonicClock.now() - s.since >= second { return }
                } else {
                    steady = (MonotonicClock.now(), restarts)
                }
            } else {
                steady = nil
            }
            if MonotonicClock.now() > deadline {
                let why = waiting.isEmpty ? ["containers keep restarting (\(restarts) restarts so far)"] : waiting
                throw CLIError("timed out after \(timeout) s: " + why.joined(separator: "; "))
            }
            MonotonicClock.sleep(nanoseconds: second / 10)
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
