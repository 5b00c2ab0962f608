import ImageModel
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
                let top = Array(image.layerDirectories.reversed())
                var user: Result<ImageUser, ImageSpecError>?
                do throws(ImageSpecError) {
                    if let u = try ImageUser.resolve(image.config.user, passwd: file("etc/passwd", in: top), group: file("etc/group", in: top)) {
                        user = .success(u)
                    }
                } catch {
                    user = .failure(error)
                }
                return Found(layers: top, config: image.config, user: user)
            } catch .notFound {
                return nil
            }
        }
    }
}

/// A small file of the image as its merged root shows it: from the topmost layer that has
/// it; nil when a layer whites it out or none has it. Never follows a symlink (an image's
/// /etc/passwd is a file), and reads at most 1 MiB.
func file(_ relative: String, in layers: [String]) -> String? {
    let parents = relative.split(separator: "/").dropLast()
    for layer in layers {
        // No symlink on the way: `etc -> /etc` in an image must not read the host's.
        var dir = layer
        var through = true
        for p in parents {
            dir += "/" + p
            guard let st = try? Sys.stat(dir, followSymlinks: false) else { through = false; break }
            if !st.isDirectory { return nil }
        }
        if !through { continue }
        guard let st = try? Sys.stat(layer + "/" + relative, followSymlinks: false) else { continue }
        guard st.isRegularFile, st.size <= 1 << 20, let bytes = try? Sys.readFile(layer + "/" + relative) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
    return nil
}
