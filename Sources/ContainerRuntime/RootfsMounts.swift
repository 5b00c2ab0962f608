import Spawn
import PodModel

/// What a container's `/` is made from.
public enum ContainerRoot: Sendable, Hashable {
    /// `image: host`: a fresh tmpfs with the host's allowlisted system dirs bound read-only.
    case host
    /// `image: NAME[:TAG]`: an overlayfs of the stored image's layers (lower, top first,
    /// never written) with this container's private `upper` and `work` dirs, which the
    /// caller creates, empty, on the same filesystem.
    case image(layers: [String], upper: String, work: String)

    public static func image(rootfs: String, upper: String, work: String) -> ContainerRoot {
        .image(layers: [rootfs], upper: upper, work: work)
    }
}

/// One volume as the container sees it: a host path bound at `target`.
public struct VolumeMount: Sendable, Hashable {
    /// Whether the source is a directory or a single file (a file needs a file mount point).
    public enum Kind: Sendable, Hashable { case directory, file }

    /// The host path (an emptyDir, a hostPath, a configMap dir...).
    public var source: String
    /// Absolute, inside the container.
    public var target: String
    public var readOnly: Bool
    public var kind: Kind
    /// For a subPath: the volume's host path, which `source` lies inside. The part of
    /// `source` below it is opened at each start without following symlinks, since the
    /// container may have rewritten it (`MountStep.bindBeneath`).
    public var beneath: String?

    public init(source: String, target: String, readOnly: Bool = false, kind: Kind = .directory, beneath: String? = nil) {
        self.source = source
        self.target = target
        self.readOnly = readOnly
        self.kind = kind
        self.beneath = beneath
    }
}

/// Everything the root filesystem of one container depends on. Nothing here is read
/// from the host by `ContainerRootfs`: what exists there comes in as `hostEntries`
/// (`HostSystemDirectories.probe()`).
public struct RootfsRequest: Sendable, Hashable {
    public var root: ContainerRoot
    /// A host dir the new root is mounted on and pivoted into, such as
    /// `<state>/pods/<pod>/roots/<container>`; the caller creates it. It is the only path
    /// the mounts need on the host: every other mount point is made inside the new root.
    public var scratch: String
    /// Bound last, in the order of `ContainerRootfs.volumeOrder`.
    public var volumes: [VolumeMount]
    /// The pod's `/dev/shm` (a tmpfs the pod holds), bound into every container of the pod.
    /// nil: the container gets a `/dev/shm` of its own.
    public var sharedShm: String?
    /// The container has a network namespace of its own (not `hostNetwork`), so it may mount
    /// a sysfs of its own; with the host's network it gets the host's `/sys`, bound read-only.
    public var ownNetworkNamespace: Bool
    /// For `.host`: which allowlisted dirs exist on the host, and how.
    public var hostEntries: [String: HostEntry]
    /// `readOnlyRootFilesystem`: the root and its private writable dirs are made read-only
    /// after the volumes are mounted; volumes and `/dev/shm` keep their own modes.
    public var readOnlyRoot: Bool = false
    /// containerd's masked and read-only kernel paths (`/proc/kcore`, `/proc/sysrq-trigger`,
    /// `/proc/sys`, ...): on, except for a privileged container.
    public var maskKernelPaths: Bool = true
    /// The pod has a user namespace whose root is this host id: the container's tmpfs
    /// mounts (`/`, `/dev`, `/tmp`, ...) are owned by it (devpts keeps gid 5, the host's tty
    /// group, unmapped inside: older kernels' devpts, 6.1's for one, parse gid= as a signed
    /// int, and the ranges start at 2^31), and its root is idmapped (`MountStep.idmap`) so that files host root owns
    /// show as owned by the namespace's root: an image's overlay (needed, or the container
    /// could not write its own `/`; overlayfs takes an idmap from Linux 5.19) and the host
    /// dirs of `image: host` (best effort: read-only, readable by all either way). The
    /// spawn must enter that namespace (`SpawnRequest.userNamespace`). nil: no namespace.
    public var userNamespaceRoot: UInt32?

    public init(root: ContainerRoot, scratch: String, volumes: [VolumeMount] = [], sharedShm: String? = nil,
                ownNetworkNamespace: Bool = true, hostEntries: [String: HostEntry] = [:]) {
        self.root = root
        self.scratch = scratch
        self.volumes = volumes
        self.sharedShm = sharedShm
        self.ownNetworkNamespace = ownNetworkNamespace
        self.hostEntries = hostEntries
    }
}

/// The mount steps for a spawn (`SpawnRequest.mounts`) and the dir to pivot into
/// (`SpawnRequest.rootfs`). The spawn must unshare (or join) a mount namespace; a sysfs of
/// its own (`ownNetworkNamespace`) also needs a network namespace of its own.
public struct RootfsMounts: Sendable, Hashable {
    public var mounts: [MountStep]
    public var rootfs: String

    public init(mounts: [MountStep], rootfs: String) {
        self.mounts = mounts
        self.rootfs = rootfs
    }
}

/// A path `ContainerRootfs` will not join under the new root (or use on the host).
public struct RootfsError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable {
        case notAbsolute
        case parentComponent
        /// A volume on `/` itself, which would hide the whole root.
        case isRoot
        /// A `,`, `:` or `\\` in a path of the overlay's options, which would split them.
        case overlayOptionCharacter
        /// A subPath source that does not lie inside its volume.
        case outsideVolume(String)
        /// An overlay's options over the page mount(2) takes: too many image layers.
        case overlayOptionsTooLong
    }

    /// What the path is: `volume 0 target`, `volume 2 source`, `scratch dir`, `shared /dev/shm`, ...
    public var what: String
    public var path: String
    public var reason: Reason

    public init(what: String, path: String, reason: Reason) {
        self.what = what
        self.path = path
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .notAbsolute: return "\(what) \(path.debugDescription): not an absolute path"
        case .parentComponent: return "\(what) \(path.debugDescription): a '..' component is not allowed"
        case .isRoot: return "\(what) \(path.debugDescription): cannot be /"
        case .overlayOptionCharacter: return "\(what) \(path.debugDescription): ',', ':' and '\\\\' cannot be used in overlayfs options"
        case .outsideVolume(let volume): return "\(what) \(path.debugDescription): not inside its volume \(volume.debugDescription)"
        case .overlayOptionsTooLong: return "\(what) (\(path)): the overlayfs options exceed the 4095 bytes mount(2) takes; use a shorter data root or fewer layers"
        }
    }
}
