import Glibc
import ImageModel
import Kernel
import PodModel

/// podrec's local image store, below the data root (`--data-root`, `Roots.data`):
///
/// ```
/// <data>/images/                      0700
///   .lock                             flock for the moments an image appears or goes
///   .tmp-<pid>-<n>/                   an import in progress, or a removal
///   <name, '/' as %2F>/               0700, e.g. `library%2Fbusybox`
///     <tag>/                          0700, e.g. `latest`
///       config.json                   0600, ImageConfig
///       rootfs/                       the tree, with the modes and owners of its source
/// ```
///
/// Names have no `%` and tags no `/`, so `<name>/<tag>` maps one-to-one back to
/// `NAME:TAG`, and nothing starting with `.` is an image. The tag directory is 0700, so no
/// user of the host reaches the rootfs, whatever its modes; inside it, setuid and setgid
/// bits are kept, since containers run with no_new_privs and capabilities dropped.
///
/// Imports are crash-safe: the image is built complete in `.tmp-<pid>-<n>`, flushed
/// (syncfs), then renamed into place; replacing a tag exchanges the two directories
/// atomically (renameat2 RENAME_EXCHANGE) and removes the old one, so a reader sees the old
/// image or the new one, never a mix or a gap. `.tmp-*` directories of dead processes are
/// removed by the next import.
public struct ImageStore: Sendable {
    public let dataRoot: String

    public init(dataRoot: String) {
        self.dataRoot = dataRoot
    }

    public init(roots: Roots) {
        self.init(dataRoot: roots.data)
    }

    public var imagesDirectory: String { dataRoot + "/images" }

    func directory(_ ref: ImageReference) -> String {
        "\(imagesDirectory)/\(ref.directoryName)/\(ref.tag ?? ImageReference.defaultTag)"
    }

    // MARK: Reading

    /// The stored image `ref`, or `.notFound`.
    public func image(_ ref: ImageReference) throws(ImageError) -> StoredImage {
        let dir = directory(ref)
        let configPath = dir + "/config.json"
        let bytes: [UInt8]
        do {
            bytes = try Sys.readFile(configPath)
        } catch {
            if error.errno.rawValue == ENOENT || error.errno.rawValue == ENOTDIR { throw .notFound(ref) }
            throw .kernel(error)
        }
        let config: ImageConfig
        do { config = try ImageConfig(parsing: bytes, file: configPath) } catch { throw ImageError(error) }
        return StoredImage(reference: ref, directory: dir, config: config)
    }

    /// Every stored image, by name then tag.
    public func list() throws(ImageError) -> [StoredImage] {
        guard Sys.exists(imagesDirectory) else { return [] }
        var out: [StoredImage] = []
        for entry in try sys({ () throws(KernelError) in try Sys.listDirectory(imagesDirectory) }) {
            guard let name = ImageReference.name(fromDirectory: entry) else { continue }
            let tags = try sys { () throws(KernelError) in try Sys.listDirectory("\(imagesDirectory)/\(entry)") }
            for tag in tags where ImageReference.tagProblem(Substring(tag)) == nil {
                do {
                    out.append(try image(ImageReference(validName: name, tag: tag)))
                } catch .notFound {
                    continue  // removed while we looked
                }
            }
        }
        return out.sorted { $0.reference.description < $1.reference.description }
    }

    // MARK: Import

    public enum Source: Sendable {
        /// A directory tree, or an uncompressed tar file: `import` looks which.
        case path(String)
        /// An uncompressed tar read from an open fd (stdin), named in messages.
        case tarStream(fd: Int32, name: String)
    }

    /// Imports `source` as `ref`, replacing an image of the same name and tag atomically.
    /// `config` gives entrypoint, cmd, env and workdir; the import fills in `created`,
    /// the source and the size.
    @discardableResult
    public func importImage(_ ref: ImageReference, from source: Source, config: ImageConfig = ImageConfig()) throws(ImageError) -> StoredImage {
        do { try config.validate() } catch { throw ImageError(error) }
        try prepare()
        try collectLeftovers()
        let temp = try makeTempDirectory()
        do throws(ImageError) {
            var config = config
            config.created = Self.now()
            let rootfs = temp + "/rootfs"
            try sys { () throws(KernelError) in try Sys.mkdir(rootfs, mode: 0o700) }
            switch source {
            case .path(let path):
                let st = try sys { () throws(KernelError) in try Sys.stat(path) }
                config.sourcePath = (try? Sys.realPath(path)) ?? path
                if st.isDirectory {
                    config.sourceKind = "dir"
                    let images = try sys { () throws(KernelError) in try Sys.stat(imagesDirectory) }
                    var writer = try RootfsWriter(source: path, rootPath: rootfs)
                    defer { writer.close() }
                    var copy = DirectoryImport(sourcePath: path, skip: (images.device, images.inode))
                    try copy.run(into: &writer)
                    try writer.finish()
                    config.size = writer.size
                } else if st.isRegularFile {
                    config.sourceKind = "tar"
                    let fd = try sys { () throws(KernelError) in try Sys.open(path, O_RDONLY) }
                    defer { Sys.close(fd) }
                    config.size = try extractTar(fd: fd, name: path, into: rootfs)
                } else {
                    throw ImageError.badConfig("\(path): not a directory or a tar file")
                }
            case .tarStream(let fd, let name):
                config.sourceKind = "tar"
                config.sourcePath = name
                config.size = try extractTar(fd: fd, name: name, into: rootfs)
            }
            try sys { () throws(KernelError) in
                try Sys.writeFileAtomically(temp + "/config.json", Array((config.json.serialized(indent: 2) + "\n").utf8), mode: 0o600)
            }
            try publish(temp, as: ref)
            return StoredImage(reference: ref, directory: directory(ref), config: config)
        } catch {
            try? removeTree(temp)
            throw error
        }
    }

    private func extractTar(fd: Int32, name: String, into rootfs: String) throws(ImageError) -> Int64 {
        var writer = try RootfsWriter(source: name, rootPath: rootfs)
        defer { writer.close() }
        var tar = TarImport(fd: fd, sourceName: name)
        try tar.run(into: &writer)
        try writer.finish()
        return writer.size
    }

    /// `<data>` and `<data>/images`, created 0700 when missing.
    private func prepare() throws(ImageError) {
        try sys { () throws(KernelError) in
            try Sys.mkdirs(dataRoot, mode: 0o700)
            do throws(KernelError) { try Sys.mkdir(imagesDirectory, mode: 0o700) } catch where error.errno.rawValue == EEXIST {}
        }
    }

    /// A fresh `.tmp-<pid>-<n>`: mkdir is atomic, so the first free n is ours, even with
    /// several imports running in one process.
    private func makeTempDirectory() throws(ImageError) -> String {
        var n = 0
        while true {
            let path = "\(imagesDirectory)/.tmp-\(Sys.pid)-\(n)"
            do {
                try Sys.mkdir(path, mode: 0o700)
                return path
            } catch where error.errno.rawValue == EEXIST {
                n += 1
            } catch {
                throw .kernel(error)
            }
        }
    }

    /// Moves the complete image at `temp` to its place. Under the store lock, so that a
    /// concurrent `rm` of the last tag cannot remove the name directory in between.
    private func publish(_ temp: String, as ref: ImageReference) throws(ImageError) {
        let nameDir = "\(imagesDirectory)/\(ref.directoryName)"
        let target = directory(ref)
        let lock = try sys { () throws(KernelError) in try Sys.lockFile(imagesDirectory + "/.lock") }
        defer { Sys.close(lock) }
        try sys { () throws(KernelError) in
            do throws(KernelError) { try Sys.mkdir(nameDir, mode: 0o700) } catch where error.errno.rawValue == EEXIST {}
        }
        let replaced: Bool
        if Sys.exists(target) || (try? Sys.stat(target, followSymlinks: false)) != nil {
            if try sys({ () throws(KernelError) in try Sys.exchange(temp, target) }) {
                replaced = true  // temp now holds the old image
            } else {
                // No RENAME_EXCHANGE: move the old one aside, then the new one in. A reader
                // may find no image for this instant, never a partial one.
                let old = try makeTempDirectory()
                try sys { () throws(KernelError) in
                    try Sys.rmdir(old)
                    try Sys.rename(target, old)
                    try Sys.rename(temp, target)
                    try Sys.rename(old, temp)
                }
                replaced = true
            }
        } else {
            try sys { () throws(KernelError) in try Sys.rename(temp, target) }
            replaced = false
        }
        try sys { () throws(KernelError) in
            let fd = try Sys.open(nameDir, O_RDONLY | O_DIRECTORY)
            defer { Sys.close(fd) }
            try Sys.fsync(fd, path: nameDir)
        }
        if replaced { try removeTree(temp) }
    }

    /// Removes `.tmp-<pid>-*` directories whose process is gone: what a crash left.
    private func collectLeftovers() throws(ImageError) {
        let names = (try? Sys.listDirectory(imagesDirectory)) ?? []
        for name in names where name.hasPrefix(".tmp-") {
            let pidText = name.dropFirst(5).prefix { $0 != "-" }
            guard let pid = Int32(pidText), pid != Sys.pid, !Sys.processExists(pid) else { continue }
            try removeTree("\(imagesDirectory)/\(name)")
        }
    }

    // MARK: Remove

    /// Removes `ref`: it disappears at once (a rename under the store lock), then its tree
    /// is deleted. `.notFound` when there is no such image.
    public func remove(_ ref: ImageReference) throws(ImageError) {
        let target = directory(ref)
        guard (try? Sys.stat(target, followSymlinks: false)) != nil else { throw .notFound(ref) }
        let lock = try sys { () throws(KernelError) in try Sys.lockFile(imagesDirectory + "/.lock") }
        let temp: String
        do {
            defer { Sys.close(lock) }
            temp = try makeTempDirectory()
            do {
                try Sys.rmdir(temp)
                try Sys.rename(target, temp)
            } catch {
                if error.errno.rawValue == ENOENT { throw ImageError.notFound(ref) }
                throw ImageError.kernel(error)
            }
            // The name directory goes with its last tag.
            do { try Sys.rmdir("\(imagesDirectory)/\(ref.directoryName)") } catch {
                if error.errno.rawValue != ENOTEMPTY && error.errno.rawValue != EEXIST && error.errno.rawValue != ENOENT {
                    throw ImageError.kernel(error)
                }
            }
        }
        try removeTree(temp)
    }

    /// rm -r without following symlinks: every step is relative to an fd opened with
    /// O_NOFOLLOW. Directories are made writable first (an image may hold 0555 ones).
    func removeTree(_ path: String) throws(ImageError) {
        try sys { () throws(KernelError) in
            let st: Sys.FileStatus
            do throws(KernelError) { st = try Sys.stat(path, followSymlinks: false) } catch where error.errno.rawValue == ENOENT { return }
            if !st.isDirectory {
                try Sys.unlink(path)
                return
            }
            let fd = try Sys.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            defer { Sys.close(fd) }
            try removeChildren(fd, path)
            try Sys.rmdir(path)
        }
    }

    private func removeChildren(_ dirfd: Int32, _ path: String) throws(KernelError) {
        try Sys.fchmod(dirfd, 0o700, describedAs: path)
        for name in try Sys.listDirectory(dirfd, describedAs: path) {
            let here = path + "/" + name
            let st = try Sys.lstatAt(dirfd, name, describedAs: here)
            if st.type == S_IFDIR {
                let child = try Sys.openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, describedAs: here)
                defer { Sys.close(child) }
                try removeChildren(child, here)
                try Sys.unlinkAt(dirfd, name, directory: true, describedAs: here)
            } else {
                try Sys.unlinkAt(dirfd, name, describedAs: here)
            }
        }
    }
}

/// An image in the store.
public struct StoredImage: Sendable, Hashable {
    public var reference: ImageReference
    /// `<data>/images/<name>/<tag>`.
    public var directory: String
    public var config: ImageConfig

    /// The tree a container's overlay uses as its lower layer.
    public var rootfs: String { directory + "/rootfs" }
    public var configPath: String { directory + "/config.json" }
}

extension ImageStore {
    /// Now, as RFC 3339 UTC with seconds.
    static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = ts.tv_sec
        var tm = Glibc.tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))Z"
    }
}

/// How the store names an image's directory (it owns that layout).
extension ImageReference {
    /// The directory name of NAME in the store: `/` becomes `%2F` (names have no `%`, so
    /// the mapping is one-to-one), which keeps each image one directory below `images/`.
    var directoryName: String {
        familiarName.split(separator: "/", omittingEmptySubsequences: false).joined(separator: "%2F")
    }

    /// The inverse of `directoryName`, for a directory found in the store; nil for
    /// anything that is not one (`.tmp-*` and strays).
    static func name(fromDirectory dir: String) -> String? {
        let name = dir.split(separator: "%2F", omittingEmptySubsequences: false).joined(separator: "/")
        guard nameProblem(Substring(name)) == nil, name != reservedName else { return nil }
        return name
    }
}
