import Glibc
import Kernel
import SystemPackage
import Testing
import KernelTestSupport

@Suite struct SyscallTests {
    func tempDir() throws -> String { try makeTemporaryDirectory("podrec-kernel") }

    @Test func errorsNameTheCallThePathTheArgumentAndTheErrno() {
        #expect(throws: KernelError("open", path: "/nonexistent/podrec", errno: Errno(rawValue: ENOENT))) {
            try Sys.open("/nonexistent/podrec", O_RDONLY)
        }
        let e = KernelError("write", path: "/sys/fs/cgroup/memory/podrec/x/memory.limit_in_bytes", argument: "67108864", errno: Errno(rawValue: EBUSY))
        #expect(e.description == "write /sys/fs/cgroup/memory/podrec/x/memory.limit_in_bytes \"67108864\": EBUSY (Device or resource busy)")
    }

    /// The cgroup walks' listing: directories only, by readdir's type, never a symlink to one.
    @Test func listSubdirectoriesNamesOnlyDirectories() throws {
        let dir = try tempDir()
        defer { try? Sys.removeTree(dir) }
        try Sys.mkdirs(dir + "/b/inner")
        try Sys.mkdirs(dir + "/a")
        try Sys.writeFileAtomically(dir + "/memory.stat", [], durable: false)
        try Sys.symlink("b", dir + "/link")
        #expect(try Sys.listSubdirectories(dir) == ["a", "b"])
        #expect(try Sys.listDirectory(dir) == ["a", "b", "link", "memory.stat"])
        #expect(throws: KernelError.self) { try Sys.listSubdirectories(dir + "/memory.stat") }
    }

    @Test func writeStringCarriesTheValueInItsError() throws {
        let dir = try tempDir()
        defer { try? Sys.removeTree(dir) }
        do {
            try Sys.writeString(dir + "/missing/knob", "42")
            Issue.record("wrote to a missing file")
        } catch {
            #expect(error.operation == "open")
            #expect(error.errno.rawValue == ENOENT)
        }
        // A directory cannot be written: the error is write's... or open's EISDIR.
        #expect(throws: KernelError.self) { try Sys.writeString(dir, "42") }
    }

    @Test func atomicWritesReplaceWholeFilesWithTheirMode() throws {
        let dir = try tempDir()
        defer { try? Sys.removeTree(dir) }
        let path = dir + "/status"
        try Sys.writeFileAtomically(path, Array("one".utf8))
        try Sys.writeFileAtomically(path, Array("two, longer".utf8), mode: 0o600)
        #expect(try Sys.readString(path) == "two, longer")
        #expect(try Sys.stat(path).permissions == 0o600)
        // Nothing is left beside it: no temp files.
        #expect(try Sys.listDirectory(dir) == ["status"])
    }

    @Test func atomicWriteFailureLeavesTheOldFile() throws {
        let dir = try tempDir()
        defer { try? Sys.removeTree(dir) }
        let path = dir + "/plan"
        try Sys.writeFileAtomically(path, Array("old".utf8))
        // The target is now a directory where rename(2) cannot put a file.
        try Sys.mkdir(dir + "/sub")
        #expect(throws: KernelError.self) { try Sys.writeFileAtomically(dir + "/sub", Array("new".utf8)) }
        #expect(try Sys.readString(path) == "old")
        #expect(Set(try Sys.listDirectory(dir)) == ["plan", "sub"])
    }

    @Test func mkdirsMakesParentsAndToleratesExisting() throws {
        let dir = try tempDir()
        defer { try? Sys.removeTree(dir) }
        try Sys.mkdirs(dir + "/a/b/c", mode: 0o700)
        try Sys.mkdirs(dir + "/a/b/c", mode: 0o700)
        #expect(try Sys.stat(dir + "/a/b/c").isDirectory)
        #expect(try Sys.stat(dir + "/a/b").permissions == 0o700)
    }

    /// kubelet's SafeMakeDir: parents made inside the base with its mode, and a symlink on
    /// the way (a container may have put one in its volume) stops the walk instead of
    /// leading it out.
    @Test func makeDirectoriesBeneathFollowsNoSymlink() throws {
        let dir = try tempDir()
        defer { try? Sys.removeTree(dir) }
        try Sys.mkdirs(dir + "/vol", mode: 0o750)
        try Sys.mkdirs(dir + "/outside", mode: 0o755)
        try Sys.symlink(dir + "/outside", dir + "/vol/link")
        try Sys.makeDirectories("a/b", beneath: dir + "/vol")
        try Sys.makeDirectories("a/b", beneath: dir + "/vol")
        #expect(try Sys.stat(dir + "/vol/a/b").isDirectory)
        // mkdir's mode passes through the umask; read it without setting it (umask(2)
        // would change it for the tests running beside this one).
        let umaskLine = try #require(try Sys.readString("/proc/self/status").split(separator: "\n").first { $0.hasPrefix("Umask:") })
        let umask = try #require(UInt32(umaskLine.split(separator: "\t").last ?? "", radix: 8))
        #expect(try Sys.stat(dir + "/vol/a").permissions == 0o750 & ~umask)
        #expect(throws: KernelError("mkdir", path: dir + "/vol/link", errno: Errno(rawValue: ENOTDIR))) {
            try Sys.makeDirectories("link/new", beneath: dir + "/vol")
        }
        #expect(throws: KernelError("mkdir", path: dir + "/vol/a/..", errno: Errno(rawValue: EINVAL))) {
            try Sys.makeDirectories("a/../x", beneath: dir + "/vol")
        }
        #expect(try Sys.listDirectory(dir + "/outside").isEmpty)
    }

    @Test func pathHelpers() {
        #expect(parentDirectory("/a/b/c") == "/a/b")
        #expect(parentDirectory("/c") == "/")
        #expect(parentDirectory("c") == ".")
        #expect(baseName("/a/b/c") == "c")
        #expect(baseName("c") == "c")
    }

    @Test func symlinksAndReadlink() throws {
        let dir = try tempDir()
        defer { try? Sys.removeTree(dir) }
        try Sys.symlink("net:[4026531840]", dir + "/net")
        #expect(try Sys.readlink(dir + "/net") == "net:[4026531840]")
        #expect(try Sys.stat(dir + "/net", followSymlinks: false).isSymlink)
    }
}
