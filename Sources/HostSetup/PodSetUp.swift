import Kernel
import PodModel

extension PodVolumes {
    /// Prepares the host for a pod exactly as its `PodSetup` says, in the order the pod needs
    /// it: the volumes, the pod's `/dev/shm`, the overlay scratch of image roots,
    /// `/etc/hosts` and `resolv.conf`, then the subPath dirs. Idempotent: a pass that dies
    /// part-way is finished by the next one. Fails when a volume is not where the launch plan
    /// expects it (a hostPath that changed kind since the plan was made): the plan no longer
    /// fits the host, and the next pass plans again.
    public func setUp(_ setup: PodSetup, layout: PodLayout) throws {
        let prepared = try prepare(setup.volumes, layout: layout, podMemoryLimit: setup.memoryLimit)
        for (name, _) in setup.volumes where prepared[name] != setup.expectedVolumes[name] {
            let found = prepared[name].map { $0.isFile ? "a file" : "a directory" } ?? "nothing"
            let wanted = setup.expectedVolumes[name].map { $0.isFile ? "a file" : "a directory" } ?? "nothing"
            throw VolumeError(volume: name, path: prepared[name]?.path ?? layout.volumeDirectory(name),
                              .changedSincePlanned(found: found, planned: wanted))
        }
        if let size = setup.shmSize { _ = try prepareShm(layout: layout, size: size) }
        if setup.overlayScratch { _ = try prepareOverlayScratch(layout: layout, podMemoryLimit: setup.memoryLimit) }
        // A pod that waits for its IP gets its hosts file from the launch, after the ADD.
        if !setup.attached || !setup.podIPs.isEmpty { try writeHosts(setup, layout: layout) }
        _ = try writeResolvConf(layout: layout, dns: setup.dns)
        for dir in setup.subPathDirectories { try Sys.makeDirectories(dir.path, beneath: dir.volume) }
        if let owner = setup.owner { try chown(setup, layout: layout, to: owner) }
    }

    /// A pod with a user namespace: what podrec made for it, chowned to the host id of the
    /// namespace's root (uid and gid), so that the container's root owns it, as it would own
    /// it without a user namespace. emptyDirs (their root), configMap and secret volumes
    /// (every entry: a secret of mode 0400 must stay readable by the container's root),
    /// `/dev/shm`, hosts and resolv.conf, the subPath dirs podrec made. Never a hostPath:
    /// its files keep their host owners, which the namespace shows as nobody (65534).
    /// Done at each set-up, so files a configMap change rewrote are chowned too.
    func chown(_ setup: PodSetup, layout: PodLayout, to owner: UInt32) throws {
        for (name, spec) in setup.volumes {
            switch spec {
            case .emptyDir: try Sys.chown(layout.volumeDirectory(name), uid: owner, gid: owner)
            case .files: try Self.chownTree(layout.volumeDirectory(name), uid: owner, gid: owner)
            case .hostPath: break
            }
        }
        if setup.shmSize != nil { try Sys.chown(layout.shmDirectory, uid: owner, gid: owner) }
        for file in [layout.hostsFile, layout.resolvConfFile] where (try? Sys.stat(file, followSymlinks: false)) != nil {
            try Sys.chown(file, uid: owner, gid: owner)
        }
        for dir in setup.subPathDirectories { try Sys.chown(dir.path, uid: owner, gid: owner) }
    }

    /// lchown of `path` and of everything below it (symlinks themselves, never followed).
    static func chownTree(_ path: String, uid: UInt32, gid: UInt32) throws {
        try Sys.lchownAt(-100 /* AT_FDCWD */, path, uid: uid, gid: gid, describedAs: path)
        guard try Sys.stat(path, followSymlinks: false).isDirectory else { return }
        let dir = try Sys.openDirectory(path)
        defer { Sys.close(dir) }
        for name in try Sys.listDirectory(dir, describedAs: path) {
            try chownTree(path + "/" + name, uid: uid, gid: gid)
        }
    }

    /// The pod's `/etc/hosts` as `setup` says, the hostname on its first IP.
    public func writeHosts(_ setup: PodSetup, layout: PodLayout) throws {
        _ = try writeHosts(layout: layout, hostname: setup.hostname, aliases: setup.hostAliases, hostNetwork: setup.hostNetwork,
                           podIP: setup.podIPs.first ?? "127.0.0.1")
        if let owner = setup.owner { try Sys.chown(layout.hostsFile, uid: owner, gid: owner) }
    }
}
