import ArgumentParser
import Glibc
import Kernel
import Planner
import PodModel
import PodState
import Reconciler
import ContainerLogs

extension Podrec {
    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "logs",
            abstract: "Print a container's log, as kubectl logs prints it.",
            discussion: """
                POD is NAME or NAMESPACE/NAME (namespace default). Prints the lines of the container's \
                current run (its restart count), or of the run before it with --previous, from \
                <log-dir>/pods/<ns>_<name>_<uid>/<container>/<restart>.log and its rotated files, oldest \
                first. A line the supervisor split into parts (over 16 KiB) comes back whole. With -f, \
                new lines are printed as they come, until the container's run ends, it restarts, or the \
                pod is gone. Reads files only; takes no lock.
                """
        )

        @Argument(help: ArgumentHelp("NAME or NAMESPACE/NAME.", valueName: "pod"))
        var pod: String
        @Argument(help: ArgumentHelp("The container, as -c (kubectl's older form).", valueName: "container"))
        var containerArgument: String?
        @Option(name: .shortAndLong, help: "The container; needed when the pod has several.")
        var container: String?
        @Flag(name: [.customShort("p"), .long], help: "The container's previous run (restart count - 1).")
        var previous = false
        @Option(help: ArgumentHelp("Only the last N lines (-1: all; write --tail=-1).", valueName: "N"))
        var tail: Int = -1
        @Flag(name: .shortAndLong, help: "Keep printing new lines as the container writes them.")
        var follow = false
        @Flag(help: "Prefix each line with its RFC 3339 time, as the log has it.")
        var timestamps = false
        @OptionGroup var roots: RootOptions

        func validate() throws {
            if tail < -1 { throw ValidationError("--tail must be -1 (all) or more") }
            if let c = container, let a = containerArgument, c != a {
                throw ValidationError("container given twice: -c \(c) and \(a)")
            }
        }

        func run() throws {
            let key = Delete.key(pod)
            let reconciler = try roots.reconciler()
            let observed = try reconciler.observed(scope: [key])
            guard let found = observed.pods[key] else { throw Self.fail("pod \"\(pod)\" not found") }

            // Plan order: init containers and sidecars as the spec has them, then the main ones.
            let containers: [(name: String, kind: ContainerKind)] = found.plan.map { $0.containers.map { ($0.name, $0.kind) } }
                ?? found.status?.containers.map { ($0.name, $0.kind) } ?? []
            let name: String
            switch ContainerChoice.pick(container ?? containerArgument, pod: key.name, containers: containers) {
            case .success(let chosen): name = chosen
            case .failure(let error): throw Self.fail(error.description)
            }

            let status = found.status?.container(name)
            let current = status?.restartCount ?? 0
            let restart = previous ? current - 1 : current
            if restart < 0 { throw Self.fail("previous terminated container \"\(name)\" in pod \"\(key.name)\" not found") }
            let uid = found.record?.uid ?? found.plan?.uid
            guard let base = found.plan?.logDirectory ?? uid.map({ reconciler.roots.layout(key, uid: $0).logDirectory }) else { return }

            let printer = LogPrinter(timestamps: timestamps, tail: tail)
            var log = LogFiles(directory: base + "/" + name, restart: restart)
            do throws(KernelError) {
                try log.readExisting(into: printer)
                // Only a live supervisor writes more: a dead one's pod has said all it will.
                if follow && !previous, case .alive(let supervisorPID) = found.supervisor {
                    printer.endTail()
                    try printer.flush()
                    let watch = RunWatch(state: reconciler.roots.stateRoot.pod(key), uid: uid,
                                         container: name, restart: restart, supervisorPID: supervisorPID)
                    try log.follow(into: printer, until: { watch.runIsOver() })
                }
                log.finish(into: printer)
                printer.endTail()
                try printer.flush()
            } catch {
                // A reader that went away (`| head`) is no error of ours.
                if error.errno == .brokenPipe { return }
                throw CLIError(error.description)
            }
        }

        /// Prints `error: <message>` on stderr, as kubectl does, and exits 1.
        static func fail(_ message: String) -> ExitCode {
            var stderr = StandardError()
            print("error: \(message)", to: &stderr)
            return ExitCode.failure
        }
    }
}

extension Podrec.Logs {
    /// Whether the run that `logs -f` follows is over: it ended (kubelet stops following a
    /// container that no longer runs), the container started again, or the pod is gone. Reads
    /// the pod's status and record files only, so it is cheap enough for every poll.
    struct RunWatch {
        let state: PodStateDirectory
        let uid: String?
        let container: String
        let restart: Int
        let supervisorPID: Int32?

        func runIsOver() -> Bool {
            if !Sys.exists(state.path) { return true }
            if let pid = supervisorPID, !Sys.processExists(pid) { return true }
            if let uid, let record = state.record(), record.uid != uid {
                return true  // recreated: another pod under the same name
            }
            guard let status = state.status() else { return false }
            guard let c = status.container(container) else { return true }  // removed from the plan
            if c.restartCount != restart { return true }
            // restartCount becomes `restart` when that run starts: for a later run, not running
            // means over; run 0 is over once it ended once (before its start it has no end).
            return c.state != .running && (restart > 0 || c.termination != nil || c.lastTermination != nil)
        }
    }
}
