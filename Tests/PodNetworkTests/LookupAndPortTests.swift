import Glibc
import Kernel
import KernelTestSupport
import PodModel
import Testing

@testable import PodNetwork

@Suite struct NetworkLookupTests {
    @Test func withNoConflistTheDefaultIsReturnedAndNotWritten() throws {
        let tmp = try makeTemporaryDirectory("podrec-test-lookup")
        defer { try? Sys.removeTree(tmp) }
        let layout = NetworkLayout(root: tmp + "/root")
        let network = try NetworkLookup.network(NetworkSettings(confDirectory: tmp + "/net.d"), layout: layout)
        #expect(network.isDefault)
        #expect(network.name == "podrec")
        #expect(network.file == tmp + "/net.d/10-podrec.conflist")
        #expect(network.bytes == NetworkLookup.defaultConflist(ipamDirectory: layout.ipam))
        #expect(!Sys.exists(tmp + "/net.d"))

        let c = try Conflist(network.bytes, file: network.file)
        #expect(c.cniVersion == "1.0.0")
        #expect(c.plugins.map { $0["type"]?.string ?? "" } == ["bridge", "portmap", "firewall", "tuning"])
        let bridge = c.plugins[0]
        #expect(bridge["bridge"] == "podrec0")
        #expect(bridge["isGateway"] == true && bridge["ipMasq"] == true && bridge["hairpinMode"] == true)
        #expect(bridge["ipam"] == [
            "type": "host-local",
            "ranges": [[["subnet": "10.89.0.0/16", "gateway": "10.89.0.1"]]],
            "routes": [["dst": "0.0.0.0/0"]],
            "dataDir": .string(tmp + "/root/network/ipam"),
        ])
        #expect(c.plugins[1] == ["type": "portmap", "capabilities": ["portMappings": true], "snat": true])
        #expect(c.hostLocalDataDirectories == [layout.ipam])
    }

    @Test func theFirstConflistInNameOrderIsThePodNetwork() throws {
        let tmp = try makeTemporaryDirectory("podrec-test-lookup")
        defer { try? Sys.removeTree(tmp) }
        let conf = tmp + "/net.d"
        try Sys.mkdirs(conf)
        let a: JSON = ["cniVersion": "0.4.0", "name": "first", "plugins": [["type": "bridge"]]]
        let b: JSON = ["cniVersion": "1.0.0", "name": "second", "plugins": [["type": "ptp"]]]
        try Sys.writeFileAtomically(conf + "/20-b.conflist", b.bytes, durable: false)
        try Sys.writeFileAtomically(conf + "/11-a.conflist", a.bytes, durable: false)
        try Sys.writeFileAtomically(conf + "/00-x.conf", Array("not a conflist".utf8), durable: false)
        let network = try NetworkLookup.network(NetworkSettings(confDirectory: conf), layout: NetworkLayout(root: tmp))
        #expect(network == NetworkConfig(name: "first", file: conf + "/11-a.conflist", bytes: a.bytes, isDefault: false))
    }

    @Test(arguments: [
        ("{\"name\": ", "not JSON: "),
        ("[1]", "not a JSON object"),
        (#"{"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}"#, "no \"name\" (a non-empty string)"),
        (#"{"cniVersion":"1.0.0","name":"n","plugins":[]}"#, "no \"plugins\" (a non-empty list)"),
        (#"{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"bridge"},{"mtu":1}]}"#, "plugins[1] has no \"type\""),
        (#"{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../../bin/sh"}]}"#, #"plugins[0] type "../../bin/sh" is not a plugin name"#),
        (#"{"name":"n","plugins":[{"type":"bridge"}]}"#, "no \"cniVersion\" (a string such as \"1.0.0\")"),
    ])
    func aMalformedConflistIsAnErrorWithTheFileAndTheReason(text: String, reason: String) throws {
        let tmp = try makeTemporaryDirectory("podrec-test-lookup")
        defer { try? Sys.removeTree(tmp) }
        try Sys.writeFileAtomically(tmp + "/50-bad.conflist", Array(text.utf8), durable: false)
        let error = try #require(throws: NetworkError.self) {
            try NetworkLookup.network(NetworkSettings(confDirectory: tmp), layout: NetworkLayout(root: tmp))
        }
        #expect(error.description.hasPrefix("CNI conflist \(tmp)/50-bad.conflist: \(reason)"), "\(error)")
    }

    @Test func iptablesLinesSplitAsAShellWould() {
        #expect(NodeRules.words(#"-A POSTROUTING -s 10.0.0.2/32 -m comment --comment "name: \"n\" id: \"podrec-x\"" -j CNI-1"#) ==
            ["-A", "POSTROUTING", "-s", "10.0.0.2/32", "-m", "comment", "--comment", #"name: "n" id: "podrec-x""#, "-j", "CNI-1"])
        let rule = NodeRules.Rule(chain: "POSTROUTING", spec: ["--comment", #"dnat name: "n" id: "podrec-x""#, "-j", "CNI-DN-1"])
        #expect(rule.containerID == "podrec-x")
        #expect(rule.target == "CNI-DN-1")
    }
}

@Suite struct HostPortTests {
    @Test func portsAreHeldAndASecondBindSaysWhoHoldsThem() throws {
        // Another process may take a port between freePort and the bind (an outgoing
        // connection gets one from the same range): look again then, a few times.
        var tcp = 0, udp = 0
        var mappings: [PortMapping] = []
        var fds: [Int32]?
        for _ in 1...5 where fds == nil {
            tcp = try freeLoopbackPort()
            udp = try freeLoopbackPort(udp: true)
            mappings = [PortMapping(hostPort: tcp, containerPort: 80, hostIP: "127.0.0.1"),
                        PortMapping(hostPort: udp, containerPort: 53, proto: "udp", hostIP: "127.0.0.1")]
            fds = try? HostPorts.bind(mappings)
        }
        let bound = try #require(fds, "five tries at two free ports")
        defer { for fd in bound { Sys.close(fd) } }
        #expect(bound.count == 2)
        for fd in bound { #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0) }
        // The TCP one listens: a connection reaches it.
        let c = try Sys.connectTCP("127.0.0.1", port: UInt16(tcp))
        Sys.close(c.fd)

        for m in mappings {
            let error = try #require(throws: NetworkError.self) { try HostPorts.bind([m]) }
            #expect(error.description.hasPrefix("host port \(m.hostPort)/\(m.proto) on 127.0.0.1 is held by another process ("), "\(error)")
            #expect(error.description.contains("\"\(m.proto) 127.0.0.1:\(m.hostPort)\": EADDRINUSE"), "\(error)")
        }
        // Every address overlaps 127.0.0.1: refused too, and what was bound before it is
        // closed again (the fresh port binds once more).
        let fresh = PortMapping(hostPort: try freeLoopbackPort(), containerPort: 1, hostIP: "127.0.0.1")
        let error = try #require(throws: NetworkError.self) { try HostPorts.bind([fresh, PortMapping(hostPort: tcp, containerPort: 80)]) }
        #expect(error.description.hasPrefix("host port \(tcp)/tcp on all addresses is held by another process"), "\(error)")
        for fd in try HostPorts.bind([fresh]) { Sys.close(fd) }
    }

    @Test func sctpIsNotHeldAndABadAddressIsAnError() throws {
        #expect(try HostPorts.bind([PortMapping(hostPort: 9, containerPort: 9, proto: "sctp")]) == [])
        let error = try #require(throws: NetworkError.self) { try HostPorts.bind([PortMapping(hostPort: 9999, containerPort: 1, hostIP: "not-an-ip")]) }
        #expect(error.description.hasSuffix("EINVAL (Invalid argument)"), "\(error)")
    }
}
