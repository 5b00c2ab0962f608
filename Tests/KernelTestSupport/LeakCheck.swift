import Glibc
import Kernel

/// What a privileged test may leave behind, taken before and compared after: the test's
/// own cgroups, the mounts of our mount namespace, our child processes, and our open fds.
///
/// Every kernel test takes one `HostSnapshot` first and calls `leaks(since:)` last; a
/// non-empty result fails the test.
public struct HostSnapshot: Sendable {
    public var mounts: [String]
    public var children: Set<Int32>
    public var fds: Set<Int32>

    /// The current state of this process. The process-wide inotify instance that status
    /// waits share (`DirectoryWatch`) is opened first: it is held for the life of the
    /// process on purpose, and would otherwise count as a leak of whichever test waits first.
    public static func take(proc: String = "/proc") -> HostSnapshot {
        DirectoryWatch.openSharedInstance()
        return HostSnapshot(mounts: mountLines(proc: proc), children: childPids(proc: proc), fds: openFds(proc: proc))
    }

    /// Everything that is new since `before`, as readable lines; `cgroupNames` are
    /// directories (test cgroup roots) that must no longer exist under any hierarchy of
    /// `cgroupRoot`.
    public func leaks(since before: HostSnapshot, cgroupNames: [String] = [], cgroupRoot: String = "/sys/fs/cgroup") -> [String] {
        var out: [String] = []
        for m in Set(mounts).subtracting(before.mounts).sorted() { out.append("mount left: \(m)") }
        for p in children.subtracting(before.children).sorted() { out.append("process left: pid \(p) \(Self.comm(p))") }
        for fd in fds.subtracting(before.fds).sorted() { out.append("fd left: \(fd) -> \((try? Sys.readlink("/proc/self/fd/\(fd)")) ?? "?")") }
        for name in cgroupNames {
            for dir in CgroupLeaks.find(name, under: cgroupRoot) { out.append("cgroup left: \(dir)") }
        }
        return out
    }

    static func mountLines(proc: String) -> [String] {
        // Drop the mount id and parent id: they are renumbered, the rest identifies a mount.
        ((try? Sys.readString("\(proc)/self/mountinfo")) ?? "").split(separator: "\n").map {
            $0.split(separator: " ").dropFirst(2).joined(separator: " ")
        }
    }

    static func childPids(proc: String) -> Set<Int32> {
        let me = getpid()
        var out = Set<Int32>()
        for name in (try? Sys.listDirectory("\(proc)/self/task")) ?? [] {
            let text = (try? Sys.readString("\(proc)/self/task/\(name)/children")) ?? ""
            for pid in text.split(separator: " ").compactMap({ Int32($0.trimmingCharacters(in: " \n")) }) where pid != me {
                out.insert(pid)
            }
        }
        return out
    }

    static func openFds(proc: String) -> Set<Int32> {
        // The listing itself holds an fd while it reads the directory; it is closed by the
        // time we look, so keep only the fds that are still open.
        Set(((try? Sys.listDirectory("\(proc)/self/fd")) ?? []).compactMap { Int32($0) }.filter { fcntl($0, F_GETFD) != -1 })
    }

    static func comm(_ pid: Int32) -> String {
        ((try? Sys.readString("/proc/\(pid)/comm")) ?? "").trimmingCharacters(in: "\n")
    }
}

public enum CgroupLeaks {
    /// Directories named `name` one level below `root` or below each of its hierarchies
    /// (v1: `/sys/fs/cgroup/<controller>/name`; v2: `/sys/fs/cgroup/name`).
    public static func find(_ name: String, under root: String) -> [String] {
        var candidates = ["\(root)/\(name)"]
        for h in (try? Sys.listDirectory(root)) ?? [] { candidates.append("\(root)/\(h)/\(name)") }
        return candidates.filter { Sys.exists($0) }
    }
}

/// A unique cgroup parent name for one test, so tests never touch each other's cgroups or
/// the host's (`memory:/process_api/...` and the like are not ours).
public enum TestNames {
    nonisolated(unsafe) static var counter = 0
    static let lock = Mutex()

    public static func cgroupParent(_ label: String = "t") -> String {
        lock.locked {
            counter += 1
            return "podrec-test-\(getpid())-\(label)-\(counter)"
        }
    }
}

/// A pthread mutex; tests run in parallel.
final class Mutex: @unchecked Sendable {
    private var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return body()
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

/// Whether the privileged tests must run. Under `PODREC_REQUIRE_PRIVILEGED=1` (set by the
/// cgroup2 VM run in CI) a missing prerequisite fails the test instead of skipping it.
public enum Privilege {
    public static var isRoot: Bool { geteuid() == 0 }
    public static var required: Bool { getenv("PODREC_REQUIRE_PRIVILEGED").map { String(cString: $0) == "1" } ?? false }
    /// Run privileged tests when root, or when required (then they fail loudly if not root).
    public static var enabled: Bool { isRoot || required }
}
