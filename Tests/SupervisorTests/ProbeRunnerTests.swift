import Foundation
import Glibc
import Kernel
import PodModel
import Testing
@testable import Supervisor

/// The prober's sockets against real listeners on 127.0.0.1: what counts as success, what
/// the request says, and the timeout.
@Suite struct ProbeRunnerTests {
    /// A listener on 127.0.0.1 and an ephemeral port; `answer` (if any) is written back to
    /// the first connection after its request is read.
    final class Listener: @unchecked Sendable {
        let fd: Int32
        let port: UInt16
        var request = ""
        let done = DispatchSemaphore(value: 0)

        init(answer: String?) throws {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_addr.s_addr = inet_addr("127.0.0.1")
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
            let listening = listen(s, 4)
            let named = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
            fd = s
            port = UInt16(bigEndian: a.sin_port)
            try #require(s >= 0 && bound == 0 && listening == 0 && named == 0)
            guard let answer else { done.signal(); return }
            Thread.detachNewThread { [self] in
                let c = accept(fd, nil, nil)
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = read(c, &buffer, buffer.count)
                request = String(decoding: buffer[..<max(n, 0)], as: UTF8.self)
                _ = answer.withCString { write(c, $0, strlen($0)) }
                Glibc.close(c)
                done.signal()
            }
        }

        deinit { Glibc.close(fd) }
    }

    static let key = ProbeRunner.Key(container: "app", check: .probe(.liveness))

    /// Drives the runner until the probe is done, as the supervisor's loop does.
    static func run(_ action: HandlerAction, timeout: Int32 = 2) -> ProbeRunner.Result {
        let runner = ProbeRunner()
        let container = ContainerLaunch(name: "app", executable: "/bin/true", arguments: ["true"], cgroup: "x/app")
        if let r = runner.start(key, ProbeSpec(action: action, timeoutSeconds: timeout), container: container, hostPID: nil,
                                driver: nil, nullFD: -1, now: MonotonicClock.now()) { return r }
        while true {
            let set = runner.pollSet
            let ready = (try? Sys.poll(set, timeoutMilliseconds: 50)) ?? []
            var moved = Set<Int32>()
            for (i, p) in set.enumerated() where i < ready.count && ready[i] != 0 { moved.insert(p.fd) }
            if let r = (runner.progress(ready: moved) + runner.expire(now: MonotonicClock.now())).first {
                #expect(runner.inFlight.isEmpty)
                return r
            }
        }
    }

    @Test func tcpSucceedsOnAListenerAndFailsOnAClosedPort() throws {
        let open = try Listener(answer: nil)
        #expect(Self.run(.tcpSocket(host: "127.0.0.1", port: open.port)).success)
        let closedPort = try Listener(answer: nil).port // closed again at once
        let refused = Self.run(.tcpSocket(host: "localhost", port: closedPort))
        #expect(!refused.success && refused.message == "dial tcp localhost:\(closedPort): connect: connection refused", "\(refused)")
    }

    @Test func httpCountsTwoAndThreeHundredsAsSuccessAndSendsKubeletsHeaders() throws {
        let ok = try Listener(answer: "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        let result = Self.run(.httpGet(HTTPGet(host: "127.0.0.1", port: ok.port, path: "/healthz",
                                               headers: [HTTPHeaderField(name: "X-Probe", value: "1")])))
        ok.done.wait()
        #expect(result.success, "\(result)")
        #expect(ok.request.hasPrefix("GET /healthz HTTP/1.1\r\n"), "\(ok.request)")
        for line in ["Host: 127.0.0.1:\(ok.port)", "User-Agent: kube-probe/1.32", "Accept: */*", "X-Probe: 1"] {
            #expect(ok.request.contains(line + "\r\n"), "\(line) in \(ok.request)")
        }
        let moved = try Listener(answer: "HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n")
        #expect(Self.run(.httpGet(HTTPGet(host: "127.0.0.1", port: moved.port))).success)
        let failing = try Listener(answer: "HTTP/1.1 500 Internal Server Error\r\n\r\n")
        let bad = Self.run(.httpGet(HTTPGet(host: "127.0.0.1", port: failing.port)))
        #expect(!bad.success && bad.message == "HTTP probe failed with statuscode: 500")
    }

    @Test func aServerThatNeverAnswersTimesOut() throws {
        let silent = try Listener(answer: nil) // accepts (the backlog), never reads or writes
        let start = MonotonicClock.now()
        let result = Self.run(.httpGet(HTTPGet(host: "127.0.0.1", port: silent.port)), timeout: 1)
        #expect(!result.success && result.message == "Get \"http://127.0.0.1:\(silent.port)/\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
        #expect(MonotonicClock.now() - start >= 1_000_000_000)
    }
}
