import ArgumentParser
import Kernel
import Manifest
import Planner
import Reconciler
import PodModel

extension Podrec {
    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Stop pods gracefully and remove them: cgroups, state, volumes.",
            discussion: "POD is NAME or NAMESPACE/NAME (namespace default). Logs stay until the next pass removes them."
        )

        @Argument(help: "Pods to delete.")
        var pods: [String] = []
        @Option(name: .shortAndLong, help: "Delete the pods of these manifests.")
        var filename: [String] = []
        @Flag(help: "Delete every pod.")
        var all = false
        @Option(name: .customLong("grace-period"), help: "Seconds before SIGKILL (default: each pod's terminationGracePeriodSeconds).")
        var gracePeriod: Int64?
        @OptionGroup var roots: RootOptions

        func validate() throws {
            if pods.isEmpty && filename.isEmpty && !all { throw ValidationError("name pods, or give -f FILE or --all") }
        }

        func run() throws {
            var keys = Set(pods.map(Self.key))
            if !filename.isEmpty {
                for sourced in try Manifests.load(filename).pods {
                    keys.insert(PodKey(namespace: sourced.pod.metadata.namespace, name: sourced.pod.metadata.name))
                }
            }
            let reconciler = try roots.reconciler()
            let lock = try Sys.lockFileOrFail(reconciler.roots)
            defer { Sys.close(lock) }
            let observed = try reconciler.observed()
            if all { keys.formUnion(observed.pods.keys) }
            var stderr = StandardError()
            var failed = false
            var actions: [Action] = []
            for key in keys.sorted() {
                guard observed.pods[key] != nil else {
                    print("error: pod \(key) not found", to: &stderr)
                    failed = true
                    continue
                }
                actions.append(Action(.delete(key), reason: "deleted by request"))
            }
            let executor = Executor(creator: reconciler.creator, roots: reconciler.roots, graceMilliseconds: gracePeriod.map { $0 * 1000 })
            for o in executor.run(Plan(actions: actions), input: [:], observed: observed) {
                if let error = o.error {
                    print("pod \(o.action.key!): error: \(error)", to: &stderr)
                    failed = true
                } else {
                    print("pod \(o.action.key!) deleted")
                }
            }
            if failed { throw ExitCode.failure }
        }

        static func key(_ text: String) -> PodKey {
            let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
            return parts.count == 2 ? PodKey(namespace: parts[0], name: parts[1]) : PodKey(namespace: "default", name: text)
        }
    }
}

extension Sys {
    /// The pass lock, as `apply` takes it.
    static func lockFileOrFail(_ roots: ReconcileRoots) throws -> Int32 {
        do {
            try Sys.mkdirs(roots.roots.state, mode: 0o700)
            return try Sys.lockFile(roots.lockFile)
        } catch { throw CLIError("the lock \(roots.lockFile): \(error)") }
    }
}
