/// A pod volume as the host side prepares it: resolved from the manifest (configMap and
/// secret contents included), with nothing left to look up. `PodVolumes` turns these into
/// directories and files under the pod's data dir.
public enum VolumeSpec: Sendable, Hashable {
    /// A dir under the data root, or with `memory` a tmpfs. `sizeLimit` in bytes.
    case emptyDir(memory: Bool, sizeLimit: Int64?)
    /// A host path, checked (or created) by its Kubernetes type when the pod starts.
    case hostPath(path: String, type: HostPathType)
    /// configMap and secret volumes: files written through a `..data` symlink swap, as
    /// kubelet's AtomicWriter does. `secret` puts them on a tmpfs.
    case files(ProjectedFiles)
}

/// `hostPath.type`, with kubelet's checks.
public enum HostPathType: String, Sendable, Hashable, CaseIterable {
    /// No check.
    case unset = ""
    case directoryOrCreate = "DirectoryOrCreate"
    case directory = "Directory"
    case fileOrCreate = "FileOrCreate"
    case file = "File"
    case socket = "Socket"
    case charDevice = "CharDevice"
    case blockDevice = "BlockDevice"
}

/// The files of a configMap or secret volume.
public struct ProjectedFiles: Sendable, Hashable {
    public struct File: Sendable, Hashable {
        /// Relative, validated by the manifest layer: no `..`, not absolute.
        public var path: String
        public var bytes: [UInt8]
        public var mode: UInt32

        public init(path: String, bytes: [UInt8], mode: UInt32) {
            self.path = path
            self.bytes = bytes
            self.mode = mode
        }
    }

    public var files: [File]
    /// On a tmpfs, never on disk.
    public var secret: Bool

    public init(files: [File], secret: Bool) {
        self.files = files
        self.secret = secret
    }
}

/// A volume ready to be bound into the pod's containers.
public struct PreparedVolume: Sendable, Hashable {
    /// The host path to bind: the volume dir, or the hostPath itself.
    public var path: String
    /// The path is not a directory (a hostPath file, socket or device), so the container
    /// needs a file, not a dir, to mount it on.
    public var isFile: Bool
    /// configMap and secret volumes: kubelet mounts them read-only whatever the
    /// volumeMount says, and so should the caller.
    public var readOnly: Bool

    public init(path: String, isFile: Bool, readOnly: Bool = false) {
        self.path = path
        self.isFile = isFile
        self.readOnly = readOnly
    }
}

/// A subPath to create inside its volume.
public struct SubPathDirectory: Sendable, Hashable {
    /// The volume's host path.
    public var volume: String
    /// Relative to `volume`, symlinks resolved, no `..`.
    public var path: String

    public init(volume: String, path: String) {
        self.volume = volume
        self.path = path
    }
}

/// What the reconciler prepares on the host before it starts a pod's supervisor. It is
/// computed once, with the launch plan, and carried by the plan's actions, so that `apply`
/// prepares exactly what `diff` planned and never goes back to the manifest.
public struct PodSetup: Sendable {
    /// The pod's volumes in spec order, their contents resolved (secret bytes included:
    /// `diff` prints none of this).
    public var volumes: [(name: String, spec: VolumeSpec)]
    /// Where the launch plan's mounts expect each volume on the host. Preparing the volumes
    /// must give exactly these, or the plan no longer fits the host.
    public var expectedVolumes: [String: PreparedVolume]
    /// The pod's memory limit in bytes, when it has one: bounds its memory-backed volumes,
    /// its secrets' tmpfs and its overlay scratch.
    public var memoryLimit: Int64?
    /// The size of the pod's own `/dev/shm` tmpfs; nil with hostIPC (the host's is used).
    public var shmSize: Int64?
    /// Some container has an image root: the tmpfs for its overlay upper and work dirs.
    public var overlayScratch: Bool
    /// `/etc/hosts`: the pod's hostname, its hostAliases, and whether the pod has the host's
    /// network (then the host's own names).
    public var hostname: String
    public var hostAliases: [(ip: String, hostnames: [String])]
    public var hostNetwork: Bool
    /// The pod gets its IP from its network attachment at start: `/etc/hosts`, which maps
    /// the hostname to that IP, is written once the attachment has given it.
    public var attached: Bool = false
    /// The pod's IPs, once known (a running pod's); the hostname's line uses the first.
    public var podIPs: [String] = []
    /// `/etc/resolv.conf`: the pod's `dnsPolicy` and `dnsConfig` (`ResolvConf`).
    public var dns = PodDNS()
    /// SubPaths that do not exist yet, made before the start.
    public var subPathDirectories: [SubPathDirectory]
    /// With a user namespace: the host id of its root, which the pod's emptyDirs, its
    /// configMap and secret files, its `/dev/shm`, hosts and resolv.conf are chowned to
    /// (uid and gid), so that the container's root owns them. nil: host root keeps them.
    public var owner: UInt32?

    public init(volumes: [(name: String, spec: VolumeSpec)] = [], expectedVolumes: [String: PreparedVolume] = [:], memoryLimit: Int64? = nil,
                shmSize: Int64? = PodLayout.defaultShmSize, overlayScratch: Bool = false, hostname: String = "",
                hostAliases: [(ip: String, hostnames: [String])] = [], hostNetwork: Bool = false, subPathDirectories: [SubPathDirectory] = []) {
        self.volumes = volumes
        self.expectedVolumes = expectedVolumes
        self.memoryLimit = memoryLimit
        self.shmSize = shmSize
        self.overlayScratch = overlayScratch
        self.hostname = hostname
        self.hostAliases = hostAliases
        self.hostNetwork = hostNetwork
        self.subPathDirectories = subPathDirectories
    }
}
