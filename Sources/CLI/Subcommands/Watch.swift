import ArgumentParser
import Glibc
import Kernel
import Watch
import WatchMetrics
import PodModel

extension WatchLog.Format: ExpressibleByArgument {}

extension Podrec {
    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "watch",
            abstract: "Run the pods of a manifest directory, and follow its changes (kubelet's static pods).",
            discussion: """
                Runs in the foreground. Every *.yaml, *.yml and *.json file in DIR counts, except
                dotfiles and editor temp and backup files (*~, *.swp, 4913, *.bak, *.orig, *.dpkg-*).
                A file owns its pods, with its ConfigMaps and Secrets: removing the file, or a pod from
                it, deletes that pod gracefully; a file that fails to parse or validate, or is
                refused, changes nothing, and its error is logged once per change. DIR and its files
                must be owned by root or by this user and not be writable by group or others.
                Changes are applied within a few milliseconds; a full resync, which also repairs
                drift, runs every --resync seconds and on SIGHUP. SIGTERM and SIGINT stop the
                watcher and leave the pods running.
                """
        )

        @Argument(help: "The manifest directory.")
        var directory: String
        @Option(help: "Seconds between full resyncs.")
        var resync: Int = 5
        @Option(name: .customLong("metrics-address"), help: ArgumentHelp(
            "Serve /metrics (Prometheus), /healthz and /readyz on ADDR:PORT; a PORT alone is 127.0.0.1:PORT. Default: off.",
            valueName: "addr:port"))
        var metricsAddress: String?
        @Option(name: .customLong("log-format"), help: "text or json.")
        var logFormat: WatchLog.Format = .text
        @OptionGroup var roots: RootOptions
        @OptionGroup var registry: RegistryFlags

        func validate() throws {
            if resync < 1 { throw ValidationError("--resync must be at least 1 second") }
            if let metricsAddress, Self.hostAndPort(metricsAddress) == nil {
                throw ValidationError("--metrics-address \(metricsAddress): expected ADDR:PORT, [IPv6]:PORT or PORT")
            }
        }

        func run() throws {
            let path: String
            do { path = try Sys.realPath(directory) } catch { throw CLIError("\(directory): \(error.errno.message.lowercased())") }
            // An unsafe directory at start is an error; later, the watcher holds every pod.
            if let problem = ManifestDirectory(path: path).directoryProblem() { throw CLIError(problem) }
            var options = Watcher.Options()
            options.resyncSeconds = resync
            let log = WatchLog(format: logFormat)
            let notify = SystemdNotify(environment: Dictionary(SystemdNotify.variables.compactMap { name in RootOptions.env(name).map { (name, $0) } },
                                                               uniquingKeysWith: { a, _ in a }), pid: getpid())
            for name in SystemdNotify.variables { unsetenv(name) }
            do {
                let reconciler = try roots.reconciler()
                // systemd's Delegate=yes on cgroup v2: pods under the unit's own cgroup, the
                // watcher in a leaf beside them (README, "Running under systemd").
                if let leaf = try reconciler.driver.moveSelfIntoLeaf(under: reconciler.roots.cgroupParent) {
                    log.write(.info, "watch", "moved into the leaf cgroup \(leaf); pods go under \(reconciler.roots.cgroupParent)")
                }
                // The registry client starts threads: they must not take the signals the
                // watcher reads from its signalfd.
                try Sys.blockSignals(Watcher.signals)
                let fetcher = try registry.fetcher(dataRoot: reconciler.roots.data)
                var metrics: WatcherMetrics?
                var server: MetricsServer?
                if let metricsAddress, let (host, port) = Self.hostAndPort(metricsAddress) {
                    let m = WatcherMetrics(reconciler: reconciler, resyncSeconds: resync)
                    do { server = try MetricsServer(host: host, port: port, metrics: m) } catch {
                        throw CLIError("--metrics-address \(metricsAddress): \(error)")
                    }
                    metrics = m
                    log.write(.info, "watch", "metrics on http://\(server!.address)/metrics")
                }
                defer { server?.shutdown() }
                try Watcher(directory: path, reconciler: reconciler, options: options, log: log, fetcher: fetcher, notify: notify, metrics: metrics).run()
            } catch let e as CLIError { throw e } catch { throw CLIError("\(error)") }
        }

        /// `ADDR:PORT`, `[IPv6]:PORT`, or `PORT` alone on loopback: an endpoint no one asked
        /// to share stays on the machine.
        static func hostAndPort(_ text: String) -> (String, Int)? {
            if let port = Int(text), (0...65535).contains(port) { return ("127.0.0.1", port) }
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
            var host = String(text[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return host.isEmpty ? nil : (host, port)
        }
    }
}
