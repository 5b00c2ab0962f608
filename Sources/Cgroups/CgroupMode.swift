import Glibc
import Kernel

/// The three ways a host mounts cgroups.
public enum CgroupMode: String, Sendable, Hashable {
    /// v1 hierarchies only.
    case legacy
    /// v1 hierarchies plus a cgroup2 mount (here `/sys/fs/cgroup/unified`, holding only
    /// hugetlb). Driven as v1: the controllers podrec needs are all v1 here.
    case hybrid
    /// One cgroup2 hierarchy at the root.
    case unified
}

/// The cgroup layout under one root: its mode and where each v1 controller is mounted.
public struct CgroupSetup: Sendable, Hashable {
    public var root: String
    public var mode: CgroupMode
    /// v1: controller name → directory below `root` holding its hierarchy ("cpu" → "cpu",
    /// or "cpu,cpuacct" where they are co-mounted). Named hierarchies appear as
    /// "name=systemd". Empty on unified.
    public var hierarchies: [String: String]
    /// The cgroup2 mount: `root` on unified, e.g. `root/unified` on hybrid, nil on legacy.
    public var unifiedPath: String?
    /// What the cgroup2 root offers (its `cgroup.controllers`); empty on legacy.
    public var unifiedControllers: [String]

    public init(root: String, mode: CgroupMode, hierarchies: [String: String] = [:], unifiedPath: String? = nil, unifiedControllers: [String] = []) {
        self.root = root
        self.mode = mode
        self.hierarchies = hierarchies
        self.unifiedPath = unifiedPath
        self.unifiedControllers = unifiedControllers
    }

    /// Looks at `root` now. Real mounts are recognised by their statfs magic; directories
    /// in a temp dir (test fixtures) by their shape: a cgroup2 directory has
    /// `cgroup.controllers`, a v1 hierarchy has `tasks`. Both hold on a real kernel too, so
    /// the shape is only a fallback for trees that are not mounts.
    public static func detect(root: String = "/sys/fs/cgroup") throws(CgroupError) -> CgroupSetup {
        let root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
        if isCgroup2(root) {
            return CgroupSetup(root: root, mode: .unified, unifiedPath: root, unifiedControllers: controllerList(root))
        }
        var hierarchies: [String: String] = [:]
        var symlinked: [(String, [String])] = []
        var unified: String?
        let names: [String]
        do { names = try Sys.listDirectory(root).sorted() } catch { throw .kernel(error) }
        for name in names {
            let path = root + "/" + name
            // One lstat, and a stat only for a symlink; one statfs tells a real hierarchy's
            // kind (the file checks are for fixture trees, where every magic is the disk's).
            guard let lst = try? Sys.stat(path, followSymlinks: false) else { continue }
            let isSymlink = lst.isSymlink
            if isSymlink {
                guard let st = try? Sys.stat(path), st.isDirectory else { continue }
            } else if !lst.isDirectory {
                continue
            }
            let magic = try? Sys.filesystemType(path)
            if magic == Sys.cgroup2Magic || (magic != Sys.cgroupMagic && Sys.exists(path + "/cgroup.controllers")) {
                if unified == nil || name == "unified" { unified = path }
                continue
            }
            guard magic == Sys.cgroupMagic || Sys.exists(path + "/tasks") else { continue }
            let controllers = v1Controllers(directoryName: name)
            // "cpu" → "cpu,cpuacct" symlinks: the real directory wins, so one hierarchy
            // has one spelling; a symlink only fills a gap.
            if isSymlink {
                symlinked.append((name, controllers))
            } else {
                for c in controllers { hierarchies[c] = name }
            }
        }
        for (name, controllers) in symlinked {
            for c in controllers where hierarchies[c] == nil { hierarchies[c] = name }
        }
        if hierarchies.isEmpty {
            if let unified {
                // A cgroup2 mount below a plain directory, and nothing else: use it as v2.
                return CgroupSetup(root: unified, mode: .unified, unifiedPath: unified, unifiedControllers: controllerList(unified))
            }
            throw .noCgroupFilesystem(root: root)
        }
        if let unified {
            return CgroupSetup(root: root, mode: .hybrid, hierarchies: hierarchies, unifiedPath: unified, unifiedControllers: controllerList(unified))
        }
        return CgroupSetup(root: root, mode: .legacy, hierarchies: hierarchies)
    }

    /// `detect`, once per process per root: the mode cannot change under a running
    /// process, and every pass would otherwise list and statfs the root again.
    public static func detected(root: String = "/sys/fs/cgroup") throws(CgroupError) -> CgroupSetup {
        if let cached = cache.get(root) { return cached }
        let setup = try detect(root: root)
        cache.set(root, setup)
        return setup
    }

    static let cache = SetupCache()

    static func isCgroup2(_ path: String) -> Bool {
        if let magic = try? Sys.filesystemType(path), magic == Sys.cgroup2Magic { return true }
        return Sys.exists(path + "/cgroup.controllers")
    }

    /// The controllers a v1 hierarchy directory holds, from its name: "cpu,cpuacct" holds
    /// two; "systemd" is the named hierarchy `name=systemd` (no controller).
    static func v1Controllers(directoryName name: String) -> [String] {
        if name == "systemd" { return ["name=systemd"] }
        return name.split(separator: ",").map(String.init)
    }

    static func controllerList(_ dir: String) -> [String] {
        guard let text = try? Sys.readString(dir + "/cgroup.controllers") else { return [] }
        return text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
    }
}

/// The per-process detection cache; a pthread mutex because Cgroups links neither
/// Foundation nor Synchronization.
final class SetupCache: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var entries: [String: CgroupSetup] = [:]

    init() { pthread_mutex_init(&mutex, nil) }

    func get(_ root: String) -> CgroupSetup? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return entries[root]
    }

    func set(_ root: String, _ setup: CgroupSetup) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        entries[root] = setup
    }
}
