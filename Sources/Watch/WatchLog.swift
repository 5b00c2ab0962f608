import Kernel
import PodModel
import YAML

/// The watcher's log: one line per event and per action, on stderr. Human-readable by
/// default (`2026-11-29T11:30:00.123456789Z info  event a.yaml: written`), one JSON object
/// per line with `--log-format json`.
public struct WatchLog: Sendable {
    public enum Format: String, Sendable, CaseIterable { case text, json }
    public enum Level: String, Sendable { case info, error }

    public var format: Format
    public var fd: Int32

    public init(format: Format, fd: Int32 = 2) {
        self.format = format
        self.fd = fd
    }

    /// `kind`: event, action, error, watch (the watcher's own doings).
    public func write(_ level: Level, _ kind: String, _ message: String, fields: [(String, String)] = []) {
        let time = WallTime(WallClock.now()).rfc3339Nano
        let line: String
        switch format {
        case .text:
            let pad = level == .info ? "info " : "error"
            line = "\(time) \(pad) \(kind) \(message)\n"
        case .json:
            var members = [JSONMember("time", .string(time)), JSONMember("level", .string(level.rawValue)),
                           JSONMember("kind", .string(kind)), JSONMember("msg", .string(message))]
            members += fields.map { JSONMember($0.0, .string($0.1)) }
            line = JSONValue.object(members).serialized() + "\n"
        }
        try? Sys.writeAll(fd, Array(line.utf8))
    }
}
