import Glibc
import Kernel
import PodModel

/// What both drivers do the same way with processes and pids.max.
enum Procs {
    /// Writes `pid` to a `cgroup.procs` file. EINVAL can mean the task is still being
    /// created (TASK_NEW), so it is retried a few times, as runc does.
    static func write(_ pid: Int32, to file: String) throws(CgroupError) {
        var attempts = 0
        while true {
            do {
                try Knobs.write(file, String(pid))
                return
            } catch {
                attempts += 1
                guard case .kernel(let e) = error, e.errno.rawValue == EINVAL, attempts < 5 else { throw error }
                Clock.sleep(nanoseconds: 30_000_000)
            }
        }
    }

    /// The pids in `dir` (and below it): nothing when `dir` does not exist.
    static func list(_ dir: String, recursive: Bool) throws(CgroupError) -> [Int32] {
        guard Sys.exists(dir) else { return [] }
        var out: [Int32] = []
        for d in recursive ? try Knobs.tree(dir) : [dir] {
            // A cgroup removed between the walk and the read has no processes.
            if let pids = try Knobs.optional({ () throws(CgroupError) in try Knobs.readPids(d + "/cgroup.procs") }) {
                out += pids
            }
        }
        return out
    }

    /// The last step of every kill method: SIGKILL what is still listed until the tree is
    /// empty, then fail if it does not empty in time.
    static func finishKill(_ path: String, method: KillMethod, signalled: [Int32], _ list: () throws(CgroupError) -> [Int32]) throws(CgroupError) -> KillReport {
        let all = try walkKill(signalled: signalled, list)
        let left = try Knobs.waitUntilEmpty(timeoutNanoseconds: CgroupTiming.emptyWaitNanoseconds, list)
        if !left.isEmpty { throw .stillPopulated(path: path, pids: left) }
        return KillReport(method: method, signalled: all)
    }

    /// SIGKILLs every listed process, again, until none is left or the wait runs out.
    /// Returns everything it signalled, with `signalled` first.
    static func walkKill(signalled: [Int32], _ list: () throws(CgroupError) -> [Int32]) throws(CgroupError) -> [Int32] {
        var all = signalled
        var seen = Set(signalled)
        let deadline = Clock.now() + CgroupTiming.emptyWaitNanoseconds
        var pause: Int64 = 200_000
        while Clock.now() < deadline {
            let pids = try list()
            if pids.isEmpty { break }
            try sigkill(pids, stillIn: list)
            for pid in pids where seen.insert(pid).inserted { all.append(pid) }
            Clock.sleep(nanoseconds: pause)
            pause = min(pause * 2, 10_000_000)
        }
        return all
    }

    /// SIGKILLs those of `pids` that are still in the tree, through pidfds, so that a pid
    /// that exited and was recycled since the listing is never signalled: each pidfd pins
    /// one process, and a fresh listing taken after opening them says which of those
    /// processes are (still) in the tree. Batches bound the fds held at once.
    static func sigkill(_ pids: [Int32], stillIn list: () throws(CgroupError) -> [Int32]) throws(CgroupError) {
        var start = 0
        while start < pids.count {
            let batch = pids[start..<min(start + 256, pids.count)]
            start += batch.count
            var fds: [(pid: Int32, fd: Int32)] = []
            defer { for f in fds { Sys.close(f.fd) } }
            var noPidfd: [Int32] = []
            for pid in batch {
                do { fds.append((pid, try Sys.pidfdOpen(pid))) } catch {
                    switch error.errno.rawValue {
                    case ESRCH: continue            // gone already
                    case ENOSYS: noPidfd.append(pid) // Linux < 5.3
                    default: throw .kernel(error)
                    }
                }
            }
            let current = Set(try list())
            for f in fds where current.contains(f.pid) {
                do { try Sys.pidfdSendSignal(f.fd, SIGKILL) } catch {
                    if error.errno.rawValue != ESRCH { throw .kernel(error) }
                }
            }
            for pid in noPidfd where current.contains(pid) { try Knobs.sigkill(pid) }
        }
    }

    static func setPidsMax(_ limit: CgroupLimit, file: String) throws(CgroupError) -> LimitWriteResult {
        if case .value(let v) = limit, v < 0 { throw .invalidValue("pids.max \(v)") }
        if try Knobs.readLimit(file) == limit { return .unchanged }
        switch limit {
        case .max: try Knobs.write(file, "max")
        case .value(let v): try Knobs.write(file, String(v))
        }
        return .applied
    }
}

enum Memory {
    /// At or above this, a v1 limit means "unlimited": PAGE_COUNTER_MAX × PAGE_SIZE is
    /// just below Int64.max for every page size (4 KiB: 9223372036854771712).
    static let v1Unlimited: Int64 = Int64.max - (1 << 20)

    /// The kernel keeps memory limits in pages and rounds a byte value down.
    static func pageFloor(_ bytes: Int64) -> Int64 {
        let page = Int64(sysconf(Int32(_SC_PAGESIZE)))
        return page > 0 ? bytes / page * page : bytes
    }
}
