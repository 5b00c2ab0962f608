// Tests that send traffic run in namespaces the test made; nothing targets another address.
//
// Each test makes its own "node" network namespace (a child of the test in a new netns,
// pinned under the test's temp dir; only loopback, so no route off the machine) and runs
// every plugin and iptables call in it through `CNIRunner.runIn`. The "pod" is another
// child in a netns of its own. The bridge, veths, leases and rules are on a test-only
// bridge name and subnet, in namespaces the test removes; the host's network namespace is
// never touched. The only traffic is a ping from the node namespace to the pod's address.
import Glibc
import Kernel
import KernelTestSupport
import PodModel
import PodNetwork
import Spawn
import Testing

extension Integration {
    /// `NetworkAttacher` with Debian's real plugins (containernetworking-plugins 1.1.1 in
    /// /usr/lib/cni): attach, reach the pod, CHECK and its drift, detach, collect, and
    /// after each, proof that nothing leaked: no lease, no veth, no pin, no rule.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct NetworkAttachmentTests {
        init() throws {
            try HostTool.require("/usr/lib/cni/bridge", package: "containernetworking-plugins")
            try HostTool.require("/usr/sbin/iptables", package: "iptables")
            try HostTool.require("/usr/sbin/ip", package: "iproute2")
            try HostTool.require("/bin/busybox", package: "busybox-static")
        }

        final class NetLab {
            let tmp: String
            let layout: NetworkLayout
            let before = HostSnapshot.take()
            /// The node namespace's pin, and the process that made it.
            let node: String
            var processes: [SpawnedProcess] = []
            let attacher: NetworkAttacher

            init(timeout: Int32 = 10_000) throws {
                tmp = try makeTemporaryDirectory("podrec-test-net")
                layout = NetworkLayout(root: tmp + "/root")
                node = tmp + "/node-netns"
                attacher = NetworkAttacher(layout: layout, settings: NetworkSettings(binDirectories: ["/usr/lib/cni"], confDirectory: tmp + "/net.d"),
                                           runIn: node, timeoutMilliseconds: timeout)
                let holder = try namespaceProcess()
                _ = try Sys.createEmptyFile(node, mode: 0o600)
                try Sys.mount(source: "/proc/\(holder.pid)/ns/net", target: node, fstype: nil, flags: .bind, data: nil)
                try inNode(["/usr/sbin/ip", "link", "set", "lo", "up"])
            }

            /// A `sleep` in a new net namespace of its own, killed by pid at `finish`.
            func namespaceProcess() throws -> SpawnedProcess {
                var request = SpawnRequest(["/bin/sleep", "1000"])
                request.unshare = .network
                let p = try spawn(request)
                processes.append(p)
                return p
            }

            /// A pod: its namespace's process, pinned as the executor pins it.
            func pod(_ uid: String) throws -> (process: SpawnedProcess, pin: String) {
                let p = try namespaceProcess()
                return (p, try attacher.pin(pid: p.pid, containerID: NetworkAttachment.containerID(uid: uid)))
            }

            func kill(_ p: SpawnedProcess) {
                try? Sys.kill(p.pid, Signal.kill)
                _ = try? Sys.wait(p.pid)
                if let fd = p.pidfd { Sys.close(fd) }
                processes.removeAll { $0.pid == p.pid }
            }

            /// The default conflist's shape on a test bridge and subnet, leases in the root.
            func network(subnet: String = "10.233.7.0/24", gateway: String = "10.233.7.1", isDefault: Bool = false) -> NetworkConfig {
                NetworkConfig(name: "podrec-test", file: tmp + "/net.d/10-podrec.conflist",
                              bytes: NetworkLookup.conflist(name: "podrec-test", bridge: "podrectest0", subnet: subnet, gateway: gateway,
                                                            ipamDirectory: layout.ipam),
                              isDefault: isDefault)
            }

            func attachment(_ network: NetworkConfig, uid: String, ports: [PortMapping] = []) -> NetworkAttachment {
                NetworkAttachment(network: network, key: PodKey(namespace: "default", name: "web-\(uid)"), uid: uid, portMappings: ports)
            }

            /// Runs `argv` in namespace `netns` (the node's by default); its stdout.
            @discardableResult
            func run(_ argv: [String], in netns: String) throws -> String {
                let r = try CNIRunner(binDirectories: [], runIn: netns).run(argv, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
                #expect(r.status == .exited(0), "\(argv.joined(separator: " ")): \(String(decoding: r.stderr, as: UTF8.self))")
                return String(decoding: r.stdout, as: UTF8.self)
            }

            @discardableResult
            func inNode(_ argv: [String]) throws -> String { try run(argv, in: node) }

            /// What the node namespace holds that a pod could have left: veths, and every
            /// iptables line naming the container or its address.
            func nodeLeftovers(containerID: String, ip: String?) throws -> [String] {
                let veths = try inNode(["/usr/sbin/ip", "-o", "link", "show", "type", "veth"]).split(separator: "\n").map(String.init)
                let rules = try inNode(["/usr/sbin/iptables-save"]).split(separator: "\n").filter { line in
                    line.contains(containerID) || (ip.map { line.contains($0 + "/") || line.contains($0 + ":") } ?? false)
                }.map(String.init)
                return veths + rules
            }

            /// No lease, no record, result or pin of podrec's, and nothing in the node.
            func expectClean(containerID: String, ip: String?) throws {
                #expect(NetworkAttacher.leases(in: [layout.ipam]) == [])
                for dir in [layout.attachments, layout.results, layout.netnsPins] {
                    #expect(((try? Sys.listDirectory(dir)) ?? []) == [], "\(dir)")
                }
                #expect(try Sys.mounts().filter { $0.mountPoint.hasPrefix(layout.root) }.map(\.mountPoint) == [])
                let left = try nodeLeftovers(containerID: containerID, ip: ip)
                #expect(left == [], "\(left)")
            }

            /// Kills the namespaces' processes by pid, unpins the node, removes the temp dir
            /// (a failed test's pins too), and checks that nothing leaked.
            func finish() {
                for p in processes { kill(p) }
                for m in ((try? Sys.mounts()) ?? []).filter({ $0.mountPoint.hasPrefix(tmp) }).reversed() {
                    try? Sys.unmount(m.mountPoint, detach: true)
                }
                try? Sys.removeTree(tmp)
                #expect(!Sys.exists(tmp))
                #expect(HostSnapshot.take().leaks(since: before) == [])
            }
        }

        @Test func aPodIsAttachedReachedAndDetachedWithoutATrace() throws {
            let lab = try NetLab()
            defer { lab.finish() }
            let network = lab.network(isDefault: true)
            let (_, pin) = try lab.pod("uid-a")
            let a = lab.attachment(network, uid: "uid-a")
            let result = try lab.attacher.attach(a, netns: pin)
            // The default conflist is written on first use, as attached.
            #expect(try Sys.readFile(network.file) == network.bytes)

            let ip = try #require(result.podIPs.first)
            #expect(ip.hasPrefix("10.233.7."))
            #expect(result.gateway == "10.233.7.1")
            #expect(result.ips.first { $0.address == ip }?.prefixLength == 24)
            let eth0 = try lab.run(["/usr/sbin/ip", "-4", "-o", "addr", "show", "dev", "eth0"], in: pin)
            #expect(eth0.contains("inet \(ip)/24"), "\(eth0)")
            try lab.inNode(["/bin/busybox", "ping", "-c", "1", "-W", "2", ip])
            #expect(NetworkAttacher.leases(in: [lab.layout.ipam]).map { "\($0.address) \($0.containerID) \($0.ifName ?? "")" } == ["\(ip) podrec-uid-a eth0"])
            #expect(lab.attacher.check(containerID: a.containerID) == nil)

            #expect(try lab.attacher.detach(containerID: a.containerID) == [])
            try lab.expectClean(containerID: a.containerID, ip: ip)
            // Idempotent.
            #expect(try lab.attacher.detach(containerID: a.containerID) == [])
        }

        @Test func aHostPortIsADNATRuleThatCheckWatchesAndDELRemoves() throws {
            let lab = try NetLab()
            defer { lab.finish() }
            let (_, pin) = try lab.pod("uid-p")
            let a = lab.attachment(lab.network(), uid: "uid-p", ports: [PortMapping(hostPort: 8080, containerPort: 80)])
            let ip = try #require(try lab.attacher.attach(a, netns: pin).podIPs.first)
            let nat = try lab.inNode(["/usr/sbin/iptables-save", "-t", "nat"])
            #expect(nat.contains("--dport 8080 -j DNAT --to-destination \(ip):80"), "\(nat)")
            #expect(lab.attacher.check(containerID: a.containerID) == nil)

            // A flushed DNAT jump: portmap's own CHECK cannot tell (1.1.1), podrec's does.
            try lab.inNode(["/usr/sbin/iptables", "-w", "-t", "nat", "-F", "CNI-HOSTPORT-DNAT"])
            #expect(lab.attacher.check(containerID: a.containerID)
                == .drift("podrec check: no DNAT rule for host port 8080->80/tcp to \(ip):80 in the node's nat table"))
            // The pod's veth deleted by hand: bridge's CHECK says so.
            let veth = try #require(try lab.inNode(["/usr/sbin/ip", "-o", "link", "show", "type", "veth"]).split(separator: ":").dropFirst().first)
            try lab.inNode(["/usr/sbin/ip", "link", "del", String(veth.split(separator: "@")[0]).trimmingWhitespace()])
            let drift = lab.attacher.check(containerID: a.containerID)?.description ?? ""
            #expect(drift.hasPrefix("CNI plugin bridge CHECK: "), "\(drift)")

            _ = try lab.attacher.detach(containerID: a.containerID)
            try lab.expectClean(containerID: a.containerID, ip: ip)
            #expect(!(try lab.inNode(["/usr/sbin/iptables-save", "-t", "nat"])).contains("--dport 8080"))
        }

        @Test func aMissingPluginFailsWithItsNameAndLeavesNothing() throws {
            let lab = try NetLab()
            defer { lab.finish() }
            let (_, pin) = try lab.pod("uid-m")
            var network = lab.network()
            var conflist = try JSON.parse(network.bytes)
            conflist["plugins"] = .array((conflist["plugins"]?.array ?? []) + [["type": "nosuchplugin"]])
            network.bytes = conflist.bytes
            let a = lab.attachment(network, uid: "uid-m")
            let error = try #require(throws: NetworkError.self) { try lab.attacher.attach(a, netns: pin) }
            #expect(error.description == "CNI plugin nosuchplugin ADD: no executable \"nosuchplugin\" in /usr/lib/cni")
            try lab.attacher.unpin(containerID: a.containerID)
            try lab.expectClean(containerID: a.containerID, ip: "10.233.7.2")
        }

        @Test func aSubnetWithNoFreeAddressFailsWithHostLocalsMessageAndLeavesNothing() throws {
            let lab = try NetLab()
            defer { lab.finish() }
            // A /30 with the gateway on .1 has one address for pods: .2.
            let network = lab.network(subnet: "10.233.9.0/30", gateway: "10.233.9.1")
            let (_, pin1) = try lab.pod("uid-1")
            let first = lab.attachment(network, uid: "uid-1")
            #expect(try lab.attacher.attach(first, netns: pin1).podIPs == ["10.233.9.2"])
            let (_, pin2) = try lab.pod("uid-2")
            let second = lab.attachment(network, uid: "uid-2")
            let error = try #require(throws: NetworkError.self) { try lab.attacher.attach(second, netns: pin2) }
            #expect(error.description.hasPrefix("CNI plugin bridge ADD: failed to allocate for range 0: no IP addresses available in range set: 10.233.9.1-10.233.9.2"), "\(error)")
            // The failed pod left nothing; the first one is untouched.
            #expect(try lab.attacher.attachments().attachments.map(\.attachment.containerID) == [first.containerID])
            #expect(NetworkAttacher.leases(in: [lab.layout.ipam]).map(\.containerID) == [first.containerID])
            #expect(!(try lab.run(["/usr/sbin/ip", "-o", "link"], in: pin2)).contains("eth0"))
            try lab.attacher.unpin(containerID: second.containerID)
            #expect(lab.attacher.check(containerID: first.containerID) == nil)
            try lab.attacher.detach(containerID: first.containerID)
            try lab.expectClean(containerID: first.containerID, ip: "10.233.9.2")
        }

        @Test func delAfterThePodNamespaceIsGoneSucceedsAndLeavesNoRule() throws {
            let lab = try NetLab()
            defer { lab.finish() }
            let (process, pin) = try lab.pod("uid-g")
            let a = lab.attachment(lab.network(), uid: "uid-g", ports: [PortMapping(hostPort: 8081, containerPort: 81)])
            let ip = try #require(try lab.attacher.attach(a, netns: pin).podIPs.first)
            // The pod is gone, and so is its pin: the namespace with it.
            lab.kill(process)
            try Sys.unmount(pin, detach: true)
            let problems = try lab.attacher.detach(containerID: a.containerID)
            // bridge 1.1.1 releases the address without a namespace but leaves its masquerade:
            // podrec removes it (a rule in POSTROUTING and the pod's chain).
            #expect(problems.count == 2 && problems.allSatisfy { $0.hasPrefix("removed iptables nat ") }, "\(problems)")
            try lab.expectClean(containerID: a.containerID, ip: ip)
        }

        @Test func collectAfterACrashLeavesTheNodeClean() throws {
            let lab = try NetLab()
            defer { lab.finish() }
            let (process, pin) = try lab.pod("uid-c")
            let a = lab.attachment(lab.network(), uid: "uid-c", ports: [PortMapping(hostPort: 8082, containerPort: 82)])
            let ip = try #require(try lab.attacher.attach(a, netns: pin).podIPs.first)
            // podrec died before it cached the result, and the pod is gone: only the record
            // and the pin are left, and no live pod has the uid.
            try Sys.unlink(lab.layout.result(a.containerID, ifName: "eth0"))
            lab.kill(process)
            let removed = lab.attacher.collect(livePodUIDs: ["some-other-uid"])
            #expect(removed.first?.hasPrefix("detached \(a.containerID) eth0") == true, "\(removed)")
            try lab.expectClean(containerID: a.containerID, ip: ip)
            #expect(lab.attacher.collect(livePodUIDs: []) == [])
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}
