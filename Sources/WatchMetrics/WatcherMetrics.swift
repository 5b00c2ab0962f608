import Cgroups
import Kernel
import Planner
import PodModel
import PodNetwork
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
    /// The pod series of the last scrape, by name and labels, with the number of the last
    /// scrape that set each: removed when their pod or container is gone. Held for a whole
    /// scrape: one scrape at a time.
    struct Scrape {
        var series: [Series: (metric: SeriesMetric, scrape: Int)] = [:]
        var count = 0
    }
    /// One pod series: its metric's name and the values of its labels. Fields, not formatted
    /// labels: a scrape of 500 pods looks up 5,500 series.
    struct Series: Hashable {
        var name: String
        var namespace: String
        var pod: String
        /// "" for a series without the label.
        var container = ""
        var phase = ""

        var labels: [(String, String)] {
            [("namespace", namespace), ("pod", pod)] + (container.isEmpty ? [] : [("container", container)]) + (phase.isEmpty ? [] : [("phase", phase)])
        }
    }
    enum SeriesMetric {
        case counter(Counter)
        case gauge(Gauge)
    }
    let scrapes = Mutex(Scrape())
    /// The pods' plans, decoded again only when their file changed.
    let plans = PlanCache()

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

    public func pluginRunDone(command: CNIRunner.Command, plugin: String, seconds: Double, ok: Bool) {
        registry.makeValueHistogram(name: "podrec_cni_plugin_duration_seconds",
                                    labels: [("command", command.rawValue), ("plugin", plugin), ("outcome", ok ? "ok" : "error")],
                                    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
                                    help: "Time of one CNI plugin run (ADD, DEL or CHECK), from its start to its exit.").record(seconds)
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
            // The plans and statuses only (`glance`); each container's counters are then four
            // cgroup files (`counters`).
            let pods = (try? reconciler.glance(plans: plans)) ?? []
            state.count += 1
            let scrape = state.count
            func counter(_ series: Series, _ help: String, _ value: Double) {
                guard case .counter(let c)? = state.series[series]?.metric else {
                    let c = registry.makeCounter(name: series.name, labels: series.labels, help: help)
                    c.increment(by: value)
                    state.series[series] = (.counter(c), scrape)
                    return
                }
                state.series[series]?.scrape = scrape
                // A counter the kernel keeps: its value, not an increment.
                c.reset()
                c.increment(by: value)
            }
            func gauge(_ series: Series, _ help: String, _ value: Double) {
                let g: Gauge
                if case .gauge(let existing)? = state.series[series]?.metric {
                    g = existing
                    state.series[series]?.scrape = scrape
                } else {
                    g = registry.makeGauge(name: series.name, labels: series.labels, help: help)
                    state.series[series] = (.gauge(g), scrape)
                }
                g.set(value)
            }
            let driver = reconciler.driver
            let phases = PodPhase.allCases.map(\.rawValue) + ["Unknown"]
            for pod in pods {
                let (namespace, name) = (pod.key.namespace, pod.key.name)
                let current = pod.status?.phase.rawValue ?? "Unknown"
                for p in phases {
                    gauge(Series(name: "kube_pod_status_phase", namespace: namespace, pod: name, phase: p), "The pod's current phase.", p == current ? 1 : 0)
                }
                for c in pod.plan.containers {
                    func series(_ metric: String) -> Series { Series(name: metric, namespace: namespace, pod: name, container: c.name) }
                    let counters = (try? driver.counters(c.cgroup)) ?? CgroupCounters()
                    if let ns = counters.cpuNanoseconds {
                        counter(series("container_cpu_usage_seconds_total"), "Cumulative cpu time consumed in seconds.", Double(ns) / 1e9)
                    }
                    if let ws = counters.workingSet {
                        gauge(series("container_memory_working_set_bytes"), "Current working set in bytes.", Double(ws))
                    }
                    // cAdvisor's 0 for no limit.
                    var limit: Double = 0
                    if case .value(let v)? = counters.memoryLimit { limit = Double(v) }
                    gauge(series("container_spec_memory_limit_bytes"), "Memory limit for the container.", limit)
                    if let s = pod.status?.containers.first(where: { $0.name == c.name }) {
                        counter(series("kube_pod_container_status_restarts_total"), "The number of container restarts per container.", Double(s.restartCount))
                    }
                }
            }
            for (key, entry) in state.series where entry.scrape != scrape {
                switch entry.metric {
                case .counter(let c): registry.unregisterCounter(c)
                case .gauge(let g): registry.unregisterGauge(g)
                }
                state.series[key] = nil
            }
            return registry.emitToBuffer()
        }
    }
}

/// Hands each CNI plugin run (`CNIRunner.timed`) to the metrics, which are made after the
/// reconciler whose network runs the plugins.
public final class PluginRunRelay: Sendable {
    private let metrics = Mutex<WatcherMetrics?>(nil)

    public init() {}

    public func connect(_ m: WatcherMetrics) { metrics.withLock { $0 = m } }

    public var record: CNIRunner.Timing {
        { [self] command, plugin, seconds, ok in
            metrics.withLock { $0 }?.pluginRunDone(command: command, plugin: plugin, seconds: seconds, ok: ok)
        }
    }
}
