import Kernel
import KernelTestSupport
import PodBuilder
import PodModel
import Seccomp
import Testing
@testable import Reconciler

/// The host's seccomp lookup compiles a program once per process: a watcher's resync builds
/// every pod's plan again, and libseccomp's compile was most of an idle watcher's CPU.
@Suite struct SeccompProgramsTests {
    @Test func aProgramIsCompiledOncePerRequestAndProfile() throws {
        let programs = SeccompPrograms()
        var compiles = 0
        let a = SeccompRequest(choice: .runtimeDefault, bounding: CapabilitySet([.chown]))
        let b = SeccompRequest(choice: .runtimeDefault, bounding: CapabilitySet([.chown, .sysAdmin]))
        func get(_ r: SeccompRequest, _ profile: [UInt8]) throws -> [UInt8] {
            try programs.program(for: r, profile: profile) {
                compiles += 1
                return [UInt8(compiles)]
            }
        }
        #expect(try get(a, []) == [1])
        #expect(try get(a, []) == [1])
        #expect(try get(b, []) == [2])  // another bounding set: another program
        #expect(try get(a, Array("x".utf8)) == [3])  // another profile text: compiled again
        #expect(compiles == 3)
        // A failed compile is not kept: the next request tries again.
        struct Failed: Error {}
        #expect(throws: Failed.self) { try programs.program(for: a, profile: [9]) { throw Failed() } }
        #expect(try get(a, [9]) == [4])
    }

    @Test func anEditedLocalhostProfileCompilesAgainAndTheSameTextDoesNot() throws {
        let dir = try makeTemporaryDirectory("podrec-seccomp-programs")
        defer { try? Sys.removeTree(dir) }
        try Sys.mkdirs(dir + "/profiles", mode: 0o700)
        let lookup = SeccompLookup.host(SeccompSettings(root: dir + "/profiles"), store: SeccompStore(directory: dir + "/store"))
        let request = SeccompRequest(choice: .localhost("p.json"), bounding: CapabilitySet([.chown]))
        func profile(_ errno: Int) -> [UInt8] {
            Array(#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": \#(errno)}]}"#.utf8)
        }
        try Sys.writeFileAtomically(dir + "/profiles/p.json", profile(1), durable: false)
        let first = try lookup.compile(request)
        #expect(try lookup.compile(request) == first)
        try Sys.writeFileAtomically(dir + "/profiles/p.json", profile(13), durable: false)
        let edited = try lookup.compile(request)
        #expect(edited.sha256 != first.sha256)
        #expect(Sys.exists(edited.path))
        // The RuntimeDefault program, twice: one file in the store.
        let runtimeDefault = SeccompRequest(choice: .runtimeDefault, bounding: CapabilitySet([.chown]))
        #expect(try lookup.compile(runtimeDefault) == lookup.compile(runtimeDefault))
        #expect(try Sys.listDirectory(dir + "/store").count == 3)
    }
}
