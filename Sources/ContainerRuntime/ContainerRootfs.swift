import Kernel
import Spawn

/// The root filesystem of one container as mount steps, exactly as ARCHITECTURE's
/// "Containers: root filesystem" says. Pure: no I/O, no clock.
///
/// The steps, in order, with R the scratch dir:
/// 1. `/` made private, recursively: nothing propagates back to the host.
/// 2. The root at R: a tmpfs (`image: host`; 64 MiB, mode 0755, nodev,nosuid) or an
///    overlayfs of the image with the container's own upper and work dirs.
/// 3. `image: host` only: the allowlisted host dirs that exist, bound recursively and made
///    read-only recursively; a symlink on the host (`/lib -> usr/lib`) is made again as the
///    same symlink.
/// 4. `/proc` (a fresh procfs: it shows the PID namespace the process ends up in, its own or
///    a joined or the host's, so the mounts need no flag for it); `/dev` (a tmpfs with the
///    host's null, zero, full, random, urandom and tty bound in as files, the fd and stdio
///    symlinks, `ptmx -> pts/ptmx`, its own devpts at `/dev/pts`, and `/dev/shm`); `/sys` read-only; containerd's masked
///    and read-only kernel paths (not for privileged containers); a private `/tmp`; and for
///    `image: host` private `/var`, `/run` and `/home` as well.
/// 5. The volumes, mount points made inside the new root.
/// 6. `readOnlyRootFilesystem`: the root and the private dirs remounted read-only.
/// Then `pivot_root` into R (`RootfsMounts.rootfs`).
public enum ContainerRootfs {
    /// The tmpfs root of `image: host` (it holds only mount points and symlinks).
    public static let hostRootSize: UInt64 = 64 << 20
    /// `/dev`: mount points and symlinks only.
    public static let devSize: UInt64 = 64 << 10
    /// A container's own `/dev/shm`, when the pod shares none: Docker's default.
    public static let shmSize: UInt64 = 64 << 20
    /// Device nodes bound from the host's `/dev`, as files.
    public static let devices = ["null", "zero", "full", "random", "urandom", "tty"]
    /// containerd's default masked paths (`oci.populateDefaultUnixSpec`), as runc masks
    /// them: a file gets /dev/null bound over it, a directory an empty read-only tmpfs.
    public static let maskedFiles = ["/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                                     "/proc/timer_stats", "/proc/sched_debug"]
    public static let maskedDirectories = ["/proc/acpi", "/proc/asound", "/proc/scsi", "/sys/firmware",
                                           "/sys/devices/virtual/powercap"]
    /// containerd's default read-only paths: bound onto themselves, read-only. A container
    /// runs as real root (no user namespace), and root may write `/proc/sysrq-trigger`.
    public static let readOnlyKernelPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    /// runc's default devpts: a new instance, `ptmx` usable by everyone, terminals owned by
    /// the `tty` group (5) with mode 0620.
    public static let devptsOptions = "newinstance,ptmxmode=0666,mode=0620,gid=5"
    /// Symlinks in `/dev`.
    public static let devSymlinks: [(name: String, target: String)] = [
        ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"),
    ]

    public static func mounts(_ request: RootfsRequest) throws(RootfsError) -> RootfsMounts {
        let root = try hostPath(request.scratch, what: "scratch dir")
        if root == "/" { throw RootfsError(what: "scratch dir", path: request.scratch, reason: .isRoot) }
        var steps: [MountStep] = [.makePrivate("/")]
        func at(_ path: String) -> String { root + path }
        let owner = request.userNamespaceRoot
        // A tmpfs, owned by the user namespace's root when the pod has one.
        func tmpfs(_ at: String, size: UInt64? = nil, mode: UInt32? = nil) -> MountStep {
            guard let owner else { return .tmpfs(at: at, size: size, mode: mode) }
            let options = [size.map { "size=\($0)" }, mode.map { "mode=" + String($0, radix: 8) }, "uid=\(owner)", "gid=\(owner)"].compactMap { $0 }
            return .mount(source: "tmpfs", target: at, fstype: "tmpfs", flags: MountFlags([.noDev, .noSuid]).rawValue,
                          data: options.joined(separator: ","))
        }

        switch request.root {
        case .host:
            steps.append(tmpfs(root, size: hostRootSize, mode: 0o755))
            for name in HostSystemDirectories.allowlist {
                switch request.hostEntries[name] {
                case .directory where owner != nil:
                    // An idmapped clone instead of the bind (an unmapped one where the host's
                    // filesystem takes no idmap), then read-only.
                    steps += [.directory(at("/" + name)), .idmap(from: "/" + name, at: at("/" + name), recursive: true, optional: true),
                              .readOnly(at: at("/" + name))]
                case .directory:
                    steps += [.directory(at("/" + name)), .bind(from: "/" + name, to: at("/" + name), recursive: true, readOnly: true)]
                case .symlink(let target):
                    steps.append(.symlink(at("/" + name), target: target))
                case nil:
                    break
                }
            }
        case .image(let layers, let upper, let work):
            var lowers: [String] = []
            for layer in layers { lowers.append(try overlayPath(layer, what: "image layer")) }
            guard !lowers.isEmpty else { throw RootfsError(what: "image layer", path: "", reason: .notAbsolute) }
            let upper = try overlayPath(upper, what: "upper dir")
            let work = try overlayPath(work, what: "work dir")
            if owner != nil {
                // An overlayfs mount cannot itself be idmapped; its lower layers can (Linux
                // 5.19), as containerd does it: each gets an idmapped clone mounted on a dir
                // inside the scratch dir, which the overlay then covers. What host root owns
                // in the image shows as the namespace's root. The upper dir is not idmapped
                // (overlayfs makes its work dir there as the mounter, host root, whom the
                // idmap cannot name): its root is owned by the namespace's root (the caller
                // chowns it), and what the container writes or copies up is stored with its
                // host ids, as in an emptyDir.
                var mapped: [String] = []
                for (i, layer) in lowers.enumerated() {
                    let point = root + "/.podrec-layer-\(i)"
                    steps += [.directory(point, mode: 0o700), .idmap(from: layer, at: point, recursive: false)]
                    mapped.append(point)
                }
                lowers = mapped
            }
            let data = overlayOptions(lower: lowers.joined(separator: ":"), upper: upper, work: work)
            // mount(2) takes one page of options; a deeper stack needs the new mount API.
            guard data.utf8.count < 4096 else {
                throw RootfsError(what: "image layers", path: "\(lowers.count) layers", reason: .overlayOptionsTooLong)
            }
            steps.append(.mount(source: "overlay", target: root, fstype: "overlay", flags: 0, data: data))
        }

        // /proc
        steps += [.directory(at("/proc"), mode: 0o555), .proc(at: at("/proc"))]
        // /dev
        steps += [.directory(at("/dev")), tmpfs(at("/dev"), size: devSize, mode: 0o755)]
        for name in devices {
            steps += [.file(at("/dev/" + name), mode: 0o666), .bind(from: "/dev/" + name, to: at("/dev/" + name), recursive: false)]
        }
        for link in devSymlinks { steps.append(.symlink(at("/dev/" + link.name), target: link.target)) }
        // The container's own devpts instance, as runc mounts it: its terminals (`exec -t`)
        // are numbered from 0 and none of the host's is visible.
        steps += [.directory(at("/dev/pts")),
                  .mount(source: "devpts", target: at("/dev/pts"), fstype: "devpts", flags: MountFlags([.noSuid, .noExec]).rawValue,
                         data: devptsOptions)]
        steps.append(.directory(at("/dev/shm"), mode: 0o1777))
        if let shm = request.sharedShm {
            steps.append(.bind(from: try hostPath(shm, what: "shared /dev/shm"), to: at("/dev/shm"), recursive: false))
        } else {
            steps.append(.mount(source: "shm", target: at("/dev/shm"), fstype: "tmpfs", flags: MountFlags([.noSuid, .noDev, .noExec]).rawValue,
                                data: "mode=1777,size=\(shmSize)" + (owner.map { ",uid=\($0),gid=\($0)" } ?? "")))
        }
        // /sys
        steps.append(.directory(at("/sys"), mode: 0o555))
        if request.ownNetworkNamespace {
            steps.append(.mount(source: "sysfs", target: at("/sys"), fstype: "sysfs", flags: MountFlags([.readOnly, .noSuid, .noDev, .noExec]).rawValue, data: nil))
        } else {
            steps.append(.bind(from: "/sys", to: at("/sys"), recursive: true, readOnly: true))
        }
        // Kernel paths a container has no business writing or reading. Each only if the
        // kernel has it.
        if request.maskKernelPaths {
            for path in maskedFiles {
                steps.append(.ifPresent(.bind(from: "/dev/null", to: at(path), recursive: false)))
            }
            for path in maskedDirectories {
                steps.append(.ifPresent(.mount(source: "tmpfs", target: at(path), fstype: "tmpfs",
                                               flags: MountFlags([.readOnly, .noSuid, .noDev, .noExec]).rawValue, data: "size=0")))
            }
            for path in readOnlyKernelPaths {
                steps.append(.ifPresent(.bind(from: at(path), to: at(path), recursive: true, readOnly: true)))
            }
        }
        // Private writable dirs.
        steps += [.directory(at("/tmp"), mode: 0o1777), tmpfs(at("/tmp"), mode: 0o1777)]
        if request.root == .host {
            for dir in ["/var", "/run", "/home"] { steps += [.directory(at(dir)), tmpfs(at(dir), mode: 0o755)] }
        }

        // Volumes, mount points made inside the new root (each missing parent too: the
        // spawn's mkdir is not recursive, and an existing dir is fine).
        var made = Set<String>()
        for entry in try volumeOrder(request.volumes) {
            let source = try hostPath(entry.volume.source, what: "volume \(entry.index) source")
            let target = entry.target
            var components = target.split(separator: "/").map(String.init)
            let last = components.removeLast()
            var parent = ""
            for component in components {
                parent += "/" + component
                if made.insert(parent).inserted { steps.append(.directory(at(parent))) }
            }
            let point = parent + "/" + last
            switch entry.volume.kind {
            case .directory:
                if made.insert(point).inserted { steps.append(.directory(at(point))) }
            case .file:
                steps.append(.file(at(point)))
            }
            if let beneath = entry.volume.beneath {
                let base = try hostPath(beneath, what: "volume \(entry.index) of the subPath")
                let what = "volume \(entry.index) source"
                let prefix = base == "/" ? "/" : base + "/"
                guard source.hasPrefix(prefix), source.count > prefix.count else {
                    throw RootfsError(what: what, path: source, reason: .outsideVolume(base))
                }
                steps.append(.bindBeneath(volume: base, path: String(source.dropFirst(prefix.count)), to: at(point),
                                          readOnly: entry.volume.readOnly))
            } else {
                steps.append(.bind(from: source, to: at(point), recursive: true, readOnly: entry.volume.readOnly))
            }
        }
        if request.readOnlyRoot {
            // Last, once the volumes' mount points exist: a per-mount read-only flag
            // (MS_REMOUNT|MS_BIND) on the root and the private dirs only, not recursive, so
            // the volumes keep their own; a remount replaces the flags, so nosuid and nodev
            // are given again.
            let flags = MountFlags([.remount, .bind, .readOnly, .noSuid, .noDev]).rawValue
            var points = [root, at("/tmp")]
            if request.root == .host { points += ["/var", "/run", "/home"].map(at) }
            for point in points { steps.append(.mount(source: nil, target: point, fstype: nil, flags: flags, data: nil)) }
        }

        return RootfsMounts(mounts: steps, rootfs: root)
    }

    /// `lowerdir=L,upperdir=U,workdir=W`.
    public static func overlayOptions(lower: String, upper: String, work: String) -> String {
        "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)"
    }

    /// The volumes with their targets made safe (`/a/./b/` → `/a/b`), in mount order: fewer
    /// components first, so `/data` is bound before `/data/cache` and does not hide it; the
    /// manifest order otherwise. `index` is the position in `volumes`.
    public static func volumeOrder(_ volumes: [VolumeMount]) throws(RootfsError) -> [(index: Int, target: String, volume: VolumeMount)] {
        var out: [(index: Int, target: String, volume: VolumeMount)] = []
        for (i, volume) in volumes.enumerated() {
            let target = try containerPath(volume.target, what: "volume \(i) target")
            if target == "/" { throw RootfsError(what: "volume \(i) target", path: volume.target, reason: .isRoot) }
            out.append((i, target, volume))
        }
        func depth(_ path: String) -> Int { path.utf8.filter { $0 == UInt8(ascii: "/") }.count }
        // A stable sort: by depth, then by position.
        return out.sorted { (depth($0.target), $0.index) < (depth($1.target), $1.index) }
    }

    /// `path` as a normalized absolute path inside the container: no empty or `.`
    /// components, and refused if it is relative or has a `..` component.
    public static func containerPath(_ path: String, what: String) throws(RootfsError) -> String {
        try normalized(path, what: what)
    }

    /// The same rules for a host path the mounts use (scratch, image, volume sources).
    static func hostPath(_ path: String, what: String) throws(RootfsError) -> String {
        try normalized(path, what: what)
    }

    /// A host path for the overlay's option string, where `,` separates options and `:`
    /// lower dirs (and `\\` escapes them): refused rather than escaped.
    static func overlayPath(_ path: String, what: String) throws(RootfsError) -> String {
        let p = try normalized(path, what: what)
        if p.contains(where: { $0 == "," || $0 == ":" || $0 == "\\" }) {
            throw RootfsError(what: what, path: path, reason: .overlayOptionCharacter)
        }
        return p
    }

    static func normalized(_ path: String, what: String) throws(RootfsError) -> String {
        guard path.hasPrefix("/") else { throw RootfsError(what: what, path: path, reason: .notAbsolute) }
        var parts: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." { throw RootfsError(what: what, path: path, reason: .parentComponent) }
            parts.append(component)
        }
        return "/" + parts.joined(separator: "/")
    }
}
