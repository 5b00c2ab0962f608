import ArgumentParser
import Glibc
import Kernel
import Planner
import PodModel
import Reconciler
import ContainerRuntime

extension Podrec {
    struct Exec: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "exec",
            abstract: "Run a command in a running container: its namespaces, root, cgroup, ids and capabilities.",
            discussion: """
                The command joins the container's PID namespace properly (it is a process of that
                namespace, not only of its children), its mount namespace (so its root), and its
                net, ipc and uts namespaces and cgroup, with the container's user, groups, capabilities,
                environment and working directory. Exit status: the command's (128 + N for signal N).

                With -i and -t, and stdin a terminal, the command gets a terminal of the container's
                own /dev/pts as its stdio and controlling terminal, sized as ours, and ours is raw
                until it exits. As kubectl: -t without -i is ignored, and -t with a stdin that is
                no terminal falls back to pipes with a warning.
                """
        )

        @Argument(help: "NAME or NAMESPACE/NAME.")
        var pod: String
        @Option(name: .shortAndLong, help: "The container (default: the pod's only main container).")
        var container: String?
        @Flag(name: [.customShort("i"), .long], help: "Pass stdin to the command (else it reads /dev/null).")
        var stdin = false
        @Flag(name: .shortAndLong, help: "Give the command a terminal (with -i, when stdin is one).")
        var tty = false
        @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
        var command: [String] = []
        @OptionGroup var roots: RootOptions

        func validate() throws {
            if command.isEmpty { throw ValidationError("give the command after --: podrec exec POD -- CMD ...") }
        }

        func run() throws {
            let key = Delete.key(pod)
            let reconciler = try roots.reconciler()
            let observed = try reconciler.observed(scope: [key])
            guard let o = observed.pods[key], let plan = o.plan, let status = o.status else { throw CLIError("pod \"\(key)\" not found") }
            let name: String
            switch ContainerChoice.pick(container, pod: key.name, containers: plan.containers.map { ($0.name, $0.kind) }) {
            case .success(let chosen): name = chosen
            case .failure(let error): throw CLIError(error.description)
            }
            guard let spec = plan.container(name) else { throw CLIError("container \(name) is not valid for pod \(key.name)") }
            guard let state = status.container(name), state.state == .running, let pid = state.pid else {
                throw CLIError("container \(name) of pod \(key) is not running")
            }

            // kubectl's rules (`ExecOptions.SetupTTY`).
            var useTerminal = tty && stdin
            if useTerminal && !Sys.isTerminal(0) {
                FileHandleStream.standardError("Unable to use a TTY - input is not a terminal or the right kind of file\n")
                useTerminal = false
            }

            let exec: ContainerExec
            do {
                exec = try ContainerExec.start(command, in: spec, hostPID: pid, driver: reconciler.driver,
                                               stdio: useTerminal ? .terminal : stdin ? .inherit : .nullInput,
                                               prepareTerminal: TerminalRelay.copyWindowSize(to:))
            } catch { throw CLIError("\(error)") }
            if let terminal = exec.terminal {
                do { try TerminalRelay(master: terminal, pidfd: exec.pidfd).run() } catch { throw CLIError("exec: \(error)") }
            }
            let exit: WaitStatus
            do { exit = try exec.wait() } catch { throw CLIError("\(error)") }
            switch exit {
            case .exited(let code): if code != 0 { throw ExitCode(code) }
            case .signaled(let signal): throw ExitCode(128 + signal)
            }
        }
    }
}
