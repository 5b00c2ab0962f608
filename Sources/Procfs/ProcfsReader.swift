import Glibc
import Kernel
import PodModel

/// Reads processes from a procfs root: by pid, or every process of a cgroup tree.
///
/// All I/O goes through `Sys`; all parsing through `ProcParser`. The procfs root is a
/// parameter (`Roots.proc`), so tests point it at a fake tree. Pids are in the pid
/// namespace of that procfs, which must be the reader's own for cgroup reads:
/// `cgroup.procs` prints pids in the reader's namespace.
///
/// A process that exits mid-read (ENOENT or ESRCH) is skipped by tree reads, and makes
/// single-process reads return nil. Any other failure throws: a caller must never take
/// "could not read" (EMFILE, EACCES) for "not running".
public struct ProcfsReader: Sendable {
    /// The procfs root, `/proc` on the host.
    public var proc: String

    public init(roots: Roots = .host) {
        proc = roots.proc
    }

    // MARK: Cgroup trees

    /// The pids in the `cgroup.procs` of each of `directories` and of every directory
    /// below them, each with the directories that listed it (sorted).
    ///
    /// `directories` are absolute cgroup directories: on v1, one per hierarchy of a tree
    /// (`/sys/fs/cgroup/pids/podrec/x`, `/sys/fs/cgroup/memory/podrec/x`, ...); on v2, the
    /// tree's one directory. A directory that does not exist, or is removed while read,
    /// holds no process: whether it should exist is the cgroup driver's question.
    ///
    /// Each directory is read before its children, so a process that moves up the tree
    /// during the walk can be missed; the next pass sees it.
    public func pids(inCgroupTrees directories: [String]) throws(ProcfsError) -> [Int32: [String]] {
        var found: [Int32: [String]] = [:]
        for dir in directories { try walk(dir, into: &found) }
        for (pid, dirs) in found where dirs.count > 1 { found[pid] = dirs.sorted() }
        return found
    }

    private func walk(_ dir: String, into found: inout [Int32: [String]]) throws(ProcfsError) {
        let procsPath = dir + "/cgroup.procs"
        let bytes: [UInt8]
        do {
            bytes = try Sys.readFile(procsPath)
        } catch {
            if error.meansGone { return }
            throw .kernel(error)
        }
        let pids: [Int32]
        do { pids = try ProcParser.cgroupProcs(bytes) } catch { throw .malformed(path: procsPath, error) }
        for pid in pids {
            // v1 may list a pid twice in one file.
            if found[pid, default: []].last != dir { found[pid, default: []].append(dir) }
        }

        let names: [String]
        do {
            names = try Sys.listDirectory(dir)
        } catch {
            if error.meansGone { return }
            throw .kernel(error)
        }
        for name in names {
            let child = dir + "/" + name
            let status: Sys.FileStatus
            do {
                status = try Sys.stat(child, followSymlinks: false)
            } catch {
                if error.meansGone { continue }
                throw .kernel(error)
            }
            if status.isDirectory { try walk(child, into: &found) }
        }
    }

    /// Every process of the cgroup trees at `directories` (see `pids(inCgroupTrees:)`),
    /// with its facts, sorted by pid. Processes that exit while read are left out.
    ///
    /// `namespaces` picks the `ns/*` links to read; the others stay nil. Each link costs
    /// about as much as one of the three files (measured: 8 links ≈ 39 µs, stat + status
    /// + cgroup ≈ 39 µs per process), so a caller that compares only the pod's shared
    /// namespaces can read just those.
    public func processes(inCgroupTrees directories: [String],
                          namespaces kinds: [NamespaceKind] = NamespaceKind.allCases) throws(ProcfsError) -> [ProcessFacts] {
        let found = try pids(inCgroupTrees: directories)
        var out: [ProcessFacts] = []
        out.reserveCapacity(found.count)
        var nsPath = ""
        for pid in found.keys.sorted() {
            guard var facts = try facts(of: pid, namespaces: kinds, nsPathBuffer: &nsPath) else { continue }
            facts.cgroupDirectories = found[pid] ?? []
            out.append(facts)
        }
        return out
    }

    // MARK: One process

    /// The facts of one process, or nil when there is no such process.
    public func facts(of pid: Int32, namespaces kinds: [NamespaceKind] = NamespaceKind.allCases) throws(ProcfsError) -> ProcessFacts? {
        var nsPath = ""
        return try facts(of: pid, namespaces: kinds, nsPathBuffer: &nsPath)
    }

    /// Reads, in this order: an fd of `/proc/PID`; the `ns/*` links; `stat`,
    /// `status` and `cgroup` through the fd.
    ///
    /// Why the order: a process alive when the fd was opened and still there when `stat`
    /// is read through it was there throughout, so its pid could not be reused in between,
    /// and the links (read by path, there being no `readlinkat` in `Sys`) are its own.
    private func facts(of pid: Int32, namespaces kinds: [NamespaceKind], nsPathBuffer nsPath: inout String) throws(ProcfsError) -> ProcessFacts? {
        let dirPath = proc + "/" + String(pid)
        let dirfd: Int32
        do {
            dirfd = try Sys.open(dirPath, O_RDONLY | O_DIRECTORY)
        } catch {
            if error.meansGone { return nil }
            throw .kernel(error)
        }
        defer { Sys.close(dirfd) }

        guard let namespaces = try readNamespaces(dirPath, kinds, &nsPath) else { return nil }

        guard let statBytes = try read(dirfd, "stat", dirPath) else { return nil }
        let stat: ProcessStat
        do { stat = try ProcParser.stat(statBytes) } catch { throw .malformed(path: dirPath + "/stat", error) }
        guard let statusBytes = try read(dirfd, "status", dirPath) else { return nil }
        let status: ProcessStatus
        do { status = try ProcParser.status(statusBytes) } catch { throw .malformed(path: dirPath + "/status", error) }
        guard let cgroupBytes = try read(dirfd, "cgroup", dirPath) else { return nil }
        let cgroups: [CgroupMembership]
        do { cgroups = try ProcParser.cgroup(cgroupBytes) } catch { throw .malformed(path: dirPath + "/cgroup", error) }
        return ProcessFacts(stat: stat, status: status, namespaces: namespaces, cgroups: cgroups)
    }

    /// One file below a `/proc/PID` fd; nil when the process is gone.
    private func read(_ dirfd: Int32, _ name: String, _ dirPath: String) throws(ProcfsError) -> [UInt8]? {
        do {
            let fd = try Sys.openat(dirfd, name, O_RDONLY)
            defer { Sys.close(fd) }
            return try Sys.readAll(fd)
        } catch {
            if error.meansGone { return nil }
            var e = error
            e.path = dirPath + "/" + name
            throw .kernel(e)
        }
    }

    /// `/proc/PID/<name>` read whole; nil when the process is gone.
    private func readFile(_ pid: Int32, _ name: String) throws(ProcfsError) -> [UInt8]? {
        do {
            return try Sys.readFile(proc + "/" + String(pid) + "/" + name)
        } catch {
            if error.meansGone { return nil }
            throw .kernel(error)
        }
    }

    private func parsed<T>(_ pid: Int32, _ name: String, _ parse: ([UInt8]) throws(ProcfsParseError) -> T) throws(ProcfsError) -> T? {
        guard let bytes = try readFile(pid, name) else { return nil }
        do { return try parse(bytes) } catch { throw .malformed(path: proc + "/" + String(pid) + "/" + name, error) }
    }

    /// `/proc/PID/stat`; nil when there is no such process.
    public func stat(of pid: Int32) throws(ProcfsError) -> ProcessStat? {
        try parsed(pid, "stat", ProcParser.stat)
    }

    /// `/proc/PID/status`; nil when there is no such process.
    public func status(of pid: Int32) throws(ProcfsError) -> ProcessStatus? {
        try parsed(pid, "status", ProcParser.status)
    }

    /// `/proc/PID/cgroup`; nil when there is no such process.
    public func cgroups(of pid: Int32) throws(ProcfsError) -> [CgroupMembership]? {
        try parsed(pid, "cgroup", ProcParser.cgroup)
    }

    /// `/proc/PID/mountinfo`; nil when there is no such process. Empty for a zombie.
    public func mountinfo(of pid: Int32) throws(ProcfsError) -> [MountInfo]? {
        try parsed(pid, "mountinfo", ProcParser.mountinfo)
    }

    /// `/proc/PID/cmdline`, for display; nil when there is no such process.
    public func cmdline(of pid: Int32) throws(ProcfsError) -> [String]? {
        try readFile(pid, "cmdline").map(ProcParser.cmdline)
    }

    /// `/proc/PID/environ`, for display (it may hold secrets); nil when there is no such
    /// process. Reading another user's needs ptrace access (root here).
    public func environ(of pid: Int32) throws(ProcfsError) -> [EnvironmentEntry]? {
        try readFile(pid, "environ").map(ProcParser.environ)
    }

    /// The target of `/proc/PID/cwd`; nil when there is no such process or it has none
    /// (a zombie). A path in the process's mount namespace, for display.
    public func cwd(of pid: Int32) throws(ProcfsError) -> String? {
        do {
            return try Sys.readlink(proc + "/" + String(pid) + "/cwd")
        } catch {
            if error.meansGone { return nil }
            throw .kernel(error)
        }
    }

    /// The `ns/*` inodes; nil when there is no such process.
    public func namespaces(of pid: Int32, kinds: [NamespaceKind] = NamespaceKind.allCases) throws(ProcfsError) -> NamespaceInodes? {
        var buffer = ""
        return try readNamespaces(proc + "/" + String(pid), kinds, &buffer)
    }

    /// The links of `kinds` under `dirPath/ns`; a link that is not there stays nil. nil
    /// when none of `kinds` could be read and the process is gone: every process, zombies
    /// included, keeps its `pid` and `user` links.
    private func readNamespaces(_ dirPath: String, _ kinds: [NamespaceKind], _ path: inout String) throws(ProcfsError) -> NamespaceInodes? {
        var out = NamespaceInodes()
        var missing = 0
        for kind in kinds {
            path.removeAll(keepingCapacity: true)
            path += dirPath
            path += "/ns/"
            path += kind.rawValue
            let target: String
            do {
                target = try Sys.readlink(path)
            } catch {
                // A zombie keeps only its pid and user links; an older kernel lacks some kinds.
                if error.meansGone {
                    missing += 1
                    continue
                }
                throw .kernel(error)
            }
            let link: NamespaceLink
            do { link = try ProcParser.namespaceLink(target) } catch { throw .malformed(path: path, error) }
            guard link.kind == kind else {
                throw .malformed(path: path, ProcfsParseError(file: "ns", reason: "link to \(target) under ns/\(kind.rawValue)"))
            }
            out[kind] = link.inode
        }
        if missing > 0 && missing == kinds.count && !Sys.exists(dirPath) { return nil }
        return out
    }

    // MARK: Liveness and time

    /// The reconciler's liveness rule (ARCHITECTURE, "Observed state"): the pid exists,
    /// its start time is the recorded one, and it is neither a zombie nor dead.
    ///
    /// False only when the kernel says so; a failure to read throws, because "could not
    /// read" must never recreate a pod whose supervisor lives.
    public func isAlive(_ identity: ProcessIdentity) throws(ProcfsError) -> Bool {
        guard let stat = try stat(of: identity.pid) else { return false }
        return stat.pid == identity.pid && stat.startTime == identity.startTime && !stat.state.hasExited
    }

    /// `btime` from `/proc/stat`: boot time, seconds since the epoch. Moves by a second
    /// between reads; see `ProcParser.bootTime`.
    public func bootTime() throws(ProcfsError) -> Int64 {
        let path = proc + "/stat"
        let text: String
        do { text = try Sys.readString(path) } catch { throw .kernel(error) }
        do { return try ProcParser.bootTime(text) } catch { throw .malformed(path: path, error) }
    }

    /// `/proc/uptime`: time since boot, on the clock `starttime` counts in.
    public func uptime() throws(ProcfsError) -> Duration {
        let path = proc + "/uptime"
        let text: String
        do { text = try Sys.readString(path) } catch { throw .kernel(error) }
        do { return try ProcParser.uptime(text) } catch { throw .malformed(path: path, error) }
    }
}

/// The reconciler's liveness rule for one recorded process; see `ProcfsReader.isAlive(_:)`.
public func isAlive(_ identity: ProcessIdentity, roots: Roots = .host) throws(ProcfsError) -> Bool {
    try ProcfsReader(roots: roots).isAlive(identity)
}

extension KernelError {
    /// ENOENT or ESRCH: the process (or cgroup) went away while we read it.
    var meansGone: Bool { errno.rawValue == ENOENT || errno.rawValue == ESRCH }
}
