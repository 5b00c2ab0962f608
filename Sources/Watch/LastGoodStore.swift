import Cgroups
import Kernel
import PodModel

/// The last good bytes of each watched file, kept in the state root so that a watcher started
/// while a file is broken still knows what its pods ran: `<state>/watch/<FNV-1a of DIR>/<file>`,
/// dirs 0700, files 0600 (root's alone: a copy of what root already accepted, never read from
/// anywhere a process could write). Written when a file is loaded valid with new bytes,
/// removed when the file is gone. Failures are not fatal: without the copy, a broken file's
/// pods are only left as they are, as before the store existed.
struct LastGoodStore {
    let path: String

    init(stateRoot: String, directory: String) {
        let hash = FNV1a.hash64(directory.utf8)
        path = stateRoot + "/watch/" + String(hash, radix: 16)
    }

    func save(_ name: String, _ bytes: [UInt8]) {
        try? Sys.mkdirs(path, mode: 0o700)
        try? Sys.writeFileAtomically(path + "/" + name, bytes, mode: 0o600, durable: false)
    }

    func load(_ name: String) -> [UInt8]? { try? Sys.readFile(path + "/" + name) }

    func rename(_ from: String, to name: String) { try? Sys.rename(path + "/" + from, path + "/" + name) }

    /// Removes the copies of files that are no longer in the directory.
    func keepOnly(_ names: Set<String>) {
        guard let stored = try? Sys.listDirectory(path) else { return }
        for name in stored where !names.contains(name) { try? Sys.unlink(path + "/" + name) }
    }
}
