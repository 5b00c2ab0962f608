import Foundation
import KernelTestSupport
import Testing

/// The built `podrec-probe` against real servers on 127.0.0.1: a gRPC health server on
/// Debian's grpcio and an HTTPS server with a self-signed certificate (Tests/Support). Each
/// case is one of kubelet's prober's outcomes, checked by exit status and message.
@Suite(.serialized) struct HelperRunTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var helper: String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        if dir.path.hasSuffix(".xctest") { dir = dir.deletingLastPathComponent() }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            var d = URL(fileURLWithPath: exe).deletingLastPathComponent()
            if d.path.hasSuffix(".xctest") { d = d.deletingLastPathComponent() }
            dir = d
        }
        return dir.appendingPathComponent("podrec-probe").path
    }

    /// A server script from Tests/Support, started with Debian's python3 on a free port;
    /// stopped (and reaped) by `stop`.
    final class Server {
        let process = Process()
        let port: UInt16
        let directory: URL

        init(_ script: String, directory: URL) throws {
            self.directory = directory
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [HelperRunTests.repo.appendingPathComponent("Tests/Support/\(script)").path, "0",
                                 script.hasPrefix("grpc") ? directory.appendingPathComponent("status").path : directory.path]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            // The port it bound, on its first line.
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                line += chunk
            }
            port = UInt16(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            try #require(port != 0, "\(script) did not start")
        }

        /// SIGKILL: the test process may have SIGTERM blocked (signalfd tests), and a child
        /// inherits the mask.
        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("podrec-probe-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs the helper; its exit status, its stdout less the newline, and how long it took.
    static func probe(_ arguments: String...) throws -> (status: Int32, message: String, seconds: Double) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: helper)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        let start = Date()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines), Date().timeIntervalSince(start))
    }

    @Test func grpcHealthChecksAsKubelet() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.helper), "build podrec-probe first (swift build)")
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try Server("grpc_health_server.py", directory: dir)
        defer { server.stop() }
        let port = String(server.port)
        let status = dir.appendingPathComponent("status")

        // SERVING: success, for the server ("") and for a service it knows.
        var r = try Self.probe("grpc", "1", "127.0.0.1", port, "")
        #expect(r.status == 0, "\(r)")
        r = try Self.probe("grpc", "1", "127.0.0.1", port, "db")
        #expect(r.status == 0, "\(r)")
        // Any other status is a failure, named as grpc-go names it.
        try "NOT_SERVING".write(to: status, atomically: true, encoding: .utf8)
        r = try Self.probe("grpc", "1", "127.0.0.1", port, "")
        #expect(r.status == 1 && r.message == #"service unhealthy (responded with "NOT_SERVING")"#, "\(r)")
        try "UNKNOWN".write(to: status, atomically: true, encoding: .utf8)
        r = try Self.probe("grpc", "1", "127.0.0.1", port, "")
        #expect(r.status == 1 && r.message == #"service unhealthy (responded with "UNKNOWN")"#, "\(r)")
        // A service the server does not know: its NOT_FOUND status, in grpc-go's words.
        r = try Self.probe("grpc", "1", "127.0.0.1", port, "nope")
        #expect(r.status == 1 && r.message == "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service", "\(r)")
        // A server that never answers: the call's deadline, the probe's timeout.
        try "HANG".write(to: status, atomically: true, encoding: .utf8)
        r = try Self.probe("grpc", "1", "127.0.0.1", port, "")
        #expect(r.status == 1 && r.message == "timeout: health rpc did not complete within 1s", "\(r)")
        #expect(r.seconds >= 0.9 && r.seconds < 3, "\(r)")
    }

    /// grpc-go's blocking dial keeps trying a refused port until the timeout.
    @Test func grpcToAClosedPortTimesOutConnecting() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.helper), "build podrec-probe first (swift build)")
        let port = try freeLoopbackPort()
        let r = try Self.probe("grpc", "1", "127.0.0.1", String(port), "")
        #expect(r.status == 1 && r.message == "timeout: failed to connect service \"127.0.0.1:\(port)\" within 1s: context deadline exceeded", "\(r)")
        #expect(r.seconds >= 0.9 && r.seconds < 3, "\(r)")
    }

    @Test func httpsGetsAsKubelet() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.helper), "build podrec-probe first (swift build)")
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try Server("https_server.py", directory: dir)
        defer { server.stop() }
        let port = String(server.port)

        // A self-signed certificate is not checked (InsecureSkipVerify).
        var r = try Self.probe("https", "1", "127.0.0.1", port, "/healthz")
        #expect(r.status == 0 && r.message == "", "\(r)")
        try Data().write(to: dir.appendingPathComponent("unhealthy"))
        r = try Self.probe("https", "1", "127.0.0.1", port, "/healthz")
        #expect(r.status == 1 && r.message == "HTTP probe failed with statuscode: 500", "\(r)")
        try FileManager.default.removeItem(at: dir.appendingPathComponent("unhealthy"))
        // kubelet's headers and the probe's.
        r = try Self.probe("https", "1", "127.0.0.1", port, "/headers", "X-Probe", "1")
        #expect(r.status == 0, "\(r)")
        r = try Self.probe("https", "1", "127.0.0.1", port, "/headers")
        #expect(r.status == 1 && r.message == "HTTP probe failed with statuscode: 400", "\(r)")
        r = try Self.probe("https", "1", "127.0.0.1", port, "/headers", "X-Probe", "1", "User-Agent", "mine")
        #expect(r.status == 1, "the probe's User-Agent replaces kubelet's: \(r)")
        // Redirects on the same host are followed, to whatever they end in; one to another
        // host is not, and is a success with kubelet's warning; a loop stops after 10.
        r = try Self.probe("https", "1", "127.0.0.1", port, "/moved")
        #expect(r.status == 0 && r.message == "", "\(r)")
        r = try Self.probe("https", "1", "127.0.0.1", port, "/moved-missing")
        #expect(r.status == 1 && r.message == "HTTP probe failed with statuscode: 404", "\(r)")
        r = try Self.probe("https", "1", "127.0.0.1", port, "/away")
        #expect(r.status == 0 && r.message == "Probe terminated redirects, Response body: moved", "\(r)")
        r = try Self.probe("https", "1", "127.0.0.1", port, "/loop")
        #expect(r.status == 1 && r.message == "Get \"https://127.0.0.1:\(port)/loop\": stopped after 10 redirects", "\(r)")
    }

    @Test func httpsToAClosedPortIsRefusedAtOnce() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.helper), "build podrec-probe first (swift build)")
        let port = try freeLoopbackPort()
        let r = try Self.probe("https", "1", "127.0.0.1", String(port), "/")
        #expect(r.status == 1 && r.message == "Get \"https://127.0.0.1:\(port)/\": dial tcp 127.0.0.1:\(port): connect: connection refused", "\(r)")
        #expect(r.seconds < 0.9, "\(r)")
        let usage = try Self.probe("grpc", "1")
        #expect(usage.status == 2)
    }
}
