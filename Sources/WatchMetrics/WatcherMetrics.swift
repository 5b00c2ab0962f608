import Cgroups
import Kernel
import Planner
import PodModel
import Prometheus
import Reconciler
import Synchronization
import Watch

/// The watcher's metrics in the Prometheus text format, through swift-prometheus: the
/// reconciler's own (pass durations, actions, manifest problems, pulls), kept as the
/// watcher reports them, and the pods', read from the kernel and the supervisors' status
/// at each scrape with the names cAdvisor and kube-state-metrics give them, so that
/// dashboards made for kubelet read them unchanged.
public final class WatcherMetrics: WatchMetricsSink, Sendable {
    let registry = PrometheusCollectorRegistry()
    let reconciler: Reconciler
    /// `/healthz` fails when the loop has not gone round for this long: it wakes at least
    /// once a resync.
    let healthyWithin: Int64
    /// What `/healthz` and `/readyz` read; its own lock, so that the watcher's loop never
    /// waits for a scrape.
    struct Health {
        var lastLoop: Int64 = 0
        var ready = false
    }
    let health = Mutex(Health())
    /// The pod series of the last scrape, by name and labels: removed when their pod or
    /// container is gone. Held for a whole scrape: one scrape at a time.
    struct Scrape {
        var series: [Series: SeriesMetric] = [:]
    }
    struct Series: Hashable {
        var name: String
        var labels: [String]
    }
    enum SeriesMetric {
        case counter(Counter)
        case gauge(Gauge)
    }
    let scrapes = Mutex(Scrape())

    let passDuration: ValueHistogram
    let passDurationScoped: ValueHistogram
    let problems: Gauge

    public init(reconciler: Reconciler, resyncSeconds: Int) {
        self.reconciler = reconciler
        healthyWithin = Int64(2 * resyncSeconds + 10) * 1_000_000_000
        let buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        let help = "Time of one reconcile pass of the watcher, from reading the directory to the last action."
        passDuration = registry.makeValueHistogram(name: "podrec_reconcile_pass_duration_seconds", labels: [("scope", "full")], buckets: buckets, help: help)
        passDurationScoped = registry.makeValueHistogram(name: "podrec_reconcile_pass_duration_seconds", labels: [("scope", "files")], buckets: buckets, help: help)
        problems = registry.makeGauge(name: "podrec_manifest_problems", help: "Problems (parse, validation, refusal) that the directory's files have now.")
    }

    // MARK: What the watcher reports

    public func loopAlive() { health.withLock { $0.lastLoop = MonotonicClock.now() } }

    public func passDone(seconds: Double, full: Bool, outcomes: [Executor.Outcome]) {
        (full ? passDuration : passDurationScoped).record(seconds)
        for o in outcomes {
            let outcome = o.error != nil ? "error" : o.deferred ? "deferred" : o.stopping ? "stopping" : "ok"
            registry.makeCounter(name: "podrec_reconcile_actions_total", labels: [("kind", Self.kind(o.action)), ("outcome", outcome)],
                                 help: "Actions the watcher's passes did, by kind and outcome.").increment()
        }
        if full { health.withLock { $0.ready = true } }
    }

    public func manifestProblems(_ count: Int) { problems.set(Int64(count)) }

    public func pullDone(seconds: Double, ok: Bool) {
        registry.makeValueHistogram(name: "podrec_image_pull_duration_seconds", labels: [("outcome", ok ? "ok" : "error")],
                                    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
                                    help: "Time of one image pull, from its start to its layers in the store.").record(seconds)
    }

    static func kind(_ a: Action) -> String {
        switch a.kind {
        case .create: "create"
        case .recreate: "recreate"
        case .updatePlan: "update"
        case .refreshFiles: "refresh_files"
        case .resignal: "resignal"
        case .resize, .deferredResize: "resize"
        case .delete: "delete"
        case .awaitTermination: "await_termination"
        case .recordSource: "record_source"
        case .skip: "skip"
        case .finished: "finished"
        case .refuse: "refuse"
        case .repairNetwork: "repair_network"
        case .removeStrayCgroup, .removeStrayData, .removeStrayLogs, .removeStrayAttachment: "remove_leftover"
        }
    }

    // MARK: Endpoints

    /// `/healthz`: the loop went round recently.
    public var healthy: Bool { MonotonicClock.now() - health.withLock { $0.lastLoop } < healthyWithin }
    /// `/readyz`: the first full pass is done.
    public var ready: Bool { health.withLock { $0.ready } }

    /// `/metrics`: the pods read now, then everything in the text format. One scrape at a
    /// time (the lock): a series is set and emitted by the same scrape.
    public func scrape() -> [UInt8] {
        scrapes.withLock { state in
            let observed = try? reconciler.observe()
            var seen = Set<Series>()
            func counter(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
                let key = Series(name: name, labels: labels.map { "\($0.0)=\($0.1)" })
                seen.insert(key)
                guard case .counter(let c)? = state.series[key] else {
                    let c = registry.makeCounter(name: name, labels: labels, help: help)
                    c.increment(by: value)
                    state.series[key] = .counter(c)
                    return
                }
                // A counter the kernel keeps: its value, not an increment.
                c.reset()
                c.increment(by: value)
            }
            func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
                let key = Series(name: name, labels: labels.map { "\($0.0)=\($0.1)" })
                seen.insert(key)
                let g: Gauge
                if case .gauge(let existing)? = state.series[key] { g = existing } else {
                    g = registry.makeGauge(name: name, labels: labels, help: help)
                    state.series[key] = .gauge(g)
                }
                g.set(value)
            }
            let driver = reconciler.driver
            for (key, pod) in observed?.pods ?? [:] {
                let podLabels = [("namespace", key.namespace), ("pod", key.name)]
                let phase = pod.status?.phase
                for p in PodPhase.allCases.map(\.rawValue) + ["Unknown"] {
                    let current = phase?.rawValue ?? "Unknown"
                    gauge("kube_pod_status_phase", "The pod's current phase.", podLabels + [("phase", p)], p == current ? 1 : 0)
                }
                for c in pod.plan?.containers ?? [] {
                    let labels = podLabels + [("container", c.name)]
                    if let ns = (try? driver.cpuUsage(c.cgroup)) ?? nil {
                        counter("container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", labels, Double(ns) / 1e9)
                    }
                    if let ws = (try? driver.workingSet(c.cgroup)) ?? nil {
                        gauge("container_memory_working_set_bytes", "Current working set in bytes.", labels, Double(ws))
                    }
                    // cAdvisor's 0 for no limit.
                    var limit: Double = 0
                    if case .value(let v)? = pod.limits[c.name]?.memory { limit = Double(v) }
                    gauge("container_spec_memory_limit_bytes", "Memory limit for the container.", labels, limit)
                    if let s = pod.status?.containers.first(where: { $0.name == c.name }) {
                        counter("kube_pod_container_status_restarts_total", "The number of container restarts per container.", labels, Double(s.restartCount))
                    }
                }
            }
            for (key, metric) in state.series where !seen.contains(key) {
                switch metric {
                case .counter(let c): registry.unregisterCounter(c)
                case .gauge(let g): registry.unregisterGauge(g)
                }
                state.series[key] = nil
            }
            return registry.emitToBuffer()
        }
    }
}
