import Glibc
import Kernel
import Spawn
import SystemPackage
import Testing
import PodModel

/// The spawn paths that need no privilege: exec, chdir, stdio, argv and env, closed fds,
/// the pid and pidfd, and the checks Swift makes before any process starts. The stages
/// that need root are in IntegrationTests/SpawnIntegrationTests.swift.
@Suite(.serialized) struct SpawnTests {
    @Test func execOfAMissingFileFailsAtTheExecStage() {
        let request = SpawnRequest(["/nonexistent/podrec-nope", "x"])
        let error = expectSpawnError(request)
        #expect(error?.stage == .exec)
        #expect(error?.errno == Errno(rawValue: ENOENT))
        #expect(error?.description == "exec /nonexistent/podrec-nope: ENOENT (No such file or directory)")
    }

    @Test func execOfADirectoryIsEACCES() {
        let error = expectSpawnError(SpawnRequest(["/usr"]))
        #expect(error?.stage == .exec)
        #expect(error?.errno == Errno(rawValue: EACCES))
    }

    @Test func chdirToAMissingDirectoryFailsAtTheChdirStage() {
        var request = SpawnRequest(["/bin/true"])
        request.workingDirectory = "/nonexistent/podrec-dir"
        let error = expectSpawnError(request)
        #expect(error?.stage == .chdir)
        #expect(error?.errno == Errno(rawValue: ENOENT))
        #expect(error?.description == "chdir /nonexistent/podrec-dir: ENOENT (No such file or directory)")
    }

    @Test func theWorkingDirectoryIsSet() throws {
        var request = SpawnRequest(["/bin/pwd"])
        request.workingDirectory = "/usr/share"
        #expect(try runCapturing(request) == Run(output: "/usr/share\n", status: .exited(0)))
    }

    @Test func stdoutAndStderrGoWhereTheyAreSent() throws {
        let out = try Pipe(), err = try Pipe()
        defer { out.closeBoth(); err.closeBoth() }
        var request = SpawnRequest(["/bin/sh", "-c", "echo to-out; echo to-err >&2; exit 3"])
        request.stdout = out.write
        request.stderr = err.write
        let child = try spawn(request)
        out.closeWrite()
        err.closeWrite()
        #expect(try out.readAll() == "to-out\n")
        #expect(try err.readAll() == "to-err\n")
        #expect(reap(child) == .exited(3))
    }

    @Test func stdinIsRead() throws {
        let input = try Pipe()
        defer { input.closeBoth() }
        try Sys.writeAll(input.write, Array("hello from the parent\n".utf8))
        input.closeWrite()
        var request = SpawnRequest(["/bin/cat"])
        request.stdin = input.read
        #expect(try runCapturing(request).output == "hello from the parent\n")
    }

    @Test func swappedStdioFdsAreNotClobbered() throws {
        // The child's stdout is the parent's fd 2 and its stderr the pipe: the shim copies
        // every source above 2 before it overwrites 0, 1 and 2.
        let pipe = try Pipe()
        defer { pipe.closeBoth() }
        var request = SpawnRequest(["/bin/sh", "-c", "echo on-stderr >&2"])
        request.stdout = 2
        request.stderr = pipe.write
        let child = try spawn(request)
        pipe.closeWrite()
        #expect(try pipe.readAll() == "on-stderr\n")
        #expect(reap(child) == .exited(0))
    }

    @Test func aBadStdioFdFailsAtTheStdioStage() {
        var request = SpawnRequest(["/bin/true"])
        request.stdout = 9999
        let error = expectSpawnError(request)
        #expect(error?.stage == .stdio)
        #expect(error?.errno == Errno(rawValue: EBADF))
        #expect(error?.index == 1)
        #expect(error?.description == "dup fd 9999 onto 1: EBADF (Bad file descriptor)")
    }

    @Test func argvAndEnvironmentPassThroughExactly() throws {
        let request = SpawnRequest(["/bin/sh", "-c", #"printf '%s|' "$0" "$1" "$2"; echo; env | sort"#, "zero", "a b", ""],
                                   environment: ["B=two words", "A=1", "EMPTY="])
        #expect(try runCapturing(request).output == "zero|a b||\nA=1\nB=two words\nEMPTY=\nPWD=\(currentDirectory())\n")
    }

    @Test func argv0CanDifferFromTheExecutable() throws {
        let request = SpawnRequest(["podrec-argv0", "-c", "echo $0"], executable: "/bin/sh")
        #expect(try runCapturing(request).output == "podrec-argv0\n")
    }

    @Test func noFdOfTheParentReachesTheChild() throws {
        // An fd without O_CLOEXEC, as a careless library might leave one.
        let leaky = open("/dev/null", O_RDONLY)
        try #require(leaky >= 0)
        defer { close(leaky) }
        for fallbacks in [Fallbacks(), .closeFdsOneByOne] {
            var request = SpawnRequest(["/bin/ls", "/proc/self/fd"])
            request.forceFallbacks = fallbacks
            // 0, 1, 2, and 3 for ls's own listing of the directory.
            #expect(try runCapturing(request).output == "0\n1\n2\n3\n", "fallbacks \(fallbacks.rawValue)")
        }
    }

    @Test func thePidIsARealChildWithAPidfd() throws {
        let child = try spawn(SpawnRequest(["/bin/sleep", "30"]))
        do {
            let status = try Sys.readString("/proc/\(child.pid)/status")
            #expect(status.contains("\nPPid:\t\(getpid())\n"))
            #expect(status.hasPrefix("Name:\tsleep\n"))
            let pidfd = try #require(child.pidfd)
            #expect(try child.hostPID() == child.pid)
            #expect((try? Sys.readlink("/proc/self/fd/\(pidfd)")) == "anon_inode:[pidfd]")
            try Sys.pidfdSendSignal(pidfd, SIGKILL)
        } catch {
            _ = try? Sys.kill(child.pid, SIGKILL)
            _ = reap(child)
            throw error
        }
        #expect(reap(child) == .signaled(SIGKILL))
    }

    @Test func theCloneFallbackWorksWithoutClone3() throws {
        var request = SpawnRequest(["/bin/sh", "-c", "echo $$"])
        request.forceFallbacks = .clone
        let pipe = try Pipe()
        defer { pipe.closeBoth() }
        request.stdout = pipe.write
        let child = try spawn(request)
        pipe.closeWrite()
        #expect(child.pidfd != nil)
        let output = try? pipe.readAll()
        #expect(reap(child) == .exited(0))
        #expect(output == "\(child.pid)\n")
    }

    @Test func signalsAreDefaultAndUnblockedInTheChild() throws {
        // The test runner may ignore SIGPIPE or block signals; the program starts clean.
        var ignore = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        var old = sigaction()
        sigaction(SIGUSR2, &ignore, &old)
        defer { sigaction(SIGUSR2, &old, nil) }
        let out = try runCapturing(SpawnRequest(["/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"])).output
        #expect(out == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n")
    }

    @Test func requestsThatWouldTouchTheHostAreRefused() {
        var hostname = SpawnRequest(["/bin/true"])
        hostname.hostname = "renamed"
        #expect(expectSpawnError(hostname)?.stage == .request)

        var mounts = SpawnRequest(["/bin/true"])
        mounts.mounts = [.tmpfs(at: "/tmp")]
        #expect(expectSpawnError(mounts)?.stage == .request)

        var nul = SpawnRequest(["/bin/echo", "a\u{0}b"])
        nul.environment = ["A=1"]
        let error = expectSpawnError(nul)
        #expect(error?.stage == .request)
        #expect(error?.errno == Errno(rawValue: EINVAL))

        #expect(expectSpawnError(SpawnRequest([]))?.stage == .request)
    }

    @Test func namesAndSetsPrintAsInC() {
        #expect(Namespaces([.mount, .network, .pid]).description == "mnt,net,pid")
        #expect(Namespaces(rawValue: 0x1).description == "0x1")
        typealias Caps = CapabilitySet
        #expect(Caps.containerDefault.rawValue == 0x0000_0000_a804_25fb)
        #expect(Caps([.netAdmin, .chown]).description == "CAP_CHOWN,CAP_NET_ADMIN")
        #expect(Capability(name: "net_admin") == .netAdmin)
        #expect(Capability(rawValue: 63).name == "CAP_63")
        #expect(Capability.known.count == 41)
    }
}

// MARK: - Helpers


fileprivate struct Run: Equatable {
    var output: String
    var status: WaitStatus
}

/// A one-way channel, both ends close-on-exec from the start: a socketpair, because Swift's
/// Glibc has no pipe2, and a pipe made close-on-exec afterwards could leak meanwhile into a
/// process another test starts with posix_spawn, and hold our reader's EOF back.
fileprivate final class Pipe {
    var read: Int32
    var write: Int32

    init() throws {
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        read = fds[0]
        write = fds[1]
    }

    func closeWrite() {
        if write >= 0 { close(write) }
        write = -1
    }

    func closeBoth() {
        closeWrite()
        if read >= 0 { close(read) }
        read = -1
    }

    func readAll() throws -> String {
        String(decoding: try Sys.readAll(read), as: UTF8.self)
    }
}

/// Waits for the child and closes its pidfd.
fileprivate func reap(_ child: SpawnedProcess) -> WaitStatus? {
    defer { child.pidfd.map { _ = close($0) } }
    return (try? Sys.wait(child.pid)).map(WaitStatus.init)
}

/// Runs the request with stdout and stderr into one pipe, to the end.
fileprivate func runCapturing(_ request: SpawnRequest) throws -> Run {
    let pipe = try Pipe()
    defer { pipe.closeBoth() }
    var request = request
    request.stdout = pipe.write
    request.stderr = pipe.write
    let child = try spawn(request)
    pipe.closeWrite()
    let output = Result { try pipe.readAll() }
    let status = reap(child) ?? .exited(-1)
    return Run(output: try output.get(), status: status)
}

/// The error of a spawn that must fail; an issue if it succeeded.
fileprivate func expectSpawnError(_ request: SpawnRequest, sourceLocation: SourceLocation = #_sourceLocation) -> SpawnError? {
    do {
        let child = try spawn(request)
        Issue.record("spawn of \(request.arguments) succeeded", sourceLocation: sourceLocation)
        _ = try? Sys.kill(child.pid, SIGKILL)
        _ = reap(child)
        return nil
    } catch {
        return error
    }
}

fileprivate func currentDirectory() -> String {
    var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard getcwd(&buf, buf.count) != nil else { return "?" }
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
