/// One `NAME=value` entry of `/proc/PID/environ`.
public struct EnvironmentEntry: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    /// nil for an entry without `=` (a process may put anything in its environment block).
    public var value: String?

    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }

    public var description: String { value.map { name + "=" + $0 } ?? name }
}

extension ProcParser {
    /// `/proc/PID/cmdline`: the arguments, each ended by a NUL.
    ///
    /// For display only: the process can rewrite it (ARCHITECTURE, "Observed state"). Empty
    /// for kernel threads and zombies. A process that rewrote its argv may leave no final
    /// NUL; the last piece counts anyway. Every NUL ends one argument, so empty arguments
    /// (`sh -c ''`) are kept.
    public static func cmdline(_ bytes: [UInt8]) -> [String] {
        nulSeparated(bytes)
    }

    public static func cmdline(_ text: String) -> [String] {
        nulSeparated(Array(text.utf8))
    }

    /// `/proc/PID/environ`, as set at exec; for display only, and it may hold secrets.
    public static func environ(_ bytes: [UInt8]) -> [EnvironmentEntry] {
        nulSeparated(bytes).map { entry in
            guard let eq = entry.firstIndex(of: "=") else { return EnvironmentEntry(name: entry, value: nil) }
            return EnvironmentEntry(name: String(entry[..<eq]), value: String(entry[entry.index(after: eq)...]))
        }
    }

    public static func environ(_ text: String) -> [EnvironmentEntry] {
        environ(Array(text.utf8))
    }

    /// NUL-terminated strings; a missing final NUL is tolerated.
    public static func nulSeparated(_ bytes: [UInt8]) -> [String] {
        guard !bytes.isEmpty else { return [] }
        var out: [String] = []
        bytes.withUnsafeBufferPointer { b in
            var start = 0
            for i in 0..<b.count where b[i] == ASCII.nul {
                out.append(b.string(start..<i))
                start = i + 1
            }
            if start < b.count { out.append(b.string(start..<b.count)) }
        }
        return out
    }
}
