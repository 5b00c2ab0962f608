import Glibc
import Kernel

/// A path inside an image: normalized components, none empty, `.` or `..`. The empty
/// path is the rootfs itself.
struct EntryPath: Hashable, CustomStringConvertible {
    var components: [String]

    /// Normalizes an entry name as tar does: leading `/` and `./` are dropped, `//` and
    /// `.` components ignored. A `..` component anywhere is refused, never resolved.
    init(_ raw: String, source: String) throws(ImageError) {
        var out: [String] = []
        for part in raw.split(separator: "/") where part != "." {
            if part == ".." {
                throw .refusedEntry(source: source, entry: raw, reason: "the path has a '..' component")
            }
            if part.utf8.contains(0) {
                throw .refusedEntry(source: source, entry: raw, reason: "the path holds a NUL byte")
            }
            out.append(String(part))
        }
        components = out
    }

    init(components: [String]) {
        self.components = components
    }

    var isRoot: Bool { components.isEmpty }
    var name: String { components.last ?? "." }
    var parent: EntryPath { EntryPath(components: Array(components.dropLast())) }
    var description: String { components.isEmpty ? "." : components.joined(separator: "/") }

    func appending(_ name: String) -> EntryPath { EntryPath(components: components + [name]) }
}

/// What an entry keeps from its source: owner, mode (setuid, setgid and sticky bits
/// included), modification time and extended attributes.
struct EntryAttributes {
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var mtime: timespec
    var xattrs: [Xattr] = []
}

struct Xattr: Hashable {
    var name: String
    var value: [UInt8]
}

/// Where the entries of a tar or a directory tree go: a tree on disk (`RootfsWriter`), a
/// tar (`TarWriter`), the blobs of an archive (`ArchiveReader`). Paths are already checked
/// (`EntryPath`); each sink refuses what it cannot hold.
protocol TarSink {
    /// The sink's location, for messages.
    var rootPath: String { get }
    mutating func directory(_ path: EntryPath, _ attributes: EntryAttributes, entry: String) throws(ImageError)
    /// A regular file of `size` bytes, which `write` writes to the fd it is given.
    mutating func file(_ path: EntryPath, _ attributes: EntryAttributes, size: Int64, entry: String,
                       write: (Int32) throws(ImageError) -> Void) throws(ImageError)
    mutating func symlink(_ path: EntryPath, target: String, _ attributes: EntryAttributes, entry: String) throws(ImageError)
    mutating func hardLink(_ path: EntryPath, to target: EntryPath, entry: String, targetName: String) throws(ImageError)
    mutating func whiteout(_ path: EntryPath, entry: String) throws(ImageError)
    mutating func opaque(_ path: EntryPath, entry: String) throws(ImageError)
}

/// Builds an image's rootfs below a directory only the importer can reach.
///
/// No path is ever resolved through what the image put in the tree: every operation walks
/// from the rootfs's directory fd, one component at a time, with `O_NOFOLLOW`, so an
/// entry `link/evil` after `link -> /tmp/x` fails instead of writing `/tmp/x/evil` (the
/// classic tar-slip). Symlinks are created, never followed; their targets must stay
/// inside the rootfs. Directory modes and times are applied at `finish()`, deepest first,
/// so a read-only directory can still be filled and its mtime is not disturbed.
struct RootfsWriter: TarSink {
    /// The tar file or source directory, for messages.
    let source: String
    /// The rootfs on the host, for messages about host calls.
    let rootPath: String
    let rootFD: Int32
    /// Owners are kept only when running as root; otherwise everything belongs to the
    /// importer, as `tar` does for non-root users.
    let keepOwners: Bool
    /// Regular files extracted so far: what a hard link may point to.
    private(set) var regularFiles: Set<EntryPath> = []
    /// Directories and the attributes to give them at the end.
    private var directories: [EntryPath: EntryAttributes] = [:]
    /// Bytes of regular files (each inode once) and symlink targets.
    private(set) var size: Int64 = 0

    init(source: String, rootPath: String) throws(ImageError) {
        self.source = source
        self.rootPath = rootPath
        self.rootFD = try sys { () throws(KernelError) in try Sys.open(rootPath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) }
        self.keepOwners = geteuid() == 0
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        directories[EntryPath(components: [])] = EntryAttributes(mode: 0o755, uid: 0, gid: 0, mtime: now)
    }

    func close() {
        Sys.close(rootFD)
    }

    private func refuse(_ entry: String, _ reason: String) -> ImageError {
        .refusedEntry(source: source, entry: entry, reason: reason)
    }

    private func hostPath(_ path: EntryPath) -> String {
        path.isRoot ? rootPath : rootPath + "/" + path.description
    }

    // MARK: Entries

    mutating func directory(_ path: EntryPath, _ attributes: EntryAttributes, entry: String) throws(ImageError) {
        if !path.isRoot {
            let parent = try openDirectory(path.parent, entry: entry, create: true)
            defer { Sys.close(parent) }
            if let existing = try status(parent, path) {
                if existing.type != S_IFDIR {
                    try removeExisting(parent, path, existing, entry: entry)
                    try sys { () throws(KernelError) in try Sys.mkdirAt(parent, path.name, mode: 0o700, describedAs: hostPath(path)) }
                }
            } else {
                try sys { () throws(KernelError) in try Sys.mkdirAt(parent, path.name, mode: 0o700, describedAs: hostPath(path)) }
            }
        }
        directories[path] = attributes
    }

    /// Creates a regular file and lets `write` fill it through its fd.
    mutating func file(_ path: EntryPath, _ attributes: EntryAttributes, size bytes: Int64, entry: String,
                       write: (Int32) throws(ImageError) -> Void) throws(ImageError) {
        guard !path.isRoot else { throw refuse(entry, "the root of an image must be a directory") }
        let parent = try openDirectory(path.parent, entry: entry, create: true)
        defer { Sys.close(parent) }
        try replaceIfPresent(parent, path, entry: entry)
        let where_ = hostPath(path)
        let fd = try sys { () throws(KernelError) in
            try Sys.openat(parent, path.name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600, describedAs: where_)
        }
        defer { Sys.close(fd) }
        try write(fd)
        try sys { () throws(KernelError) in
            // chown first: it clears setuid and setgid, which the chmod then restores, and
            // file capabilities, which the xattrs then set.
            if keepOwners { try Sys.fchown(fd, uid: attributes.uid, gid: attributes.gid, describedAs: where_) }
            try Self.setXattrs(fd, attributes.xattrs, describedAs: where_)
            try Sys.fchmod(fd, attributes.mode & 0o7777, describedAs: where_)
            try Sys.futimens(fd, attributes.mtime, describedAs: where_)
        }
        regularFiles.insert(path)
        size += bytes
    }

    mutating func symlink(_ path: EntryPath, target: String, _ attributes: EntryAttributes, entry: String) throws(ImageError) {
        guard !path.isRoot else { throw refuse(entry, "the root of an image must be a directory") }
        if let reason = Self.escapeProblem(link: path, target: target) { throw refuse(entry, reason) }
        let parent = try openDirectory(path.parent, entry: entry, create: true)
        defer { Sys.close(parent) }
        try replaceIfPresent(parent, path, entry: entry)
        let where_ = hostPath(path)
        try sys { () throws(KernelError) in
            try Sys.symlinkAt(target, parent, path.name, describedAs: where_)
            if keepOwners { try Sys.lchownAt(parent, path.name, uid: attributes.uid, gid: attributes.gid, describedAs: where_) }
            try Sys.setModificationTime(parent, path.name, attributes.mtime, describedAs: where_)
        }
        size += Int64(target.utf8.count)
    }

    /// A hard link to a regular file extracted earlier in the same import.
    mutating func hardLink(_ path: EntryPath, to target: EntryPath, entry: String, targetName: String) throws(ImageError) {
        guard !path.isRoot else { throw refuse(entry, "the root of an image must be a directory") }
        guard regularFiles.contains(target) else {
            throw refuse(entry, "a hard link to \"\(targetName)\", which is not a regular file extracted before it")
        }
        let targetParent = try openDirectory(target.parent, entry: entry, create: false)
        defer { Sys.close(targetParent) }
        guard let st = try status(targetParent, target), st.type == S_IFREG else {
            throw refuse(entry, "a hard link to \"\(targetName)\", which is no longer a regular file")
        }
        if path == target { return }
        let parent = try openDirectory(path.parent, entry: entry, create: true)
        defer { Sys.close(parent) }
        try replaceIfPresent(parent, path, entry: entry)
        try sys { () throws(KernelError) in
            try Sys.linkAt(targetParent, target.name, parent, path.name, describedAs: hostPath(path), target: hostPath(target))
        }
        regularFiles.insert(path)
    }

    /// An overlayfs whiteout for `path`: a 0/0 character device, which hides `path` of the
    /// layers below when this layer is stacked over them (image-spec layer.md, "Whiteouts";
    /// overlayfs.rst, "whiteouts and opaque directories"). Whatever this layer put at
    /// `path` before is replaced, as a later entry replaces an earlier one.
    mutating func whiteout(_ path: EntryPath, entry: String) throws(ImageError) {
        guard !path.isRoot else { throw refuse(entry, "a whiteout of the root") }
        let parent = try openDirectory(path.parent, entry: entry, create: true)
        defer { Sys.close(parent) }
        try replaceIfPresent(parent, path, entry: entry)
        do {
            try Sys.mknodCharacterAt(parent, path.name, mode: 0, major: 0, minor: 0, describedAs: hostPath(path))
        } catch {
            // On an overlayfs data root, mknod 0/0 is the overlay's own whiteout and fails
            // (EPERM, or EOPNOTSUPP on some kernels): say where the store must live instead.
            if (try? Sys.filesystemType(rootPath)) == Self.overlayfsMagic {
                throw refuse(entry, "a whiteout, which the image store cannot hold on overlayfs (\(rootPath)); put the data root (--data-root, $PODREC_DATA_ROOT) on ext4, xfs, btrfs or tmpfs")
            }
            if error.errno.rawValue == EPERM { throw refuse(entry, "a whiteout, which needs root to create (an overlayfs 0/0 device)") }
            throw .kernel(error)
        }
    }

    /// statfs(2)'s f_type of overlayfs (linux/magic.h, OVERLAYFS_SUPER_MAGIC).
    static let overlayfsMagic: Int64 = 0x794C_7630

    /// Marks directory `path` opaque: none of the lower layers' entries in it show through
    /// (`trusted.overlay.opaque=y`). The directory's own entries in this layer stay.
    mutating func opaque(_ path: EntryPath, entry: String) throws(ImageError) {
        let fd = try openDirectory(path, entry: entry, create: true)
        defer { Sys.close(fd) }
        do {
            try Sys.setXattr(fd, "trusted.overlay.opaque", Array("y".utf8), describedAs: hostPath(path))
        } catch {
            if error.errno.rawValue == EPERM { throw refuse(entry, "an opaque directory, which needs root to mark (trusted.overlay.opaque)") }
            throw .kernel(error)
        }
    }

    /// Sets `xattrs` on `fd`; a filesystem or namespace that does not take one (ENOTSUP,
    /// or EPERM for `security.*` without privilege) skips it, as containerd does.
    static func setXattrs(_ fd: Int32, _ xattrs: [Xattr], describedAs path: String) throws(KernelError) {
        for x in xattrs {
            do { try Sys.setXattr(fd, x.name, x.value, describedAs: path) } catch {
                let e = error.errno.rawValue
                if e == ENOTSUP || e == EOPNOTSUPP || (e == EPERM && !x.name.hasPrefix("user.")) { continue }
                throw error
            }
        }
    }

    /// Gives every directory its mode, owner and time, deepest first, and flushes the
    /// filesystem. Each directory is opened with O_NOFOLLOW, so a directory replaced by a
    /// symlink later in the input can never redirect a chmod to the host.
    mutating func finish() throws(ImageError) {
        let ordered = directories.sorted { $0.key.components.count > $1.key.components.count }
        for (path, a) in ordered {
            let fd: Int32
            if path.isRoot {
                fd = try sys { () throws(KernelError) in try Sys.dup(rootFD, describedAs: rootPath) }
            } else {
                let parent = try openDirectory(path.parent, entry: path.description, create: false)
                defer { Sys.close(parent) }
                fd = try sys { () throws(KernelError) in
                    try Sys.openat(parent, path.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, describedAs: hostPath(path))
                }
            }
            defer { Sys.close(fd) }
            let where_ = hostPath(path)
            try sys { () throws(KernelError) in
                if keepOwners { try Sys.fchown(fd, uid: a.uid, gid: a.gid, describedAs: where_) }
                try Self.setXattrs(fd, a.xattrs, describedAs: where_)
                try Sys.fchmod(fd, a.mode & 0o7777, describedAs: where_)
                try Sys.futimens(fd, a.mtime, describedAs: where_)
            }
        }
        try sys { () throws(KernelError) in try Sys.syncFilesystem(rootFD, describedAs: rootPath) }
    }

    // MARK: Safe paths

    /// Opens directory `path` of the rootfs, walking from the rootfs fd one component at a
    /// time with O_NOFOLLOW. Missing directories are created (0755 by default, as tar
    /// does) when `create` is set. A symlink on the way is refused: that is the tar-slip.
    private mutating func openDirectory(_ path: EntryPath, entry: String, create: Bool) throws(ImageError) -> Int32 {
        var fd = try sys { () throws(KernelError) in try Sys.dup(rootFD, describedAs: rootPath) }
        var walked = EntryPath(components: [])
        for component in path.components {
            walked = walked.appending(component)
            let here = walked
            var next: Int32 = -1
            do {
                next = try Sys.openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, describedAs: hostPath(here))
            } catch {
                let e = error.errno.rawValue
                if e == ENOENT && create {
                    do {
                        try Sys.mkdirAt(fd, component, mode: 0o700, describedAs: hostPath(here))
                        next = try Sys.openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, describedAs: hostPath(here))
                        var now = timespec()
                        clock_gettime(CLOCK_REALTIME, &now)
                        directories[here] = EntryAttributes(mode: 0o755, uid: 0, gid: 0, mtime: now)
                    } catch {
                        Sys.close(fd)
                        throw .kernel(error)
                    }
                } else if e == ELOOP || e == ENOTDIR {
                    let isSymlink = ((try? Sys.lstatAt(fd, component, describedAs: "")).map { $0.type == S_IFLNK }) ?? false
                    Sys.close(fd)
                    throw refuse(entry, isSymlink
                        ? "the path goes through the symlink \"\(here)\"; entries are never written through a symlink"
                        : "the path goes through \"\(here)\", which is not a directory")
                } else {
                    Sys.close(fd)
                    throw .kernel(error)
                }
            }
            Sys.close(fd)
            fd = next
        }
        return fd
    }

    private func status(_ parent: Int32, _ path: EntryPath) throws(ImageError) -> Sys.FileStatus? {
        do {
            return try Sys.lstatAt(parent, path.name, describedAs: hostPath(path))
        } catch {
            if error.errno.rawValue == ENOENT { return nil }
            throw .kernel(error)
        }
    }

    /// A later entry replaces an earlier one of the same name, as tar does: a file or
    /// symlink is unlinked (never written through), an empty directory removed.
    private mutating func replaceIfPresent(_ parent: Int32, _ path: EntryPath, entry: String) throws(ImageError) {
        guard let existing = try status(parent, path) else { return }
        try removeExisting(parent, path, existing, entry: entry)
    }

    private mutating func removeExisting(_ parent: Int32, _ path: EntryPath, _ existing: Sys.FileStatus, entry: String) throws(ImageError) {
        let isDirectory = existing.type == S_IFDIR
        do {
            try Sys.unlinkAt(parent, path.name, directory: isDirectory, describedAs: hostPath(path))
        } catch {
            if isDirectory && (error.errno.rawValue == ENOTEMPTY || error.errno.rawValue == EEXIST) {
                throw refuse(entry, "it would replace the non-empty directory \"\(path)\"")
            }
            throw .kernel(error)
        }
        if isDirectory { directories[path] = nil }
        regularFiles.remove(path)
    }

    /// Why a symlink at `link` with `target` escapes the rootfs, or nil. The target is
    /// resolved as it would be in a container: an absolute target from the rootfs root,
    /// a relative one from the link's directory; a `..` above the root escapes. (In a
    /// container `/..` is `/`, but host-side tools that follow the link would leave the
    /// rootfs, so such links are refused.)
    static func escapeProblem(link: EntryPath, target: String) -> String? {
        if target.isEmpty { return "a symlink with an empty target" }
        if target.utf8.contains(0) { return "a symlink target holds a NUL byte" }
        var stack = target.hasPrefix("/") ? [] : link.parent.components
        for part in target.split(separator: "/") where part != "." {
            if part == ".." {
                if stack.isEmpty {
                    return "a symlink to \"\(target)\", which escapes the image's root filesystem"
                }
                stack.removeLast()
            } else {
                stack.append(String(part))
            }
        }
        return nil
    }
}
