// THE RULE FOR EVERY REGISTRY TEST: no traffic leaves the machine. The registry (Debian's
// docker-registry, distribution 2.8), the token server and every client bind to and target
// 127.0.0.1 only; no test names docker.io or any other real registry.
import Glibc
import Kernel
import KernelTestSupport
import Spawn
import Testing

/// One registry test's world: a real `docker-registry serve` on 127.0.0.1 on a free port,
/// its storage, TLS material and auth files in the lab's temp dir, and the image store on
/// tmpfs (/dev/shm: the cgroup v2 VM's /tmp is overlayfs, which cannot hold whiteouts).
/// `finish` stops what the lab started, by pid, removes its dirs and checks for leaks.
final class RegistryLab {
    enum Auth { case none, htpasswd(user: String, password: String), token(user: String, password: String) }

    let before: HostSnapshot
    /// Registry storage, config, certs, logs, the images pushed.
    let tmp: String
    /// The store's data root, on tmpfs.
    let dataRoot: String
    let port: Int
    let tls: Bool
    /// `certs.d` for podrec: `<certDirectory>/127.0.0.1:<port>/ca.crt`.
    let certDirectory: String
    var host: String { "127.0.0.1:\(port)" }
    var registryLog: String { tmp + "/registry.log" }
    private var processes: [Int32] = []

    static var podrec: String { parentDirectory(PodLab.supervisorExecutable) + "/podrec" }

    init(_ label: String, tls: Bool = true, auth: Auth = .none) throws {
        try HostTool.require("/usr/bin/docker-registry", package: "docker-registry")
        try HostTool.require("/usr/bin/skopeo", package: "skopeo")
        try HostTool.require("/usr/bin/openssl", package: "openssl")
        try HostTool.require("/usr/bin/python3", package: "python3")
        try #require(Sys.exists(Self.podrec), "build podrec first (swift build)")
        before = HostSnapshot.take()
        tmp = try makeTemporaryDirectory("podrec-registry-\(label)")
        dataRoot = try makeTemporaryDirectory("podrec-registry-data-\(label)", under: "/dev/shm")
        certDirectory = tmp + "/certs.d"
        self.tls = tls
        port = try freeLoopbackPort()
        do {
            // An empty registries.conf: no mirrors, nothing of the host's.
            try Sys.writeFileAtomically(tmp + "/registries.conf", Array("# none\n".utf8), mode: 0o644)
            try start(auth)
        } catch {
            finish()
            throw error
        }
    }

    // MARK: Set-up

    private func start(_ auth: Auth) throws {
        var httpSection = "  addr: 127.0.0.1:\(port)\n  secret: podrec-test\n"
        if tls {
            try makeCertificates()
            httpSection += "  tls:\n    certificate: \(tmp)/server.crt\n    key: \(tmp)/server.key\n"
        }
        var authSection = ""
        switch auth {
        case .none:
            break
        case .htpasswd(let user, let password):
            try HostTool.require("/usr/bin/htpasswd", package: "apache2-utils")
            try run(["/usr/bin/htpasswd", "-Bbc", tmp + "/htpasswd", user, password])
            authSection = "auth:\n  htpasswd:\n    realm: podrec-test\n    path: \(tmp)/htpasswd\n"
        case .token(let user, let password):
            try #require(run(["/usr/bin/python3", "-c", "import cryptography"], check: false).status == 0,
                         "needs python3's cryptography: apt-get install python3-cryptography")
            try run(["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", tmp + "/token.key",
                     "-out", tmp + "/token.crt", "-days", "2", "-subj", "/CN=podrec-test-token"])
            let tokenPort = try freeLoopbackPort()
            let script = Self.fixtures + "/registry/token_server.py"
            try startProcess(["/usr/bin/python3", script, "\(tokenPort)", tmp + "/token.key", tmp + "/token.crt",
                              "podrec-test-issuer", "podrec-test-service", user, password], log: tmp + "/token.log")
            try waitForPort(tokenPort)
            authSection = """
                auth:
                  token:
                    realm: http://127.0.0.1:\(tokenPort)/token
                    service: podrec-test-service
                    issuer: podrec-test-issuer
                    rootcertbundle: \(tmp)/token.crt

                """
        }
        let config = """
            version: 0.1
            log:
              level: info
              accesslog:
                disabled: false
            storage:
              filesystem:
                rootdirectory: \(tmp)/storage
            http:
            \(httpSection)\(authSection)
            """
        try Sys.writeFileAtomically(tmp + "/config.yml", Array(config.utf8), mode: 0o644)
        try startProcess(["/usr/bin/docker-registry", "serve", tmp + "/config.yml"], log: registryLog)
        try waitForPort(port)
    }

    /// A CA, and a server certificate it signs for IP:127.0.0.1 and DNS:localhost.
    private func makeCertificates() throws {
        try run(["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", tmp + "/ca.key", "-out", tmp + "/ca.crt",
                 "-days", "2", "-subj", "/CN=podrec-test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        try run(["/usr/bin/openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", tmp + "/server.key", "-out", tmp + "/server.csr",
                 "-subj", "/CN=localhost"])
        try Sys.writeFileAtomically(tmp + "/server.ext", Array("""
            subjectAltName=IP:127.0.0.1,DNS:localhost
            basicConstraints=CA:FALSE
            keyUsage=digitalSignature,keyEncipherment
            extendedKeyUsage=serverAuth

            """.utf8), mode: 0o644)
        try run(["/usr/bin/openssl", "x509", "-req", "-in", tmp + "/server.csr", "-CA", tmp + "/ca.crt", "-CAkey", tmp + "/ca.key",
                 "-CAcreateserial", "-CAserial", tmp + "/ca.srl", "-out", tmp + "/server.crt", "-days", "2", "-extfile", tmp + "/server.ext"])
        try Sys.mkdirs(certDirectory + "/" + host, mode: 0o755)
        try Sys.writeFileAtomically(certDirectory + "/" + host + "/ca.crt", try Sys.readFile(tmp + "/ca.crt"), mode: 0o644)
    }

    static var fixtures: String {
        // Tests/IntegrationTests/RegistryLab.swift → Tests/Fixtures
        parentDirectory(parentDirectory(#filePath)) + "/Fixtures"
    }

    // MARK: Images

    /// Builds the test image (make_image.py: three layers, whiteouts, an opaque dir, a hard
    /// link) as an OCI layout and pushes it as `repository:tag` with skopeo; returns the
    /// digest of its (linux/amd64) manifest. `busybox`: with the host's busybox-static as
    /// /bin/sh and friends, so that pods run from it.
    @discardableResult
    func push(_ repository: String, tag: String = "v1", multiarch: Bool = false, busybox: Bool = false, creds: String? = nil) throws -> String {
        let layout = tmp + "/layout-\(repository.replacingSlashes)-\(tag)"
        let made = try run(["/usr/bin/python3", Self.fixtures + "/images/make_image.py", "layout", layout] + (multiarch ? ["--multiarch"] : [])
                           + (busybox ? ["--busybox", "/bin/busybox"] : []))
        let manifest = try #require(made.output.split(separator: "\"").first { $0.hasPrefix("sha256:") }.map(String.init))
        var argv = ["/usr/bin/skopeo", "--insecure-policy", "copy", "--quiet", "--preserve-digests"]
        argv += tls ? ["--dest-cert-dir", certDirectory + "/" + host] : ["--dest-tls-verify=false"]
        if let creds { argv += ["--dest-creds", creds] }
        if multiarch { argv.append("--all") }
        argv += ["oci:" + layout, "docker://\(host)/\(repository):\(tag)"]
        try run(argv)
        return manifest
    }

    /// The registry's blob GETs so far that sent a blob (access log, status 200), by path.
    func blobDownloads() -> [String] {
        let log = (try? Sys.readString(registryLog)) ?? ""
        return log.split(separator: "\n").compactMap { line in
            guard let start = line.range(of: "\"GET /v2/"), line.contains("/blobs/sha256:") else { return nil }
            let rest = line[start.upperBound...]
            let request = rest.prefix { $0 != "\"" }
            let after = rest.dropFirst(request.count + 1).split(separator: " ")
            guard after.first == "200" else { return nil }
            return "/v2/" + String(request.split(separator: " ").first ?? "")
        }
    }

    // MARK: podrec

    struct Run {
        var status: Int32
        var output: String
    }

    /// The environment of every podrec run: the lab's data root, and no auth file, cert
    /// dir or registries.conf of the host's.
    var environment: [String] {
        ["PODREC_DATA_ROOT=\(dataRoot)", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=\(tmp)", "DOCKER_CONFIG=\(tmp)/docker",
         "REGISTRY_AUTH_FILE=\(tmp)/auth.json", "PODREC_CERT_DIR=\(tmp)/no-certs", "PODREC_REGISTRIES_CONF=\(tmp)/registries.conf"]
    }

    /// Runs `podrec ARGS` to its end, stdout and stderr together.
    @discardableResult
    func podrec(_ arguments: String...) throws -> Run {
        try run([Self.podrec] + arguments, check: false, environment: environment)
    }

    /// Starts `podrec ARGS` in the background, output to `log`; `wait` collects it.
    func startPodrec(_ arguments: [String], log: String) throws -> Int32 {
        let out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(out >= 0)
        defer { close(out) }
        var request = SpawnRequest([Self.podrec] + arguments, environment: environment)
        request.stdout = out
        request.stderr = out
        let p = try spawn(request)
        if let fd = p.pidfd { close(fd) }
        return p.pid
    }

    func wait(_ pid: Int32) throws -> Int32 {
        guard case .exited(let code) = WaitStatus(try Sys.wait(pid)) else { return -1 }
        return code
    }

    // MARK: Processes

    /// Runs `argv` to its end; with `check`, requires exit 0.
    @discardableResult
    func run(_ argv: [String], check: Bool = true, environment: [String]? = nil) throws -> Run {
        var request = SpawnRequest(argv, environment: environment ?? ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=\(tmp)", "XDG_RUNTIME_DIR=\(tmp)"])
        request.workingDirectory = tmp
        let (status, output) = try runToEnd(request)
        if check { try #require(status == 0, "\(argv.joined(separator: " ")): exit \(status): \(output)") }
        return Run(status: status, output: output)
    }

    private func startProcess(_ argv: [String], log: String) throws {
        let out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(out >= 0)
        defer { close(out) }
        var request = SpawnRequest(argv, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=\(tmp)"])
        request.workingDirectory = tmp
        request.stdout = out
        request.stderr = out
        let p = try spawn(request)
        if let fd = p.pidfd { close(fd) }
        processes.append(p.pid)
    }

    /// Waits (30 s at most; the VM is slow) until something accepts on 127.0.0.1:`port`.
    private func waitForPort(_ port: Int) throws {
        let deadline = MonotonicClock.now() + 30_000_000_000
        while MonotonicClock.now() < deadline {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let ok = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            } == 0
            close(fd)
            if ok { return }
            MonotonicClock.sleep(nanoseconds: 50_000_000)
        }
        try #require(Bool(false), "nothing listens on 127.0.0.1:\(port) after 30 s; registry log: \((try? Sys.readString(registryLog)) ?? "")")
    }

    /// Stops what the lab started (SIGTERM, then SIGKILL, by pid), removes its dirs, and
    /// records leaks: processes, fds, mounts, and the dirs themselves.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) {
        for pid in processes {
            kill(pid, SIGTERM)
            let deadline = MonotonicClock.now() + 5_000_000_000
            var reaped = false
            while MonotonicClock.now() < deadline {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid { reaped = true; break }
                MonotonicClock.sleep(nanoseconds: 20_000_000)
            }
            if !reaped {
                kill(pid, SIGKILL)
                _ = try? Sys.wait(pid)
            }
        }
        processes = []
        try? Sys.removeTree(tmp)
        try? Sys.removeTree(dataRoot)
        for dir in [tmp, dataRoot] where Sys.exists(dir) { Issue.record("left: \(dir)", sourceLocation: sourceLocation) }
        for leak in HostSnapshot.take().leaks(since: before) { Issue.record("leak: \(leak)", sourceLocation: sourceLocation) }
    }
}

extension String {
    fileprivate var replacingSlashes: String { String(map { $0 == "/" ? "-" : $0 }) }
}
