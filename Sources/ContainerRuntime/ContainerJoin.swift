import Cgroups
import Kernel
import PodModel
import Spawn

/// A new process inside a running container: its PID namespace entered properly (a process
/// of that namespace, not only of its children), its ipc, uts, net and mount namespaces (so
/// its root), its cgroup, and its ids, capabilities, environment and working directory.
/// `podrec exec` and the supervisor's exec probes and hooks start processes this way.
public enum ContainerJoin {
    /// The spawn request for `argv` in the container whose main process is `hostPID` (as
    /// the host numbers it), and the fds it holds, to close once spawned. `executable`:
    /// `argv[0]` as `resolve` found it already; nil, looked up here.
    public static func request(_ argv: [String], in spec: ContainerLaunch, hostPID: Int32, driver: any CgroupDriver,
                               executable: String? = nil, proc: String = "/proc") throws -> (request: SpawnRequest, fds: [Int32]) {
        let executable = executable
            ?? resolve(argv.first ?? "", hostPID: hostPID, environment: spec.environment, proc: proc) ?? (argv.first ?? "")
        var request = SpawnRequest(argv, executable: executable, environment: spec.environment)
        var fds: [Int32] = []
        do {
            // pid first (the shim enters it with a fork), mnt last: after it, paths are the
            // container's. A namespace the container shares with the host is the host's:
            // joining it changes nothing.
            for kind in [Namespace.pid, .ipc, .uts, .network, .mount] {
                let path = "\(proc)/\(hostPID)/ns/\(kind.procName)"
                let fd = try Sys.openForReading(path)
                fds.append(fd)
                request.joinNamespaces.append(NamespaceJoin(kind, fd: fd, path: path))
            }
            // The container's user namespace, when it is not ours (`hostUsers: false`):
            // entered after the others, as the container itself entered it.
            let userPath = "\(proc)/\(hostPID)/ns/user"
            if try !Sys.sameNamespace(userPath, "\(proc)/self/ns/user") {
                let fd = try Sys.openForReading(userPath)
                fds.append(fd)
                request.userNamespace = NamespaceJoin(.user, fd: fd, path: userPath)
            }
            fds += try request.joinCgroup(spec.cgroup, of: driver)
        } catch {
            for fd in fds { Sys.close(fd) }
            throw error
        }
        request.workingDirectory = spec.workingDirectory
        request.takeIdentity(of: spec)
        return (request, fds)
    }

    /// `name` as the container's PATH finds it inside its root (seen from the host through
    /// `/proc/PID/root`); a name with a `/` is taken as it is; nil when nothing is found.
    public static func resolve(_ name: String, hostPID: Int32, environment: [String], proc: String = "/proc") -> String? {
        if name.contains("/") { return name }
        let path = environment.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.split(separator: ":") where dir.hasPrefix("/") {
            let candidate = "\(dir)/\(name)"
            if Sys.isExecutable("\(proc)/\(hostPID)/root\(candidate)") { return candidate }
        }
        return nil
    }
}
