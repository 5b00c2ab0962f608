import Cgroups
import Kernel
import PodModel
import Spawn

/// `podrec exec`: a command started inside a running container (`ContainerJoin`), with the
/// caller's stdio, /dev/null for stdin, or a terminal of the container's own `/dev/pts` as
/// its stdio and controlling terminal.
public struct ContainerExec: Sendable {
    public enum Stdio: Sendable {
        /// The caller's stdin, stdout and stderr.
        case inherit
        /// The caller's stdout and stderr; stdin reads /dev/null.
        case nullInput
        /// A new terminal in the container's devpts for all three.
        case terminal
    }

    public let pid: Int32
    /// Readable once the command has exited; nil if the kernel gave none.
    public let pidfd: Int32?
    /// With `.terminal`: the master side, for the caller to relay. The command holds the
    /// only other end, so its last close reads as EIO here.
    public let terminal: Int32?

    public struct NotFound: Error, CustomStringConvertible {
        public var description: String
    }

    /// Starts `argv` in `spec`'s container, whose main process is `hostPID`.
    /// `prepareTerminal` gets the terminal's master before the command is spawned (to size
    /// it), so a command that looks at once sees its size.
    public static func start(_ argv: [String], in spec: ContainerLaunch, hostPID: Int32, driver: any CgroupDriver, stdio: Stdio,
                             prepareTerminal: (Int32) -> Void = { _ in }) throws -> ContainerExec {
        guard let name = argv.first, let executable = ContainerJoin.resolve(name, hostPID: hostPID, environment: spec.environment) else {
            throw NotFound(description: "exec: \"\(argv.first ?? "")\": executable file not found in $PATH")
        }
        var (request, fds) = try ContainerJoin.request(argv, in: spec, hostPID: hostPID, driver: driver, executable: executable)
        defer { for fd in fds { Sys.close(fd) } }
        var master: Int32?
        do {
            switch stdio {
            case .inherit:
                break
            case .nullInput:
                let null = try Sys.openNull()
                fds.append(null)
                request.stdin = null
            case .terminal:
                let pty = try Sys.openPseudoTerminal(root: "/proc/\(hostPID)/root")
                master = pty.master
                prepareTerminal(pty.master)
                fds.append(pty.terminal)
                (request.stdin, request.stdout, request.stderr) = (pty.terminal, pty.terminal, pty.terminal)
                request.controllingTerminal = true
            }
            let process = try spawn(request)
            return ContainerExec(pid: process.pid, pidfd: process.pidfd, terminal: master)
        } catch {
            if let master { Sys.close(master) }
            throw error
        }
    }

    /// Waits for the command to exit, and closes what this holds.
    public func wait() throws(KernelError) -> WaitStatus {
        defer {
            if let pidfd { Sys.close(pidfd) }
            if let terminal { Sys.close(terminal) }
        }
        return WaitStatus(try Sys.wait(pid))
    }
}
