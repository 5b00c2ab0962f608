import Glibc
import ImageModel
import Kernel

/// The first store's images: `images/<name, '/' as %2F>/<tag>/{config.json,rootfs/}`, one
/// rootfs each, from `image import DIR|TAR` before the store held OCI images.
///
/// Migration is by reading: such an image is found and listed as a one-layer image (its
/// rootfs the single lower dir, as before), until `image import` of the same name and tag
/// shadows it or `image rm` removes it. `image prune` removes a shadowed one once no pod's
/// plan names its rootfs. Nothing is rewritten in place, so a pod running from one keeps
/// running across the upgrade.
extension ImageStore {
    /// The directory names the first store could have used for `ref`: its name as written
    /// then (`busybox` or `library/busybox` for Docker Hub's `library/`).
    func legacyDirectories(_ ref: ImageReference) -> [String] {
        guard let tag = ref.tag else { return [] }
        var names = [ref.familiarName]
        if ref.domain == ImageReference.defaultDomain && ref.familiarName != ref.path { names.append(ref.path) }
        return names.map { "\(imagesDirectory)/\($0.split(separator: "/", omittingEmptySubsequences: false).joined(separator: "%2F"))/\(tag)" }
    }

    func legacyImage(_ ref: ImageReference) throws(ImageError) -> StoredImage? {
        for dir in legacyDirectories(ref) {
            let configPath = dir + "/config.json"
            let bytes: [UInt8]
            do { bytes = try Sys.readFile(configPath) } catch {
                if error.errno.rawValue == ENOENT || error.errno.rawValue == ENOTDIR { continue }
                throw .kernel(error)
            }
            let config: ImageConfig
            do { config = try ImageConfig(parsing: bytes, file: configPath) } catch { throw ImageError(error) }
            var r = ref
            r.digest = nil
            return StoredImage(reference: r, manifestDigest: nil, config: config, diffIDs: [], layerDirectories: [dir + "/rootfs"],
                               size: config.size, created: config.created, legacyDirectory: dir)
        }
        return nil
    }

    /// Every first-store image: `<name>/<tag>/config.json` below `images/`.
    func legacyImages() throws(ImageError) -> [StoredImage] {
        guard let entries = try? Sys.listDirectory(imagesDirectory) else { return [] }
        var out: [StoredImage] = []
        for entry in entries where !entry.hasPrefix(".") && !["blobs", "layers", "locks", "tmp", "index.json"].contains(entry) {
            let name = entry.split(separator: "%2F", omittingEmptySubsequences: false).joined(separator: "/")
            guard let tags = try? Sys.listDirectory("\(imagesDirectory)/\(entry)") else { continue }
            for tag in tags where ImageReference.tagProblem(Substring(tag)) == nil {
                guard let ref = try? ImageReference(parsing: name + ":" + tag),
                      Sys.exists("\(imagesDirectory)/\(entry)/\(tag)/config.json"),
                      let image = try? legacyImage(ref) else { continue }
                out.append(image)
            }
        }
        return out
    }

    /// Removes the first-store image `ref`: renamed away at once, then deleted.
    func removeLegacy(_ ref: ImageReference) throws(ImageError) -> Bool {
        guard let image = try legacyImage(ref), let dir = image.legacyDirectory else { return false }
        try removeLegacyDirectory(dir)
        return true
    }

    func removeLegacyDirectory(_ dir: String) throws(ImageError) {
        try prepare()
        let temp = try makeTemp(directory: true)
        try withIndexLock { () throws(ImageError) in
            try sys { () throws(KernelError) in
                try Sys.rmdir(temp)
                try Sys.rename(dir, temp)
            }
            // The name directory goes with its last tag.
            _ = try? Sys.rmdir(parentDirectory(dir))
        }
        try removeTree(temp)
    }
}
