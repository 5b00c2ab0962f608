import Glibc
import Kernel
import SystemPackage
import Testing

@Suite struct SyscallTests {
    func tempDir() throws -> String {
        var template = Array("/tmp/podrec-kernel-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        try #require(made != nil)
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func removeTree(_ path: String) {
        if let st = try? Sys.stat(path, followSymlinks: false), st.isDirectory {
            for name in (try? Sys.listDirectory(path)) ?? [] { removeTree(path + "/" + name) }
            try? Sys.rmdir(path)
        } else {
            try? Sys.unlink(path)
        }
    }

    @Test func errorsNameTheCallThePathTheArgumentAndTheErrno() {
        #expect(throws: KernelError("open", path: "/nonexistent/podrec", errno: Errno(rawValue: ENOENT))) {
            try Sys.open("/nonexistent/podrec", O_RDONLY)
        }
        let e = KernelError("write", path: "/sys/fs/cgroup/memory/podrec/x/memory.limit_in_bytes", argument: "67108864", errno: Errno(rawValue: EBUSY))
        #expect(e.description == "write /sys/fs/cgroup/memory/podrec/x/memory.limit_in_bytes \"67108864\": EBUSY (Device or resource busy)")
    }

    @Test func writeStringCarriesTheValueInItsError() throws {
        let dir = try tempDir()
        defer { removeTree(dir) }
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
        defer { removeTree(dir) }
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
        defer { removeTree(dir) }
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
        defer { removeTree(dir) }
        try Sys.mkdirs(dir + "/a/b/c", mode: 0o700)
        try Sys.mkdirs(dir + "/a/b/c", mode: 0o700)
        #expect(try Sys.stat(dir + "/a/b/c").isDirectory)
        #expect(try Sys.stat(dir + "/a/b").permissions == 0o700)
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
        defer { removeTree(dir) }
        try Sys.symlink("net:[4026531840]", dir + "/net")
        #expect(try Sys.readlink(dir + "/net") == "net:[4026531840]")
        #expect(try Sys.stat(dir + "/net", followSymlinks: false).isSymlink)
    }
}
