import Glibc
import Kernel
import PodModel

/// What `get -w` and `events -w` wait on: a change on the host that can change what they
/// print, without a polling loop. inotify on `<root>/pods` (a pod's dir made or removed)
/// and on each pod's dir (its status, record or plan renamed into place: the supervisor
/// writes a status for every change of a container, a probe's result or an event), and a
/// pidfd per live supervisor (its death changes the pod's STATUS but writes no file); for
/// `events`, the root too, where the reconciler appends its events.
final class StateChanges {
    let inotify: Inotify
    let stateRoot: StateRoot
    /// The watch on `<root>/pods`, or on the root while `pods` does not exist yet.
    var top: (watch: Int32, path: String)?
    var podWatches: [String: Int32] = [:]
    var pidfds: [Int32: Int32] = [:]
    /// Whether to watch `<root>/events`, and the watch on the root for it.
    let events: Bool
    var rootWatch: Int32?

    init(stateRoot: StateRoot, events: Bool = false) throws {
        self.stateRoot = stateRoot
        self.events = events
        do { inotify = try Inotify() } catch { throw CLIError("inotify: \(error)") }
    }

    deinit { for fd in pidfds.values { Sys.close(fd) } }

    /// Watches what `observed` has: each pod's dir, each live supervisor. Called after each
    /// observation, so a pod made since is followed from then on.
    func follow(_ observed: Observed) {
        let pods = stateRoot.podsDirectory
        if top?.path != pods {
            if let top { inotify.remove(top.watch) }
            let mask = UInt32(IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_ONLYDIR)
            if let w = try? inotify.add(pods, mask: mask) { top = (w, pods) }
            else if let w = try? inotify.add(stateRoot.path, mask: mask) { top = (w, stateRoot.path) }
            else { top = nil }
        }
        if events && rootWatch == nil {
            // The root, not the file: it may not exist yet, and a trim replaces it by rename.
            rootWatch = try? inotify.add(stateRoot.path, mask: UInt32(IN_MODIFY | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR))
        }
        var dirs: Set<String> = []
        for key in observed.pods.keys {
            let dir = stateRoot.pod(key).path
            dirs.insert(dir)
            if podWatches[dir] == nil, let w = try? inotify.add(dir, mask: UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR)) {
                podWatches[dir] = w
            }
        }
        // A removed dir's watch went with it (IN_IGNORED); forget it so a new pod of the same
        // name gets a new one.
        for dir in podWatches.keys where !dirs.contains(dir) { podWatches[dir] = nil }
        var live: Set<Int32> = []
        for pod in observed.pods.values {
            guard case .alive(let pid) = pod.supervisor else { continue }
            live.insert(pid)
            if pidfds[pid] == nil, let fd = try? Sys.pidfdOpen(pid) { pidfds[pid] = fd }
        }
        for (pid, fd) in pidfds where !live.contains(pid) {
            Sys.close(fd)
            pidfds[pid] = nil
        }
    }

    /// Blocks until something changed, then lets a burst settle (a pass writes a record, a
    /// plan and then the supervisor a status: one observation for all of them). With no
    /// state root to watch yet, it looks again every second.
    func wait() throws {
        let pids = Array(pidfds.keys)
        let fds = [inotify.fd] + pids.map { pidfds[$0]! }
        let ready: [Int16]
        do { ready = try Sys.pollReadable(fds, timeoutMilliseconds: top == nil ? 1000 : nil) } catch { throw CLIError("poll: \(error)") }
        for (i, pid) in pids.enumerated() where ready[1 + i] != 0 {
            Sys.close(pidfds.removeValue(forKey: pid)!)
        }
        while true {
            _ = inotify.read()
            guard ((try? Sys.pollReadable([inotify.fd], timeoutMilliseconds: 20))?.first ?? 0) != 0 else { break }
        }
    }
}
