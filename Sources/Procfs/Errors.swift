import Kernel

/// A procfs file that does not read as the kernel documents it (proc(5)).
///
/// Reads as `status:7: Uid: expected 4 ids, got 3`: which file, the line when the file is
/// line-oriented, and what was wrong. The reader adds the full path.
public struct ProcfsParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file's name under `/proc/PID`: `stat`, `status`, `cgroup`, `mountinfo`, `ns`, ...
    public var file: String
    /// 1-based; nil for single-record files such as `stat`.
    public var line: Int?
    public var reason: String

    public init(file: String, line: Int? = nil, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" }
        return s + ": " + reason
    }
}

/// What reading procfs can fail with: a system call, or a file podrec cannot parse.
///
/// A process that vanished mid-read is not an error: the reader skips it, and single-process
/// reads return nil.
public enum ProcfsError: Error, Sendable, Hashable, CustomStringConvertible {
    case kernel(KernelError)
    /// `path` is the file read (`/proc/123/status`); the parse error says what was wrong.
    case malformed(path: String, ProcfsParseError)

    public var description: String {
        switch self {
        case .kernel(let e): return e.description
        case .malformed(let path, let e):
            var s = path
            if let line = e.line { s += ":\(line)" }
            return s + ": " + e.reason
        }
    }
}
