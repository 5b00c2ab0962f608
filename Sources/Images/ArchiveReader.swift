import Glibc
import ImageModel
import Kernel

/// Reads an image archive (an oci-archive: a tar of an OCI layout; a docker-archive:
/// `docker save`, `podman save`) in one pass: each regular file goes into the store as a
/// blob, hashed on the way in; `blobs/sha256/<hex>` members are checked against their
/// names. What the archive's paths mean (index.json, manifest.json, a Config, a Layers
/// entry) is resolved afterwards, from `files` and `links`.
///
/// Blobs no image of the archive names (a docker-archive's `repositories`, an unselected
/// platform) stay unreferenced, and go at the next `image prune`.
struct ArchiveReader: TarSink {
    let store: ImageStore
    let rootPath: String
    /// Archive path → the blob holding it.
    private(set) var files: [String: Digest] = [:]
    /// Archive path → its symlink target, resolved against the link's directory (Docker
    /// 25+ links `<id>/layer.tar` to `../blobs/sha256/<hex>`).
    private(set) var links: [String: String] = [:]

    init(store: ImageStore, name: String) {
        self.store = store
        self.rootPath = name
    }

    /// The blob at archive path `path`, following symlinks inside the archive.
    func blob(_ path: String) -> Digest? {
        var p = (try? EntryPath(path, source: rootPath))?.description ?? path
        for _ in 0..<40 {
            if let d = files[p] { return d }
            guard let target = links[p] else { return nil }
            p = target
        }
        return nil
    }

    mutating func directory(_ path: EntryPath, _ attributes: EntryAttributes, entry: String) throws(ImageError) {}

    mutating func file(_ path: EntryPath, _ attributes: EntryAttributes, size: Int64, entry: String,
                       write: (Int32) throws(ImageError) -> Void) throws(ImageError) {
        var expected: Digest?
        let c = path.components
        if c.count == 3 && c[0] == "blobs" && c[1] == "sha256" { expected = try? Digest(hex: c[2]) }
        let temp = try store.makeTemp(directory: false)
        do throws(ImageError) {
            let fd = try sys { () throws(KernelError) in try Sys.open(temp, O_WRONLY | O_TRUNC | O_CLOEXEC) }
            do throws(ImageError) { try write(fd) } catch {
                Sys.close(fd)
                throw error
            }
            Sys.close(fd)
            files[path.description] = try store.adoptBlob(temp, expected: expected, size: size, what: "\(rootPath): \(entry)")
        } catch {
            _ = try? Sys.unlinkIfPresent(temp)
            throw error
        }
    }

    mutating func symlink(_ path: EntryPath, target: String, _ attributes: EntryAttributes, entry: String) throws(ImageError) {
        let base = target.hasPrefix("/") ? [] : path.parent.components
        var stack = base
        for part in target.split(separator: "/") where part != "." {
            if part == ".." { if !stack.isEmpty { stack.removeLast() } } else { stack.append(String(part)) }
        }
        links[path.description] = stack.joined(separator: "/")
    }

    mutating func hardLink(_ path: EntryPath, to target: EntryPath, entry: String, targetName: String) throws(ImageError) {
        guard let d = files[target.description] else {
            throw .refusedEntry(source: rootPath, entry: entry, reason: "a hard link to \"\(targetName)\", which is not a file before it")
        }
        files[path.description] = d
    }

    mutating func whiteout(_ path: EntryPath, entry: String) throws(ImageError) {}
    mutating func opaque(_ path: EntryPath, entry: String) throws(ImageError) {}
}

extension ImageStore {
    /// Moves a complete temp file in as a blob: hashed (and checked against `expected` and
    /// `size` when given), flushed, made read-only, renamed into `blobs/sha256/`.
    func adoptBlob(_ temp: String, expected: Digest?, size: Int64?, what: String) throws(ImageError) -> Digest {
        let (digest, count) = try SHA256Hasher.digest(ofFile: temp)
        let name = expected.map { "blob \($0) (\(what))" } ?? what
        if let size, size != count {
            throw .verification(what: name, reason: "\(count) bytes, but \(size) expected")
        }
        if let expected, expected != digest {
            throw .verification(what: name, reason: "its content has the digest \(digest)")
        }
        try sys { () throws(KernelError) in
            let fd = try Sys.open(temp, O_RDONLY | O_CLOEXEC)
            defer { Sys.close(fd) }
            try Sys.fsync(fd, path: temp)
            try Sys.fchmod(fd, 0o400, describedAs: temp)
            try Sys.rename(temp, blobPath(digest))
        }
        try fsyncDirectory(blobsDirectory)
        return digest
    }
}
