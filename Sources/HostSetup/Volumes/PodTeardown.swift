import Kernel
import PodModel

extension PodVolumes {
    /// Removes the pod's data dir, `layout.dataDirectory`: first every mount at or under it
    /// (the memory emptyDirs, the secret volumes, `/dev/shm`; found in
    /// `<proc>/self/mountinfo`, deepest first, a stacked mount before the one below it),
    /// then the tree, never following a symlink and never descending into a filesystem
    /// that is still mounted there. A hostPath is never under it; a symlink a container put
    /// in an emptyDir is removed, not followed.
    ///
    /// A busy mount is retried for a short while, then detached (MNT_DETACH) as the last
    /// resort: it leaves the tree at once and is freed when its last user goes.
    ///
    /// Idempotent: a missing data dir is fine.
    public func teardown(layout: PodLayout) throws(VolumeError) {
        try Self.checkUID(layout)
        let directory = layout.dataDirectory
        do throws(KernelError) {
            let st: Sys.FileStatus
            do { st = try Sys.stat(directory, followSymlinks: false) } catch where error.isNotFound { return }
            if st.isDirectory {
                // mountinfo shows paths with every symlink resolved (a data root under a
                // linked /var, say); the data dir itself is not a link.
                let real = try Sys.realPath(directory)
                try unmountAll(under: real)
            }
            try Sys.removeTree(directory)
        } catch {
            throw VolumeError(volume: nil, path: directory, .kernel(error))
        }
        if let left = try? mounts(under: Sys.realPath(parentDirectory(directory)) + "/" + baseName(directory)).first {
            throw VolumeError(volume: nil, path: directory, .mountLeft(left))
        }
    }

    /// The mount points at or under `root`, in the order to unmount them: deepest first,
    /// and of mounts stacked on one path, the last mounted first.
    func mounts(under root: String) throws(KernelError) -> [String] {
        let all = try Sys.mounts(proc: proc)
        var found: [(index: Int, path: String)] = []
        for (i, m) in all.enumerated() where m.mountPoint == root || m.mountPoint.hasPrefix(root + "/") {
            found.append((i, m.mountPoint))
        }
        return found.sorted { a, b in
            let da = a.path.split(separator: "/").count, db = b.path.split(separator: "/").count
            return da != db ? da > db : a.index > b.index
        }.map(\.path)
    }

    private func unmountAll(under root: String) throws(KernelError) {
        // Each pass unmounts what it saw; a path with stacked mounts shows once per mount.
        for _ in 0..<16 {
            let points = try mounts(under: root)
            if points.isEmpty { return }
            for path in points { try unmountPatiently(path) }
        }
    }

    /// umount2, retried on EBUSY for about 100 ms, then detached. A path that is no
    /// longer a mount point (EINVAL) or no longer there is fine.
    private func unmountPatiently(_ path: String) throws(KernelError) {
        for attempt in 0..<10 {
            do {
                try Sys.unmount(path)
                return
            } catch where error.isInvalidArgument || error.isNotFound {
                return
            } catch where error.isBusy && attempt < 9 {
                MonotonicClock.sleep(nanoseconds: 10_000_000)
            } catch where error.isBusy {
                break
            }
        }
        do { try Sys.unmount(path, detach: true) } catch where error.isInvalidArgument || error.isNotFound {}
    }
}
