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
            let (missing, outcomes, sources): ([PodKey], [Executor.Outcome], [PodKey: String])
            do { (missing, outcomes, sources) = try reconciler.delete(keys, all: all, graceMilliseconds: gracePeriod.map { $0 * 1000 }) } catch {
                throw CLIError(error.description)
            }
            var stderr = StandardError()
            var failed = !missing.isEmpty
            for key in missing { print("error: pod \(key) not found", to: &stderr) }
            for o in outcomes {
                if let error = o.error {
                    print("pod \(o.action.key!): error: \(error)", to: &stderr)
                    failed = true
                } else {
                    print("pod \(o.action.key!) deleted")
                    // As kubectl warns of a mirror pod: deleting it does not make it go.
                    if let source = sources[o.action.key!], source.hasPrefix("watch:") {
                        print("warning: pod \(o.action.key!) is defined by \(source.dropFirst(6)); its watcher creates it again unless that file goes", to: &stderr)
                    }
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
