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
    }

    /// The pod's `/etc/hosts` as `setup` says, the hostname on its first IP.
    public func writeHosts(_ setup: PodSetup, layout: PodLayout) throws {
        _ = try writeHosts(layout: layout, hostname: setup.hostname, aliases: setup.hostAliases, hostNetwork: setup.hostNetwork,
                           podIP: setup.podIPs.first ?? "127.0.0.1")
    }
}
