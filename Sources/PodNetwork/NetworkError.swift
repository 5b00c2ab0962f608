import Kernel
import PodModel

/// Everything that can go wrong with a pod's network, each with what a user needs to act:
/// the file and the reason, the plugin's own message, the call and errno.
public enum NetworkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A conflist that cannot be the pod network: unreadable JSON, no name, no plugins.
    case conflist(file: String, reason: String)
    /// A plugin said no, or could not be run: see `PluginFailure`.
    case plugin(PluginFailure)
    /// A file, mount or socket call of podrec's own.
    case kernel(KernelError)
    /// ADD refused: a result is cached for the attachment, so the plugins hold its
    /// resources (host-local would say "duplicate allocation"); DEL first.
    case alreadyAttached(containerID: String, ifName: String)
    /// CHECK or an operation that needs a record found none.
    case notAttached(containerID: String, ifName: String, reason: String)
    /// A record or result file podrec cannot read back.
    case record(path: String, reason: String)
    /// What podrec's own check found missing on the node (CHECK of the plugins cannot).
    case drift(String)
    /// Another process holds a hostPort the pod publishes.
    case hostPortInUse(PortMapping, KernelError)
    /// Binding a hostPort failed otherwise (a hostIP not on this host: EADDRNOTAVAIL).
    case hostPort(PortMapping, KernelError)

    public var description: String {
        switch self {
        case .conflist(let file, let reason): return "CNI conflist \(file): \(reason)"
        case .plugin(let f): return f.description
        case .kernel(let e): return e.description
        case .alreadyAttached(let id, let ifName):
            return "CNI ADD refused for \(id) \(ifName): a result is cached, so the network still holds its address; DEL first"
        case .notAttached(let id, let ifName, let reason): return "CNI attachment \(id) \(ifName): \(reason)"
        case .record(let path, let reason): return "CNI attachment record \(path): \(reason)"
        case .drift(let what): return what
        case .hostPortInUse(let m, let e):
            return "host port \(m.hostPort)/\(m.proto) on \(m.hostIP.isEmpty ? "all addresses" : m.hostIP) is held by another process (\(e))"
        case .hostPort(let m, let e):
            return "host port \(m.hostPort)/\(m.proto) on \(m.hostIP.isEmpty ? "all addresses" : m.hostIP): \(e)"
        }
    }
}

/// One plugin run that failed: `CNI plugin bridge ADD: failed to set bridge addr: ...`.
public struct PluginFailure: Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        /// The plugin's CNI error object: its `code`, `msg` and `details`.
        case error(code: Int64, message: String, details: String)
        /// It exited non-zero without an error object: the status and its stderr.
        case exit(status: String, stderr: String)
        /// Its stdout was not a result.
        case badOutput(String)
        /// No executable `type` in any of the bin dirs.
        case notFound(directories: [String])
        /// It ran past the timeout and was killed (SIGKILL, by pid).
        case timeout(milliseconds: Int32)
        /// It could not be started, or its pipes failed.
        case spawn(String)
    }

    public var plugin: String
    /// `ADD`, `DEL`, `CHECK`.
    public var command: String
    public var reason: Reason

    public init(plugin: String, command: String, reason: Reason) {
        self.plugin = plugin
        self.command = command
        self.reason = reason
    }

    /// The plugin's own message, or what podrec saw instead.
    public var message: String {
        switch reason {
        case .error(let code, let msg, let details):
            return msg + (details.isEmpty ? "" : ": " + details) + (code == 0 ? "" : " (code \(code))")
        case .exit(let status, let stderr):
            let text = stderr.split(separator: "\n").suffix(5).joined(separator: "; ")
            return "exited with \(status)" + (text.isEmpty ? " and no error object" : ": " + text)
        case .badOutput(let why): return "unreadable output: " + why
        case .notFound(let dirs): return "no executable \"\(plugin)\" in \(dirs.joined(separator: ":"))"
        case .timeout(let ms): return "no answer after \(ms) ms; killed"
        case .spawn(let why): return why
        }
    }

    public var description: String { "CNI plugin \(plugin) \(command): \(message)" }
}
