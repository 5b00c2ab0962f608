import Kernel

/// The systemd notify protocol, for `podrec watch` as a `Type=notify` service, without
/// libsystemd (sd_notify(3) is one datagram to `$NOTIFY_SOCKET`):
/// - `READY=1` once the first full pass is done, so that units ordered after the watcher
///   start when its pods have been created (or said why not);
/// - `WATCHDOG=1` from the loop, every half of `$WATCHDOG_USEC` as sd_watchdog_enabled(3)
///   advises: a loop that hangs stops petting, and systemd restarts the watcher
///   (`WatchdogSec=`); the pods run on meanwhile;
/// - `STOPPING=1` on SIGTERM or SIGINT.
public struct SystemdNotify: Sendable {
    /// The socket: a path, or `@name` for an abstract one.
    public let socket: String
    /// How often to pet the watchdog, in nanoseconds; nil when systemd asked for no pings,
    /// or asked another process (`$WATCHDOG_PID`).
    public let watchdogInterval: Int64?

    /// nil when not started by systemd with a notify socket.
    public init?(environment: [String: String], pid: Int32) {
        guard let socket = environment["NOTIFY_SOCKET"], socket.hasPrefix("/") || socket.hasPrefix("@") else { return nil }
        self.socket = socket
        var interval: Int64?
        if let text = environment["WATCHDOG_USEC"], let usec = Int64(text), usec > 0,
           environment["WATCHDOG_PID"].map({ Int32($0) == pid }) ?? true {
            interval = usec * 1000 / 2
        }
        watchdogInterval = interval
    }

    /// The variables to take out of the environment once read, so that no child (a
    /// supervisor, a hook) sends to the service's socket in the watcher's name.
    public static let variables = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]

    /// Sends one message: `KEY=value` lines.
    public func send(_ fields: [String]) throws(KernelError) {
        try Sys.sendUnixDatagram(Array((fields.joined(separator: "\n") + "\n").utf8), to: socket)
    }
}
