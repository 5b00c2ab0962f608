import Glibc
import ImageModel
import Images
import Kernel
import PodBuilder
import PodModel
import Seccomp
import Synchronization

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
    /// This lookup with each answer kept (a thrown error is not): a pass asks for an image
    /// twice, whether to pull it and then to build with it, and reads the store once.
    func remembering() -> ImageLookup {
        let answers = Mutex<[ImageReference: Found?]>([:])
        return ImageLookup { ref in
            if let known = answers.withLock({ $0[ref] }) { return known }
            let found = try find(ref)
            answers.withLock { $0[ref] = found }
            return found
        }
    }

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

/// Where seccomp profiles come from on this host: `--seccomp-root` for `Localhost` ones
/// (kubelet's `/var/lib/kubelet/seccomp`), and the default for containers that name none.
public struct SeccompSettings: Sendable, Hashable {
    public var root: String
    /// `.runtimeDefault` (podman's and kubelet's `--seccomp-default`) or `.unconfined`.
    public var defaultChoice: SeccompChoice

    public init(root: String = "/var/lib/podrec/seccomp", defaultChoice: SeccompChoice = .runtimeDefault) {
        self.root = root
        self.defaultChoice = defaultChoice
    }
}

extension SeccompLookup {
    /// libseccomp on this host: RuntimeDefault from its table (names this libseccomp does not
    /// know skipped, as runc skips them), Localhost profiles read below `settings.root` (a
    /// path that leaves the root, through `..` or a symlink, is refused; unknown syscalls are
    /// errors); each program compiled once per process (`SeccompPrograms`) and stored once
    /// in `store`.
    public static func host(_ settings: SeccompSettings, store: SeccompStore) -> SeccompLookup {
        let programs = SeccompPrograms()
        return SeccompLookup(defaultChoice: settings.defaultChoice) { request in
            let bounding = Set(request.bounding.names)
            let bytes: [UInt8]
            let profile: String
            switch request.choice {
            case .unconfined:
                throw SeccompLookupError(description: "Unconfined has no program")
            case .runtimeDefault:
                profile = "RuntimeDefault"
                bytes = try programs.program(for: request, profile: []) {
                    try SeccompCompiler.compile(RuntimeDefault.profile(bounding: bounding), bounding: bounding, unknown: .skip)
                }
            case .localhost(let relative):
                let path = try localhostProfilePath(relative, root: settings.root)
                profile = "Localhost \(path)"
                let text: [UInt8]
                do { text = try Sys.readFile(path) } catch { throw SeccompLookupError(description: "\(path): \(error)") }
                do {
                    bytes = try programs.program(for: request, profile: text) {
                        try SeccompCompiler.compile(try SeccompProfile.parse(text), bounding: bounding, unknown: .refuse)
                    }
                } catch {
                    throw SeccompLookupError(description: "\(path): \(error)")
                }
            }
            let stored = try store.store(bytes)
            return SeccompFilterRef(path: stored.path, sha256: stored.sha256, profile: profile)
        }
    }

    /// `root/relative`, refused when it would leave the root: `..` or an absolute path
    /// (validation refuses those already), or a symlink on the way that points out of it.
    static func localhostProfilePath(_ relative: String, root: String) throws(SeccompLookupError) -> String {
        let parts = relative.split(separator: "/")
        if relative.hasPrefix("/") || parts.contains("..") {
            throw SeccompLookupError(description: "localhostProfile \(relative.debugDescription) must be a path below the seccomp root \(root)")
        }
        let path = root + "/" + parts.joined(separator: "/")
        guard let realRoot = realPath(root) else {
            throw SeccompLookupError(description: "\(path): the seccomp root \(root) does not exist (--seccomp-root, PODREC_SECCOMP_ROOT)")
        }
        guard let real = realPath(path) else { throw SeccompLookupError(description: "\(path): no such profile") }
        guard real.hasPrefix(realRoot.hasSuffix("/") ? realRoot : realRoot + "/") else {
            throw SeccompLookupError(description: "\(path): resolves to \(real), outside the seccomp root \(realRoot)")
        }
        return path
    }

    static func realPath(_ path: String) -> String? {
        guard let p = Glibc.realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}

public struct SeccompLookupError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// The programs one process compiled, by everything that decides their bytes: the request
/// (profile choice, bounding set) and, for a Localhost profile, the file's bytes as read
/// now, so an edited profile compiles again. libseccomp takes ~10 ms a program here, and a
/// watcher's resync builds every pod's plan every 5 s: with 50 pods, compiling each time
/// was 10% of a CPU while nothing changed. Errors are not kept.
final class SeccompPrograms: Sendable {
    struct Key: Hashable {
        var request: SeccompRequest
        var profile: [UInt8]
    }
    /// A watcher that sees many versions of many profiles would otherwise keep them all.
    static let limit = 64
    private let programs = Mutex<[Key: [UInt8]]>([:])

    func program(for request: SeccompRequest, profile: [UInt8], compile: () throws -> [UInt8]) throws -> [UInt8] {
        let key = Key(request: request, profile: profile)
        if let bytes = programs.withLock({ $0[key] }) { return bytes }
        let bytes = try compile()
        programs.withLock {
            if $0.count >= Self.limit { $0.removeAll() }
            $0[key] = bytes
        }
        return bytes
    }
}
