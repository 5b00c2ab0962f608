import ArgumentParser
import Glibc
import Images
import Kernel
import PodBuilder
import Planner
import Reconciler
import PodModel
import PodNetwork

/// `--root`, `--data-root`, `--log-dir` and `--cgroup-root`, each with its environment
/// variable (ARCHITECTURE, "Flags, defaults, layout"). Shared by the pod subcommands.
struct RootOptions: ParsableArguments {
    @Option(name: .customLong("root"), help: ArgumentHelp("Pod state and the lock. Default: $PODREC_ROOT, else /run/podrec.", valueName: "dir"))
    var root: String?
    @Option(name: .customLong("data-root"), help: ArgumentHelp("Volumes and images. Default: $PODREC_DATA_ROOT, else /var/lib/podrec.", valueName: "dir"))
    var dataRoot: String?
    @Option(name: .customLong("log-dir"), help: ArgumentHelp("Container logs. Default: $PODREC_LOG_DIR, else /var/log/podrec.", valueName: "dir"))
    var logDir: String?
    @Option(name: .customLong("cgroup-root"), help: ArgumentHelp("The parent cgroup. Default: $PODREC_CGROUP_ROOT, else podrec.", valueName: "name"))
    var cgroupRoot: String?
    @Option(name: .customLong("pod-network"), help: ArgumentHelp(
        "cni: pods join the CNI network (below); none: pods get only lo. Default: $PODREC_POD_NETWORK, else cni.", valueName: "cni|none"))
    var podNetwork: String?
    @Option(name: .customLong("cni-bin-dir"), help: ArgumentHelp(
        "Where the CNI plugins are, dirs separated by ':'. Default: $PODREC_CNI_BIN_DIR, else /usr/lib/cni:/opt/cni/bin.", valueName: "dirs"))
    var cniBinDir: String?
    @Option(name: .customLong("cni-conf-dir"), help: ArgumentHelp(
        "The pod network: the first *.conflist here by name; podrec writes its default (bridge podrec0, 10.89.0.0/16) when there is none. Default: $PODREC_CNI_CONF_DIR, else /etc/podrec/net.d.",
        valueName: "dir"))
    var cniConfDir: String?
    @Option(name: .customLong("seccomp-root"), help: ArgumentHelp(
        "Where Localhost seccomp profiles are (localhostProfile is relative to it). Default: $PODREC_SECCOMP_ROOT, else /var/lib/podrec/seccomp.",
        valueName: "dir"))
    var seccompRoot: String?
    @Option(name: .customLong("seccomp-default"), help: ArgumentHelp(
        "The seccomp profile of a container that sets none. Default: $PODREC_SECCOMP_DEFAULT, else runtime-default.",
        valueName: "runtime-default|unconfined"))
    var seccompDefault: String?
    @Option(name: .customLong("userns-range"), help: ArgumentHelp(
        "Host ids for pods with hostUsers: false, 65536 per pod: START[:COUNT], START a multiple of 65536. Default: $PODREC_USERNS_RANGE, else 2147483648 up to 4294901760.",
        valueName: "start[:count]"))
    var usernsRange: String?

    static func env(_ name: String) -> String? {
        getenv(name).flatMap { $0.pointee == 0 ? nil : String(cString: $0) }
    }

    var roots: Roots {
        Roots(state: root ?? Self.env("PODREC_ROOT") ?? "/run/podrec",
              data: dataRoot ?? Self.env("PODREC_DATA_ROOT") ?? "/var/lib/podrec",
              log: logDir ?? Self.env("PODREC_LOG_DIR") ?? "/var/log/podrec",
              cgroupParent: cgroupRoot ?? Self.env("PODREC_CGROUP_ROOT") ?? "podrec")
    }

    /// The pod network's settings; nil with `--pod-network none`.
    func network() throws -> NetworkSettings? {
        switch podNetwork ?? Self.env("PODREC_POD_NETWORK") ?? "cni" {
        case "none": return nil
        case "cni": break
        case let other: throw CLIError("--pod-network: \"\(other)\" is neither cni nor none")
        }
        let defaults = NetworkSettings.host
        return NetworkSettings(
            binDirectories: (cniBinDir ?? Self.env("PODREC_CNI_BIN_DIR")).map { $0.split(separator: ":").map(String.init) } ?? defaults.binDirectories,
            confDirectory: cniConfDir ?? Self.env("PODREC_CNI_CONF_DIR") ?? defaults.confDirectory)
    }

    /// `--seccomp-root` and `--seccomp-default`.
    func seccomp() throws -> SeccompSettings {
        let choice: SeccompChoice
        switch seccompDefault ?? Self.env("PODREC_SECCOMP_DEFAULT") ?? "runtime-default" {
        case "runtime-default", "RuntimeDefault": choice = .runtimeDefault
        case "unconfined", "Unconfined": choice = .unconfined
        case let other: throw CLIError("--seccomp-default: \"\(other)\" is neither runtime-default nor unconfined")
        }
        return SeccompSettings(root: seccompRoot ?? Self.env("PODREC_SECCOMP_ROOT") ?? "/var/lib/podrec/seccomp", defaultChoice: choice)
    }

    /// `--userns-range`, else `PODREC_USERNS_RANGE`, else from 2^31.
    func userNamespaceRange() throws -> UserNamespaceRange {
        guard let text = usernsRange ?? Self.env("PODREC_USERNS_RANGE") else { return .default }
        do { return try UserNamespaceRange(parsing: text) } catch { throw CLIError("--userns-range: \(error)") }
    }

    /// The supervisor beside this executable, or $PODREC_SUPERVISOR.
    static var supervisorExecutable: String {
        if let env = env("PODREC_SUPERVISOR") { return env }
        let exe = (try? Sys.readlink("/proc/self/exe")) ?? CommandLine.arguments[0]
        return parentDirectory(exe) + "/podrec-supervisor"
    }

    func reconciler(pluginRuns: CNIRunner.Timing? = nil) throws -> Reconciler {
        let network = try network()
        let seccomp = try seccomp()
        var reconciler: Reconciler
        do {
            reconciler = try Reconciler.onThisHost(roots: roots, supervisorExecutable: Self.supervisorExecutable, network: network, seccomp: seccomp,
                                                   pluginRuns: pluginRuns)
        } catch {
            throw CLIError(error.description)
        }
        reconciler.userNamespaceRange = try userNamespaceRange()
        return reconciler
    }
}

extension Reconciler {
    /// `observe`, failing as one clear line.
    func observed(scope: Set<PodKey>? = nil, cgroups: Bool = true) throws -> Observed {
        do { return try observe(scope: scope, cgroups: cgroups) } catch { throw CLIError(error.description) }
    }

    /// `glance`, failing as one clear line.
    func glanced(scope: Set<PodKey>? = nil) throws -> [PodGlance] {
        do { return try glance(scope: scope) } catch { throw CLIError(error.description) }
    }
}

/// One clear line on stderr and a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum Terminal {
    /// Colour only on a terminal, and never with NO_COLOR set (no-color.org).
    static var colour: Bool { isatty(1) == 1 && getenv("NO_COLOR") == nil }

    static func paint(_ text: String, _ code: String) -> String { colour ? "\u{1b}[\(code)m\(text)\u{1b}[0m" : text }
}
