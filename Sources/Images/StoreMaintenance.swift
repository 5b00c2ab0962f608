import Glibc
import ImageModel
import Kernel
import YAML

/// `image prune` and `image check`: what the store keeps, and whether what it keeps is
/// still what was verified.
extension ImageStore {
    public struct PruneReport: Sendable, Hashable {
        public var blobs = 0
        public var layers = 0
        public var temporaries = 0
        public var bytes: Int64 = 0
    }

    /// What the index names: manifests, the indexes they came from, configs, layer blobs,
    /// and the layers' diff ids. A manifest that cannot be read keeps what it can.
    func referenced() throws(ImageError) -> (blobs: Set<Digest>, layers: Set<Digest>) {
        var blobs: Set<Digest> = []
        var layers: Set<Digest> = []
        for e in try readIndex() {
            blobs.insert(e.manifest)
            if let i = e.index { blobs.insert(i) }
            guard let bytes = try? readBlob(e.manifest),
                  case .manifest(let m)? = try? ManifestDocument(parsing: bytes, what: "manifest") else { continue }
            blobs.insert(m.config.digest)
            for l in m.layers { blobs.insert(l.digest) }
            if let c = try? readBlob(m.config.digest), let config = try? OCIImageConfig(parsing: c, what: "config") {
                layers.formUnion(config.diffIDs)
            }
        }
        return (blobs, layers)
    }

    /// Removes what no image names and no pod uses: blobs, layers (kept while any path in
    /// `inUse`, the lower dirs of the launch plans on this host, is theirs), first-store
    /// images shadowed by an imported one of the same name, what dead writers left in
    /// `tmp/`, and idle lock files. Waits for running imports (they hold `.gc.lock` shared).
    public func prune(inUse: Set<String>) throws(ImageError) -> PruneReport {
        try prepare()
        var report = PruneReport()
        let gc = try sys { () throws(KernelError) in try Sys.lockFile(imagesDirectory + "/.gc.lock", shared: false)! }
        defer { Sys.close(gc) }
        // Under the exclusive lease no writer runs: every tmp/ entry is a dead one's.
        for name in (try? Sys.listDirectory(tmpDirectory)) ?? [] {
            try removeTree(tmpDirectory + "/" + name)
            report.temporaries += 1
        }
        // A crash between writing index.json's temp and its rename leaves the temp.
        try withIndexLock { () throws(ImageError) in
            for name in (try? Sys.listDirectory(imagesDirectory)) ?? [] where name.hasPrefix(".index.json.tmp.") {
                _ = try? Sys.unlinkIfPresent(imagesDirectory + "/" + name)
                report.temporaries += 1
            }
        }
        let (blobs, layers) = try referenced()
        for name in (try? Sys.listDirectory(layersDirectory)) ?? [] {
            guard let d = try? Digest(hex: name) else { continue }
            if layers.contains(d) && hasLayer(d) { continue }
            if inUse.contains(layerDirectory(d)) { continue }
            report.bytes += layerSize(d)
            try removeTree(layersDirectory + "/" + name)
            report.layers += 1
        }
        for name in (try? Sys.listDirectory(blobsDirectory)) ?? [] {
            if let d = try? Digest(hex: name), blobs.contains(d) { continue }
            report.bytes += (try? Sys.stat(blobsDirectory + "/" + name).size) ?? 0
            try sys { () throws(KernelError) in try Sys.unlink(blobsDirectory + "/" + name) }
            report.blobs += 1
        }
        let named = Set(try readIndex().map { "\($0.name):\($0.tag ?? "")" })
        for legacy in try legacyImages() where named.contains("\(legacy.reference.name):\(legacy.reference.tag ?? "")") {
            guard let dir = legacy.legacyDirectory, !inUse.contains(legacy.rootfs) else { continue }
            report.bytes += legacy.size
            try removeLegacyDirectory(dir)
            report.layers += 1
        }
        for name in (try? Sys.listDirectory(locksDirectory)) ?? [] {
            let path = locksDirectory + "/" + name
            guard let fd = try? Sys.lockFile(path, shared: false, wait: false) else { continue }
            _ = try? Sys.unlinkIfPresent(path)
            Sys.close(fd)
        }
        if report.blobs + report.layers > 0 {
            try? fsyncDirectory(blobsDirectory)
            try? fsyncDirectory(layersDirectory)
        }
        return report
    }

    /// Re-verifies the store: every blob against its name, every layer's tree against the
    /// digest taken when it was unpacked, every index entry complete. Returns the problems,
    /// each naming what it is about; empty when all is well.
    public func check() throws(ImageError) -> [String] {
        var problems: [String] = []
        for name in (try? Sys.listDirectory(blobsDirectory)) ?? [] {
            guard let d = try? Digest(hex: name) else { problems.append("blobs/sha256/\(name): not a digest"); continue }
            do {
                let (got, _) = try SHA256Hasher.digest(ofFile: blobPath(d))
                if got != d { problems.append("blob \(d): its content has the digest \(got)") }
            } catch {
                problems.append("blob \(d): \(error)")
            }
        }
        for name in (try? Sys.listDirectory(layersDirectory)) ?? [] {
            guard let d = try? Digest(hex: name) else { problems.append("layers/sha256/\(name): not a digest"); continue }
            guard let meta = try? Sys.readFile(layersDirectory + "/" + name + "/layer.json"),
                  let o = try? JSONObject(parsing: meta, what: "layer.json") else {
                problems.append("layer \(d): no readable layer.json")
                continue
            }
            guard let recorded = try? o.string("tree") else { continue }
            do {
                let now = try TreeDigest.of(layerDirectory(d))
                if now.description != recorded { problems.append("layer \(d): its tree has changed since it was unpacked (tree digest \(now), recorded \(recorded))") }
            } catch {
                problems.append("layer \(d): \(error)")
            }
        }
        for e in try readIndex() {
            do { _ = try load(manifest: e.manifest) } catch {
                problems.append("image \(ImageReference(validName: e.name, tag: e.tag)): \(error)")
            }
        }
        return problems
    }
}

/// A digest of an unpacked tree: every entry in name order, with its type, mode, owner,
/// size, symlink target, device numbers, the overlay xattrs and the file contents. Taken
/// right after an unpack (`layer.json`'s "tree") and again by `image check`, it tells a
/// layer changed on disk (by hand, by a bug, by the disk) from one that is as unpacked.
enum TreeDigest {
    static func of(_ root: String) throws(ImageError) -> Digest {
        let hasher = SHA256Hasher()
        let fd = try sys { () throws(KernelError) in try Sys.open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        defer { Sys.close(fd) }
        try walk(fd, root, "", hasher)
        return hasher.finish()
    }

    private static func add(_ hasher: SHA256Hasher, _ text: String) {
        var t = text
        t.withUTF8 { hasher.update(UnsafeRawBufferPointer($0)) }
    }

    private static func walk(_ dirfd: Int32, _ hostPath: String, _ relative: String, _ hasher: SHA256Hasher) throws(ImageError) {
        let names = try sys { () throws(KernelError) in try Sys.listDirectory(dirfd, describedAs: hostPath) }.sorted()
        let dirStat = try sys { () throws(KernelError) in try Sys.fstat(dirfd, describedAs: hostPath) }
        let opaque = (try? Sys.getXattr(dirfd, "trusted.overlay.opaque", describedAs: hostPath)) ?? nil
        add(hasher, "d \(relative)/ \(String(dirStat.mode, radix: 8)) \(dirStat.uid):\(dirStat.gid) \(opaque.map { String(decoding: $0, as: UTF8.self) } ?? "-")\n")
        for name in names {
            let here = hostPath + "/" + name
            let path = relative + "/" + name
            let st = try sys { () throws(KernelError) in try Sys.lstatAt(dirfd, name, describedAs: here) }
            switch st.type {
            case S_IFDIR:
                let child = try sys { () throws(KernelError) in try Sys.openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, describedAs: here) }
                defer { Sys.close(child) }
                try walk(child, here, path, hasher)
            case S_IFREG:
                add(hasher, "f \(path) \(String(st.mode, radix: 8)) \(st.uid):\(st.gid) \(st.size)\n")
                let file = try sys { () throws(KernelError) in try Sys.openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, describedAs: here) }
                defer { Sys.close(file) }
                try FileReader(fd: file, name: here, chunk: 1 << 20).drain { (chunk: UnsafeRawBufferPointer) in hasher.update(chunk) }
            case S_IFLNK:
                let target = try sys { () throws(KernelError) in try Sys.readlinkAt(dirfd, name, describedAs: here) }
                add(hasher, "l \(path) \(st.uid):\(st.gid) \(target)\n")
            default:
                add(hasher, "o \(path) \(String(st.mode, radix: 8)) \(st.uid):\(st.gid)\n")
            }
        }
    }
}
