import ArgumentParser
import Glibc
import Cgroups
import Kernel
import Planner
import PodModel
import Reconciler
import ContainerRuntime
import HostSetup
import Spawn

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
            let mains = plan.containers.filter { $0.kind != .initContainer }
            let name: String
            if let container {
                name = container
            } else if mains.count == 1 {
                name = mains[0].name
            } else {
                throw CLIError("a container name must be specified for pod \(key.name), choose one of: [\(mains.map(\.name).joined(separator: " "))]")
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

            guard ContainerJoin.resolve(command[0], hostPID: pid, environment: spec.environment) != nil else {
                throw CLIError("exec: \"\(command[0])\": executable file not found in $PATH")
            }
            var fds: [Int32] = []
            defer { for fd in fds { Sys.close(fd) } }
            var master: Int32?
            defer { if let master { Sys.close(master) } }
            var request: SpawnRequest
            do {
                (request, fds) = try ContainerJoin.request(command, in: spec, hostPID: pid, driver: reconciler.driver)
                if useTerminal {
                    let pty = try Sys.openPseudoTerminal(root: "/proc/\(pid)/root")
                    master = pty.master
                    TerminalRelay.copyWindowSize(to: pty.master)
                    fds.append(pty.terminal)
                    (request.stdin, request.stdout, request.stderr) = (pty.terminal, pty.terminal, pty.terminal)
                    request.controllingTerminal = true
                } else if !stdin {
                    let null = try Sys.openNull()
                    fds.append(null)
                    request.stdin = null
                }
            } catch { throw CLIError("\(error)") }
            let process: SpawnedProcess
            do { process = try spawn(request) } catch { throw CLIError("\(error)") }
            defer { if let fd = process.pidfd { Sys.close(fd) } }
            if let master {
                // Only the command holds the terminal end now: its last close is EIO here.
                for fd in fds { Sys.close(fd) }
                fds = []
                do { try TerminalRelay(master: master, pidfd: process.pidfd).run() } catch { throw CLIError("exec: \(error)") }
            }
            let raw: Int32
            do { raw = try Sys.wait(process.pid) } catch { throw CLIError("\(error)") }
            switch WaitStatus(raw) {
            case .exited(let code): if code != 0 { throw ExitCode(code) }
            case .signaled(let signal): throw ExitCode(128 + signal)
            }
        }
    }
}
