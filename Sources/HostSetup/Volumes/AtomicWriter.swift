import Kernel
import PodModel

/// The files of a configMap or secret volume, laid out as kubelet's AtomicWriter lays them
/// out (`pkg/volume/util/atomic_writer.go`), so that programs that watch `..data` (as they
/// do on Kubernetes) work unchanged:
///
///     <volume>/..2026_11_29_08_30_00.123456789/   the files, with subdirs for nested paths
///     <volume>/..data -> ..2026_11_29_08_30_00.123456789
///     <volume>/<entry> -> ..data/<entry>           one per top-level entry
///
/// An update writes a new timestamped dir, points `..data_tmp` at it and renames that over
/// `..data`, one atomic step, so a reader always sees the whole old set or the whole new
/// one. Then it removes the links of entries that are gone and the old dir.
///
/// Every call is relative to the volume dir's fd and never follows a symlink, so nothing
/// put in the volume can redirect a write. Dirs are 0755, files have their spec's mode
/// (permission bits only), set exactly whatever the umask.
struct AtomicWriter {
    static let dataLink = "..data"
    static let newDataLink = "..data_tmp"

    /// One file, its path checked and split (`VolumePaths.fileComponents`).
    struct File: Equatable {
        var components: [String]
        var bytes: [UInt8]
        var mode: UInt32
        var path: String { components.joined(separator: "/") }
    }

    /// The volume name, for errors.
    var volume: String
    /// The volume dir; it exists.
    var directory: String

    /// Checks and cleans the spec's files: paths as kubelet's `validatePath`, no path twice
    /// and none inside another file. Sorted by path.
    static func clean(_ files: ProjectedFiles, volume: String, directory: String) throws(VolumeError) -> [File] {
        var out: [File] = []
        for f in files.files {
            switch VolumePaths.fileComponents(f.path) {
            case .valid(let components): out.append(File(components: components, bytes: f.bytes, mode: f.mode & 0o777))
            case .invalid(let why): throw VolumeError(volume: volume, path: directory, .invalidFilePath(f.path, why: why))
            }
        }
        out.sort { $0.components.lexicographicallyPrecedes($1.components) }
        var filePaths: [[String]: String] = [:]
        for f in out {
            if let other = filePaths[f.components] { throw VolumeError(volume: volume, path: directory, .conflictingFilePaths(other, f.path)) }
            filePaths[f.components] = f.path
        }
        for f in out {
            for n in 1..<max(1, f.components.count) {
                if let file = filePaths[Array(f.components.prefix(n))] {
                    throw VolumeError(volume: volume, path: directory, .conflictingFilePaths(file, f.path))
                }
            }
        }
        return out
    }

    /// Makes the volume show `files`; false when it already did (same paths, contents and
    /// modes, and every link in place), and nothing was written.
    @discardableResult
    func write(_ files: [File], now: Int64) throws(VolumeError) -> Bool {
        do {
            let dir = try Sys.openDirectory(directory)
            defer { Sys.close(dir) }
            return try write(files, in: dir, now: now)
        } catch {
            throw VolumeError(volume: volume, path: directory, .kernel(error))
        }
    }

    private func write(_ files: [File], in dir: Int32, now: Int64) throws(KernelError) -> Bool {
        let oldName = try current(dir)
        let topLevel = Set(files.map { $0.components[0] })
        if let oldName, try linksInPlace(dir, topLevel),
           let old = try? read(dir, oldName), old == Dictionary(uniqueKeysWithValues: files.map { ($0.path, Content(bytes: $0.bytes, mode: $0.mode)) }) {
            return false
        }

        let newName = try makeTimestampDir(dir, now: now)
        var placed: [String] = []
        do throws(KernelError) {
            let newDir = try Sys.openDirectory(at: dir, newName, describedAs: at(newName))
            defer { Sys.close(newDir) }
            for file in files { try writeFile(file, into: newDir, under: at(newName)) }
            try Sys.fsync(newDir, path: at(newName))

            // The visible links of new entries point into `..data`; until the swap below
            // they dangle, after it they resolve.
            for name in topLevel.sorted() where try placeLink(dir, name) { placed.append(name) }
            try removeIfPresent(dir, Self.newDataLink)
            try Sys.symlinkAt(newName, dir, Self.newDataLink, describedAs: at(Self.newDataLink))
            try Sys.renameAt(dir, Self.newDataLink, dir, Self.dataLink, describedAs: at(Self.newDataLink), to: at(Self.dataLink))
        } catch {
            // The old set stays as it was (ENOSPC on a full tmpfs, say): without the new
            // dir, and without links to entries only the new set has.
            try? removeIfPresent(dir, Self.newDataLink)
            for name in placed { try? Sys.unlinkAt(dir, name, describedAs: at(name)) }
            try? Sys.removeTree(at: dir, newName, describedAs: at(newName))
            throw error
        }

        // What is no longer in the set: links of gone entries, the old dir, and any
        // timestamped dir a crashed write left.
        for name in try Sys.listDirectory(dir, describedAs: directory) where name != newName {
            if Self.isTimestampName(name) {
                try Sys.removeTree(at: dir, name, describedAs: at(name))
            } else if !name.hasPrefix(".."), !topLevel.contains(name), try isOurLink(dir, name) {
                try Sys.unlinkAt(dir, name, describedAs: at(name))
            }
        }
        try Sys.fsync(dir, path: directory)
        return true
    }

    private func at(_ name: String) -> String { directory + "/" + name }

    /// The timestamped dir `..data` points to; nil when there is none yet.
    private func current(_ dir: Int32) throws(KernelError) -> String? {
        let target: String
        do { target = try Sys.readlinkAt(dir, Self.dataLink, describedAs: at(Self.dataLink)) } catch where error.isNotFound { return nil }
        return Self.isTimestampName(target) ? target : nil
    }

    /// `..2026_...`: a name this writer gave a data dir.
    static func isTimestampName(_ name: String) -> Bool {
        let b = Array(name.utf8)
        return b.count > 2 && b[0] == 0x2e && b[1] == 0x2e && (0x30...0x39).contains(b[2]) && !name.contains("/")
    }

    /// `..YYYY_MM_DD_HH_MM_SS.NNNNNNNNN` in UTC, made 0755; the nanoseconds count up past a
    /// name that is taken.
    private func makeTimestampDir(_ dir: Int32, now: Int64) throws(KernelError) -> String {
        var t = now
        while true {
            let name = Self.timestampName(t)
            do {
                try Sys.mkdirAt(dir, name, mode: 0o755, describedAs: at(name))
            } catch where error.isAlreadyExisting {
                t += 1
                continue
            }
            try Sys.chmodAt(dir, name, 0o755, describedAs: at(name))
            return name
        }
    }

    /// kubelet's `time.Now().UTC().Format("..2006_01_02_15_04_05.")` with nanoseconds as
    /// the unique suffix.
    static func timestampName(_ nanoseconds: Int64) -> String {
        let c = WallTime(nanoseconds).utc
        let pad = WallTime.pad
        return "..\(pad(c.year, 4))_\(pad(c.month, 2))_\(pad(c.day, 2))_\(pad(c.hour, 2))_\(pad(c.minute, 2))_\(pad(c.second, 2)).\(pad(c.nanosecond, 9))"
    }

    private func writeFile(_ file: File, into root: Int32, under rootPath: String) throws(KernelError) {
        var dir = root
        var path = rootPath
        defer { if dir != root { Sys.close(dir) } }
        for component in file.components.dropLast() {
            path += "/" + component
            do {
                try Sys.mkdirAt(dir, component, mode: 0o755, describedAs: path)
                try Sys.chmodAt(dir, component, 0o755, describedAs: path)
            } catch where error.isAlreadyExisting {}
            let next = try Sys.openDirectory(at: dir, component, describedAs: path)
            if dir != root { Sys.close(dir) }
            dir = next
        }
        let name = file.components[file.components.count - 1]
        try Sys.createFile(at: dir, name, file.bytes, mode: file.mode, describedAs: path + "/" + name)
    }

    /// `<name> -> ..data/<name>`, replacing whatever else is there; true when it made
    /// the link.
    private func placeLink(_ dir: Int32, _ name: String) throws(KernelError) -> Bool {
        let target = Self.dataLink + "/" + name
        if let existing = try? Sys.readlinkAt(dir, name, describedAs: at(name)), existing == target { return false }
        try Sys.removeTree(at: dir, name, describedAs: at(name))
        try Sys.symlinkAt(target, dir, name, describedAs: at(name))
        return true
    }

    private func isOurLink(_ dir: Int32, _ name: String) throws(KernelError) -> Bool {
        guard try Sys.lstatAt(dir, name, describedAs: at(name)).isSymlink else { return false }
        return try Sys.readlinkAt(dir, name, describedAs: at(name)) == Self.dataLink + "/" + name
    }

    private func linksInPlace(_ dir: Int32, _ names: Set<String>) throws(KernelError) -> Bool {
        for name in try Sys.listDirectory(dir, describedAs: directory) where !name.hasPrefix("..") {
            guard names.contains(name) else { return false }
        }
        for name in names {
            guard (try? Sys.readlinkAt(dir, name, describedAs: at(name))) == Self.dataLink + "/" + name else { return false }
        }
        return true
    }

    private func removeIfPresent(_ dir: Int32, _ name: String) throws(KernelError) {
        do { try Sys.unlinkAt(dir, name, describedAs: at(name)) } catch where error.isNotFound {}
    }

    struct Content: Equatable {
        var bytes: [UInt8]
        var mode: UInt32
    }

    /// The regular files below `name`, by path. Anything else in there (a link, a FIFO)
    /// makes it unreadable as a set, so it gets rewritten.
    private func read(_ dir: Int32, _ name: String) throws(KernelError) -> [String: Content] {
        var out: [String: Content] = [:]
        func walk(_ parent: Int32, _ entry: String, _ relative: String) throws(KernelError) {
            let path = at(name) + (relative.isEmpty ? "" : "/" + relative)
            let fd = try Sys.openDirectory(at: parent, entry, describedAs: path)
            defer { Sys.close(fd) }
            for child in try Sys.listDirectory(fd, describedAs: path) {
                let childRelative = relative.isEmpty ? child : relative + "/" + child
                let st = try Sys.lstatAt(fd, child, describedAs: path + "/" + child)
                if st.isDirectory {
                    try walk(fd, child, childRelative)
                } else {
                    out[childRelative] = Content(bytes: try Sys.readFile(at: fd, child, describedAs: path + "/" + child), mode: st.permissions)
                }
            }
        }
        try walk(dir, name, "")
        return out
    }
}
