import Glibc

// Trees that untrusted processes may have written into (a pod's volumes): every call here
// works relative to a directory fd and never follows a symlink, so a link a container put
// in an emptyDir cannot redirect a write or a removal outside the tree.

extension Sys.FileStatus {
    public var isSocket: Bool { type == S_IFSOCK }
    public var isCharacterDevice: Bool { type == S_IFCHR }
    public var isBlockDevice: Bool { type == S_IFBLK }
    public var isFIFO: Bool { type == S_IFIFO }
}

extension KernelError {
    /// ENOENT: the path, or a directory on the way to it, does not exist.
    public var isNotFound: Bool { errno.rawValue == ENOENT }
    /// ENOTDIR: a path component that should be a directory is not.
    public var isNotDirectory: Bool { errno.rawValue == ENOTDIR }
    /// EEXIST.
    public var isAlreadyExisting: Bool { errno.rawValue == EEXIST }
    /// EBUSY: a mount point in use, for example.
    public var isBusy: Bool { errno.rawValue == EBUSY }
    /// EINVAL: from umount2, the path is not a mount point (any more).
    public var isInvalidArgument: Bool { errno.rawValue == EINVAL }
}

extension Sys {
    /// Opens the directory `path` for *at() calls; a symlink as its last component is
    /// refused (ELOOP or ENOTDIR), never followed.
    public static func openDirectory(_ path: String) throws(KernelError) -> Int32 {
        try open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
    }

    /// Opens the directory `name` below `dirfd`, never through a symlink.
    public static func openDirectory(at dirfd: Int32, _ name: String, describedAs path: String) throws(KernelError) -> Int32 {
        try openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, describedAs: path)
    }

    /// Creates the regular file `name` below `dirfd` (it must not exist, and no symlink is
    /// followed), writes `bytes`, sets `mode` exactly (the umask does not decide) and
    /// fsyncs it.
    public static func createFile(at dirfd: Int32, _ name: String, _ bytes: [UInt8], mode: mode_t, describedAs path: String) throws(KernelError) {
        let fd = try openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode & 0o777, describedAs: path)
        defer { close(fd) }
        try writeAll(fd, bytes, path: path)
        try fchmod(fd, mode, describedAs: path)
        try fsync(fd, path: path)
    }

    /// The contents of the regular file `name` below `dirfd`; a symlink is refused (ELOOP),
    /// and anything but a regular file is refused without being opened for long (a FIFO
    /// would block): the open is non-blocking and the type checked on the fd.
    public static func readFile(at dirfd: Int32, _ name: String, describedAs path: String) throws(KernelError) -> [UInt8] {
        let fd = try openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, describedAs: path)
        defer { close(fd) }
        guard try fstat(fd, describedAs: path).isRegularFile else {
            throw KernelError("read", path: path, argument: "not a regular file", errno: .init(rawValue: EINVAL))
        }
        return try readAll(fd, path: path)
    }

    /// `rm -r` of `name` below `dirfd`, which may be a file, a symlink (removed, never
    /// followed) or a directory. It never descends into another filesystem: a directory on
    /// another device than its parent (a mount point) fails with EBUSY before anything
    /// below it is touched. A missing `name` is fine.
    public static func removeTree(at dirfd: Int32, _ name: String, describedAs path: String) throws(KernelError) {
        let parent = try fstat(dirfd, describedAs: parentDirectory(path))
        try removeEntry(at: dirfd, name, parentDevice: parent.device, describedAs: path)
    }

    /// `rm -r path`, as `removeTree(at:_:describedAs:)`; the dirs above `path` may be
    /// symlinks, `path` itself is never followed.
    public static func removeTree(_ path: String) throws(KernelError) {
        let dir = try openDirectory(parentDirectory(path))
        defer { close(dir) }
        try removeTree(at: dir, baseName(path), describedAs: path)
    }

    static func removeEntry(at dirfd: Int32, _ name: String, parentDevice: UInt64, describedAs path: String) throws(KernelError) {
        let st: FileStatus
        do {
            st = try lstatAt(dirfd, name, describedAs: path)
        } catch where error.isNotFound {
            return
        }
        guard st.isDirectory else {
            do { try unlinkAt(dirfd, name, describedAs: path) } catch where error.isNotFound {}
            return
        }
        guard st.device == parentDevice else {
            throw KernelError("rmdir", path: path, argument: "a mount point: not descending", errno: .init(rawValue: EBUSY))
        }
        let fd = try openDirectory(at: dirfd, name, describedAs: path)
        do throws(KernelError) {
            // The dir we opened is the one we looked at: not swapped in between.
            let opened = try fstat(fd, describedAs: path)
            guard opened.device == st.device && opened.inode == st.inode else {
                throw KernelError("open", path: path, argument: "replaced while removing", errno: .init(rawValue: EBUSY))
            }
            for child in try listDirectory(fd, describedAs: path) {
                try removeEntry(at: fd, child, parentDevice: st.device, describedAs: path + "/" + child)
            }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        do { try unlinkAt(dirfd, name, directory: true, describedAs: path) } catch where error.isNotFound {}
    }
}

extension Sys {
    /// Creates an empty regular file at `path` with exactly `mode`, unless something (a
    /// dangling symlink included) is there already: O_CREAT|O_EXCL. True when it created
    /// the file. The dirs above `path` must exist.
    public static func createEmptyFile(_ path: String, mode: mode_t) throws(KernelError) -> Bool {
        let fd: Int32
        do {
            fd = try open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode & 0o777)
        } catch where error.isAlreadyExisting {
            return false
        }
        defer { close(fd) }
        try fchmod(fd, mode, describedAs: path)
        return true
    }
}
