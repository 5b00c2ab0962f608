import Planner
import PodModel
import Reconciler

/// What the watcher tells its metrics (`podrec watch --metrics-address`), if any: the
/// endpoint lives in its own module (HTTP and Prometheus), and the watcher only reports.
public protocol WatchMetricsSink: AnyObject, Sendable {
    /// The loop went round: `/healthz` says whether it still does.
    func loopAlive()
    /// A pass ended: `full` when it planned every pod (`/readyz` after the first).
    func passDone(seconds: Double, full: Bool, outcomes: [Executor.Outcome])
    /// The problems the files of the directory have now (parse, validation, refusals).
    func manifestProblems(_ count: Int)
    /// An image pull ended.
    func pullDone(seconds: Double, ok: Bool)
}
