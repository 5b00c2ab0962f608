import Cgroups
import Glibc
import ImageModel
import Kernel
import Manifest
import Planner
import Reconciler
import PodModel

/// `podrec watch DIR`: kubelet's static pods, fast and strict. A pass is the reconciler's
/// (`Reconciler.apply`, under the lock, level-triggered) over the directory's files as they
/// are now; what decides when a pass runs:
///
/// - inotify on the directory: a file written and closed, renamed in or out, deleted, or
///   its mode changed; bursts are coalesced for at most `coalesceMilliseconds`, so a save
///   never waits for a timer;
/// - inotify on the parent, for the directory itself being removed, replaced or created
///   again;
/// - a full resync every `resyncSeconds`, which also repairs drift in the kernel;
/// - SIGHUP, for a resync now. SIGTERM and SIGINT stop the watcher; the pods keep running.
///
/// A change to some files plans only the pods those files define or defined (a scoped
/// pass); the start, the resyncs and a change to the directory itself plan everything.
///
/// The watcher keeps no state that matters across restarts: kill it at any moment, start it
/// again, and its first pass converges (files removed meanwhile lose their pods then).
public final class Watcher {
    public struct Options: Sendable {
        public var resyncSeconds: Int = 5
        public var coalesceMilliseconds: Int64 = 5
        /// Milliseconds of quiet that end a burst early.
        public var quietMilliseconds: Int64 = 1
        public init() {}
    }

    let directory: ManifestDirectory
    let reconciler: Reconciler
    let options: Options
    let log: WatchLog
    /// systemd's notify socket, when run as a `Type=notify` service.
    let notify: SystemdNotify?
    var notifyFailed = false
    /// The metrics endpoint's, when there is one.
    let metrics: (any WatchMetricsSink)?
    /// When each pull in flight began, for the pull-duration metric.
    var pullStarted: [ImageReference: Int64] = [:]
    var owner: String { WatchInput.source(directory.path) }

    /// What was last reported per file (or pod), so that a problem is logged once per change.
    var reported: [String: [String]] = [:]
    /// Loaded sets by the FNV-1a of the file's bytes: a resync parses nothing unchanged.
    var cache: [String: (hash: UInt64, loaded: WatchInput.Loaded)] = [:]
    /// Per file, the last set it gave while usable: the input for its pods while it is
    /// invalid or refused (see `WatchInput.resolve`). Its bytes are kept in `store`, so that
    /// a watcher started while a file is broken has it too.
    var lastGood: [String: ManifestSet] = [:]
    let store: LastGoodStore
    /// The files renamed away in the current burst, by the rename's cookie: a file renamed
    /// in with the same cookie is the same file under a new name.
    var renamedAway: [UInt32: String] = [:]

    let inotify: Inotify
    var directoryWatch: Int32 = -1
    var parentWatch: Int32 = -1
    /// Every live supervisor of the last passes (pid → its pidfd and pod). An exit starts a
    /// pass about that pod at once: it finishes a deletion or a recreation, or recreates a
    /// pod whose supervisor was killed, without waiting for the resync.
    var supervisors: [Int32: (fd: Int32, key: PodKey)] = [:]
    /// The pods each file (full path) defined or owned at its last pass: what a change to
    /// that file may concern. Rebuilt by every full pass, so a restart loses nothing.
    var podsOfFile: [String: Set<PodKey>] = [:]
    /// The pulls the passes start (nil: no registry client; a pod missing its image fails
    /// its build). `pulled`: images pulled since the pass that uses them (an `Always`
    /// image is pulled once per start); `failedPulls`: images in back-off.
    let pulls: BackgroundPulls?
    var pulled: Set<ImageReference> = []
    var failedPulls: [ImageReference: BackgroundPulls.Failed] = [:]

    /// What a burst of events concerns: some files, or everything (the directory itself).
    enum Change: Equatable {
        case files(Set<String>)
        case everything

        mutating func add(_ other: Change) {
            switch (self, other) {
            case (.files(let a), .files(let b)): self = .files(a.union(b))
            default: self = .everything
            }
        }
    }

    public init(directory: String, reconciler: Reconciler, options: Options = Options(), log: WatchLog,
                fetcher: (any ImageFetcher)? = nil, notify: SystemdNotify? = nil, metrics: (any WatchMetricsSink)? = nil) throws(KernelError) {
        self.directory = ManifestDirectory(path: directory)
        self.reconciler = reconciler
        self.options = options
        self.log = log
        self.notify = notify
        self.metrics = metrics
        store = LastGoodStore(stateRoot: reconciler.roots.state, directory: directory)
        inotify = try Inotify()
        pulls = try fetcher.map { f throws(KernelError) in try BackgroundPulls(fetcher: f) }
    }

    static let directoryMask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB
                                      | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
    static let parentMask = UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR)

    /// What the watcher reads from its signalfd: SIGHUP resyncs, the others stop it.
    public static let signals = [SIGTERM, SIGINT, SIGHUP]

    /// Runs until SIGTERM or SIGINT. Throws only what keeps it from starting.
    public func run() throws(KernelError) {
        let signals = try Sys.signalDescriptor(Self.signals)
        defer { Sys.close(signals) }
        parentWatch = try inotify.add(parentDirectory(directory.path), mask: Self.parentMask)
        rewatchDirectory()
        log.write(.info, "watch", "watching \(directory.path), resync every \(options.resyncSeconds) s")
        pass("start")
        tell(["READY=1", "STATUS=watching \(directory.path)"])

        defer { for entry in supervisors.values { Sys.close(entry.fd) } }
        defer { pulls?.shutdown() }
        let resync = Int64(options.resyncSeconds) * 1_000_000_000
        var nextResync = MonotonicClock.now() + resync
        var nextPet = notify?.watchdogInterval.map { MonotonicClock.now() + $0 }
        while true {
            metrics?.loopAlive()
            if let due = nextPet, MonotonicClock.now() >= due, let interval = notify?.watchdogInterval {
                tell(["WATCHDOG=1"])
                nextPet = MonotonicClock.now() + interval
            }
            let wait = max(0, (min(nextResync, nextPet ?? .max) - MonotonicClock.now()) / 1_000_000)
            let pids = Array(supervisors.keys)
            let ready = try Sys.pollReadable([signals, inotify.fd] + pids.map { supervisors[$0]!.fd } + (pulls.map { [$0.wake.read] } ?? []),
                                             timeoutMilliseconds: Int32(min(wait, Int64(Int32.max))))
            if pulls != nil, ready.last != 0 { pullsEnded() }
            var stopped: Set<PodKey> = []
            for (i, pid) in pids.enumerated() where ready[2 + i] != 0 {
                let entry = supervisors.removeValue(forKey: pid)!
                Sys.close(entry.fd)
                stopped.insert(entry.key)
            }
            if !stopped.isEmpty { pass("a supervisor stopped", scope: .files([]), pods: stopped) }
            if ready[0] != 0 {
                var resyncNow = false
                for signal in Sys.pendingSignals(signals) {
                    if signal == SIGHUP {
                        log.write(.info, "event", "SIGHUP: resync")
                        resyncNow = true
                    } else {
                        log.write(.info, "watch", "\(signal == SIGTERM ? "SIGTERM" : "SIGINT"): stopping; the pods keep running")
                        tell(["STOPPING=1"])
                        return
                    }
                }
                if resyncNow {
                    pass("resync")
                    nextResync = MonotonicClock.now() + resync
                }
            }
            if ready[1] != 0 {
                if let change = collectEvents() { pass("change", scope: change) }
            }
            if MonotonicClock.now() >= nextResync {
                pass("resync")
                nextResync = MonotonicClock.now() + resync
            }
        }
    }

    /// Tells systemd, if it listens. A failure is logged once: the pods matter more than
    /// the service manager's view of the watcher.
    func tell(_ fields: [String]) {
        guard let notify else { return }
        do { try notify.send(fields) } catch {
            if !notifyFailed { log.write(.error, "watch", "systemd notify socket \(notify.socket): \(error)") }
            notifyFailed = true
        }
    }

    /// Reads a burst of events: until `quietMilliseconds` pass with none, at most
    /// `coalesceMilliseconds` after the first. Returns what they concern, if anything.
    func collectEvents() -> Change? {
        let start = MonotonicClock.now()
        // A rename's two events come together; one whose pair is not in this burst went
        // out of the directory or came from outside it.
        defer { renamedAway = [:] }
        var change = handle(inotify.read())
        while true {
            let left = start + options.coalesceMilliseconds * 1_000_000 - MonotonicClock.now()
            if left <= 0 { break }
            let wait = Int32(min(options.quietMilliseconds, max(1, left / 1_000_000)))
            guard (try? Sys.pollReadable([inotify.fd], timeoutMilliseconds: wait))?.first ?? 0 != 0 else { break }
            if let more = handle(inotify.read()) {
                if change == nil { change = more } else { change!.add(more) }
            }
        }
        return change
    }

    /// Logs each event that concerns the directory or a file that counts; re-watches the
    /// directory when it was removed, replaced or created again.
    func handle(_ events: [Inotify.Event]) -> Change? {
        var change: Change?
        func add(_ c: Change) { if change == nil { change = c } else { change!.add(c) } }
        let name = baseName(directory.path)
        for e in events {
            if e.watch == parentWatch {
                guard e.name == name else { continue }
                log.write(.info, "event", "directory \(directory.path): \(Self.describe(e.mask))")
                rewatchDirectory()
                add(.everything)
            } else if e.watch == directoryWatch {
                if e.mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
                    log.write(.info, "event", "directory \(directory.path): \(Self.describe(e.mask))")
                    rewatchDirectory()
                    add(.everything)
                } else if e.mask & UInt32(IN_IGNORED) != 0 {
                    continue
                } else if !e.name.isEmpty && ManifestLoader.isManifestFileName(e.name) {
                    let path = directory.path + "/" + e.name
                    log.write(.info, "event", "\(e.name): \(Self.describe(e.mask))", fields: [("file", path)])
                    if e.mask & UInt32(IN_MOVED_FROM) != 0 && e.cookie != 0 { renamedAway[e.cookie] = path }
                    if e.mask & UInt32(IN_MOVED_TO) != 0, let from = renamedAway.removeValue(forKey: e.cookie) {
                        renamed(from, to: path)
                    }
                    add(.files([path]))
                } else if e.name.isEmpty && e.mask & UInt32(IN_ATTRIB) != 0 {
                    log.write(.info, "event", "directory \(directory.path): \(Self.describe(e.mask))")
                    add(.everything)
                }
            }
        }
        return change
    }

    /// A file renamed within the directory keeps its last good set, under its new name: if
    /// the pass reads it unusable (an editor's save truncated it just after the rename), its
    /// pods, recorded under the old name, which is gone, are held and kept, not deleted.
    func renamed(_ from: String, to path: String) {
        store.rename(baseName(from), to: baseName(path))
        guard var set = lastGood.removeValue(forKey: from) else { return }
        for i in set.pods.indices { set.pods[i].file = path }
        lastGood[path] = set
    }

    /// Watches the directory at its path again (a new inode after a replace), or not at all
    /// while it is missing.
    func rewatchDirectory() {
        if directoryWatch >= 0 { inotify.remove(directoryWatch) }
        directoryWatch = (try? inotify.add(directory.path, mask: Self.directoryMask)) ?? -1
    }

    static func describe(_ mask: UInt32) -> String {
        var what: [String] = []
        if mask & UInt32(IN_CLOSE_WRITE) != 0 { what.append("written") }
        if mask & UInt32(IN_MOVED_TO) != 0 { what.append("renamed in") }
        if mask & UInt32(IN_MOVED_FROM) != 0 { what.append("renamed away") }
        if mask & UInt32(IN_CREATE) != 0 { what.append("created") }
        if mask & UInt32(IN_DELETE) != 0 { what.append("deleted") }
        if mask & UInt32(IN_ATTRIB) != 0 { what.append("mode or owner changed") }
        if mask & UInt32(IN_DELETE_SELF) != 0 { what.append("removed") }
        if mask & UInt32(IN_MOVE_SELF) != 0 { what.append("moved away") }
        return what.isEmpty ? "changed" : what.joined(separator: ", ")
    }

    // MARK: - A pass

    /// Reads the directory, resolves it and runs one reconciler pass; logs each action and
    /// each new problem. `.everything` is a full pass (at start, at each resync): every pod
    /// and leftover. `.files`: only the pods those files define now or defined before, and
    /// `pods`: a pass costs what changed, not the host's every pod.
    func pass(_ why: String, scope change: Change = .everything, pods: Set<PodKey> = []) {
        let began = MonotonicClock.now()
        if let problem = directory.directoryProblem() {
            report("directory", [problem + "; every pod keeps running as it is"])
            return
        }
        report("directory", [])
        let names: [String]
        do { names = try directory.names() } catch {
            report("directory", ["\(directory.path): \(error); every pod keeps running as it is"])
            return
        }
        var files: [(path: String, loaded: WatchInput.Loaded)] = []
        var seen = Set<String>()
        for name in names {
            let path = directory.path + "/" + name
            seen.insert(path)
            files.append((path, load(path, directory.read(name))))
        }
        for path in cache.keys where !seen.contains(path) { cache[path] = nil }
        for path in lastGood.keys where !seen.contains(path) { lastGood[path] = nil }
        store.keepOnly(Set(names))
        // A file unusable since before this process started: its last good bytes, kept.
        for (path, loaded) in files where lastGood[path] == nil {
            guard case .unusable = loaded, let bytes = store.load(baseName(path)) else { continue }
            let set = ManifestLoader.load([ManifestFile(name: path, bytes: bytes)])
            if set.isValid { lastGood[path] = set }
        }

        let roots = reconciler.roots
        let input = WatchInput.resolve(files, lastGood: lastGood) { roots.stateRoot.pod($0).record()?.source }
        var scope: Set<PodKey>?
        if case .files(let changed) = change {
            var keys = pods
            for path in changed {
                keys.formUnion(podsOfFile[path] ?? [])
                if let loaded = files.first(where: { $0.path == path })?.loaded, case .set(let set) = loaded {
                    keys.formUnion(set.pods.map(WatchInput.key))
                }
            }
            scope = keys
        }
        for (path, _) in files { report(path, input.problems[path] ?? []) }
        metrics?.manifestProblems(input.problems.values.reduce(0) { $0 + $1.count })
        for path in reported.keys where path.hasPrefix(directory.path + "/") && !seen.contains(path) { reported[path] = nil }

        // Supervisors this process started are its children: reap those that exited (a
        // pod's own stop, or a kill by hand), so none stays a zombie.
        _ = Sys.reapAll()
        var passInput = Reconciler.Input(sets: input.sets, held: input.held, scope: scope) { WatchInput.source($0.file) }
        passInput.pulling = pulls != nil
        passInput.pulled = pulled
        let now = MonotonicClock.now()
        for (ref, failed) in failedPulls where failed.retryAt > now {
            let retry = (failed.retryAt - now + 999_999_999) / 1_000_000_000
            passInput.unpulled[ref] = "\(failed.message) (back-off: tried again in \(retry) s)"
        }
        let planned: Reconciler.Pass
        let outcomes: [Executor.Outcome]
        do { (planned, outcomes) = try reconciler.apply(passInput, owner: owner, prune: true, stopWithoutWaiting: true) } catch {
            report("pass", ["\(why) pass: \(error)"])
            return
        }
        report("pass", [])
        var failures: [String: [String]] = [:]
        for f in planned.failures { failures["pod " + f.key.description, default: []].append("\(f.file): error: pod \(f.key): \(f.message)") }
        for key in reported.keys where key.hasPrefix("pod ") && failures[key] == nil { reported[key] = nil }
        for (key, lines) in failures { report(key, lines) }
        // A pod still stopping is no news at every pass: its stop was logged when it began.
        for o in outcomes where !Self.isWaiting(o.action) {
            let line = "\(o.action.mark) \(o.action.subject): \(o.action.reason)"
            var fields: [(String, String)] = [("op", o.action.mark), ("reason", o.action.reason), ("pass", why)]
            if let key = o.action.key { fields.append(("pod", key.description)) }
            if let error = o.error {
                log.write(.error, "action", "\(line): error: \(error)", fields: fields + [("error", error)])
            } else {
                let note = o.deferred ? " (deferred)" : o.stopping ? " (stopping; finished when its supervisor exits)" : ""
                log.write(.info, "action", line + note, fields: fields)
            }
        }
        // After the pass's own actions: the pods that wait for these are left as they are.
        startPulls(planned.pulls)
        followSupervisors(planned.observed, scope: scope)
        // The supervisors this pass started, which `observed` (read before) cannot show.
        for o in outcomes where o.ok && !o.stopping {
            switch o.action.kind {
            case .create(let d), .recreate(let d):
                if let pid = reconciler.liveSupervisor(d.key, uid: d.uid), supervisors[pid] == nil, let fd = try? Sys.pidfdOpen(pid) {
                    supervisors[pid] = (fd, d.key)
                }
            default: break
            }
        }
        rememberPods(input, planned.observed, scope: scope)
        metrics?.passDone(seconds: Double(MonotonicClock.now() - began) / 1e9, full: scope == nil, outcomes: outcomes)
    }

    /// The pulls that ended: each logged as an event, then a pass over the pods that waited.
    func pullsEnded() {
        guard let pulls else { return }
        var pods = Set<PodKey>()
        var done: [ImageReference] = []
        for outcome in pulls.finished() {
            let ref = outcome.pull.reference
            let fields = [("image", ref.description), ("pods", outcome.pull.pods.map(\.description).joined(separator: ","))]
            if let began = pullStarted.removeValue(forKey: ref) {
                let ok = if case .success = outcome.result { true } else { false }
                metrics?.pullDone(seconds: Double(MonotonicClock.now() - began) / 1e9, ok: ok)
            }
            switch outcome.result {
            case .success(let line):
                log.write(.info, "event", "pulled \(ref): \(line)", fields: fields)
                failedPulls[ref] = nil
                pulled.insert(ref)
                done.append(ref)
            case .failure(let failure):
                let backoff = min((failedPulls[ref]?.backoff ?? BackgroundPulls.firstBackoff / 2) * 2, BackgroundPulls.maxBackoff)
                failedPulls[ref] = BackgroundPulls.Failed(message: failure.message, pods: outcome.pull.pods,
                                                          retryAt: MonotonicClock.now() + backoff, backoff: backoff)
                log.write(.error, "event", "failed to pull \(ref): \(failure.message); trying again in \(backoff / 1_000_000_000) s",
                          fields: fields + [("error", failure.message)])
            }
            pods.formUnion(outcome.pull.pods)
        }
        guard !pods.isEmpty else { return }
        pass("an image pull ended", scope: .files([]), pods: pods)
        // Used by that pass: the next start of an `Always` image pulls again.
        pulled.subtract(done)
    }

    /// Starts the pulls a pass asked for, unless in flight or in back-off.
    func startPulls(_ wanted: [PendingPull]) {
        guard let pulls else { return }
        for pull in wanted {
            if let failed = failedPulls[pull.reference], failed.retryAt > MonotonicClock.now() { continue }
            if pulls.start(pull) {
                pullStarted[pull.reference] = MonotonicClock.now()
                log.write(.info, "event", "pulling \(pull.reference) (\(pull.reason)) for \(pull.pods.map(\.description).joined(separator: ", "))",
                          fields: [("image", pull.reference.description), ("pods", pull.pods.map(\.description).joined(separator: ","))])
            }
        }
    }

    /// A pidfd for each live supervisor the pass observed (it observes before it acts: the
    /// supervisors it started are added after the outcomes); a followed pod that the pass
    /// observed without a live supervisor, or with another one, is dropped.
    func followSupervisors(_ observed: Observed, scope: Set<PodKey>?) {
        var alive: [PodKey: Int32] = [:]
        for (key, pod) in observed.pods { if case .alive(let pid) = pod.supervisor { alive[key] = pid } }
        for (pid, entry) in supervisors where (scope?.contains(entry.key) ?? true) && alive[entry.key] != pid {
            Sys.close(entry.fd)
            supervisors[pid] = nil
        }
        for (key, pid) in alive where supervisors[pid] == nil {
            if let fd = try? Sys.pidfdOpen(pid) { supervisors[pid] = (fd, key) }
        }
    }

    /// `podsOfFile` after a pass: what each file defines now, and the pods on the host that
    /// record it as their source. A scoped pass saw only its pods, so it replaces only theirs.
    func rememberPods(_ input: WatchInput, _ observed: Observed, scope: Set<PodKey>?) {
        var now: [String: Set<PodKey>] = [:]
        for set in input.sets {
            for sourced in set.pods { now[sourced.file, default: []].insert(WatchInput.key(sourced)) }
        }
        let prefix = owner + "/"
        for (key, pod) in observed.pods {
            guard let source = pod.record?.source, source.hasPrefix(prefix) else { continue }
            now[String(source.dropFirst("watch:".count)), default: []].insert(key)
        }
        guard let scope else {
            podsOfFile = now
            return
        }
        for path in Array(podsOfFile.keys) {
            podsOfFile[path]!.subtract(scope)
            if podsOfFile[path]!.isEmpty { podsOfFile[path] = nil }
        }
        for (path, keys) in now { podsOfFile[path, default: []].formUnion(keys.intersection(scope)) }
    }

    static func isWaiting(_ action: Action) -> Bool {
        switch action.kind {
        // A pod failed for good is no news at every pass either: `get` shows it.
        case .awaitTermination, .finished: return true
        default: return false
        }
    }

    /// One file's set, parsed again only when its bytes changed.
    func load(_ path: String, _ entry: ManifestDirectory.Entry) -> WatchInput.Loaded {
        switch entry {
        case .refused(let why):
            cache[path] = nil
            return .unusable([why + "; its pods keep running as they are"])
        case .file(let file):
            let hash = FNV1a.hash64(file.bytes)
            if let cached = cache[path], cached.hash == hash { return cached.loaded }
            let set = ManifestLoader.load([file])
            let loaded: WatchInput.Loaded = set.isValid
                ? .set(set)
                : .unusable(set.diagnostics.map(\.description) + ["\(path): not applied; its pods keep running as they are"])
            cache[path] = (hash, loaded)
            if set.isValid {
                lastGood[path] = set
                store.save(baseName(path), file.bytes)
            }
            return loaded
        }
    }

    /// Logs `lines` under `key` when they differ from what was last logged for it: a
    /// problem is reported once per change, not at every resync.
    func report(_ key: String, _ lines: [String]) {
        if (reported[key] ?? []) == lines { return }
        reported[key] = lines.isEmpty ? nil : lines
        for line in lines {
            log.write(.error, "error", line, fields: key.hasPrefix("/") ? [("file", key)] : [])
        }
    }
}
