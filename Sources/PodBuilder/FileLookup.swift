import PodModel

/// The one piece of I/O the launch plan builder needs: what a path is, without following a
/// final symlink (lstat, plus readlink for symlinks). Injected (the host's is
/// `FileLookup.host`, in the reconciler), so that the builder stays pure and its PATH
/// search and subPath checks run on a fake tree in unit tests.
public struct FileLookup: Sendable {
    public enum Entry: Sendable, Hashable {
        case directory
        /// A regular file; `executable` when any of its x bits is set.
        case file(executable: Bool)
        case symlink(target: String)
        /// A device, socket or FIFO.
        case other
    }

    /// nil: nothing there (or it cannot be reached).
    public var entry: @Sendable (String) -> Entry?

    public init(_ entry: @escaping @Sendable (String) -> Entry?) {
        self.entry = entry
    }

    /// What the absolute `path` is with every symlink followed, as stat(2) sees it
    /// (`PathResolver` over the whole tree); nil when nothing is there or a link loops.
    public func following(_ path: String) -> Entry? {
        guard case .found(_, let entry) = PathResolver(entry: { self.entry("/" + $0.joined(separator: "/")) }).resolve(path) else {
            return nil
        }
        return entry
    }

    /// A fake tree: absolute paths to entries; every proper prefix of a listed path is a
    /// directory, so only leaves need listing.
    public static func fake(_ entries: [String: Entry]) -> FileLookup {
        var all: [String: Entry] = ["/": .directory]
        for path in entries.keys {
            var parts = path.split(separator: "/").map(String.init)
            while !parts.isEmpty {
                parts.removeLast()
                all["/" + parts.joined(separator: "/")] = .directory
            }
        }
        for (path, e) in entries { all[path] = e }
        let table = all
        return FileLookup { path in
            let clean = "/" + path.split(separator: "/").joined(separator: "/")
            return table[clean]
        }
    }
}

/// Path resolution as the kernel does it, over an injected view of one tree: `..` never
/// climbs above the tree's root, an absolute symlink starts again at that root, and at
/// most 40 symlinks are followed (MAXSYMLINKS). Used for the container's root (an image's
/// rootfs or the host view) and for subPaths inside a volume.
struct PathResolver {
    enum Outcome: Equatable {
        /// Every component exists; `components` are the resolved ones (no symlinks left),
        /// `entry` is what the last one is (`.directory` for the root itself).
        case found(components: [String], entry: FileLookup.Entry)
        /// `prefix` resolved, then `missing` (the rest, as written) does not exist.
        case missing(prefix: [String], rest: [String])
        /// A symlink loop, too many links, or a component under something not a directory.
        case failed
    }

    static let maxSymlinks = 40

    /// What the path made of `components` (already resolved, relative to the root) is.
    var entry: ([String]) -> FileLookup.Entry?

    func resolve(_ path: String) -> Outcome {
        var done: [String] = []
        var pending: [String] = path.split(separator: "/").reversed().map(String.init)
        var last: FileLookup.Entry = .directory
        var hops = 0
        while let c = pending.popLast() {
            if c == "." { continue }
            if c == ".." {
                if !done.isEmpty { done.removeLast() }
                last = .directory
                continue
            }
            guard last == .directory else { return .failed }
            let candidate = done + [c]
            guard let e = entry(candidate) else {
                let rest = [c] + pending.reversed()
                return .missing(prefix: done, rest: rest.filter { $0 != "." })
            }
            if case .symlink(let target) = e {
                hops += 1
                if hops > Self.maxSymlinks { return .failed }
                if target.hasPrefix("/") { done = [] }
                pending.append(contentsOf: target.split(separator: "/").reversed().map(String.init))
                last = .directory
                continue
            }
            done = candidate
            last = e
        }
        return .found(components: done, entry: last)
    }

    /// `base/c1/c2`; `base` alone (or `/`) for no components.
    static func join(_ base: String, _ components: [String]) -> String {
        let b = base.hasSuffix("/") ? String(base.dropLast()) : base
        return components.isEmpty ? (b.isEmpty ? "/" : b) : b + "/" + components.joined(separator: "/")
    }
}

/// A container's `/` as the PATH search sees it: the image's rootfs, or for `image: host`
/// only the allowlisted host dirs (the rest of that root is empty tmpfs), with the
/// container's volume mounts on top.
struct ContainerRootView {
    enum Base {
        case host([String: HostEntry])
        /// The image's layers, top first, merged as overlayfs merges them.
        case image(layers: [String])
    }

    var base: Base
    /// Mount targets (as components) and their host sources.
    var mounts: [(target: [String], source: String)]
    var lookup: FileLookup

    func entry(_ components: [String]) -> FileLookup.Entry? {
        if components.isEmpty { return .directory }
        var best: (target: [String], source: String)?
        for m in mounts where components.starts(with: m.target) && m.target.count > (best?.target.count ?? -1) && !m.target.isEmpty {
            best = m
        }
        if let m = best {
            let rest = components.dropFirst(m.target.count)
            let e = lookup.entry(rest.isEmpty ? m.source : m.source + "/" + rest.joined(separator: "/"))
            // A symlink as a mount source was followed on the host when it was bound; it is
            // not the container's to follow again.
            if rest.isEmpty, case .symlink? = e { return .other }
            return e
        }
        switch base {
        case .image(let layers):
            // Top layer first. A name a layer holds wins; a whiteout (the only non-file,
            // non-directory an unpacked layer holds) hides it below; so does a file or
            // symlink at a parent in this layer. Opaque dirs (an xattr) are not seen here:
            // the PATH search may then find a hidden lower file, and exec says ENOENT.
            for layer in layers {
                for i in 1..<components.count {
                    guard let e = lookup.entry(PathResolver.join(layer, Array(components[0..<i]))) else { break }
                    if e != .directory { return nil }
                }
                if let e = lookup.entry(PathResolver.join(layer, components)) {
                    if case .other = e { return nil }
                    return e
                }
            }
            return nil
        case .host(let entries):
            guard let top = entries[components[0]] else { return nil }
            switch top {
            case .symlink(let target):
                return components.count == 1 ? .symlink(target: target) : nil
            case .directory:
                return lookup.entry("/" + components.joined(separator: "/"))
            }
        }
    }

    func resolve(_ path: String) -> PathResolver.Outcome {
        PathResolver(entry: entry).resolve(path)
    }

    /// `name` looked up in `searchPath` (`PATH`) as execvp does: the first entry holding a
    /// regular file with an x bit, symlinks followed inside this root. Relative and empty
    /// PATH entries are skipped. The result is the path as found (`/usr/bin/sh`, not the
    /// link's target), so a multi-call binary still sees its name.
    func findExecutable(_ name: String, searchPath: String) -> String? {
        for dir in searchPath.split(separator: ":") where dir.hasPrefix("/") {
            let trimmed = dir.hasSuffix("/") ? String(dir.dropLast()) : String(dir)
            let candidate = trimmed + "/" + name
            if case .found(_, .file(executable: true)) = resolve(candidate) { return candidate }
        }
        return nil
    }
}
