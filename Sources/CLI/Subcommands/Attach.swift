import ArgumentParser
import Glibc
import Kernel
import PodModel
import PodState

extension Podrec {
    struct Attach: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "attach",
            abstract: "Attach to the running main process of a container, as kubectl attach.",
            discussion: """
                Streams the container's output from now on (what it wrote before is in its log: \
                podrec logs) and, with -i, sends our stdin to its stdin, which needs `stdin: true` \
                in its spec. A container with `tty: true` has a terminal: with -i, and stdin a \
                terminal, ours is raw until the session ends, and its size follows ours. The \
                session ends when the container's run does; ctrl-p ctrl-q (--detach-keys, as \
                docker and podman attach) leaves it earlier and the container runs on. With \
                `stdinOnce: true` the container's stdin is closed when the first attach session \
                that had it ends, as kubelet does. Without -c: the container that the \
                kubectl.kubernetes.io/default-container annotation names, else the first.
                """
        )

        @Argument(help: "NAME or NAMESPACE/NAME.")
        var pod: String
        @Option(name: .shortAndLong, help: "The container (default: the annotated default container, else the first).")
        var container: String?
        @Flag(name: [.customShort("i"), .long], help: "Pass stdin to the container.")
        var stdin = false
        @Flag(name: .shortAndLong, help: "Stdin is a TTY (the container's terminal is used either way when it has one).")
        var tty = false
        @Option(help: "The keys that detach, in docker's notation.")
        var detachKeys = DetachKeys.standard
        @OptionGroup var roots: RootOptions

        func run() throws {
            let keys = try DetachKeys(detachKeys)
            let key = Delete.key(pod)
            let state = PodStateDirectory(root: roots.roots.state, key: key)
            guard let planText = try? state.text(.plan), let plan = try? LaunchPlan.decode(planText), let status = state.status() else {
                throw CLIError("pod \"\(key)\" not found")
            }
            let chosen: (name: String, note: String?)
            switch ContainerChoice.pickForAttach(container, pod: key.name, containers: plan.containers.map { ($0.name, $0.kind) },
                                                 annotated: plan.defaultContainer) {
            case .success(let c): chosen = c
            case .failure(let error): throw CLIError(error.description)
            }
            if let note = chosen.note { FileHandleStream.standardError(note + "\n") }
            let name = chosen.name
            guard let spec = plan.container(name) else { throw CLIError("container \(name) is not valid for pod \(key.name)") }
            guard let s = status.container(name), s.state == .running else {
                let st = status.container(name)
                let what = st.map { $0.state.rawValue + ($0.reason.map { " (\($0))" } ?? "") } ?? "not started"
                throw CLIError("container \(name) of pod \(key) is not running: it is \(what)")
            }
            // kubectl's rules (attach.go): -t on a container without a terminal is a
            // warning and off; a container with one is attached as a terminal, -t or not.
            if tty && !spec.tty {
                FileHandleStream.standardError("Unable to use a TTY - container \(name) did not allocate one\n")
            }
            if stdin && !spec.stdin { throw CLIError("Unable to use stdin - container \(name) did not allocate one") }

            let socket: Int32
            do { socket = try Sys.connectUnix(directory: state.path, name: PodStateDirectory.File.attach.rawValue) } catch {
                throw CLIError("attach to pod \(key): \(error)")
            }
            defer { Sys.close(socket) }
            var answer = [UInt8](repeating: 0, count: AttachMessage.maxPacket)
            do {
                try Sys.sendPacket(socket, AttachMessage.hello(container: name, stdin: stdin).encoded)
                let n = try answer.withUnsafeMutableBytes { try Sys.readSome(socket, into: $0) } ?? 0
                switch AttachMessage(answer[..<n]) {
                case .accepted?: break
                case .refused(let reason)?: throw CLIError(reason)
                default: throw CLIError("attach to pod \(key): the supervisor closed the session")
                }
            } catch let e as CLIError { throw e } catch { throw CLIError("attach to pod \(key): \(error)") }

            if spec.tty && stdin && Sys.isTerminal(0) {
                FileHandleStream.standardError("If you don't see a command prompt, try pressing enter.\n")
            }
            let ending: AttachRelay.Ending
            do { ending = try AttachRelay(socket: socket, input: stdin, terminal: spec.tty, detachKeys: keys).run() } catch let e as CLIError {
                throw e
            } catch { throw CLIError("attach: \(error)") }
            if ending == .detached, spec.tty, Sys.isTerminal(1) { FileHandleStream.standardError("\r\n") }
        }
    }
}
