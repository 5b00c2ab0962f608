import Glibc
import Kernel
import ContainerRuntime
import Testing
import KernelTestSupport
import PodModel

/// `HostSystemDirectories.probe` on a temp-dir fake host root.
struct HostSystemDirectoriesTests {
    @Test func directoriesAndSymlinksAreFoundAndAnythingElseIsLeftOut() throws {
        let root = try makeTemporaryDirectory("podrec-hostdirs")
        defer {
            for name in ["bin", "lib64", "etc", "root"] { try? Sys.unlink(root + "/" + name) }
            for name in ["usr/lib", "usr", "opt"] { try? Sys.rmdir(root + "/" + name) }
            try? Sys.rmdir(root)
        }
        try Sys.mkdirs(root + "/usr/lib", mode: 0o755)
        try Sys.mkdir(root + "/opt", mode: 0o755)
        try Sys.symlink("usr/bin", root + "/bin")
        try Sys.symlink("/usr/lib", root + "/lib64")   // absolute: made again as written
        try Sys.writeFileAtomically(root + "/etc", Array("a file\n".utf8), mode: 0o644)
        try Sys.writeFileAtomically(root + "/root", Array("not on the list\n".utf8), mode: 0o644)

        #expect(HostSystemDirectories.probe(root: root) == [
            "usr": .directory, "opt": .directory, "bin": .symlink(target: "usr/bin"), "lib64": .symlink(target: "/usr/lib"),
        ])
        #expect(HostSystemDirectories.probe(root: root + "/") == HostSystemDirectories.probe(root: root))
    }
}
