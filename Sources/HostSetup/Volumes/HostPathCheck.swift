import Kernel
import PodModel

/// `hostPath.type`, checked as kubelet checks it (`pkg/volume/hostpath/host_path.go`,
/// `checkType`), with its messages. The path is followed through symlinks (kubelet stats
/// with `os.Stat`).
enum HostPathCheck {
    /// Checks (or creates) `path` by `type`; true when it is not a directory, so the
    /// container needs a file to mount it on.
    ///
    /// - `""`: no check. A missing path is created as a directory, 0755, as containerd and
    ///   Docker create a missing bind source.
    /// - `DirectoryOrCreate`: a missing path is created with its missing parents, 0755
    ///   (kubelet's `MkdirAll(path, 0755)`; the mode is set exactly, whatever the umask).
    /// - `FileOrCreate`: a missing path is created as an empty file, 0644; its parent
    ///   must exist (kubelet opens it with O_CREATE and makes no parents). Unlike kubelet,
    ///   a dangling symlink is not followed to create its target: it fails as missing.
    /// - `Directory`, `File`, `Socket`, `CharDevice`, `BlockDevice`: must exist as that.
    static func check(_ path: String, type: HostPathType, volume: String) throws(VolumeError) -> Bool {
        func fail(_ reason: VolumeError.Reason) -> VolumeError { VolumeError(volume: volume, path: path, reason) }
        if let problem = VolumePaths.hostPathProblem(path) { throw fail(.invalidHostPath(why: problem)) }
        do {
            switch type {
            case .unset, .directoryOrCreate:
                if try status(path) == nil { try makeDirectories(path) }
            case .fileOrCreate:
                if try status(path) == nil { _ = try Sys.createEmptyFile(path, mode: 0o644) }
            case .directory, .file, .socket, .charDevice, .blockDevice:
                break
            }
        } catch {
            throw fail(.kernel(error))
        }
        switch type {
        case .unset: return try matched(path, nil, volume: volume)
        case .directoryOrCreate: return try matched(path, .directory, volume: volume)
        case .fileOrCreate: return try matched(path, .file, volume: volume)
        case .directory, .file, .socket, .charDevice, .blockDevice: return try matched(path, type, volume: volume)
        }
    }

    /// kubelet's `typeMatchedOrError`; with no `expected` type, only that the path exists.
    static func matched(_ path: String, _ expected: HostPathType?, volume: String) throws(VolumeError) -> Bool {
        func fail(_ reason: VolumeError.Reason) -> VolumeError { VolumeError(volume: volume, path: path, reason) }
        let found: Sys.FileStatus?
        do { found = try status(path) } catch { throw fail(.kernel(error)) }
        guard let st = found else { throw fail(.hostPathMissing) }
        guard let expected else { return !st.isDirectory }
        let description = describe(expected)
        guard let actual = fileType(st) else { throw fail(.hostPathUnknownType(expected: description)) }
        guard actual == expected else { throw fail(.hostPathWrongType(expected: description, found: actual.rawValue)) }
        return !st.isDirectory
    }

    /// kubelet's `GetFileType`: the type names it reports in "it's a File".
    static func fileType(_ st: Sys.FileStatus) -> HostPathType? {
        if st.isDirectory { return .directory }
        if st.isRegularFile { return .file }
        if st.isSocket { return .socket }
        if st.isCharacterDevice { return .charDevice }
        if st.isBlockDevice { return .blockDevice }
        return nil
    }

    static func describe(_ type: HostPathType) -> String {
        switch type {
        case .directory, .directoryOrCreate: return "directory"
        case .file, .fileOrCreate: return "file"
        case .socket: return "socket file"
        case .charDevice: return "character device"
        case .blockDevice: return "block device"
        case .unset: return "path"
        }
    }

    /// stat(2), following symlinks; nil when nothing is there (or only a dangling link).
    static func status(_ path: String) throws(KernelError) -> Sys.FileStatus? {
        do { return try Sys.stat(path) } catch where error.isNotFound { return nil }
    }

    /// `mkdir -p` where every dir it creates gets exactly 0755; existing ones are kept as
    /// they are.
    static func makeDirectories(_ path: String) throws(KernelError) {
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            do {
                try Sys.mkdir(prefix, mode: 0o755)
            } catch where error.isAlreadyExisting {
                continue
            }
            try Sys.chmod(prefix, 0o755)
        }
    }
}
