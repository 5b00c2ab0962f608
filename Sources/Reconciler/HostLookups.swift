import Images
import Kernel
import PodBuilder

// The host's side of the builder's two lookups: the reconciler wires these in
// (`Reconciler.onThisHost`), and the builder itself stays pure.

extension FileLookup {
    /// The host's filesystem: lstat, and readlink for a symlink.
    public static let host = FileLookup { path in
        guard let st = try? Sys.stat(path, followSymlinks: false) else { return nil }
        if st.isDirectory { return .directory }
        if st.isRegularFile { return .file(executable: st.permissions & 0o111 != 0) }
        if st.isSymlink { return (try? Sys.readlink(path)).map { .symlink(target: $0) } ?? .other }
        return .other
    }
}

extension ImageLookup {
    /// podrec's image store: an image not in it is nil, a store that cannot be read throws.
    public static func store(_ store: ImageStore) -> ImageLookup {
        ImageLookup { ref in
            do throws(ImageError) {
                let image = try store.image(ref)
                // The launch plan names one lower dir until it carries the layer stack.
                guard image.layerDirectories.count == 1 else {
                    throw ImageError.badConfig("\(ref) has \(image.layerDirectories.count) layers; this podrec runs one-layer images only")
                }
                return Found(rootfs: image.rootfs, config: image.config)
            } catch .notFound {
                return nil
            }
        }
    }
}
