import Cgroups
import Kernel
import Planner
import Procfs
import PodModel

/// A read the Observer could not make: the kernel failed, and not with "gone" (ENOENT,
/// ESRCH). The whole pass stops: "could not read" must never be taken for "not running",
/// which would recreate a pod whose supervisor lives (ARCHITECTURE, "Observed state").
public struct ObserveError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Cause: Sendable, Hashable {
        /// A state, data or log dir or file.
        case kernel(KernelError)
        /// cgroupfs, through the driver.
        case cgroup(CgroupError)
        /// `/proc`, through the reader.
        case procfs(ProcfsError)
    }

    /// The pod being read, when there was one.
    public var pod: PodKey?
    public var cause: Cause

    public init(pod: PodKey? = nil, _ cause: Cause) {
        self.pod = pod
        self.cause = cause
    }

    public var description: String {
        let what: String
        switch cause {
        case .kernel(let e): what = e.description
        case .cgroup(let e): what = e.description
        case .procfs(let e): what = e.description
        }
        return pod.map { "observing pod \($0): \(what)" } ?? "observing the host: \(what)"
    }
}

/// Something found that is podrec's but cannot be used as it is: a record, plan, status or
/// supervisor file that does not decode, a state dir whose name is no pod key. The field
/// it would fill stays nil (or the supervisor `.dead`), and the pass goes on; `diff` shows
/// the problem beside the action it leads to.
public struct ObserveProblem: Sendable, Hashable, CustomStringConvertible {
    public var pod: PodKey?
    public var path: String
    public var reason: String

    public init(pod: PodKey?, path: String, reason: String) {
        self.pod = pod
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}

/// One pass's view: what the planner takes, and what could not be read into it.
public struct Observation: Sendable {
    public var observed: Observed
    /// In the order found: state dirs by name, each pod's files in the order read.
    public var problems: [ObserveProblem]

    public init(observed: Observed, problems: [ObserveProblem] = []) {
        self.observed = observed
        self.problems = problems
    }
}
