import Foundation
import Glibc
import Kernel
import KernelTestSupport
import Spawn
import Testing

struct ProxyFailed: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// Tests/Fixtures/registry/proxy.py in front of a RegistryLab's registry (HTTPS, checked with
/// the lab's CA), serving plain HTTP on 127.0.0.1 (podrec allows HTTP to loopback). Stopped by
/// pid (`stop`), before the lab's leak check.
final class RegistryProxy {
    struct Entry: CustomStringConvertible {
        var listener: String
        var method: String
        var path: String
        var status: Int
        var hadAuthorization: Bool
        var description: String { "\(listener) \(method) \(path) \(status)\(hadAuthorization ? " auth" : "")" }
    }

    let pid: Int32
    let port: Int
    let redirectPort: Int?
    let log: String
    private var stopped = false

    init(_ lab: RegistryLab, _ arguments: [String]) throws {
        log = lab.tmp + "/proxy-\(UInt32.random(in: 0...UInt32.max)).log"
        let out = lab.tmp + "/proxy.out"
        let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(fd >= 0)
        defer { close(fd) }
        let upstream = (lab.tls ? "https://" : "http://") + lab.host
        var argv = ["/usr/bin/python3", RegistryLab.fixtures + "/registry/proxy.py", "--upstream", upstream, "--log", log]
        if lab.tls { argv += ["--ca", lab.tmp + "/ca.crt"] }
        var request = SpawnRequest(argv + arguments, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
        request.stdout = fd
        request.stderr = fd
        let p = try spawn(request)
        if let pidfd = p.pidfd { close(pidfd) }
        pid = p.pid
        // Its ports, one a line, once it listens (30 s at most: the VM is slow).
        let lines = arguments.contains("--redirect-blobs-to") ? 2 : 1
        var ports: [Int] = []
        let deadline = MonotonicClock.now() + 30_000_000_000
        while MonotonicClock.now() < deadline {
            let text = (try? Sys.readString(out)) ?? ""
            ports = text.split(separator: "\n").compactMap { Int($0) }
            if ports.count >= lines { break }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw ProxyFailed(reason: "proxy.py exited: \(text)")
            }
            MonotonicClock.sleep(nanoseconds: 20_000_000)
        }
        guard ports.count >= lines else {
            kill(pid, SIGKILL)
            _ = try? Sys.wait(pid)
            throw ProxyFailed(reason: "proxy.py printed no port in 30 s")
        }
        port = ports[0]
        redirectPort = lines == 2 ? ports[1] : nil
    }

    /// SIGTERM, then SIGKILL after 5 s; reaped.
    func stop() {
        guard !stopped else { return }
        stopped = true
        kill(pid, SIGTERM)
        let deadline = MonotonicClock.now() + 5_000_000_000
        while MonotonicClock.now() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return }
            MonotonicClock.sleep(nanoseconds: 20_000_000)
        }
        kill(pid, SIGKILL)
        _ = try? Sys.wait(pid)
    }

    /// Its whole log, one entry a request: the proxy is stopped first, so every request it
    /// served is in it (a request is logged after its body went out, which the client may
    /// have read, and acted on, before that line was written).
    func entries() -> [Entry] {
        stop()
        return ((try? Sys.readString(log)) ?? "").split(separator: "\n").compactMap { line in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Entry(listener: o["listener"] as? String ?? "", method: o["method"] as? String ?? "", path: o["path"] as? String ?? "",
                         status: o["status"] as? Int ?? 0, hadAuthorization: o["had_authorization"] as? Bool ?? false)
        }
    }
}
