import Kernel
import PodModel

/// The host side of a pod's volumes and pod-wide files, under `PodLayout.dataDirectory`
/// (`<data-root>/pods/<uid>`, made 0700):
///
/// - **emptyDir**: `volumes/<name>`, mode 0777 as kubelet makes it, so that any uid can
///   write. With `medium: Memory`, a tmpfs mounted there (`nodev,nosuid`); its root is
///   1777, which is what kubelet's tmpfs gets (kubelet passes no `mode`, and 1777 is
///   tmpfs's default). Its size is `memoryVolumeSize`.
/// - **hostPath**: checked or created by its type, as kubelet does (`HostPathCheck`);
///   nothing is made under the data dir.
/// - **configMap / secret** (`files`): `volumes/<name>` in kubelet's AtomicWriter layout
///   (`AtomicWriter`), mode 0755. A secret volume's dir is a tmpfs of its own
///   (`nodev,nosuid`, mode 0755, sized as a memory emptyDir without a sizeLimit, as
///   kubelet sizes it), so secrets never touch a disk. kubelet makes these roots 0777 and
///   1777; podrec makes them 0755, enough to traverse, since the volumes are mounted
///   read-only (`PreparedVolume.readOnly`) and only podrec writes in them.
/// - `shm`: the pod's `/dev/shm`, a tmpfs (`prepareShm`).
/// - `etc-hosts` and `resolv.conf` (`writeHosts`, `writeResolvConf`), 0644.
///
/// Every tmpfs is mounted with source `podrec`. `teardown` unmounts everything mounted
/// under the data dir and removes it.
///
/// Volume names and file paths are checked here again before they become paths (DNS-1123
/// labels; relative file paths without `..`), whatever the manifest layer checked.
public struct PodVolumes: Sendable {
    /// procfs: `meminfo` for the memory bound, `self/mountinfo` for teardown.
    public var proc: String

    public init(proc: String = "/proc") {
        self.proc = proc
    }

    /// The source name of every tmpfs podrec mounts, as mountinfo shows it.
    public static let tmpfsSource = "podrec"

    // MARK: Volumes

    /// Makes every volume of a pod, in order, and returns where each one is on the host.
    /// Idempotent: an emptyDir that exists keeps its contents, a tmpfs already mounted is
    /// kept, configMap and secret files are rewritten only if they changed.
    ///
    /// Every name and path is checked before anything is made. On a failure part-way, what
    /// was made stays, and `teardown` removes it.
    ///
    /// - Parameter podMemoryLimit: the pod's memory limit in bytes (the sum of its
    ///   containers' limits), bounding its memory-backed volumes; nil when it has none.
    public func prepare(_ volumes: [(name: String, spec: VolumeSpec)], layout: PodLayout,
                        podMemoryLimit: Int64?) throws(VolumeError) -> [String: PreparedVolume] {
        try Self.checkUID(layout)
        var seen = Set<String>()
        var cleaned: [String: [AtomicWriter.File]] = [:]
        for (name, spec) in volumes {
            let directory = layout.volumeDirectory(name)
            guard VolumePaths.isDNS1123Label(name) else { throw VolumeError(volume: name, path: directory, .invalidVolumeName) }
            guard seen.insert(name).inserted else { throw VolumeError(volume: name, path: directory, .duplicateVolumeName) }
            switch spec {
            case .hostPath(let path, _):
                if let problem = VolumePaths.hostPathProblem(path) { throw VolumeError(volume: name, path: path, .invalidHostPath(why: problem)) }
            case .files(let files):
                cleaned[name] = try AtomicWriter.clean(files, volume: name, directory: directory)
            case .emptyDir:
                break
            }
        }

        var out: [String: PreparedVolume] = [:]
        for (name, spec) in volumes {
            let directory = layout.volumeDirectory(name)
            switch spec {
            case .emptyDir(let memory, let sizeLimit):
                try makeVolumeDirectory(name, layout, mode: memory ? 0o700 : 0o777)
                if memory {
                    let size = memoryVolumeSize(sizeLimit: sizeLimit, podMemoryLimit: podMemoryLimit)
                    try mountTmpfs(at: directory, volume: name, flags: [.noSuid, .noDev], mode: "1777", size: size)
                }
                out[name] = PreparedVolume(path: directory, isFile: false)
            case .hostPath(let path, let type):
                out[name] = PreparedVolume(path: path, isFile: try HostPathCheck.check(path, type: type, volume: name))
            case .files(let files):
                try makeVolumeDirectory(name, layout, mode: 0o755)
                if files.secret {
                    let size = memoryVolumeSize(sizeLimit: nil, podMemoryLimit: podMemoryLimit)
                    try mountTmpfs(at: directory, volume: name, flags: [.noSuid, .noDev], mode: "0755", size: size)
                }
                try writeFiles(cleaned[name] ?? [], volume: name, directory: directory, secret: files.secret, now: WallClock.now())
                out[name] = PreparedVolume(path: directory, isFile: false, readOnly: true)
            }
        }
        return out
    }

    /// Shows new contents in a prepared configMap or secret volume, as kubelet's
    /// AtomicWriter does: a new timestamped dir, then `..data_tmp` renamed over `..data`,
    /// so a reader sees the whole old set or the whole new one; links of removed entries
    /// and the old dir go after. False when contents and modes were already as given, and
    /// nothing was written. A secret volume must be on its tmpfs (`prepare` mounted it), or
    /// nothing is written.
    @discardableResult
    public func update(name: String, files: ProjectedFiles, layout: PodLayout, now: Int64 = WallClock.now()) throws(VolumeError) -> Bool {
        try Self.checkUID(layout)
        let directory = layout.volumeDirectory(name)
        guard VolumePaths.isDNS1123Label(name) else { throw VolumeError(volume: name, path: directory, .invalidVolumeName) }
        let cleaned = try AtomicWriter.clean(files, volume: name, directory: directory)
        return try writeFiles(cleaned, volume: name, directory: directory, secret: files.secret, now: now)
    }

    @discardableResult
    private func writeFiles(_ files: [AtomicWriter.File], volume: String, directory: String, secret: Bool, now: Int64) throws(VolumeError) -> Bool {
        if secret {
            // Never write a secret to a disk: the dir must be the root of a tmpfs.
            let onTmpfs: Bool
            do {
                onTmpfs = try Sys.isMountPoint(directory) ? Sys.filesystemType(directory) == Sys.tmpfsMagic : false
            } catch {
                throw VolumeError(volume: volume, path: directory, .kernel(error))
            }
            guard onTmpfs else { throw VolumeError(volume: volume, path: directory, .secretNotOnTmpfs) }
        }
        return try AtomicWriter(volume: volume, directory: directory).write(files, now: now)
    }

    /// The pod's `/dev/shm`: a tmpfs at `layout.shmDirectory`, mode 1777,
    /// `nodev,nosuid,noexec`, `size` bytes (Docker's and containerd's default is 64 MiB).
    /// Kept if already mounted. Returns its path.
    @discardableResult
    public func prepareShm(layout: PodLayout, size: Int64 = PodLayout.defaultShmSize) throws(VolumeError) -> String {
        try Self.checkUID(layout)
        let path = layout.shmDirectory
        do {
            try Sys.mkdirs(layout.dataDirectory, mode: 0o700)
            do { try Sys.mkdir(path, mode: 0o700) } catch where error.isAlreadyExisting {}
        } catch {
            throw VolumeError(volume: nil, path: path, .kernel(error))
        }
        try mountTmpfs(at: path, volume: nil, flags: [.noSuid, .noDev, .noExec], mode: "1777", size: size)
        return path
    }

    /// Where `image:` containers' overlay upper and work dirs go: `<data>/pods/<uid>/overlay`.
    /// overlayfs refuses an upper dir that is itself on overlayfs (a data root inside a
    /// container, or a VM whose root is an overlay), so there it becomes a tmpfs, sized as
    /// a memory volume: the container's writes then count as memory, as they would in a
    /// `medium: Memory` emptyDir. Elsewhere it is a plain dir.
    @discardableResult
    public func prepareOverlayScratch(layout: PodLayout, podMemoryLimit: Int64?) throws(VolumeError) -> String {
        try Self.checkUID(layout)
        let path = layout.dataDirectory + "/overlay"
        do {
            try Sys.mkdirs(layout.dataDirectory, mode: 0o700)
            do { try Sys.mkdir(path, mode: 0o700) } catch where error.isAlreadyExisting {}
            guard try Sys.filesystemType(layout.dataDirectory) == Sys.overlayfsMagic else { return path }
        } catch {
            throw VolumeError(volume: nil, path: path, .kernel(error))
        }
        try mountTmpfs(at: path, volume: nil, flags: [.noSuid, .noDev], mode: "0700",
                       size: memoryVolumeSize(sizeLimit: nil, podMemoryLimit: podMemoryLimit))
        return path
    }

    // MARK: Sizes

    /// The size of a memory-backed volume (a `medium: Memory` emptyDir, a secret volume's
    /// tmpfs), as kubelet computes it (`calculateEmptyDirMemorySize`): the smallest of the
    /// volume's `sizeLimit`, the pod's memory limit, and the node's allocatable memory,
    /// which here is half of `MemTotal` (`<proc>/meminfo`), the bound Linux gives a tmpfs
    /// mounted without a size. Values that are not positive do not count; nil when none is
    /// known (then the tmpfs gets Linux's default, the same half of RAM).
    public func memoryVolumeSize(sizeLimit: Int64?, podMemoryLimit: Int64?) -> Int64? {
        Self.memoryVolumeSize(sizeLimit: sizeLimit, podMemoryLimit: podMemoryLimit, memTotal: memTotal())
    }

    public static func memoryVolumeSize(sizeLimit: Int64?, podMemoryLimit: Int64?, memTotal: Int64?) -> Int64? {
        [memTotal.map { $0 / 2 }, podMemoryLimit, sizeLimit].compactMap { $0 }.filter { $0 > 0 }.min()
    }

    /// `MemTotal` of `<proc>/meminfo` in bytes; nil when it cannot be read.
    public func memTotal() -> Int64? {
        guard let text = try? Sys.readString(proc + "/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kib = Int64(fields[1]) else { return nil }
            return kib * 1024
        }
        return nil
    }

    // MARK: Helpers

    /// `<data>/pods/<uid>` and `volumes/` 0700, then the volume dir with exactly `mode`.
    private func makeVolumeDirectory(_ name: String, _ layout: PodLayout, mode: UInt32) throws(VolumeError) {
        guard try makeDirectory(name, layout, mode: mode) else {
            throw VolumeError(volume: name, path: layout.volumeDirectory(name), .notADirectory)
        }
    }

    /// False when the path exists and is not a dir.
    private func makeDirectory(_ name: String, _ layout: PodLayout, mode: UInt32) throws(VolumeError) -> Bool {
        let directory = layout.volumeDirectory(name)
        do throws(KernelError) {
            try Sys.mkdirs(layout.dataDirectory + "/volumes", mode: 0o700)
            do {
                try Sys.mkdir(directory, mode: 0o700)
            } catch where error.isAlreadyExisting {
                // Kept, unless it is not a dir (a symlink is never followed), or it is a
                // mount point already (a tmpfs keeps the mode it was mounted with).
                guard try Sys.stat(directory, followSymlinks: false).isDirectory else { return false }
                if try Sys.isMountPoint(directory) { return true }
            }
            try Sys.chmod(directory, mode)
            return true
        } catch {
            throw VolumeError(volume: name, path: directory, .kernel(error))
        }
    }

    /// Mounts a tmpfs at `path` unless one is mounted there already.
    private func mountTmpfs(at path: String, volume: String?, flags: MountFlags, mode: String, size: Int64?) throws(VolumeError) {
        do {
            if try Sys.isMountPoint(path) { return }
            let data = "mode=\(mode)" + (size.map { ",size=\($0)" } ?? "")
            try Sys.mount(source: Self.tmpfsSource, target: path, fstype: "tmpfs", flags: flags, data: data)
        } catch {
            throw VolumeError(volume: volume, path: path, .kernel(error))
        }
    }

    /// The uid names the pod's data dir: it must be one plain path component, or a
    /// teardown would remove the wrong tree.
    static func checkUID(_ layout: PodLayout) throws(VolumeError) {
        let uid = layout.uid
        guard !uid.isEmpty, uid != ".", uid != "..", !uid.contains("/"), !uid.utf8.contains(0) else {
            throw VolumeError(volume: nil, path: layout.dataDirectory, .invalidPodUID(uid))
        }
    }
}
