import Glibc
import Kernel

/// Copies a directory tree into a `RootfsWriter`: directories, regular files (hard links
/// kept as hard links) and symlinks as symlinks, never following one. Device nodes,
/// FIFOs and sockets are refused, naming the path.
struct DirectoryImport {
    let sourcePath: String
    /// The store's `images/` directory, which the copy must not descend into (importing
    /// `/` would otherwise copy the store into itself).
    let skip: (device: UInt64, inode: UInt64)?
    private var seenInodes: [Pair: EntryPath] = [:]
    private let buffer = IOBuffer()

    private struct Pair: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    init(sourcePath: String, skip: (device: UInt64, inode: UInt64)?) {
        self.sourcePath = sourcePath
        self.skip = skip
    }

    mutating func run<Sink: TarSink>(into writer: inout Sink) throws(ImageError) {
        let fd = try sys { () throws(KernelError) in try Sys.open(sourcePath, O_RDONLY | O_DIRECTORY) }
        defer { Sys.close(fd) }
        let st = try sys { () throws(KernelError) in try Sys.fstat(fd, describedAs: sourcePath) }
        try writer.directory(EntryPath(components: []), Self.attributes(st), entry: ".")
        try copyChildren(of: fd, at: EntryPath(components: []), into: &writer)
    }

    static func attributes(_ st: Sys.FileStatus) -> EntryAttributes {
        EntryAttributes(mode: st.permissions, uid: st.uid, gid: st.gid, mtime: st.mtime)
    }

    private func hostPath(_ path: EntryPath) -> String {
        path.isRoot ? sourcePath : sourcePath + "/" + path.description
    }

    private mutating func copyChildren<Sink: TarSink>(of dirfd: Int32, at dir: EntryPath, into writer: inout Sink) throws(ImageError) {
        let names = try sys { () throws(KernelError) in try Sys.listDirectory(dirfd, describedAs: hostPath(dir)) }
        for name in names {
            let path = dir.appending(name)
            let here = hostPath(path)
            let st = try sys { () throws(KernelError) in try Sys.lstatAt(dirfd, name, describedAs: here) }
            let entry = path.description
            switch st.type {
            case S_IFDIR:
                if let skip, skip.device == st.device, skip.inode == st.inode {
                    throw .refusedEntry(source: sourcePath, entry: entry, reason: "this is podrec's image store; import a tree that does not contain it")
                }
                try writer.directory(path, Self.attributes(st), entry: entry)
                let child = try sys { () throws(KernelError) in
                    try Sys.openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, describedAs: here)
                }
                defer { Sys.close(child) }
                try copyChildren(of: child, at: path, into: &writer)
            case S_IFREG:
                let key = Pair(device: st.device, inode: st.inode)
                if st.links > 1, let first = seenInodes[key] {
                    try writer.hardLink(path, to: first, entry: entry, targetName: first.description)
                    continue
                }
                let input = try sys { () throws(KernelError) in try Sys.openat(dirfd, name, O_RDONLY | O_NOFOLLOW, describedAs: here) }
                defer { Sys.close(input) }
                let buffer = self.buffer
                let outPath = writer.rootPath + "/" + entry
                try writer.file(path, Self.attributes(st), size: st.size, entry: entry) { (out: Int32) throws(ImageError) in
                    try sys { () throws(KernelError) in
                        while true {
                            let n = try Sys.read(input, into: buffer.bytes, describedAs: here)
                            if n == 0 { break }
                            try Sys.writeAll(out, UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<n]), describedAs: outPath)
                        }
                    }
                }
                if st.links > 1 { seenInodes[key] = path }
            case S_IFLNK:
                let target = try sys { () throws(KernelError) in try Sys.readlinkAt(dirfd, name, describedAs: here) }
                try writer.symlink(path, target: target, Self.attributes(st), entry: entry)
            case S_IFCHR, S_IFBLK:
                throw .refusedEntry(source: sourcePath, entry: entry, reason: "a device node; images may not hold device nodes (the runtime provides /dev)")
            case S_IFIFO:
                throw .refusedEntry(source: sourcePath, entry: entry, reason: "a FIFO; images may not hold FIFOs")
            case S_IFSOCK:
                throw .refusedEntry(source: sourcePath, entry: entry, reason: "a socket; images may not hold sockets")
            default:
                throw .refusedEntry(source: sourcePath, entry: entry, reason: "a file of unknown type \(String(st.type, radix: 8))")
            }
        }
    }
}
