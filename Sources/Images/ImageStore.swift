import Glibc
import ImageModel
import Kernel
import PodModel
import YAML

/// podrec's content-addressed image store, below the data root (`--data-root`, `Roots.data`):
///
/// ```
/// <data>/images/                          0700
///   .lock                                 flock: index.json updates
///   .gc.lock                              flock: writers hold it shared, prune exclusive
///   index.json                            0600, the names: repository, tag → manifest digest
///   blobs/sha256/<hex>                    0400, verified manifests, configs, layer blobs
///   layers/sha256/<diff id>/              one unpacked layer, shared by every image that has it
///     rootfs/                             the layer's tree, overlayfs whiteouts and opaque dirs
///     layer.json                          0600, {"diffID", "blob", "size", "tree"}: `tree` is
///                                         the unpacked tree's digest, for `image check`
///   locks/<hex>                           per-blob and per-layer flocks: one writer each
///   tmp/<pid>-<n>                         a blob or a layer being written
///   <name, '/' as %2F>/<tag>/             an image of the first store (read as one layer)
/// ```
///
/// An image is its manifest (in `index.json` by name and tag, or by digest), the config the
/// manifest names, and the layers the config's `rootfs.diff_ids` list, base first.
///
/// **Crash safety.** Every blob and layer is written under `tmp/`, verified (size and
/// SHA-256 of the blob, SHA-256 of the uncompressed layer against its diff id), flushed,
/// then renamed into place, so anything under `blobs/` and `layers/` is complete. An image
/// appears only when its `index.json` entry does, which is written (rename of a flushed
/// file) after all its blobs and layers exist. A kill -9 at any point leaves only complete
/// images visible; what it leaves behind (`tmp/` entries of dead processes, blobs and
/// layers no image names) goes at the next `prune`.
///
/// **Concurrency.** Writers (import, pull) hold `.gc.lock` shared for their whole run, and
/// `prune` takes it exclusive, so nothing a writer has written but not yet named in the
/// index is collected under it. A layer is unpacked under its own lock, so two imports of
/// images sharing a layer unpack it once: the second finds it there. Blobs are written the
/// same way (`withLock(blob:)`), which is what concurrent pulls use to fetch each blob once.
public struct ImageStore: Sendable {
    public let dataRoot: String

    public init(dataRoot: String) {
        self.dataRoot = dataRoot
    }

    public init(roots: Roots) {
        self.init(dataRoot: roots.data)
    }

    public var imagesDirectory: String { dataRoot + "/images" }
    var blobsDirectory: String { imagesDirectory + "/blobs/sha256" }
    var layersDirectory: String { imagesDirectory + "/layers/sha256" }
    var locksDirectory: String { imagesDirectory + "/locks" }
    var tmpDirectory: String { imagesDirectory + "/tmp" }
    var indexPath: String { imagesDirectory + "/index.json" }

    /// The verified blob `digest`.
    public func blobPath(_ digest: Digest) -> String { blobsDirectory + "/" + digest.hex }
    public func hasBlob(_ digest: Digest) -> Bool { Sys.exists(blobPath(digest)) }
    /// The unpacked layer: what a container's overlay stacks as one lower dir.
    public func layerDirectory(_ diffID: Digest) -> String { layersDirectory + "/" + diffID.hex + "/rootfs" }
    public func hasLayer(_ diffID: Digest) -> Bool { Sys.exists(layersDirectory + "/" + diffID.hex + "/layer.json") }

    // MARK: Set-up, temp names, locks

    /// The store's directories, created 0700 when missing.
    func prepare() throws(ImageError) {
        try sys { () throws(KernelError) in
            try Sys.mkdirs(dataRoot, mode: 0o700)
            for dir in [imagesDirectory, imagesDirectory + "/blobs", blobsDirectory, imagesDirectory + "/layers", layersDirectory, locksDirectory, tmpDirectory] {
                do throws(KernelError) { try Sys.mkdir(dir, mode: 0o700) } catch where error.errno.rawValue == EEXIST {}
            }
        }
    }

    /// A fresh `tmp/<pid>-<n>` name, made as a directory (or an empty file) so that it is
    /// ours: mkdir and O_EXCL are atomic, even with several writers in one process.
    func makeTemp(directory: Bool) throws(ImageError) -> String {
        var n = 0
        while true {
            let path = "\(tmpDirectory)/\(Sys.pid)-\(n)"
            do {
                if directory {
                    try Sys.mkdir(path, mode: 0o700)
                } else {
                    Sys.close(try Sys.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o600))
                }
                return path
            } catch where error.errno.rawValue == EEXIST {
                n += 1
            } catch {
                throw .kernel(error)
            }
        }
    }

    /// Runs `body` as a writer: `.gc.lock` shared, so that `prune` waits for it.
    public func writing<T>(_ body: () throws(ImageError) -> T) throws(ImageError) -> T {
        let lease = try writerLease()
        defer { lease.release() }
        return try body()
    }

    /// `writing {}` for a caller that cannot keep one synchronous frame open (an async
    /// pull): `.gc.lock` shared until `release()`. Blocks while a prune runs.
    public func writerLease() throws(ImageError) -> StoreLock {
        try prepare()
        return StoreLock(fd: try sys { () throws(KernelError) in try Sys.lockFile(imagesDirectory + "/.gc.lock", shared: true)! })
    }

    /// Runs `body` holding the lock named `key` (a blob's or a layer's hex). The lock file
    /// stays; `prune` removes lock files it can take without waiting, and a holder checks
    /// that the file it locked is still the one at the path, so a removal never lets two
    /// holders in at once.
    func withLock<T>(_ key: String, _ body: () throws(ImageError) -> T) throws(ImageError) -> T {
        let lock = try lock(key)
        defer { lock.release() }
        return try body()
    }

    /// Takes the lock named `key` (blocking) until `release()`.
    func lock(_ key: String) throws(ImageError) -> StoreLock {
        let path = locksDirectory + "/" + key
        while true {
            let fd = try sys { () throws(KernelError) in try Sys.lockFile(path, shared: false)! }
            let held = try? Sys.fstat(fd, describedAs: path)
            let now = try? Sys.stat(path, followSymlinks: false)
            if let held, let now, held.inode == now.inode, held.device == now.device {
                return StoreLock(fd: fd)
            }
            Sys.close(fd)  // removed by prune while we waited: lock the new one
        }
    }

    /// Runs `body` holding blob `digest`'s lock: how concurrent pulls fetch each blob once
    /// (the second finds `hasBlob` true once it has the lock).
    public func withBlobLock<T>(_ digest: Digest, _ body: () throws(ImageError) -> T) throws(ImageError) -> T {
        try prepare()
        return try withLock("blob-" + digest.hex, body)
    }

    /// `withBlobLock` for an async caller: blob `digest`'s lock until `release()`. Blocks
    /// while another writer holds it, so call it off any event loop.
    public func blobLock(_ digest: Digest) throws(ImageError) -> StoreLock {
        try prepare()
        return try lock("blob-" + digest.hex)
    }

    /// Runs `body` under `.lock`, the lock of `index.json`.
    func withIndexLock<T>(_ body: () throws(ImageError) -> T) throws(ImageError) -> T {
        let fd = try sys { () throws(KernelError) in try Sys.lockFile(imagesDirectory + "/.lock") }
        defer { Sys.close(fd) }
        return try body()
    }

    func fsyncDirectory(_ path: String) throws(ImageError) {
        try sys { () throws(KernelError) in
            let fd = try Sys.open(path, O_RDONLY | O_DIRECTORY)
            defer { Sys.close(fd) }
            try Sys.fsync(fd, path: path)
        }
    }

    // MARK: Blobs

    /// Starts writing a blob: stream its bytes in, then `commit`. `expected` and `size`,
    /// when known (a descriptor's), are checked as the bytes arrive and at the end.
    public func blobWriter(expected: Digest?, size: Int64?, what: String) throws(ImageError) -> BlobWriter {
        try prepare()
        let temp = try makeTemp(directory: false)
        let fd: Int32
        do { fd = try Sys.open(temp, O_WRONLY | O_TRUNC | O_CLOEXEC) } catch {
            _ = try? Sys.unlinkIfPresent(temp)
            throw .kernel(error)
        }
        return BlobWriter(store: self, temp: temp, fd: fd, expected: expected, expectedSize: size, what: what)
    }

    /// Stores `bytes` (a manifest, a config) as a blob; checks `expected` when given.
    @discardableResult
    public func putBlob(_ bytes: [UInt8], expected: Digest? = nil, what: String) throws(ImageError) -> Digest {
        let writer = try blobWriter(expected: expected, size: expected == nil ? nil : Int64(bytes.count), what: what)
        try writer.write(bytes)
        return try writer.commit()
    }

    /// Copies the bytes of `reader` in as a blob.
    @discardableResult
    func putBlob(from reader: ByteReader, expected: Digest?, size: Int64?) throws(ImageError) -> Digest {
        if let expected, hasBlob(expected) { return expected }
        let writer = try blobWriter(expected: expected, size: size, what: reader.name)
        try reader.drain { (chunk: UnsafeRawBufferPointer) throws(ImageError) in try writer.write(chunk) }
        return try writer.commit()
    }

    /// The bytes of a stored blob (manifests and configs: small; capped at 4 MiB as
    /// containerd caps manifests).
    public func readBlob(_ digest: Digest) throws(ImageError) -> [UInt8] {
        let path = blobPath(digest)
        let st: Sys.FileStatus
        do { st = try Sys.stat(path) } catch {
            if error.errno.rawValue == ENOENT { throw .badDocument("blob \(digest) is not in the store") }
            throw .kernel(error)
        }
        guard st.size <= Self.maxDocumentBytes else {
            throw .badDocument("blob \(digest): \(st.size) bytes, over the \(Self.maxDocumentBytes)-byte limit for a manifest or config")
        }
        return try sys { () throws(KernelError) in try Sys.readFile(path) }
    }

    public static let maxDocumentBytes: Int64 = 4 << 20

    // MARK: Layers

    /// Unpacks the layer blob `blob` as the layer `diffID`, unless it is there already:
    /// decompressed as `compression` says (nil: by its first bytes), its uncompressed
    /// SHA-256 checked against `diffID`. A mismatch is an error naming the blob, and
    /// nothing of the layer stays. Under the layer's lock: concurrent callers unpack once.
    /// `name` names the layer in messages (the user's tar file); by default its blob digest.
    public func ensureLayer(_ diffID: Digest, blob: Digest, compression: LayerCompression?, name: String? = nil) throws(ImageError) {
        if hasLayer(diffID) { return }
        try prepare()
        try withLock("layer-" + diffID.hex) { () throws(ImageError) in
            if hasLayer(diffID) { return }
            let temp = try makeTemp(directory: true)
            do throws(ImageError) {
                let size = try unpack(blob: blob, compression: compression, diffID: diffID, into: temp, name: name ?? "layer \(blob)")
                let tree = try TreeDigest.of(temp + "/rootfs")
                let meta = JSONValue.object([JSONMember("diffID", .string(diffID.description)), JSONMember("blob", .string(blob.description)),
                                             JSONMember("size", .int(size)), JSONMember("tree", .string(tree.description))]).serialized()
                try sys { () throws(KernelError) in
                    try Sys.writeFileAtomically(temp + "/layer.json", Array((meta + "\n").utf8), mode: 0o600)
                }
                let target = layersDirectory + "/" + diffID.hex
                do throws(KernelError) {
                    try Sys.rename(temp, target)
                } catch where error.errno.rawValue == EEXIST || error.errno.rawValue == ENOTEMPTY {
                    // A layer dir without layer.json: what a crash between two renames of an
                    // older podrec could leave. Ours is complete; replace it.
                    try removeTree(target)
                    try sys { () throws(KernelError) in try Sys.rename(temp, target) }
                } catch {
                    throw .kernel(error)
                }
                try fsyncDirectory(layersDirectory)
            } catch {
                try? removeTree(temp)
                throw error
            }
        }
    }

    /// The unpack itself, into `temp/rootfs`: blob → decompressor → hash → tar → tree.
    private func unpack(blob: Digest, compression: LayerCompression?, diffID: Digest, into temp: String, name: String) throws(ImageError) -> Int64 {
        let rootfs = temp + "/rootfs"
        try sys { () throws(KernelError) in try Sys.mkdir(rootfs, mode: 0o755) }
        let path = blobPath(blob)
        let fd = try sys { () throws(KernelError) in try Sys.open(path, O_RDONLY | O_CLOEXEC) }
        defer { Sys.close(fd) }
        let file = FileReader(fd: fd, name: name, chunk: 1 << 16)
        var kind = compression
        if kind == nil {
            var head = [UInt8](repeating: 0, count: 4)
            let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 4, 0) }
            kind = LayerCompression.sniff(head.prefix(max(n, 0)))
        }
        let hashing = HashingReader(try file.decompressed(kind!))
        var writer = try RootfsWriter(source: name, rootPath: rootfs)
        defer { writer.close() }
        var tar = TarImport(input: hashing, sourceName: name, layer: true)
        try tar.run(into: &writer)
        try hashing.drain { (_: UnsafeRawBufferPointer) in }  // what follows the end blocks is part of the diff id
        let got = hashing.hasher.finish()
        guard got == diffID else {
            throw .verification(what: "layer blob \(blob)", reason: "its uncompressed content has the digest \(got), but the image config says diff id \(diffID)")
        }
        try writer.finish()
        return writer.size
    }

    // MARK: Names

    /// Makes an image visible: its manifest (already a blob), with every blob and layer it
    /// names, under each of `names` (replacing what they named). `index`, when the image came
    /// from a multi-platform index, lets `NAME@<index digest>` find it too. Checks first that
    /// everything the image needs is in the store: an index entry never names a partial image.
    @discardableResult
    public func commitImage(manifest: Digest, index: Digest? = nil, names: [ImageReference]) throws(ImageError) -> StoredImage {
        let resolved = try load(manifest: manifest)
        try withIndexLock { () throws(ImageError) in
            var entries = try readIndex()
            let created = Self.now()
            for ref in names {
                let entry = IndexEntry(name: ref.name, tag: ref.tag, manifest: manifest, index: index, created: created)
                entries.removeAll { $0.name == entry.name && (ref.tag != nil ? $0.tag == ref.tag : ($0.tag == nil && $0.manifest == manifest)) }
                entries.append(entry)
            }
            try writeIndex(entries)
        }
        return StoredImage(reference: names.first ?? ImageReference(validName: "unnamed", tag: nil, digest: manifest), manifestDigest: manifest,
                           config: resolved.config, diffIDs: resolved.diffIDs, layerDirectories: resolved.layers, size: resolved.size)
    }

    struct IndexEntry: Hashable {
        var name: String
        var tag: String?
        var manifest: Digest
        var index: Digest?
        var created: String
    }

    func readIndex() throws(ImageError) -> [IndexEntry] {
        let bytes: [UInt8]
        do { bytes = try Sys.readFile(indexPath) } catch {
            if error.errno.rawValue == ENOENT { return [] }
            throw .kernel(error)
        }
        do {
            let o = try JSONObject(parsing: bytes, what: indexPath)
            var out: [IndexEntry] = []
            for e in try o.objects("images") ?? [] {
                // Only names this podrec can parse: an index edited by hand never crashes it.
                guard let name = try e.string("name"), (try? ImageReference(parsing: name)) != nil else { continue }
                out.append(IndexEntry(name: try e.requiredString("name"), tag: try e.string("tag"),
                                      manifest: try Digest(parsing: try e.requiredString("manifest")),
                                      index: try e.string("index").map { (s: String) throws(ImageSpecError) in try Digest(parsing: s) },
                                      created: try e.string("created") ?? ""))
            }
            return out
        } catch {
            throw ImageError(error)
        }
    }

    func writeIndex(_ entries: [IndexEntry]) throws(ImageError) {
        let sorted = entries.sorted { ($0.name, $0.tag ?? "", $0.manifest.hex) < ($1.name, $1.tag ?? "", $1.manifest.hex) }
        var items: [JSONValue] = []
        for e in sorted {
            var m = [JSONMember("name", .string(e.name))]
            if let t = e.tag { m.append(JSONMember("tag", .string(t))) }
            m.append(JSONMember("manifest", .string(e.manifest.description)))
            if let i = e.index { m.append(JSONMember("index", .string(i.description))) }
            m.append(JSONMember("created", .string(e.created)))
            items.append(.object(m))
        }
        let text = JSONValue.object([JSONMember("images", .array(items))]).serialized(indent: 2) + "\n"
        try sys { () throws(KernelError) in try Sys.writeFileAtomically(indexPath, Array(text.utf8), mode: 0o600) }
    }

    // MARK: Reading

    struct Resolved {
        var config: ImageConfig
        var diffIDs: [Digest]
        var layers: [String]
        var size: Int64
    }

    /// The manifest, its config and its layers, every one present, or an error naming what
    /// is missing.
    func load(manifest: Digest) throws(ImageError) -> Resolved {
        let m: ImageManifest
        let c: OCIImageConfig
        do {
            guard case .manifest(let parsed) = try ManifestDocument(parsing: try readBlob(manifest), what: "manifest \(manifest)") else {
                throw ImageError.badDocument("manifest \(manifest) is an index, not an image manifest")
            }
            m = parsed
            c = try OCIImageConfig(parsing: try readBlob(m.config.digest), what: "config \(m.config.digest)")
        } catch let e as ImageSpecError {
            throw ImageError(e)
        } catch let e as ImageError {
            throw e
        } catch {
            throw .badDocument("\(error)")
        }
        guard c.diffIDs.count == m.layers.count else {
            throw .badDocument("manifest \(manifest): \(m.layers.count) layers, but its config lists \(c.diffIDs.count) diff ids")
        }
        var size: Int64 = 0
        for d in c.diffIDs {
            guard hasLayer(d) else { throw .badDocument("image \(manifest): layer \(d) is not in the store (podrec image check)") }
            size += layerSize(d)
        }
        return Resolved(config: c.runDefaults, diffIDs: c.diffIDs, layers: c.diffIDs.map(layerDirectory), size: size)
    }

    func layerSize(_ diffID: Digest) -> Int64 {
        guard let bytes = try? Sys.readFile(layersDirectory + "/" + diffID.hex + "/layer.json"),
              let o = try? JSONObject(parsing: bytes, what: "layer.json"), let n = try? o.int("size") else { return 0 }
        return n
    }

    /// The stored image `ref`, or `.notFound`. By digest, `ref` matches an image whose
    /// manifest (or the index it was picked from) has that digest.
    public func image(_ ref: ImageReference) throws(ImageError) -> StoredImage {
        let entries = try readIndex()
        let match: IndexEntry?
        if let d = ref.digest {
            match = entries.first { $0.name == ref.name && ($0.manifest == d || $0.index == d) }
        } else {
            match = entries.first { $0.name == ref.name && $0.tag == ref.tag }
        }
        if let match {
            let r = try load(manifest: match.manifest)
            return StoredImage(reference: ImageReference(validName: match.name, tag: match.tag, digest: nil), manifestDigest: match.manifest,
                               config: r.config, diffIDs: r.diffIDs, layerDirectories: r.layers, size: r.size, created: match.created)
        }
        if ref.digest == nil, let legacy = try legacyImage(ref) { return legacy }
        throw .notFound(ref)
    }

    /// Every image: index entries, then the first store's images not shadowed by one.
    public func list() throws(ImageError) -> [StoredImage] {
        var out: [StoredImage] = []
        for e in try readIndex() {
            let ref = ImageReference(validName: e.name, tag: e.tag, digest: nil)
            if let r = try? load(manifest: e.manifest) {
                out.append(StoredImage(reference: ref, manifestDigest: e.manifest, config: r.config, diffIDs: r.diffIDs,
                                       layerDirectories: r.layers, size: r.size, created: e.created))
            }
        }
        let named = Set(out.map { "\($0.reference.name):\($0.reference.tag ?? "")" })
        for legacy in try legacyImages() where !named.contains("\(legacy.reference.name):\(legacy.reference.tag ?? "")") {
            out.append(legacy)
        }
        return out.sorted { ($0.reference.description, $0.manifestDigest?.hex ?? "") < ($1.reference.description, $1.manifestDigest?.hex ?? "") }
    }

    // MARK: Remove

    /// Removes the name `ref` (by tag, or every name of the image with that digest). The
    /// blobs and layers stay until `prune`, which knows what pods still use. `.notFound`
    /// when nothing matched.
    public func remove(_ ref: ImageReference) throws(ImageError) {
        try prepare()
        let removed = try withIndexLock { () throws(ImageError) -> Bool in
            var entries = try readIndex()
            let before = entries.count
            if let d = ref.digest {
                entries.removeAll { $0.name == ref.name && ($0.manifest == d || $0.index == d) }
            } else {
                entries.removeAll { $0.name == ref.name && $0.tag == ref.tag }
            }
            if entries.count == before { return false }
            try writeIndex(entries)
            return true
        }
        if removed { return }
        if ref.digest == nil, try removeLegacy(ref) { return }
        throw .notFound(ref)
    }

    // MARK: Trees

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

/// A blob being written: bytes streamed to a temp file, hashed and counted as they come,
/// then `commit` checks size and digest, flushes, makes the file read-only and renames it
/// into `blobs/sha256/`. Dropped without `commit`, or failing a check, it leaves nothing.
public final class BlobWriter {
    let store: ImageStore
    let temp: String
    private var fd: Int32
    private let hasher = SHA256Hasher()
    public let expected: Digest?
    public let expectedSize: Int64?
    /// The blob, for messages: its digest and where it comes from.
    public let what: String
    private var done = false

    init(store: ImageStore, temp: String, fd: Int32, expected: Digest?, expectedSize: Int64?, what: String) {
        self.store = store
        self.temp = temp
        self.fd = fd
        self.expected = expected
        self.expectedSize = expectedSize
        self.what = what
    }

    deinit {
        if !done { abort() }
    }

    public var written: Int64 { hasher.count }

    private func name() -> String { expected.map { "blob \($0) (\(what))" } ?? what }

    public func write(_ bytes: [UInt8]) throws(ImageError) {
        var failure: ImageError?
        bytes.withUnsafeBytes { b in
            do throws(ImageError) { try write(b) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(ImageError) {
        precondition(!done, "write after commit or abort")
        if let expectedSize, hasher.count + Int64(bytes.count) > expectedSize {
            abort()
            throw .verification(what: name(), reason: "more than the \(expectedSize) bytes its descriptor says")
        }
        hasher.update(bytes)
        do { try Sys.writeAll(fd, bytes, describedAs: temp) } catch {
            abort()
            throw .kernel(error)
        }
    }

    /// Verifies and moves the blob into place; returns its digest. A blob already stored
    /// under that digest (another writer's) is left as it is: same digest, same bytes.
    @discardableResult
    public func commit() throws(ImageError) -> Digest {
        precondition(!done, "commit after commit or abort")
        let digest = hasher.finish()
        let size = hasher.count
        if let expectedSize, size != expectedSize {
            abort()
            throw .verification(what: name(), reason: "\(size) bytes, but its descriptor says \(expectedSize)")
        }
        if let expected, digest != expected {
            abort()
            throw .verification(what: name(), reason: "its content has the digest \(digest)")
        }
        do {
            try Sys.fsync(fd, path: temp)
            try Sys.fchmod(fd, 0o400, describedAs: temp)
            Sys.close(fd)
            fd = -1
            try Sys.rename(temp, store.blobPath(digest))
        } catch {
            abort()
            throw .kernel(error)
        }
        done = true
        try store.fsyncDirectory(store.blobsDirectory)
        return digest
    }

    public func abort() {
        guard !done else { return }
        done = true
        if fd >= 0 { Sys.close(fd) }
        fd = -1
        _ = try? Sys.unlinkIfPresent(temp)
    }
}

/// A held flock of the store (a blob's, or the writers' shared `.gc.lock`): released by
/// `release()`, or when dropped. Sendable so that an async caller can take it on one
/// thread and release it on another: a flock belongs to the open file, not the thread.
public final class StoreLock: @unchecked Sendable {
    private var fd: Int32
    private let mutex = PthreadMutex()

    init(fd: Int32) { self.fd = fd }

    deinit { release() }

    public func release() {
        mutex.locked {
            if fd >= 0 { Sys.close(fd) }
            fd = -1
        }
    }
}

/// The smallest lock for `StoreLock.release`, which two tasks may race to call.
final class PthreadMutex: @unchecked Sendable {
    private var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return body()
    }
}

/// An image in the store.
public struct StoredImage: Sendable, Hashable {
    public var reference: ImageReference
    /// nil for an image of the first store (a rootfs dir, not yet an OCI image).
    public var manifestDigest: Digest?
    /// The run defaults (entrypoint, cmd, env, workdir, user, stop signal).
    public var config: ImageConfig
    public var diffIDs: [Digest]
    /// The unpacked layers, base first: the overlay's lower dirs, reversed.
    public var layerDirectories: [String]
    /// Bytes of the unpacked layers.
    public var size: Int64
    public var created: String = ""
    /// Set for an image of the first store: its `<name>/<tag>` directory.
    public var legacyDirectory: String? = nil

    /// The tree of a one-layer image (the first store's, or `image import DIR|TAR`): what
    /// the launch plan's single lower dir names.
    public var rootfs: String { layerDirectories.last ?? "" }
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
