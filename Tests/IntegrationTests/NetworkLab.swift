// THE RULE FOR EVERY TEST THAT GIVES PODS A NETWORK: no traffic leaves the machine, and
// nothing is changed in the host's network namespace.
//
// - podrec never runs in the host's network namespace with `PODREC_POD_NETWORK=cni`: each
//   test makes its own "node" namespace (a `sleep` in a new netns, pinned under the test's
//   temp dir, `lo` up, no default route, so no route off the machine) and runs every podrec
//   command in it (`CLI.netns`: setns before exec, as `nsenter --net=PIN` does; never
//   `ip netns exec`, which remounts /sys and hides /sys/fs/cgroup from podrec). The bridge,
//   the veths, the iptables rules and the held host ports land there, and die with it.
// - An "outside" host is another namespace the test made, joined to the node by a veth, on
//   test-only addresses (192.0.2.0/24, TEST-NET-1, RFC 5737). Servers bind inside those
//   namespaces. A test targets only its pods' addresses, the node's and the outside's, and
//   127.0.0.1 inside the node: never any other address.
// - Namespaces are unnamed (pins in the temp dir, not /run/netns), so tests cannot collide on
//   a name; the node's bridge is podrec's default (podrec0, 10.89.0.0/16), which is fine
//   because every node namespace has its own.
// - `finish` proves the pod network left nothing (leases, pins, veths, iptables rules), then
//   kills the namespaces' processes by pid, unpins them, and runs the lab's usual leak check.
import Foundation
import Glibc
import Kernel
import KernelTestSupport
import Spawn
import Testing

final class NetworkLab {
    typealias CLI = Integration.CLIPodTests.CLI
    typealias Run = Integration.CLIPodTests.Run

    let lab: PodLab
    /// podrec in the node namespace, with the pod network on and a conf dir of its own.
    let podrec: CLI
    /// The node namespace's pin, and the outside's.
    let node: String
    let outside: String
    /// The veth's two ends and their addresses: `outside0` in the node, `eth0` outside.
    static let nodeAddress = "192.0.2.1"
    static let outsideAddress = "192.0.2.2"
    static let nodeLink = "outside0"
    let confDirectory: String
    /// Processes the lab started (namespace holders, servers), killed by pid at `finish`.
    var processes: [SpawnedProcess] = []

    init(_ label: String) throws {
        try HostTool.require("/usr/lib/cni/bridge", package: "containernetworking-plugins")
        try HostTool.require("/usr/sbin/iptables", package: "iptables")
        try HostTool.require("/usr/sbin/ip", package: "iproute2")
        try HostTool.require("/usr/bin/python3", package: "python3")
        try HostTool.require("/usr/bin/curl", package: "curl")
        try HostTool.require("/bin/busybox", package: "busybox-static")
        lab = try PodLab(label)
        node = lab.tmp + "/node.netns"
        outside = lab.tmp + "/outside.netns"
        confDirectory = lab.tmp + "/net.d"
        var cli = CLI(lab: lab)
        cli.netns = node
        cli.network = ["PODREC_POD_NETWORK=cni", "PODREC_CNI_CONF_DIR=\(confDirectory)", "PODREC_CNI_BIN_DIR=/usr/lib/cni"]
        podrec = cli
        do {
            try makeNamespace(node)
            try makeNamespace(outside)
            let holder = try #require(processes.last?.pid)
            try inNode("/usr/sbin/ip", "link", "set", "lo", "up")
            try inNode("/usr/sbin/ip", "link", "add", Self.nodeLink, "type", "veth", "peer", "name", "eth0", "netns", "\(holder)")
            try inNode("/usr/sbin/ip", "addr", "add", Self.nodeAddress + "/24", "dev", Self.nodeLink)
            try inNode("/usr/sbin/ip", "link", "set", Self.nodeLink, "up")
            try inOutside("/usr/sbin/ip", "link", "set", "lo", "up")
            try inOutside("/usr/sbin/ip", "addr", "add", Self.outsideAddress + "/24", "dev", "eth0")
            try inOutside("/usr/sbin/ip", "link", "set", "eth0", "up")
        } catch {
            removeNamespaces()
            lab.finish()
            throw error
        }
    }

    /// A `sleep` in a new net namespace, pinned at `pin` (a bind mount, as `ip netns add` makes).
    private func makeNamespace(_ pin: String) throws {
        var request = SpawnRequest(["/bin/sleep", "100000"])
        request.unshare = .network
        let p = try spawn(request)
        processes.append(p)
        _ = try Sys.createEmptyFile(pin, mode: 0o600)
        try Sys.mount(source: "/proc/\(p.pid)/ns/net", target: pin, fstype: nil, flags: .bind, data: nil)
    }

    // MARK: Commands in the namespaces

    /// Runs `argv` in the namespace pinned at `netns`, stdout and stderr together.
    @discardableResult
    func run(in netns: String, _ argv: [String]) throws -> Run {
        var cli = CLI(lab: lab)
        cli.netns = netns
        return try cli.run(argv)
    }

    /// Runs a command in the node namespace and requires it to succeed; its output.
    @discardableResult
    func inNode(_ argv: String...) throws -> String {
        let r = try run(in: node, argv)
        try #require(r.status == 0, "in the node: \(argv.joined(separator: " ")): \(r.output)")
        return r.output
    }

    @discardableResult
    func inOutside(_ argv: String...) throws -> String {
        let r = try run(in: outside, argv)
        try #require(r.status == 0, "outside: \(argv.joined(separator: " ")): \(r.output)")
        return r.output
    }

    /// Starts `argv` in the namespace at `netns` in the background (output to `log`); it is
    /// killed by pid at `finish`.
    @discardableResult
    func start(in netns: String, _ argv: [String], log: String) throws -> SpawnedProcess {
        let fd = try Sys.openForReading(netns)
        defer { close(fd) }
        let out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        try #require(out >= 0)
        defer { close(out) }
        var request = SpawnRequest(argv, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
        request.joinNamespaces = [NamespaceJoin(.network, fd: fd, path: netns)]
        request.stdout = out
        request.stderr = out
        let p = try spawn(request)
        processes.append(p)
        return p
    }

    /// A tiny HTTP server: every GET answers `<name> <peer address>`, so the client knows
    /// which server it reached and the server's side of the connection is visible too.
    static let echoServer = """
        import http.server, sys
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = (sys.argv[3] + ' ' + self.client_address[0] + '\\n').encode()
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *a):
                pass
        http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
        """

    /// The echo server outside, on the outside's address: what it answers names the peer.
    func startOutsideServer(port: Int = 8000) throws {
        try start(in: outside, ["/usr/bin/python3", "-c", Self.echoServer, Self.outsideAddress, "\(port)", "outside"],
                  log: lab.tmp + "/outside-\(port).log")
    }

    /// GET `url` with curl in `netns` until it answers or `seconds` pass; the body, or nil.
    /// A refused or unrouted connection is retried: servers take a moment to bind.
    func fetch(in netns: String, _ url: String, seconds: Double = 20) throws -> String? {
        let deadline = MonotonicClock.now() + Int64(seconds * 1e9)
        repeat {
            let r = try run(in: netns, ["/usr/bin/curl", "-sS", "--max-time", "3", url])
            if r.status == 0 { return r.output }
            MonotonicClock.sleep(nanoseconds: 100_000_000)
        } while MonotonicClock.now() < deadline
        return nil
    }

    /// GET `url` once, with a short timeout: nil when it does not answer.
    func fetchOnce(in netns: String, _ url: String) throws -> String? {
        let r = try run(in: netns, ["/usr/bin/curl", "-sS", "--max-time", "2", url])
        return r.status == 0 ? r.output : nil
    }

    /// GET from inside a pod's container (`podrec exec`), retried as `fetch` is.
    func fetch(fromPod pod: String, container: String, _ url: String, seconds: Double = 20) throws -> String? {
        let deadline = MonotonicClock.now() + Int64(seconds * 1e9)
        repeat {
            let r = try podrec("exec", pod, "-c", container, "--", "/usr/bin/curl", "-sS", "--max-time", "3", url)
            if r.status == 0 { return r.output }
            MonotonicClock.sleep(nanoseconds: 100_000_000)
        } while MonotonicClock.now() < deadline
        return nil
    }

    // MARK: podrec

    @discardableResult
    func podrec(_ arguments: String...) throws -> Run { try podrec.run([podrec.binary] + arguments) }

    func write(_ name: String, _ text: String) throws -> String { try podrec.write(name, text) }

    /// `podrec get -o json`, pod name → its object.
    func pods() throws -> [String: [String: Any]] {
        let out = try podrec("get", "-o", "json").output
        let items = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]], "\(out)")
        return Dictionary(uniqueKeysWithValues: items.compactMap { o in (o["name"] as? String).map { ($0, o) } })
    }

    /// The pod's `podIP` from `get -o json`; fails the test when it has none.
    func podIP(_ pod: String) throws -> String {
        let ip = try #require(try pods()[pod]?["podIP"] as? String, "no pod \(pod)")
        try #require(ip.hasPrefix("10.89."), "\(pod)'s IP \(ip) is not on podrec's default network")
        return ip
    }

    /// A pod of `image: host` containers, each `(name, command, extra)`: the command runs
    /// under `sh -c`; `extra` lines go into the container (ports, probes, env).
    static func pod(_ name: String, spec: String = "", _ containers: [(name: String, command: String, extra: String)]) -> String {
        var text = """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name)}
            spec:
              terminationGracePeriodSeconds: 1
            \(spec)
              containers:

            """
        for c in containers {
            text += """
                  - name: \(c.name)
                    image: host
                    command: [sh, -c, \(yamlString(c.command))]
                \(c.extra)

                """
        }
        return text
    }

    /// A pod whose container `web` runs the echo server on `port` (answering `<pod name>
    /// <peer>`), with `extra` in the container (a hostPort, say).
    static func webPod(_ name: String, port: Int = 8080, extra: String = "", spec: String = "") -> String {
        pod(name, spec: spec, [("web", "exec /usr/bin/python3 -c \"$SERVER\" 0.0.0.0 \(port) \(name)",
                                 "    env: [{name: SERVER, value: \(yamlString(echoServer))}]\n" + extra)])
    }

    /// `s` as a YAML double-quoted scalar (JSON's escapes are YAML's).
    static func yamlString(_ s: String) -> String {
        var out = "\""
        for ch in s.unicodeScalars {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "\""
    }

    // MARK: What the network holds

    var networkRoot: String { lab.tmp + "/run/network" }

    /// host-local's leases under podrec's IPAM dir (and `extra` data dirs): every file of a
    /// network dir but host-local's own `lock` and `last_reserved_ip.N`.
    func leases(extra: [String] = []) -> [String] {
        var out: [String] = []
        for dir in [networkRoot + "/ipam"] + extra {
            for network in (try? Sys.listDirectory(dir)) ?? [] {
                for name in (try? Sys.listDirectory(dir + "/" + network)) ?? [] where name != "lock" && !name.hasPrefix("last_reserved_ip.") {
                    out.append("\(dir)/\(network)/\(name)")
                }
            }
        }
        return out.sorted()
    }

    /// The container id each lease names (its first line).
    func leaseOwners(extra: [String] = []) -> [String] {
        leases(extra: extra).map { ((try? Sys.readString($0)) ?? "").split(whereSeparator: \.isNewline).first.map(String.init) ?? "" }
    }

    func names(_ dir: String) -> [String] { ((try? Sys.listDirectory(networkRoot + "/" + dir)) ?? []).filter { !$0.hasPrefix(".") }.sorted() }

    /// Mounts under the network root: the netns pins.
    func pinMounts() -> [String] {
        ((try? Sys.mounts()) ?? []).map(\.mountPoint).filter { $0.hasPrefix(networkRoot + "/") }.sorted()
    }

    /// The veths in the node namespace but the lab's own link to the outside.
    func veths() throws -> [String] {
        try inNode("/usr/sbin/ip", "-o", "link", "show", "type", "veth").split(separator: "\n").compactMap { line in
            let name = line.split(separator: ":").dropFirst().first.map { String($0.drop { $0 == " " }.split(separator: "@").first ?? "") }
            return name == Self.nodeLink ? nil : name
        }.sorted()
    }

    /// `iptables-save` of the node namespace.
    func iptablesSave() throws -> String { try inNode("/usr/sbin/iptables-save") }

    /// The podrec container ids that iptables rules of the node name.
    func ruleOwners() throws -> Set<String> {
        var out = Set<String>()
        for line in try iptablesSave().split(separator: "\n") {
            for r in line.ranges(of: "podrec-") {
                let id = line[r.lowerBound...].prefix { $0 != "\"" && $0 != " " && $0 != "\\" }
                out.insert(String(id))
            }
        }
        return out
    }

    /// Nothing of the pod network is left: no lease, record, result or pin, no veth but the
    /// lab's, no iptables rule naming a podrec container.
    func expectNoNetworkLeft(extraDataDirectories: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(leases(extra: extraDataDirectories) == [], "leases left", sourceLocation: sourceLocation)
        for dir in ["attachments", "results", "netns"] {
            #expect(names(dir) == [], "\(dir) left", sourceLocation: sourceLocation)
        }
        #expect(pinMounts() == [], "pins left", sourceLocation: sourceLocation)
        #expect((try? veths()) == [], "veths left in the node", sourceLocation: sourceLocation)
        #expect((try? ruleOwners()) == [], "iptables rules left: \((try? iptablesSave()) ?? "?")", sourceLocation: sourceLocation)
    }

    // MARK: The end

    /// Deletes every pod, proves the network left nothing, removes the namespaces and the
    /// lab's processes (by pid), then the lab's leak check (`PodLab.finish`).
    func finish(extraDataDirectories: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        let deleted = try? podrec("delete", "--all", "--grace-period", "0")
        #expect(deleted?.status == 0, "\(deleted?.output ?? "")", sourceLocation: sourceLocation)
        expectNoNetworkLeft(extraDataDirectories: extraDataDirectories, sourceLocation: sourceLocation)
        removeNamespaces()
        lab.finish(sourceLocation: sourceLocation)
    }

    private func removeNamespaces() {
        for p in processes {
            try? Sys.kill(p.pid, SIGKILL)
            _ = try? Sys.wait(p.pid)
            if let fd = p.pidfd { close(fd) }
        }
        processes = []
        // A failed test's pod pins too: unmounting the node's pin and killing its holder
        // frees the namespace, with the bridge and rules in it.
        for m in ((try? Sys.mounts()) ?? []).filter({ $0.mountPoint.hasPrefix(lab.tmp + "/") }).reversed() {
            try? Sys.unmount(m.mountPoint, detach: true)
        }
    }
}
