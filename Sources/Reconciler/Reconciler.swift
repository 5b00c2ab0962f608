import Cgroups
import ContainerRuntime
import Images
import Kernel
import Manifest
import PodBuilder
import Planner
import PodModel
import PodNetwork
import PodState
import Procfs
import HostSetup
import ImageModel
import Seccomp

/// One pass: observe the host, resolve the input, plan, and (for `apply`) execute under
/// the lock. `diff` plans without the lock and executes nothing.
public struct Reconciler: Sendable {
    public var roots: Roots
    /// The cgroup driver the host's pods are observed through.
    public var driver: any CgroupDriver
    /// What a build reads of this host (images, node, host dirs, lstat).
    public var facts: HostFacts
    /// Where the executor's actions land.
    public var host: any ExecutorHost
    /// The pod network, looked up at each pass (`--pod-network cni`); nil: pods get only `lo`.
    public var networkSettings: NetworkSettings?
    /// Reads and checks the recorded attachments; nil in tests without a network.
    public var network: NetworkAttacher?
    /// The host ids pods with `hostUsers: false` get theirs from (`--userns-range`).
    public var userNamespaceRange: UserNamespaceRange = .default

    public init(roots: Roots, driver: any CgroupDriver, facts: HostFacts, host: any ExecutorHost,
                networkSettings: NetworkSettings? = nil, network: NetworkAttacher? = nil) {
        self.roots = roots
        self.driver = driver
        self.facts = facts
        self.host = host
        self.networkSettings = networkSettings
        self.network = network
    }

    /// The reconciler of this host: its cgroup driver, podrec's image store under the data
    /// root, the node's name, CPUs and memory, the host dirs an `image: host` root holds, and
    /// `supervisorExecutable` for the pods' supervisors. `pluginRuns` is told of each CNI
    /// plugin run (`CNIRunner.timed`).
    public static func onThisHost(roots: Roots, supervisorExecutable: String, network settings: NetworkSettings? = nil,
                                  seccomp: SeccompSettings = SeccompSettings(),
                                  pluginRuns: CNIRunner.Timing? = nil) throws(ReconcileError) -> Reconciler {
        let driver: any CgroupDriver
        do { driver = try Cgroups.driver(root: roots.cgroup) } catch { throw ReconcileError(description: "cgroups: \(error)") }
        let volumes = PodVolumes()
        let hostname = ((try? Sys.readString("/proc/sys/kernel/hostname")) ?? "localhost").filter { $0 != "\n" }
        let node = NodeFacts(name: hostname, hostIP: Sys.nodeAddress(proc: roots.proc), milliCPU: Int64(Sys.onlineCPUs()) * 1000,
                             memoryBytes: volumes.memTotal() ?? 0)
        let facts = HostFacts(images: .store(ImageStore(dataRoot: roots.data)), node: node,
                              hostEntries: HostSystemDirectories.probe(), files: .host,
                              seccomp: .host(seccomp, store: SeccompStore(directory: roots.state + "/seccomp")))
        // Attachments recorded earlier are still DEL'd with `--pod-network none`: the
        // plugins' default dirs then.
        let network = NetworkAttacher(layout: roots.network, settings: settings ?? .host, timed: pluginRuns)
        return Reconciler(roots: roots, driver: driver, facts: facts,
                          host: LiveHost(supervisorExecutable: supervisorExecutable, driver: driver, volumes: volumes, network: network),
                          networkSettings: settings, network: network)
    }

    /// One pass, planned: what it observed and built, and the plan that `diff` prints and
    /// `apply` executes.
    public struct Pass: Sendable {
        public var plan: Plan
        public var observed: Observed
        public var desired: [DesiredPod]
        /// Pods of the input that could not be resolved (an image not in the store, ...):
        /// left as they are on the host.
        public var failures: [DesiredBuilder.Failure]
        public var problems: [String]
        /// Images to pull before the pods that wait for them can be built or started (by
        /// `imagePullPolicy`). A pass leaves those pods as they are; `apply` pulls, outside
        /// the lock, and passes again; the watcher pulls in the background.
        public var pulls: [PendingPull] = []
    }

    public struct ReconcileError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The input of one pass: manifest sets, each pod resolved against its own set (its
    /// file's ConfigMaps and Secrets, for `watch`), and the source recorded for each pod.
    public struct Input {
        public var sets: [ManifestSet]
        public var source: (SourcedPod) -> String
        /// Sources whose file could not be used this pass (unreadable, invalid, refused):
        /// their pods stay as they are, neither changed nor pruned.
        public var held: Set<String>
        /// Only these pods, in the input and on the host, are planned; nil: every pod, and
        /// leftovers too. `watch` scopes a pass to the pods of the files that changed.
        public var scope: Set<PodKey>?
        /// Images this invocation pulled already: an `Always` image is pulled once per start.
        public var pulled: Set<ImageReference> = []
        /// Images whose pull failed, with the registry's message: the pods that name them
        /// are not built, but left as they are on the host (kubelet's ErrImagePull), never
        /// pruned.
        public var unpulled: [ImageReference: String] = [:]
        /// Plan pulls (`pulls`); false: a pod missing its image fails its build, as before
        /// there were registries (`diff` and `apply` with no registry client).
        public var pulling = true
        /// Take over pods that another source owns (`apply --force-owner`).
        public var forceOwner = false

        public init(sets: [ManifestSet], held: Set<String> = [], scope: Set<PodKey>? = nil, source: @escaping (SourcedPod) -> String) {
            self.sets = sets
            self.held = held
            self.scope = scope
            self.source = source
        }

        /// The sets with only the pods in scope.
        var scopedSets: [ManifestSet] {
            guard let scope else { return sets }
            return sets.map { set in
                var set = set
                set.pods.removeAll { !scope.contains(PodKey(namespace: $0.pod.metadata.namespace, name: $0.pod.metadata.name)) }
                return set
            }
        }
    }

    /// What a pass would do. `owner` is `apply` or `watch:<dir>`; `source` names the owner
    /// of each input pod (`apply`, or `watch:<dir>/<file>`).
    public func plan(_ set: ManifestSet, owner: String, prune: Bool, source: @escaping (SourcedPod) -> String) throws(ReconcileError) -> Pass {
        try plan(Input(sets: [set], source: source), owner: owner, prune: prune)
    }

    public func plan(_ input: Input, owner: String, prune: Bool) throws(ReconcileError) -> Pass {
        let observer = Observer(roots: roots, driver: driver)
        let observation: Observation
        do { observation = try observer.observation(scope: input.scope) } catch { throw ReconcileError(description: error.description) }
        var observed = observation.observed
        var problems = observation.problems.map(\.description)
        problems += observeNetwork(&observed, full: input.scope == nil)
        var records: [PodKey: PodRecord] = [:]
        for (key, pod) in observed.pods { if let r = pod.record { records[key] = r } }
        var desired: [DesiredPod] = []
        var failures: [DesiredBuilder.Failure] = []
        var facts = facts
        if let networkSettings {
            // Read at each pass: an operator's new conflist applies to the pods made next.
            do { facts.network = try NetworkLookup.network(networkSettings, layout: roots.network) } catch {
                throw ReconcileError(description: "the pod network: \(error)")
            }
        }
        facts.images = facts.images.remembering()
        let builder = DesiredBuilder(facts: facts, roots: roots)
        var needs = PullNeeds(images: facts.images, pulled: input.pulled)
        var waiting = Set<PodKey>()
        var manifests: [PodKey: (pod: Manifest.Pod, set: ManifestSet)] = [:]
        for var set in input.scopedSets {
            // A pod waits for what its policies pull; one whose pull failed is not built.
            let whole = set
            set.pods.removeAll { sourced in
                let key = PodKey(namespace: sourced.pod.metadata.namespace, name: sourced.pod.metadata.name)
                manifests[key] = (sourced.pod, whole)
                if let (ref, message) = PullNeeds.failed(sourced.pod, input.unpulled) {
                    failures.append(DesiredBuilder.Failure(key: key, file: sourced.file, message: "image \(ref): \(message)"))
                    return true
                }
                guard input.pulling, needs.missing(sourced.pod, set: whole) else { return false }
                waiting.insert(key)
                return true
            }
            let built = builder.build(set, source: input.source, records: records, newUID: Self.newUID)
            desired += built.pods
            failures += built.failures
        }
        assignUserNamespaces(&desired, failures: &failures)
        var options = PlanOptions(owner: owner, prune: prune, held: input.held, unresolved: Set(failures.map(\.key)).union(waiting),
                                  forceOwner: input.forceOwner)
        var plan = Planner.plan(desired: desired, observed: observed, options: options)
        // `Always`: a pod about to start containers pulls their images first. Those pods
        // leave this plan, which is made again without them.
        if input.pulling {
            var again = false
            for action in plan.actions {
                guard let key = action.key, let (pod, set) = manifests[key] else { continue }
                let starting: [Container]
                switch action.kind {
                case .create, .recreate: starting = PullNeeds.containers(pod)
                case .updatePlan(_, _, let restart, let add, _):
                    starting = PullNeeds.containers(pod).filter { restart.contains($0.name) || add.contains($0.name) }
                default: continue
                }
                if needs.always(starting, pod: pod, set: set) {
                    waiting.insert(key)
                    again = true
                }
            }
            if again {
                desired.removeAll { waiting.contains($0.key) }
                options.unresolved.formUnion(waiting)
                plan = Planner.plan(desired: desired, observed: observed, options: options)
            }
        }
        var pass = Pass(plan: plan, observed: observed, desired: desired, failures: failures, problems: problems)
        pass.pulls = needs.pulls
        return pass
    }

    /// Gives each desired pod with `hostUsers: false` its host ids: the range its record
    /// holds (same pod, same uid), else the first range of the pool that no record on the
    /// host holds (every pod's state dir is read, whatever the pass's scope) and that this
    /// pass has not given yet. Under the lock (`apply`, `delete`), no other pass gives one
    /// meanwhile; a range is free again once its pod's record is gone, and a pod made again
    /// after its supervisor died keeps its own. A pod that finds the pool full is a failure:
    /// left as it is on the host.
    func assignUserNamespaces(_ desired: inout [DesiredPod], failures: inout [DesiredBuilder.Failure]) {
        guard desired.contains(where: { !$0.plan.hostUsers }) else { return }
        let recorded = Self.recordedUserNamespaces(roots)
        var used = recorded.map(\.range)
        var keep: [Int] = []
        for (i, pod) in desired.enumerated() {
            guard !pod.plan.hostUsers else {
                keep.append(i)
                continue
            }
            let own = recorded.first { $0.key == pod.key && $0.uid == pod.uid }?.range
            let mine = own.flatMap { r in used.filter { $0 == r }.count == 1 ? r : nil }
            guard let range = mine ?? userNamespaceRange.allocate(avoiding: used) else {
                failures.append(DesiredBuilder.Failure(key: pod.key, file: pod.source,
                                                      message: "no free user namespace range: the \(userNamespaceRange.slots) ranges of 65536 ids in \(userNamespaceRange) (--userns-range) are all held by pods"))
                continue
            }
            if mine == nil { used.append(range) }
            desired[i].plan.userNamespace = range
            desired[i].setup.owner = range.start
            keep.append(i)
        }
        desired = keep.map { desired[$0] }
    }

    /// The user namespace ranges the records of every pod on the host hold.
    static func recordedUserNamespaces(_ roots: Roots) -> [(key: PodKey, uid: String, range: IDRange)] {
        let stateRoot = roots.stateRoot.podsDirectory
        var out: [(key: PodKey, uid: String, range: IDRange)] = []
        for entry in (try? HostReads.names(stateRoot)) ?? [] {
            guard let key = HostReads.podKey(stateDirectoryName: entry),
                  let record = PodStateDirectory(path: stateRoot + "/" + entry).record(),
                  let range = record.userNamespace else { continue }
            out.append((key, record.uid, range))
        }
        return out
    }

    /// The pods' network attachments, as a pass needs them: each live pod's checked (a
    /// broken one shows as `networkProblem`, which the planner repairs), and, in a full
    /// pass, the attachments no pod's state claims (`strayAttachments`). Returns what could
    /// not be read.
    func observeNetwork(_ observed: inout Observed, full: Bool) -> [String] {
        guard let network else { return [] }
        let inventory: NetworkInventory
        do { inventory = try network.attachments() } catch { return ["network attachments: \(error)"] }
        var claimed = Set<String>()
        for pod in observed.pods.values {
            if let uid = pod.record?.uid { claimed.insert(uid) }
            if let uid = pod.plan?.uid { claimed.insert(uid) }
        }
        var byUID: [String: RecordedAttachment] = [:]
        for recorded in inventory.attachments {
            guard let uid = NetworkAttachment.uid(containerID: recorded.attachment.containerID) else { continue }
            byUID[uid] = recorded
            if full, !claimed.contains(uid) { observed.strayAttachments.append(recorded.attachment.containerID) }
        }
        var live: [(key: PodKey, recorded: RecordedAttachment)] = []
        for (key, pod) in observed.pods {
            guard case .alive = pod.supervisor, let record = pod.record else { continue }
            guard let recorded = byUID[record.uid] else {
                if record.immutable["network"] != nil { observed.pods[key]?.networkProblem = "no attachment is recorded" }
                continue
            }
            live.append((key, recorded))
        }
        let problems = network.verify(live.map(\.recorded))
        for (key, recorded) in live {
            if let problem = problems[recorded.attachment.containerID] { observed.pods[key]?.networkProblem = problem.description }
        }
        return inventory.problems
    }

    /// Plans and executes under the lock (`<root>/lock`): one pass at a time.
    public func apply(_ set: ManifestSet, owner: String, prune: Bool, graceMilliseconds: Int64? = nil,
                      source: @escaping (SourcedPod) -> String) throws(ReconcileError) -> (Pass, [Executor.Outcome]) {
        try apply(Input(sets: [set], source: source), owner: owner, prune: prune, graceMilliseconds: graceMilliseconds)
    }

    /// `stopWithoutWaiting`: see `Executor.stopWithoutWaiting` (`watch`).
    public func apply(_ input: Input, owner: String, prune: Bool, graceMilliseconds: Int64? = nil,
                      stopWithoutWaiting: Bool = false) throws(ReconcileError) -> (Pass, [Executor.Outcome]) {
        let lock = try takeLock()
        defer { Sys.close(lock) }
        let planned = try plan(input, owner: owner, prune: prune)
        let started = WallClock.now()
        let outcomes = executor(graceMilliseconds: graceMilliseconds, stopWithoutWaiting: stopWithoutWaiting).run(planned.plan, observed: planned.observed)
        record(outcomes, source: owner, started: started)
        if input.scope == nil { collectNetwork() }
        return (planned, outcomes)
    }

    /// After a full pass: what a crash left of the network that no recorded attachment
    /// names (lease files, netns pins, cached results, port rules), removed. The plugins
    /// have no GC verb (containernetworking-plugins 1.1.1), so podrec sweeps itself.
    func collectNetwork() {
        // The uids alone: a whole observation again, after the pass's own, was a third of an
        // idle watcher's resync. Unreadable state: no sweep this time.
        guard let network, let live = try? Observer(roots: roots, driver: driver).claimedUIDs() else { return }
        // The nat table is listed (two iptables runs, ~10 ms) only when something was left:
        // a DEL sweeps its own pod's rules, so rules without a record follow only a crash,
        // and a crash leaves a record, a pin or a lease too.
        if !network.collect(livePodUIDs: live, rules: false).isEmpty {
            _ = network.collect(livePodUIDs: live, rules: true)
        }
    }

    /// `delete`: stops and removes the named pods (and with `all`, every pod on the host),
    /// under the lock, through the planner and the executor as any pass. Returns the names
    /// that are no pod here, and one outcome per pod deleted.
    /// `sources`: the recorded source of each pod deleted, so that the caller can say which
    /// watcher will bring one back.
    public func delete(_ keys: Set<PodKey>, all: Bool = false, graceMilliseconds: Int64? = nil) throws(ReconcileError)
        -> (missing: [PodKey], outcomes: [Executor.Outcome], sources: [PodKey: String]) {
        let lock = try takeLock()
        defer { Sys.close(lock) }
        let observed = try observe()
        let wanted = all ? keys.union(observed.pods.keys) : keys
        let missing = wanted.filter { observed.pods[$0] == nil }.sorted()
        let plan = Planner.deletions(wanted, observed: observed, reason: "deleted by request")
        let sources = wanted.reduce(into: [PodKey: String]()) { $0[$1] = observed.pods[$1]?.record?.source }
        let started = WallClock.now()
        let outcomes = executor(graceMilliseconds: graceMilliseconds).run(plan, observed: observed)
        record(outcomes, source: "delete", started: started)
        return (missing, outcomes, sources)
    }

    func executor(graceMilliseconds: Int64?, stopWithoutWaiting: Bool = false) -> Executor {
        Executor(host: host, roots: roots, graceMilliseconds: graceMilliseconds, stopWithoutWaiting: stopWithoutWaiting)
    }

    /// The pass lock (`<root>/lock`), held until the fd is closed.
    func takeLock() throws(ReconcileError) -> Int32 {
        do { return try roots.stateRoot.lock() } catch { throw ReconcileError(description: "the lock \(roots.stateRoot.lockFile): \(error)") }
    }

    /// The host as it is now, without the lock (`get`, `describe`, `logs`, `exec`, `apply
    /// --wait`); with `scope`, only those pods and no leftovers; without `cgroups`, nothing
    /// of cgroupfs and no leftovers (`Observer.readsCgroups`).
    public func observe(scope: Set<PodKey>? = nil, cgroups: Bool = true) throws(ReconcileError) -> Observed {
        let observer = Observer(roots: roots, driver: driver, readsCgroups: cgroups)
        do { return try observer.observation(scope: scope).observed } catch { throw ReconcileError(description: error.description) }
    }

    /// Each pod's plan, status and cgroup, without the lock and without the observation's
    /// limits and liveness (`Observer.glance`): for `top` and the watcher's metrics.
    public func glance(scope: Set<PodKey>? = nil, plans: PlanCache? = nil) throws(ReconcileError) -> [PodGlance] {
        do { return try Observer(roots: roots, driver: driver).glance(scope: scope, plans: plans) } catch { throw ReconcileError(description: error.description) }
    }

    /// The pid of the pod's supervisor, when the one its state records still lives (same
    /// pid, same start time).
    public func liveSupervisor(_ key: PodKey, uid: String) -> Int32? {
        ((try? roots.layout(key, uid: uid).state.liveSupervisor(ProcfsReader(roots: roots))) ?? nil)?.pid
    }

    /// A random pod uid, as the API server gives one: a version-4 UUID from the kernel.
    static func newUID() -> String {
        let text = (try? Sys.readString("/proc/sys/kernel/random/uuid")) ?? ""
        let uid = text.filter { $0 != "\n" }
        return uid.isEmpty ? "uid-\(MonotonicClock.now())" : uid
    }
}
