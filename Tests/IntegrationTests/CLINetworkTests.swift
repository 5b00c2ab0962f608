import Foundation
import Glibc
import Kernel
import KernelTestSupport
import Spawn
import Testing

extension Integration {
    /// The built `podrec` with the pod network on (`PODREC_POD_NETWORK=cni`), Debian's real
    /// CNI plugins, end to end: reachability, hostPort, the pod's network files, an
    /// operator's conflist, a failing plugin, drift, and leaks after kill -9 and after many
    /// create/delete cycles. Every test runs podrec in a node namespace of its own and
    /// sends traffic only inside namespaces it made: read the rule at the top of
    /// NetworkLab.swift before adding one.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct CLINetworkTests {
        /// The leak test's rounds and pods, and the cycle test's cycles. The cgroup v2 VM
        /// (where `PODREC_REQUIRE_PRIVILEGED=1`) emulates every instruction (each plugin is a
        /// Go binary: an apply of 3 pods took 12 s there, 0.33 s here; a cycle 11 s) and
        /// runs every integration test in one go, so it runs one round of each kind of kill
        /// and a few cycles. `PODREC_NET_ROUNDS`, `PODREC_NET_PODS` and `PODREC_NET_CYCLES`
        /// override them.
        static let rounds = count("PODREC_NET_ROUNDS", host: 20, vm: 4)
        static let podsPerRound = count("PODREC_NET_PODS", host: 3, vm: 2)
        static let cycles = count("PODREC_NET_CYCLES", host: 50, vm: 3)

        static func count(_ variable: String, host: Int, vm: Int) -> Int {
            if let v = getenv(variable).flatMap({ Int(String(cString: $0)) }) { return v }
            return Privilege.required ? vm : host
        }

        typealias Lab = NetworkLab

        /// The node reaches a pod's server at its pod IP, pods reach each other by IP, and a
        /// pod reaches the outside host through masquerade: the outside sees the node's
        /// address, not the pod's.
        @Test func podsReachTheNodeEachOtherAndTheOutside() throws {
            let net = try Lab("net-reach")
            defer { net.finish() }
            try net.startOutsideServer()
            let file = try net.write("pods.yaml", Lab.webPod("a") + "---\n" + Lab.webPod("b"))
            let applied = try net.podrec("apply", "-f", file)
            try #require(applied.status == 0, "\(applied.output)")
            let a = try net.podIP("a"), b = try net.podIP("b")
            #expect(a != b)
            let pods = try net.pods()
            #expect(pods["a"]?["podIPs"] as? [String] == [a])
            #expect(pods["a"]?["hostIP"] as? String == Lab.nodeAddress, "the node's own address: \(pods)")

            // The node to each pod: the server names itself and sees the bridge's address.
            #expect(try net.fetch(in: net.node, "http://\(a):8080/") == "a 10.89.0.1\n")
            #expect(try net.fetch(in: net.node, "http://\(b):8080/") == "b 10.89.0.1\n")
            // Pod to pod, over the bridge, no address translation between them.
            #expect(try net.fetch(fromPod: "a", container: "web", "http://\(b):8080/") == "b \(a)\n")
            // A pod to the outside: masqueraded to the node's address on that link.
            #expect(try net.fetch(fromPod: "b", container: "web", "http://\(Lab.outsideAddress):8000/") == "outside \(Lab.nodeAddress)\n")
            // The outside has no route to the pods: only the node's address is reachable.
            #expect(try net.fetchOnce(in: net.outside, "http://\(a):8080/") == nil)

            let wide = try net.podrec("get", "-o", "wide").output
            #expect(wide.contains(" IP ") && wide.contains(a) && wide.contains(b), "\(wide)")
            let describe = try net.podrec("describe", "a").output
            #expect(describe.contains(a), "\(describe)")
        }

        /// A hostPort reaches the pod from the outside host, from the node's address and
        /// from 127.0.0.1; a second pod asking for the same port is refused at plan time,
        /// naming the pod that holds it; a hostPort on hostIP 127.0.0.1 is reachable on the
        /// node's loopback only.
        @Test func hostPortsFromOutsideTheNodeAndLoopback() throws {
            let net = try Lab("net-hostport")
            defer { net.finish() }
            let web = try net.write("web.yaml", Lab.webPod("web", extra: "    ports: [{containerPort: 8080, hostPort: 18080}]"))
            let local = try net.write("local.yaml", Lab.webPod("local", extra: "    ports: [{containerPort: 8080, hostPort: 18081, hostIP: 127.0.0.1}]"))
            let applied = try net.podrec("apply", "-f", web, "-f", local)
            try #require(applied.status == 0, "\(applied.output)")
            let ip = try net.podIP("web")

            let fromOutside = try net.fetch(in: net.outside, "http://\(Lab.nodeAddress):18080/")
            #expect(fromOutside?.hasPrefix("web ") == true, "\(fromOutside ?? "no answer")")
            let fromNode = try net.fetch(in: net.node, "http://\(Lab.nodeAddress):18080/")
            #expect(fromNode?.hasPrefix("web ") == true, "\(fromNode ?? "no answer")")
            let fromLoopback = try net.fetch(in: net.node, "http://127.0.0.1:18080/")
            #expect(fromLoopback?.hasPrefix("web ") == true, "\(fromLoopback ?? "no answer")")
            #expect(try net.describe("web").contains("18080"))

            // hostIP 127.0.0.1: the node's loopback reaches it, the outside does not.
            let loopbackOnly = try net.fetch(in: net.node, "http://127.0.0.1:18081/")
            #expect(loopbackOnly?.hasPrefix("local ") == true, "\(loopbackOnly ?? "no answer")")
            #expect(try net.fetchOnce(in: net.outside, "http://\(Lab.nodeAddress):18081/") == nil)

            // The same hostPort for a second pod: refused before anything starts.
            let second = try net.write("second.yaml", Lab.webPod("second", extra: "    ports: [{containerPort: 8080, hostPort: 18080}]"))
            let refused = try net.podrec("apply", "-f", second)
            #expect(refused.status != 0, "\(refused.output)")
            #expect(refused.output.contains("18080") && refused.output.contains("web"), "names the holder: \(refused.output)")
            let diff = try net.podrec("diff", "-f", second)
            #expect(diff.status != 0 && diff.output.contains("web"), "\(diff.output)")
            #expect(try net.pods()["second"] == nil)
            #expect(try net.podIP("web") == ip)
            #expect(try net.fetch(in: net.outside, "http://\(Lab.nodeAddress):18080/")?.hasPrefix("web ") == true, "the holder still serves")
        }

        /// The pod's network files and its IP where kubelet puts it: /etc/hosts in kubelet's
        /// format with hostAliases, resolv.conf for each dnsPolicy and a dnsConfig (by the
        /// rules, against the host's own resolv.conf), the downward API's status.podIP, and
        /// an httpGet readiness probe without `host` against a server bound to the pod IP only.
        @Test func hostsResolvConfDownwardAPIAndProbes() throws {
            let net = try Lab("net-files")
            defer { net.finish() }
            let sleep = "exec sleep 3600"
            let files = Lab.pod("files", spec: """
                  hostname: files-host
                  hostAliases: [{ip: 192.0.2.10, hostnames: [alias-one, alias-two]}]
                  dnsPolicy: Default
                  dnsConfig: {nameservers: [192.0.2.53], searches: [podrec.test], options: [{name: ndots, value: "2"}]}
                """, [("app", sleep, "    env: [{name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]")])
            let clusterFirst = Lab.pod("cluster-first", spec: "  dnsPolicy: ClusterFirst", [("app", sleep, "")])
            let none = Lab.pod("none", spec: "  dnsPolicy: None\n  dnsConfig: {nameservers: [192.0.2.54], searches: [only.test]}", [("app", sleep, "")])
            // Bound to the pod IP only: a probe on 127.0.0.1 would be refused.
            let probed = Lab.pod("probed", [("web", "exec /usr/bin/python3 -m http.server --bind \"$POD_IP\" 8080", """
                    env: [{name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]
                    readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
                """)])
            let file = try net.write("pods.yaml", [files, clusterFirst, none, probed].joined(separator: "---\n"))
            let applied = try net.podrec("apply", "-f", file, "--wait", "--timeout", "60")
            #expect(applied.status == 0, "the probe passes: \(applied.output)")
            let ip = try net.podIP("files")

            let hosts = try net.podrec("exec", "files", "--", "cat", "/etc/hosts").output
            let lines = hosts.split(separator: "\n").map(String.init)
            #expect(lines.first == "# Kubernetes-managed hosts file.", "\(hosts)")
            #expect(lines.contains("127.0.0.1\tlocalhost"), "\(hosts)")
            #expect(lines.contains("\(ip)\tfiles-host"), "\(hosts)")
            #expect(lines.suffix(2) == ["# Entries added by HostAliases.", "192.0.2.10\talias-one\talias-two"], "\(hosts)")
            #expect(try net.podrec("exec", "files", "--", "sh", "-c", "echo $MY_IP").output == ip + "\n")

            // The rules, against whatever the host's resolv.conf says: its loopback
            // nameservers dropped, dnsConfig's appended, searches appended, options merged.
            let host = Self.resolvConf(try Self.hostResolvConf())
            let upstream = host.nameservers.filter { !$0.hasPrefix("127.") && $0 != "::1" }
            let merged = Self.resolvConf(try net.podrec("exec", "files", "--", "cat", "/etc/resolv.conf").output)
            #expect(merged.nameservers == Array((upstream + ["192.0.2.53"]).prefix(3)), "\(merged)")
            #expect(merged.searches == host.searches + ["podrec.test"], "\(merged)")
            #expect(merged.options.contains("ndots:2") && !merged.options.contains("ndots:1"), "\(merged)")
            let cluster = Self.resolvConf(try net.podrec("exec", "cluster-first", "--", "cat", "/etc/resolv.conf").output)
            #expect(cluster.nameservers == upstream && cluster.searches == host.searches, "no cluster DNS: the host's: \(cluster)")
            #expect(try net.podrec("exec", "none", "--", "cat", "/etc/resolv.conf").output == "nameserver 192.0.2.54\nsearch only.test\n")

            // The probe targets the pod IP (nothing listens on the pod's 127.0.0.1:8080).
            let probedIP = try net.podIP("probed")
            #expect(try net.pods()["probed"]?["ready"] as? String == "1/1")
            #expect(try net.fetch(in: net.node, "http://\(probedIP):8080/") != nil)
            #expect(try net.podrec("exec", "probed", "--", "/usr/bin/curl", "-s", "--max-time", "2", "http://127.0.0.1:8080/").status != 0)
        }

        /// The host's resolv.conf as podrec reads it: systemd-resolved's stub replaced by its
        /// upstreams.
        static func hostResolvConf() throws -> String {
            let text = (try? Sys.readString("/etc/resolv.conf")) ?? ""
            if text.contains("nameserver 127.0.0.53"), let upstream = try? Sys.readString("/run/systemd/resolve/resolv.conf") { return upstream }
            return text
        }

        static func resolvConf(_ text: String) -> (nameservers: [String], searches: [String], options: [String]) {
            var out: (nameservers: [String], searches: [String], options: [String]) = ([], [], [])
            for line in text.split(separator: "\n") {
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                switch words.first {
                case "nameserver": out.nameservers += words.dropFirst().prefix(1)
                case "search", "domain": out.searches = Array(words.dropFirst())
                case "options": out.options += words.dropFirst()
                default: break
                }
            }
            return out
        }

        /// An operator's own conflist (ptp, another subnet, leases in a data dir of its
        /// own) is used unchanged: the pod gets an address there, the node reaches it, and
        /// delete leaves no lease in that dir.
        @Test func anOperatorsConflistWorksUnchanged() throws {
            let net = try Lab("net-own")
            let dataDir = net.lab.tmp + "/own-ipam"
            defer { net.finish(extraDataDirectories: [dataDir]) }
            try Sys.mkdirs(net.confDirectory, mode: 0o755)
            let conflist = """
                {"cniVersion": "1.0.0", "name": "own", "plugins": [
                  {"type": "ptp", "ipMasq": true, "ipam": {"type": "host-local", "dataDir": "\(dataDir)",
                   "ranges": [[{"subnet": "10.250.3.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
                  {"type": "portmap", "capabilities": {"portMappings": true}}]}
                """
            _ = try net.write("net.d/05-own.conflist", conflist)
            let file = try net.write("web.yaml", Lab.webPod("own"))
            let applied = try net.podrec("apply", "-f", file)
            try #require(applied.status == 0, "\(applied.output)")
            let ip = try #require(try net.pods()["own"]?["podIP"] as? String)
            #expect(ip.hasPrefix("10.250.3."), "\(ip)")
            #expect(try Sys.readString(net.confDirectory + "/05-own.conflist") == conflist, "unchanged")
            #expect(!Sys.exists(net.confDirectory + "/10-podrec.conflist"), "no default beside it")
            #expect(net.leases(extra: [dataDir]).map { baseName($0) } == [ip])
            #expect(try net.fetch(in: net.node, "http://\(ip):8080/")?.hasPrefix("own ") == true)
            try net.startOutsideServer()
            #expect(try net.fetch(fromPod: "own", container: "web", "http://\(Lab.outsideAddress):8000/") == "outside \(Lab.nodeAddress)\n",
                    "ptp's own masquerade")
            #expect(try net.podrec("diff", "-f", file).status == 0)
        }

        /// A plugin that fails fails the pod's start with the plugin's own message, and
        /// leaves nothing of that pod: a conflist naming a missing plugin, then a range with
        /// one free address, where the second pod finds none while the first keeps running.
        @Test func aFailingPluginFailsTheApplyAndLeavesNothing() throws {
            let net = try Lab("net-fail")
            let dataDir = net.lab.tmp + "/small-ipam"
            defer { net.finish(extraDataDirectories: [dataDir]) }
            try Sys.mkdirs(net.confDirectory, mode: 0o755)
            _ = try net.write("net.d/00-missing.conflist", """
                {"cniVersion": "1.0.0", "name": "missing", "plugins": [{"type": "no-such-plugin-podrec-test"}]}
                """)
            let one = try net.write("one.yaml", Lab.pod("one", [("app", "exec sleep 3600", "")]))
            let missing = try net.podrec("apply", "-f", one)
            #expect(missing.status != 0, "\(missing.output)")
            #expect(missing.output.contains("no-such-plugin-podrec-test"), "\(missing.output)")
            net.expectNoNetworkLeft(extraDataDirectories: [dataDir])
            #expect(try net.podrec("delete", "--all", "--grace-period", "0").status == 0)

            // One address in the range: the first pod takes it, the second gets host-local's
            // own error.
            try Sys.unlink(net.confDirectory + "/00-missing.conflist")
            _ = try net.write("net.d/00-small.conflist", """
                {"cniVersion": "1.0.0", "name": "small", "plugins": [
                  {"type": "bridge", "bridge": "small0", "isGateway": true, "ipMasq": true, "ipam": {"type": "host-local",
                   "dataDir": "\(dataDir)", "ranges": [[{"subnet": "10.77.0.0/30", "rangeStart": "10.77.0.2", "rangeEnd": "10.77.0.2"}]]}},
                  {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true}]}
                """)
            #expect(try net.podrec("apply", "-f", one).status == 0)
            let first = try #require(try net.pods()["one"]?["podIP"] as? String)
            #expect(first == "10.77.0.2")
            let firstVeths = try net.veths(), firstRules = try net.ruleOwners(), firstPins = net.pinMounts()
            let two = try net.write("two.yaml", Lab.pod("two", [("app", "exec sleep 3600", "    ports: [{containerPort: 80, hostPort: 18090}]")]))
            let full = try net.podrec("apply", "-f", two)
            #expect(full.status != 0, "\(full.output)")
            #expect(full.output.contains("no IP addresses available"), "host-local's message: \(full.output)")
            #expect(net.leases(extra: [dataDir]).map { baseName($0) } == ["10.77.0.2"], "only the first pod's lease")
            #expect(try net.veths() == firstVeths && net.pinMounts() == firstPins)
            #expect(try net.ruleOwners() == firstRules, "no rule of the second pod")
            #expect(net.names("attachments").count == 1 && net.names("results").count == 1)
            #expect(try net.pods()["one"]?["status"] as? String == "Running")
            #expect(try net.pods()["one"]?["restarts"] as? String == "0")
            let diff = try net.podrec("diff", "-f", one)
            #expect(diff.status == 0, "the first pod is untouched: \(diff.output)")
        }

        /// Drift: the pod's veth deleted by hand, then the node's nat table flushed; each is
        /// shown by `diff` and repaired by `apply`, with the same IP and the same containers.
        @Test func aDeletedVethAndAFlushedNatTableAreRepaired() throws {
            let net = try Lab("net-drift")
            defer { net.finish() }
            let file = try net.write("web.yaml", Lab.webPod("drift", extra: "    ports: [{containerPort: 8080, hostPort: 18082}]"))
            try #require(try net.podrec("apply", "-f", file).status == 0)
            let ip = try net.podIP("drift")
            let pid = try net.podrec.pid("drift", "web")
            #expect(try net.fetch(in: net.outside, "http://\(Lab.nodeAddress):18082/") != nil)

            let veth = try #require(try net.veths().first)
            try net.inNode("/usr/sbin/ip", "link", "del", veth)
            let broken = try net.podrec("diff", "-f", file)
            #expect(broken.status == 1 && broken.output.contains("drift"), "\(broken.output)")
            let repaired = try net.podrec("apply", "-f", file)
            #expect(repaired.status == 0, "\(repaired.output)")
            #expect(try net.podIP("drift") == ip)
            #expect(try net.fetch(in: net.node, "http://\(ip):8080/")?.hasPrefix("drift ") == true)
            #expect(try net.podrec("diff", "-f", file).status == 0)

            try net.inNode("/usr/sbin/iptables", "-t", "nat", "-F")
            let flushed = try net.podrec("diff", "-f", file)
            #expect(flushed.status == 1 && flushed.output.contains("drift"), "\(flushed.output)")
            #expect(try net.podrec("apply", "-f", file).status == 0)
            #expect(try net.podIP("drift") == ip)
            #expect(try net.fetch(in: net.outside, "http://\(Lab.nodeAddress):18082/")?.hasPrefix("drift ") == true)
            #expect(try net.podrec("diff", "-f", file).status == 0)

            #expect(try net.podrec.pid("drift", "web") == pid, "the same container")
            #expect(try net.pods()["drift"]?["restarts"] as? String == "0")
        }

        /// kill -9 of the reconciler at random moments of `apply` (during ADD) and of
        /// `delete` (during DEL), of supervisors, and of everything at once, round after
        /// round; then one more `apply`: leases, pins, veths and rules are exactly the live
        /// pods', and after `delete --all` (in `finish`) nothing is left at all.
        @Test func kill9AnywhereLeavesOnlyTheLivePodsAfterOnePass() throws {
            let net = try Lab("net-kill9")
            defer { net.finish() }
            let dir = net.lab.tmp + "/pods"
            try Sys.mkdirs(dir, mode: 0o755)
            for i in 0..<Self.podsPerRound {
                // Every other pod has a hostPort: portmap's rules and a held port too.
                let ports = i % 2 == 0 ? "    ports: [{containerPort: 80, hostPort: \(18100 + i)}]" : ""
                try Sys.writeFileAtomically(dir + "/k\(i).yaml", Array(Lab.pod("k\(i)", [("app", "exec sleep 3600", ports)]).utf8), mode: 0o644)
            }
            // How long a whole apply and a whole delete take here: the kills land anywhere
            // in them (and a little after: then the kill finds a finished pass).
            var start = MonotonicClock.now()
            try #require(try net.podrec("apply", "-f", dir).status == 0)
            let applyTime = MonotonicClock.now() - start
            start = MonotonicClock.now()
            try #require(try net.podrec("delete", "--all", "--grace-period", "0").status == 0)
            let deleteTime = MonotonicClock.now() - start

            var random = SplitMix(seed: UInt64(MonotonicClock.now()))
            print("kill9: seed \(random.seed), apply \(applyTime / 1_000_000) ms, delete \(deleteTime / 1_000_000) ms, \(Self.rounds) rounds")
            var kills = (apply: 0, delete: 0, supervisors: 0, everything: 0)
            for round in 0..<Self.rounds {
                let kind = round % 4
                if kind == 3 {
                    // A delete killed part-way: some pods stopped, some detached, some not yet.
                    _ = try net.podrec("apply", "-f", dir)
                    try net.killed(["delete", "--all", "--grace-period", "0"], after: random.next(below: deleteTime + deleteTime / 5))
                    kills.delete += 1
                    continue
                }
                let apply = try net.background(["apply", "-f", dir])
                MonotonicClock.sleep(nanoseconds: random.next(below: applyTime + applyTime / 5))
                try Sys.kill(apply, SIGKILL)
                kills.apply += 1
                if kind == 1, let victim = try net.supervisors().randomElement(using: &random) {
                    try? Sys.kill(victim, SIGKILL)
                    kills.supervisors += 1
                }
                if kind == 2 {
                    for pid in try net.supervisors() + net.cgroupProcesses() { try? Sys.kill(pid, SIGKILL) }
                    kills.everything += 1
                }
                _ = try Sys.wait(apply)
                try net.waitForOrphanedPlugins()
            }
            print("kill9: killed apply \(kills.apply)×, delete \(kills.delete)×, a supervisor \(kills.supervisors)×, everything \(kills.everything)×")

            // One more pass (waiting for the pods to run, as the checks below count them).
            let again = try net.podrec("apply", "-f", dir, "--wait", "--timeout", "120")
            #expect(again.status == 0, "\(again.output)")
            let diff = try net.podrec("diff", "-f", dir)
            #expect(diff.status == 0, "\(diff.output)")
            try net.expectOnlyLivePods(Self.podsPerRound)
        }

        /// After a warm-up cycle (the bridge and the plugins' shared chains exist), create
        /// and delete cycles leave the node exactly as before: the lease dir, the links,
        /// our mounts and the node's rules.
        @Test func createDeleteCyclesLeaveTheNodeAsBefore() throws {
            let net = try Lab("net-cycles")
            defer { net.finish() }
            let file = try net.write("pod.yaml", Lab.pod("cycle", [("app", "exec sleep 3600", "    ports: [{containerPort: 80, hostPort: 18200}]")]))
            func cycle() throws {
                let applied = try net.podrec("apply", "-f", file)
                try #require(applied.status == 0, "\(applied.output)")
                let deleted = try net.podrec("delete", "--all", "--grace-period", "0")
                try #require(deleted.status == 0, "\(deleted.output)")
            }
            try cycle()
            let before = try net.nodeState()
            let start = MonotonicClock.now()
            for _ in 0..<Self.cycles { try cycle() }
            print("cycles: \(Self.cycles) in \((MonotonicClock.now() - start) / 1_000_000) ms")
            let after = try net.nodeState()
            #expect(after.leaseDirectory == before.leaseDirectory)
            #expect(after.links == before.links)
            #expect(after.mounts == before.mounts)
            #expect(after.rules == before.rules)
        }
    }
}

/// A small seeded generator: the seed is printed, so a failing round can be replayed.
struct SplitMix: RandomNumberGenerator {
    let seed: UInt64
    var state: UInt64
    init(seed: UInt64) { self.seed = seed; state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(below bound: Int64) -> Int64 { bound <= 0 ? 0 : Int64(next() % UInt64(bound)) }
}

extension NetworkLab {
    func describe(_ pod: String) throws -> String { try podrec("describe", pod).output }
}

extension NetworkLab {
    /// podrec with `arguments`, in the background, output discarded: its pid (podrec's own).
    func background(_ arguments: [String]) throws -> Int32 {
        var (request, fd) = try podrec.request([podrec.binary] + arguments)
        defer { if let fd { close(fd) } }
        let null = try Sys.openNull()
        defer { close(null) }
        request.stdout = null
        request.stderr = null
        let child = try spawn(request)
        if let pidfd = child.pidfd { close(pidfd) }
        return child.pid
    }

    /// Runs podrec with `arguments` and kills it (SIGKILL) after `nanoseconds`, or lets it
    /// end first; then waits for the plugins it left running.
    func killed(_ arguments: [String], after nanoseconds: Int64) throws {
        let pid = try background(arguments)
        MonotonicClock.sleep(nanoseconds: nanoseconds)
        try Sys.kill(pid, SIGKILL)
        _ = try Sys.wait(pid)
        try waitForOrphanedPlugins()
    }

    /// A killed podrec's plugins (and their iptables) run on, reparented to us (the test
    /// runner is a child subreaper): wait for them to end. The next pass would otherwise
    /// race a plugin still in its ADD, which is not what the leak test measures.
    func waitForOrphanedPlugins() throws {
        try Integration.CLIWatchTests.waitFor("the killed pass's plugins to end") {
            _ = Sys.reapAll()
            return Self.children().allSatisfy { pid in
                let exe = (try? Sys.readlink("/proc/\(pid)/exe")) ?? ""
                return !exe.hasPrefix("/usr/lib/cni/") && !exe.contains("tables")
            }
        }
    }

    static func children() -> [Int32] {
        ((try? Sys.listDirectory("/proc/self/task")) ?? []).flatMap { task in
            ((try? Sys.readString("/proc/self/task/\(task)/children")) ?? "").split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    /// The pods' supervisors, as the launcher recorded them.
    func supervisors() throws -> [Int32] {
        let pods = lab.tmp + "/run/pods"
        return ((try? Sys.listDirectory(pods)) ?? []).compactMap { pod in
            ((try? Sys.readString("\(pods)/\(pod)/supervisor")) ?? "").split(separator: " ").first.flatMap { Int32($0) }
        }
    }

    /// Every process in the lab's cgroups: the containers (and supervisors, where they are).
    func cgroupProcesses() throws -> [Int32] {
        var out: [Int32] = []
        func walk(_ dir: String) {
            out += ((try? Sys.readString(dir + "/cgroup.procs")) ?? "").split(separator: "\n").compactMap { Int32($0) }
            for name in (try? Sys.listDirectory(dir)) ?? [] where (try? Sys.stat(dir + "/" + name, followSymlinks: false))?.isDirectory == true {
                walk(dir + "/" + name)
            }
        }
        for dir in (try? lab.driver.directories(lab.cgroupParent)) ?? [] { walk(dir) }
        return out
    }

    /// Exactly `count` pods run, and the network holds exactly theirs: one record, result,
    /// pin, lease and veth each, and rules for no other container.
    func expectOnlyLivePods(_ count: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let pods = try self.pods()
        #expect(pods.count == count && pods.values.allSatisfy { $0["status"] as? String == "Running" }, "\(pods)", sourceLocation: sourceLocation)
        let ids = Set(names("attachments").map { String($0.prefix { $0 != "_" }) })
        #expect(ids.count == count, "records: \(ids)", sourceLocation: sourceLocation)
        #expect(Set(names("results").map { String($0.prefix { $0 != "_" }) }) == ids, sourceLocation: sourceLocation)
        #expect(Set(names("netns")) == ids, "pins", sourceLocation: sourceLocation)
        #expect(pinMounts().count == count, "\(pinMounts())", sourceLocation: sourceLocation)
        let owners = leaseOwners()
        #expect(owners.count == count && Set(owners) == ids, "leases: \(leases()) of \(owners)", sourceLocation: sourceLocation)
        #expect(Set(pods.values.compactMap { $0["podIP"] as? String }) == Set(leases().map { baseName($0) }), sourceLocation: sourceLocation)
        let veths = try veths()
        #expect(veths.count == count, "\(veths)", sourceLocation: sourceLocation)
        let rules = try ruleOwners()
        #expect(rules.isSubset(of: ids), "rules of dead pods: \(rules.subtracting(ids))", sourceLocation: sourceLocation)
    }

    /// What create/delete cycles must leave as they found it, with what churns by design
    /// taken out: ifindexes and link states of `ip -o link`, mount ids, the chains' counters.
    func nodeState() throws -> (leaseDirectory: [String], links: [String], mounts: [String], rules: [String]) {
        var leaseDirectory: [String] = []
        let ipam = networkRoot + "/ipam"
        for network in (try? Sys.listDirectory(ipam)) ?? [] {
            leaseDirectory += ((try? Sys.listDirectory(ipam + "/" + network)) ?? []).map { network + "/" + $0 }
        }
        let links = try inNode("/usr/sbin/ip", "-o", "link").split(separator: "\n").map { line -> String in
            // "7: podrec0: <BROADCAST,...> mtu 1500 ... state UP ... link/ether MAC brd ...":
            // the name, the mtu and the link address. Not the flags or the state: the bridge
            // loses its carrier when its last port goes, a moment after the DEL returns.
            let words = line.split(separator: " ").map(String.init)
            let name = words.count > 1 ? words[1] : ""
            let mtu = words.firstIndex(of: "mtu").flatMap { words.indices.contains($0 + 1) ? words[$0 + 1] : nil } ?? "?"
            let link = words.firstIndex { $0.hasPrefix("link/") }.map { i in words[i..<min(i + 2, words.count)].joined(separator: " ") } ?? "?"
            return "\(name) mtu \(mtu) \(link)"
        }
        // Ours only: other jobs on this host mount and unmount in the same namespace.
        let mounts = ((try? Sys.readString("/proc/self/mountinfo")) ?? "").split(separator: "\n").map {
            $0.split(separator: " ").dropFirst(2).joined(separator: " ")
        }.filter { $0.contains(" " + lab.tmp + "/") }
        let rules = try iptablesSave().split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            line.hasPrefix(":") ? String(line.prefix { $0 != "[" }) : String(line)
        }
        return (leaseDirectory.sorted(), links, mounts.sorted(), rules)
    }
}
