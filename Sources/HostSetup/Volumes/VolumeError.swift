import Kernel

/// Why a pod volume, or a pod-wide file (`/etc/hosts`, `/dev/shm`, ...), could not be made
/// or removed. Reads as `volume "config": file path "../x" must not contain '..'`, or
/// `volume "sock": hostPath type check failed: /run/x is not a socket file, it's a File`.
public struct VolumeError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// The volume name is no DNS-1123 label, so it cannot be a path component.
        case invalidVolumeName
        /// The same volume name twice.
        case duplicateVolumeName
        /// A configMap or secret file path that could escape its volume, or that kubelet's
        /// AtomicWriter reserves (a first component starting with `..`).
        case invalidFilePath(String, why: String)
        /// Two file paths that cannot both exist: `a` and `a/b`, or `a` twice.
        case conflictingFilePaths(String, String)
        /// A hostPath that is not absolute or has a `..` component.
        case invalidHostPath(why: String)
        /// kubelet's "hostPath /x doesn't exist".
        case hostPathMissing
        /// kubelet's "hostPath type check failed: /x is not a directory, it's a File".
        case hostPathWrongType(expected: String, found: String)
        /// A FIFO or other type kubelet does not recognise.
        case hostPathUnknownType(expected: String)
        /// A hosts file entry with whitespace, a control character or `#` in it: it would
        /// add lines or comments of its own.
        case invalidHostsEntry(String)
        /// A pod uid that cannot name the pod's data dir (empty, `.`, `..`, or with `/`).
        case invalidPodUID(String)
        /// A secret volume's dir is not the root of a tmpfs: its files are not written.
        case secretNotOnTmpfs
        /// The volume's path exists and is not a directory.
        case notADirectory
        /// A mount under the pod's data dir that could not be unmounted, even detached.
        case mountLeft(String)
        /// Prepared, the volume is not what the launch plan was built against (a hostPath
        /// that became a file, or a dir, since the pass planned).
        case changedSincePlanned(found: String, planned: String)
        /// A system call failed.
        case kernel(KernelError)

        public var description: String {
            switch self {
            case .invalidVolumeName:
                return "volume name is not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)"
            case .duplicateVolumeName:
                return "volume name given twice"
            case .invalidFilePath(let p, let why):
                return "file path \"\(p)\" \(why)"
            case .conflictingFilePaths(let a, let b):
                return a == b ? "file path \"\(a)\" given twice" : "file paths \"\(a)\" and \"\(b)\" conflict: one is a directory of the other"
            case .invalidHostPath(let why):
                return "invalid hostPath: \(why)"
            case .hostPathMissing:
                return "doesn't exist"
            case .hostPathWrongType(let expected, let found):
                return "is not a \(expected), it's a \(found)"
            case .hostPathUnknownType(let expected):
                return "is not a \(expected), unable to determine its type: only recognise file, directory, socket, block device and character device"
            case .invalidHostsEntry(let entry):
                return "hosts entry \"\(entry)\" has whitespace, a control character or '#'"
            case .changedSincePlanned(let found, let planned):
                return "is \(found) now, not \(planned) as when the pass planned; the next pass plans again"
            case .invalidPodUID(let uid):
                return "pod uid \"\(uid)\" cannot name a directory"
            case .secretNotOnTmpfs:
                return "secret volume is not on its tmpfs: not writing secrets to a disk"
            case .notADirectory:
                return "exists and is not a directory"
            case .mountLeft(let path):
                return "\(path) is still mounted"
            case .kernel(let e):
                return e.description
            }
        }
    }

    /// The pod's volume name; nil for the pod-wide files.
    public var volume: String?
    /// The host path concerned: the hostPath, the volume dir, the hosts file...
    public var path: String
    public var reason: Reason

    public init(volume: String?, path: String, _ reason: Reason) {
        self.volume = volume
        self.path = path
        self.reason = reason
    }

    public var description: String {
        let prefix = volume.map { "volume \"\($0)\": " } ?? ""
        switch reason {
        case .hostPathMissing:
            return prefix + "hostPath \(path) \(reason)"
        case .hostPathWrongType:
            return prefix + "hostPath type check failed: \(path) \(reason)"
        case .hostPathUnknownType:
            return prefix + "hostPath type check failed, \(path) \(reason)"
        case .invalidHostPath(let why):
            return prefix + "invalid hostPath \(path): \(why)"
        case .notADirectory:
            return prefix + "\(path) \(reason)"
        default:
            return prefix + reason.description
        }
    }
}
