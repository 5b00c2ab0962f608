import Glibc
import ImageModel
import Kernel
import YAML

/// `podrec image import`: what it reads and how each becomes images in the store.
///
/// - An OCI image layout directory (`oci-layout`, `index.json`, `blobs/`), as `skopeo copy
///   … oci:DIR` and `umoci` write it.
/// - A tar file of one of those (an oci-archive), or a docker-archive (`docker save`,
///   `podman save`: `manifest.json` with `Config`, `RepoTags`, `Layers`, old style or the
///   Docker 25+ layout that carries an OCI layout too; manifest.json is what is read).
/// - A root filesystem: a directory, or a tar (plain, gzip or zstd), as before; it
///   becomes a one-layer image with the run defaults given on the command line.
///
/// Every blob is verified against its digest (and the descriptor's size) on the way in, each
/// layer's uncompressed content against the config's diff id; an image becomes visible only
/// when all of it is in the store (`commitImage`).
extension ImageStore {
    public enum Source: Sendable {
        /// A directory (an OCI layout, or a rootfs) or a file (an archive, or a rootfs tar).
        case path(String)
        /// A tar read from an open fd (stdin), named in messages: an archive or a rootfs tar.
        case tarStream(fd: Int32, name: String)
    }

    /// Imports `source`, naming the result `ref` (required for a rootfs; for an archive it
    /// replaces the names the archive carries, and the archive must then hold one image).
    /// `config` gives a rootfs image its run defaults; `platform` picks from an index.
    /// Returns the images made.
    @discardableResult
    public func importImages(_ ref: ImageReference?, from source: Source, config: ImageConfig = ImageConfig(),
                             platform: Platform = ImageStore.hostPlatform()) throws(ImageError) -> [StoredImage] {
        do { try config.validate() } catch { throw ImageError(error) }
        return try writing { () throws(ImageError) -> [StoredImage] in
            collectTemporaries()
            switch source {
            case .path(let path):
                let st = try sys { () throws(KernelError) in try Sys.stat(path) }
                if st.isDirectory {
                    if Sys.exists(path + "/oci-layout") {
                        return try importLayout(directory: path, ref: ref, platform: platform)
                    }
                    return [try importRootfs(directory: path, ref: ref, config: config)]
                }
                guard st.isRegularFile else { throw ImageError.badConfig("\(path): not a directory or a tar file") }
                let fd = try sys { () throws(KernelError) in try Sys.open(path, O_RDONLY | O_CLOEXEC) }
                defer { Sys.close(fd) }
                let blob = try putBlob(from: FileReader(fd: fd, name: path, chunk: 1 << 20), expected: nil, size: nil)
                return try importTar(blob: blob, name: path, sourcePath: (try? Sys.realPath(path)) ?? path, ref: ref, config: config, platform: platform)
            case .tarStream(let fd, let name):
                let blob = try putBlob(from: FileReader(fd: fd, name: name, chunk: 1 << 20), expected: nil, size: nil)
                return try importTar(blob: blob, name: name, sourcePath: name, ref: ref, config: config, platform: platform)
            }
        }
    }

    /// The first store's API: one image, named.
    @discardableResult
    public func importImage(_ ref: ImageReference, from source: Source, config: ImageConfig = ImageConfig()) throws(ImageError) -> StoredImage {
        try importImages(ref, from: source, config: config)[0]
    }

    /// `linux/<this machine's architecture>`.
    public static func hostPlatform() -> Platform {
        var u = utsname()
        uname(&u)
        let machine = withUnsafeBytes(of: &u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return Platform(architecture: Platform.goArchitecture(machine: machine), variant: machine.hasPrefix("armv7") ? "v7" : nil)
    }

    // MARK: A tar: archive or rootfs

    private func importTar(blob: Digest, name: String, sourcePath: String, ref: ImageReference?, config: ImageConfig,
                           platform: Platform) throws(ImageError) -> [StoredImage] {
        let compression = try sniff(blob)
        if compression == .none, try isArchive(blob, name: name) {
            var reader = ArchiveReader(store: self, name: name)
            try readTar(blob, name: name, into: &reader)
            if let m = reader.blob("manifest.json") {
                return try importDockerArchive(reader, manifest: m, ref: ref, name: name)
            }
            guard let index = reader.blob("index.json") else {
                throw ImageError.badArchive(source: name, reason: "an OCI archive without index.json")
            }
            return try importIndexFile(index, what: "\(name): index.json", ref: ref, platform: platform) { (d: Digest, size: Int64, _: String) throws(ImageError) in
                guard hasBlob(d) else { throw ImageError.badArchive(source: name, reason: "blob \(d) is named but not in the archive") }
                _ = size
            }
        }
        guard let ref else { throw ImageError.badConfig("\(name): a root filesystem tar needs a NAME[:TAG] to import it as") }
        return [try importLayerBlob(blob, compression: compression, ref: ref, config: config, kind: "tar", sourcePath: sourcePath, name: name)]
    }

    private func sniff(_ blob: Digest) throws(ImageError) -> LayerCompression {
        let fd = try sys { () throws(KernelError) in try Sys.open(blobPath(blob), O_RDONLY | O_CLOEXEC) }
        defer { Sys.close(fd) }
        var head = [UInt8](repeating: 0, count: 4)
        let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 4, 0) }
        return LayerCompression.sniff(head.prefix(max(n, 0)))
    }

    private func readTar(_ blob: Digest, name: String, into sink: inout some TarSink) throws(ImageError) {
        let fd = try sys { () throws(KernelError) in try Sys.open(blobPath(blob), O_RDONLY | O_CLOEXEC) }
        defer { Sys.close(fd) }
        var tar = TarImport(input: FileReader(fd: fd, name: name), sourceName: name, layer: false)
        try tar.run(into: &sink)
    }

    /// An archive has `oci-layout` or `manifest.json` at its top; a root filesystem has
    /// neither (it has `bin/`, `etc/`…). One pass over the headers, the data skipped.
    private func isArchive(_ blob: Digest, name: String) throws(ImageError) -> Bool {
        var listing = NameListing(rootPath: name)
        try readTar(blob, name: name, into: &listing)
        return listing.names.contains("oci-layout") || (listing.names.contains("manifest.json") && !listing.names.contains("bin") && !listing.names.contains("etc"))
    }

    // MARK: A root filesystem

    private func importRootfs(directory: String, ref: ImageReference?, config: ImageConfig) throws(ImageError) -> StoredImage {
        guard let ref else { throw ImageError.badConfig("\(directory): a root filesystem needs a NAME[:TAG] to import it as") }
        let images = try sys { () throws(KernelError) in try Sys.stat(imagesDirectory) }
        let temp = try makeTemp(directory: false)
        do throws(ImageError) {
            let fd = try sys { () throws(KernelError) in try Sys.open(temp, O_WRONLY | O_TRUNC | O_CLOEXEC) }
            do throws(ImageError) {
                var tar = TarWriter(fd: fd, path: directory)
                var copy = DirectoryImport(sourcePath: directory, skip: (images.device, images.inode))
                try copy.run(into: &tar)
                try tar.finish()
            } catch {
                Sys.close(fd)
                throw error
            }
            Sys.close(fd)
            let blob = try adoptBlob(temp, expected: nil, size: nil, what: directory)
            return try importLayerBlob(blob, compression: LayerCompression.none, ref: ref, config: config, kind: "dir",
                                       sourcePath: (try? Sys.realPath(directory)) ?? directory)
        } catch {
            _ = try? Sys.unlinkIfPresent(temp)
            throw error
        }
    }

    /// A one-layer OCI image from one layer blob: the diff id (the blob's digest when it is
    /// not compressed), the layer, a config with `config`'s run defaults, a manifest.
    private func importLayerBlob(_ blob: Digest, compression: LayerCompression, ref: ImageReference, config: ImageConfig,
                                 kind: String, sourcePath: String, name: String? = nil) throws(ImageError) -> StoredImage {
        let diffID: Digest
        if compression == .none {
            diffID = blob
        } else {
            let fd = try sys { () throws(KernelError) in try Sys.open(blobPath(blob), O_RDONLY | O_CLOEXEC) }
            defer { Sys.close(fd) }
            let hashing = HashingReader(try FileReader(fd: fd, name: "layer \(blob)", chunk: 1 << 20).decompressed(compression))
            try hashing.drain { (_: UnsafeRawBufferPointer) in }
            diffID = hashing.hasher.finish()
        }
        try ensureLayer(diffID, blob: blob, compression: compression, name: name)
        let platform = Self.hostPlatform()
        let oci = OCIImageConfig(architecture: platform.architecture, os: platform.os, variant: platform.variant, created: Self.now(),
                                 entrypoint: config.entrypoint, cmd: config.cmd, env: config.env, workingDir: config.workdir,
                                 user: config.user, stopSignal: config.stopSignal.isEmpty ? nil : config.stopSignal, diffIDs: [diffID])
        let configBytes = Array(oci.json.serialized().utf8)
        let configDigest = try putBlob(configBytes, what: "the config of \(ref)")
        let layerType: String
        switch compression {
        case .none: layerType = MediaType.ociLayer
        case .gzip: layerType = MediaType.ociLayerGzip
        case .zstd: layerType = MediaType.ociLayerZstd
        }
        let blobSize = try sys { () throws(KernelError) in try Sys.stat(blobPath(blob)).size }
        let manifest = ImageManifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configBytes.count)),
                                     layers: [Descriptor(mediaType: layerType, digest: blob, size: blobSize,
                                                         annotations: ["io.podrec.import.source": "\(kind):\(sourcePath)"])])
        let manifestDigest = try putBlob(Array(manifest.json.serialized().utf8), what: "the manifest of \(ref)")
        return try commitImage(manifest: manifestDigest, names: [ref.withoutDigest])
    }

    // MARK: OCI layouts

    private func importLayout(directory: String, ref: ImageReference?, platform: Platform) throws(ImageError) -> [StoredImage] {
        let layout = try sys { () throws(KernelError) in try Sys.readFile(directory + "/oci-layout") }
        do {
            let o = try JSONObject(parsing: layout, what: directory + "/oci-layout")
            guard try o.string("imageLayoutVersion") == "1.0.0" else { throw ImageError.badArchive(source: directory, reason: "oci-layout: imageLayoutVersion is not 1.0.0") }
        } catch let e as ImageSpecError { throw ImageError(e) } catch let e as ImageError { throw e } catch { throw ImageError.badDocument("\(error)") }
        let indexBytes = try sys { () throws(KernelError) in try Sys.readFile(directory + "/index.json") }
        let index = try putBlob(indexBytes, what: directory + "/index.json")
        return try importIndexFile(index, what: directory + "/index.json", ref: ref, platform: platform) { (d: Digest, size: Int64, what: String) throws(ImageError) in
            if hasBlob(d) { return }
            let path = "\(directory)/blobs/sha256/\(d.hex)"
            let fd = try sys { () throws(KernelError) in try Sys.open(path, O_RDONLY | O_CLOEXEC) }
            defer { Sys.close(fd) }
            try putBlob(from: FileReader(fd: fd, name: path, chunk: 1 << 20), expected: d, size: size)
        }
    }

    /// The images an OCI layout's index.json names. `fetch` brings a blob into the store
    /// (from the layout directory; a no-op check for an archive, already read).
    private func importIndexFile(_ index: Digest, what: String, ref: ImageReference?, platform: Platform,
                                 fetch: (Digest, Int64, String) throws(ImageError) -> Void) throws(ImageError) -> [StoredImage] {
        let top: ImageIndex
        let indexBytes = try readBlob(index)
        do { top = try ImageIndex(try JSONObject(parsing: indexBytes, what: what), mediaType: MediaType.ociIndex) } catch {
            throw ImageError(error)
        }
        if ref != nil && top.manifests.count != 1 {
            throw ImageError.badConfig("\(what) names \(top.manifests.count) images; import it without a NAME to keep their own names")
        }
        var out: [StoredImage] = []
        for d in top.manifests {
            var names: [ImageReference] = []
            if let ref {
                names = [ref.withoutDigest]
            } else if let full = d.annotations["io.containerd.image.name"], let r = try? ImageReference(parsing: full) {
                names = [r.withoutDigest]
            } else if let refName = d.annotations[Descriptor.refNameAnnotation], refName.contains("/") || refName.contains(":"),
                      let r = try? ImageReference(parsing: refName) {
                names = [r.withoutDigest]
            } else {
                throw ImageError.badConfig("\(what): manifest \(d.digest) has no image name (annotation \(Descriptor.refNameAnnotation) is \"\(d.annotations[Descriptor.refNameAnnotation] ?? "")\"); give a NAME[:TAG]")
            }
            out.append(try importManifest(d, names: names, platform: platform, fetch: fetch))
        }
        return out
    }

    /// One manifest (or an index: its `platform` manifest) with its config and layers, then
    /// its names: the driver of every import, and of a pull. `fetch(digest, size, kind)`
    /// must leave the blob in the store (`hasBlob`), verified: an archive already did, a
    /// layout copies it, a pull downloads it through a `BlobWriter` (under `withBlobLock`).
    /// Kinds are "manifest", "config" and "layer"; a layer already unpacked is not fetched.
    /// Call it inside `writing { }`.
    public func importManifest(_ d: Descriptor, names: [ImageReference], platform: Platform,
                        fetch: (Digest, Int64, String) throws(ImageError) -> Void) throws(ImageError) -> StoredImage {
        try fetch(d.digest, d.size, "manifest")
        let document: ManifestDocument
        let bytes = try readBlob(d.digest)
        do { document = try ManifestDocument(parsing: bytes, what: "manifest \(d.digest)", declared: d.mediaType) } catch {
            throw ImageError(error)
        }
        switch document {
        case .index(let index):
            guard let chosen = index.select(platform) else {
                let have = index.manifests.compactMap { $0.platform?.description }.joined(separator: ", ")
                throw ImageError.badConfig("index \(d.digest) has no image for \(platform) (it has: \(have))")
            }
            let image = try importManifest(chosen, names: [], platform: platform, fetch: fetch)
            return try commitImage(manifest: image.manifestDigest!, index: d.digest, names: names)
        case .manifest(let m):
            try fetch(m.config.digest, m.config.size, "config")
            let config: OCIImageConfig
            let configBytes = try readBlob(m.config.digest)
            do { config = try OCIImageConfig(parsing: configBytes, what: "config \(m.config.digest)") } catch {
                throw ImageError(error)
            }
            guard config.diffIDs.count == m.layers.count else {
                throw ImageError.badDocument("manifest \(d.digest): \(m.layers.count) layers, but its config lists \(config.diffIDs.count) diff ids")
            }
            for (layer, diffID) in zip(m.layers, config.diffIDs) {
                if hasLayer(diffID) { continue }
                try fetch(layer.digest, layer.size, "layer")
                try ensureLayer(diffID, blob: layer.digest, compression: MediaType.layerCompression(layer.mediaType))
            }
            return try commitImage(manifest: d.digest, names: names)
        }
    }

    // MARK: docker-archive

    private func importDockerArchive(_ reader: ArchiveReader, manifest: Digest, ref: ImageReference?, name: String) throws(ImageError) -> [StoredImage] {
        let entries: [DockerArchiveEntry]
        let manifestBytes = try readBlob(manifest)
        do { entries = try DockerArchiveEntry.parse(manifestBytes, what: "\(name): manifest.json") } catch { throw ImageError(error) }
        if ref != nil && entries.count != 1 {
            throw ImageError.badConfig("\(name) holds \(entries.count) images; import it without a NAME to keep their own names")
        }
        var out: [StoredImage] = []
        for e in entries {
            guard let configDigest = reader.blob(e.config) else { throw ImageError.badArchive(source: name, reason: "manifest.json names \(e.config), which is not in the archive") }
            let config: OCIImageConfig
            let configBytes = try readBlob(configDigest)
            do { config = try OCIImageConfig(parsing: configBytes, what: "\(name): \(e.config)") } catch { throw ImageError(error) }
            guard config.diffIDs.count == e.layers.count else {
                throw ImageError.badDocument("\(name): \(e.config) lists \(config.diffIDs.count) diff ids for \(e.layers.count) layers")
            }
            var descriptors: [Descriptor] = []
            for (path, diffID) in zip(e.layers, config.diffIDs) {
                guard let blob = reader.blob(path) else { throw ImageError.badArchive(source: name, reason: "manifest.json names \(path), which is not in the archive") }
                let compression = try sniff(blob)
                try ensureLayer(diffID, blob: blob, compression: compression)
                let type = compression == .gzip ? MediaType.ociLayerGzip : compression == .zstd ? MediaType.ociLayerZstd : MediaType.ociLayer
                descriptors.append(Descriptor(mediaType: type, digest: blob, size: try sys { () throws(KernelError) in try Sys.stat(blobPath(blob)).size }))
            }
            let configSize = try sys { () throws(KernelError) in try Sys.stat(blobPath(configDigest)).size }
            let m = ImageManifest(config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: configSize), layers: descriptors)
            let manifestDigest = try putBlob(Array(m.json.serialized().utf8), what: "\(name): the manifest of \(e.config)")
            var names: [ImageReference] = []
            if let ref { names = [ref.withoutDigest] } else {
                for t in e.repoTags { if let r = try? ImageReference(parsing: t) { names.append(r.withoutDigest) } }
            }
            guard !names.isEmpty else { throw ImageError.badConfig("\(name): \(e.config) has no RepoTags; give a NAME[:TAG]") }
            out.append(try commitImage(manifest: manifestDigest, names: names))
        }
        return out
    }

    // MARK: Leftovers

    /// Removes `tmp/<pid>-*` entries whose process is gone: what a crash left. Safe at any
    /// time: a live writer's pid is alive.
    public func collectTemporaries() {
        guard let names = try? Sys.listDirectory(tmpDirectory) else { return }
        for name in names {
            guard let pid = Int32(name.prefix { $0 != "-" }), pid != Sys.pid, !Sys.processExists(pid) else { continue }
            try? removeTree("\(tmpDirectory)/\(name)")
        }
    }
}

/// The top-level names of a tar, its data skipped.
struct NameListing: TarSink {
    let rootPath: String
    var names: Set<String> = []

    mutating func note(_ path: EntryPath) { if let first = path.components.first { names.insert(first) } }
    mutating func directory(_ path: EntryPath, _ attributes: EntryAttributes, entry: String) throws(ImageError) { note(path) }
    mutating func file(_ path: EntryPath, _ attributes: EntryAttributes, size: Int64, entry: String,
                       write: (Int32) throws(ImageError) -> Void) throws(ImageError) {
        note(path)
        let null = try sys { () throws(KernelError) in try Sys.open("/dev/null", O_WRONLY | O_CLOEXEC) }
        defer { Sys.close(null) }
        try write(null)
    }
    mutating func symlink(_ path: EntryPath, target: String, _ attributes: EntryAttributes, entry: String) throws(ImageError) { note(path) }
    mutating func hardLink(_ path: EntryPath, to target: EntryPath, entry: String, targetName: String) throws(ImageError) { note(path) }
    mutating func whiteout(_ path: EntryPath, entry: String) throws(ImageError) {}
    mutating func opaque(_ path: EntryPath, entry: String) throws(ImageError) {}
}
