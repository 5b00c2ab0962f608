import Glibc
import Kernel
import Manifest

/// The files of a watched directory that count, read under the directory's rules:
///
/// - names: `*.yaml`, `*.yml`, `*.json`, except dotfiles and editor temp and backup files
///   (`ManifestLoader.isManifestFileName`);
/// - the directory and each file must be owned by root or by the watcher's user, and not be
///   writable by group or others: whoever can write there can run processes as root;
/// - a file must be a regular file, not a symlink (its target's directory is not checked).
public struct ManifestDirectory: Sendable {
    public let path: String
    public let owners: Set<UInt32>

    public init(path: String, owners: Set<UInt32> = [0, geteuid()]) {
        self.path = path
        self.owners = owners
    }

    public enum Entry: Sendable {
        case file(ManifestFile)
        /// Refused by the rules, or unreadable: the file's pods stay as they are.
        case refused(String)
    }

    /// Why the directory itself cannot be used, or nil.
    public func directoryProblem() -> String? {
        let status: Sys.FileStatus
        do { status = try Sys.stat(path) } catch { return "\(path): \(error.errno.message.lowercased())" }
        guard status.isDirectory else { return "\(path): not a directory" }
        return Self.modeProblem(status, owners: owners).map { "\(path): refused: \($0)" }
    }

    /// The names that count, in name order.
    public func names() throws(KernelError) -> [String] {
        try Sys.listDirectory(path).filter(ManifestLoader.isManifestFileName)
    }

    /// Opens and reads one file under the rules.
    public func read(_ name: String) -> Entry {
        let full = path + "/" + name
        let fd: Int32
        do { fd = try Sys.open(full, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) } catch {
            if error.errno.rawValue == ELOOP { return .refused("\(full): refused: a symlink") }
            return .refused("\(full): \(error.errno.message.lowercased())")
        }
        defer { Sys.close(fd) }
        do {
            let status = try Sys.fstat(fd, describedAs: full)
            guard status.type == S_IFREG else { return .refused("\(full): refused: not a regular file") }
            if let problem = Self.modeProblem(status, owners: owners) { return .refused("\(full): refused: \(problem)") }
            return .file(ManifestFile(name: full, bytes: try Sys.readAll(fd, path: full)))
        } catch {
            return .refused("\(full): \(error.errno.message.lowercased())")
        }
    }

    /// `mode 0664 is writable by group`, `owned by uid 1000, not root or this user`, or nil.
    public static func modeProblem(_ status: Sys.FileStatus, owners: Set<UInt32>) -> String? {
        let mode = status.mode & 0o7777
        var who: [String] = []
        if mode & 0o020 != 0 { who.append("group") }
        if mode & 0o002 != 0 { who.append("others") }
        if !who.isEmpty { return "mode 0\(String(mode, radix: 8)) is writable by \(who.joined(separator: " and "))" }
        if !owners.contains(status.uid) { return "owned by uid \(status.uid), not by root or this user" }
        return nil
    }
}
