import Glibc
import Kernel
import KernelTestSupport
import PodModel
import Synchronization
import Testing

@testable import PodNetwork

/// The CNI side over fake plugins: shell scripts in a temp bin dir that record their
/// environment and stdin (`<n>-<plugin>-<COMMAND>.env|.stdin`, numbered in the order they
/// ran) and print a result or an error object. Unprivileged: nothing here touches the
/// host's network; the runner's PATH is the fake bin dir, so no real iptables is found.
@Suite struct FakePluginTests {
    final class Lab {
        let tmp: String
        let bin: String
        let log: String
        let layout: NetworkLayout

        init() throws {
            tmp = try makeTemporaryDirectory("podrec-test-cni")
            bin = tmp + "/bin"
            log = tmp + "/log"
            try Sys.mkdirs(bin)
            try Sys.mkdirs(log)
            layout = NetworkLayout(root: tmp + "/root")
        }

        deinit { try? Sys.removeTree(tmp) }

        /// A fake plugin `name`: records what it got, then runs `body` (sh). The default
        /// body prints a result naming the plugin on ADD and nothing otherwise.
        func plugin(_ name: String, _ body: String? = nil) throws {
            let result = #"{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/x"},{"name":"other"}],"# +
                #""ips":[{"interface":1,"address":"10.1.0.9/24"},{"interface":0,"address":"fd00::5/64","gateway":"fd00::1"},"# +
                #"{"interface":0,"address":"10.1.0.5/24","gateway":"10.1.0.1"}],"by":"\#(name)"}"#
            let script = """
                #!/bin/sh
                d=\(log)
                n=$(( $(/bin/cat $d/count 2>/dev/null || echo 0) + 1 ))
                echo $n > $d/count
                f=$d/$n-\(name)-$CNI_COMMAND
                /usr/bin/env | /bin/grep -E '^(CNI_|PATH=)' | /usr/bin/sort > $f.env
                /bin/cat > $f.stdin
                PATH=/usr/bin:/bin
                \(body ?? "[ \"$CNI_COMMAND\" = ADD ] && echo '\(result)'; exit 0")

                """
            let path = bin + "/" + name
            try Sys.writeFileAtomically(path, Array(script.utf8), mode: 0o755, durable: false)
        }

        func attacher(timeout: Int32 = 10_000) -> NetworkAttacher {
            NetworkAttacher(layout: layout, runner: CNIRunner(binDirectories: [bin, tmp + "/nowhere"], timeoutMilliseconds: timeout, path: bin))
        }

        func conflist(_ plugins: [JSON], name: String = "testnet") -> NetworkConfig {
            let json: JSON = ["cniVersion": "1.0.0", "name": .string(name), "plugins": .array(plugins)]
            return NetworkConfig(name: name, file: tmp + "/conf/00-test.conflist", bytes: json.bytes)
        }

        func attachment(_ plugins: [JSON], uid: String = "uid-1", ports: [PortMapping] = []) -> NetworkAttachment {
            NetworkAttachment(network: conflist(plugins), key: PodKey(namespace: "default", name: "web"), uid: uid, portMappings: ports)
        }

        /// The runs so far: `(plugin, command)` in order.
        func runs() throws -> [(plugin: String, command: String)] {
            try Sys.listDirectory(log).filter { $0.hasSuffix(".env") }
                .sorted { Int($0.split(separator: "-")[0])! < Int($1.split(separator: "-")[0])! }
                .map { let p = $0.dropLast(4).split(separator: "-"); return (String(p[1]), String(p[2])) }
        }

        func stdin(_ n: Int, _ plugin: String, _ command: String) throws -> JSON {
            try JSON.parse(try Sys.readFile("\(log)/\(n)-\(plugin)-\(command).stdin"))
        }

        func env(_ n: Int, _ plugin: String, _ command: String) throws -> [String] {
            try Sys.readString("\(log)/\(n)-\(plugin)-\(command).env").split(separator: "\n").map(String.init)
        }

        /// Everything left under the runtime root, as relative paths.
        func leftovers() -> [String] {
            var out: [String] = []
            for dir in [layout.attachments, layout.results, layout.netnsPins] {
                for name in (try? Sys.listDirectory(dir)) ?? [] { out.append(dir + "/" + name) }
            }
            return out
        }
    }

    static let ports = [PortMapping(hostPort: 8080, containerPort: 80), PortMapping(hostPort: 5353, containerPort: 53, proto: "udp", hostIP: "127.0.0.1")]

    // MARK: Invocation

    /// `CNIRunner.timed` (the watcher's `podrec_cni_plugin_duration_seconds`) hears of every
    /// run, the failed ones too, in order, each with its time.
    @Test func everyPluginRunIsTimed() throws {
        let lab = try Lab()
        try lab.plugin("a")
        try lab.plugin("b", #"[ "$CNI_COMMAND" = ADD ] && { echo '{"code":7,"msg":"no"}'; exit 1; }; exit 0"#)
        let runs = Mutex<[(command: String, plugin: String, seconds: Double, ok: Bool)]>([])
        var runner = CNIRunner(binDirectories: [lab.bin], path: lab.bin)
        runner.timed = { command, plugin, seconds, ok in runs.withLock { $0.append((command.rawValue, plugin, seconds, ok)) } }
        #expect(throws: NetworkError.self) {
            _ = try NetworkAttacher(layout: lab.layout, runner: runner).attach(lab.attachment([["type": "a"], ["type": "b"]]), netns: "/x")
        }
        let seen = runs.withLock { $0 }
        // ADD a, ADD b (refused), then the undoing DELs in reverse order.
        #expect(seen.map { "\($0.command) \($0.plugin) \($0.ok)" } == ["ADD a true", "ADD b false", "DEL b true", "DEL a true"])
        #expect(seen.allSatisfy { $0.seconds > 0 && $0.seconds < 10 })
    }

    @Test func thePluginGetsTheSpecsEnvironment() throws {
        let lab = try Lab()
        try lab.plugin("a")
        let a = lab.attachment([["type": "a"]])
        _ = try lab.attacher().attach(a, netns: "/run/x/netns/podrec-uid-1")
        #expect(try lab.env(1, "a", "ADD") == [
            "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=podrec-uid-1;K8S_POD_UID=uid-1",
            "CNI_COMMAND=ADD",
            "CNI_CONTAINERID=podrec-uid-1",
            "CNI_IFNAME=eth0",
            "CNI_NETNS=/run/x/netns/podrec-uid-1",
            "CNI_PATH=\(lab.bin):\(lab.tmp)/nowhere",
            "PATH=\(lab.bin)",
        ])
    }

    @Test func stdinCarriesNameVersionRuntimeConfigOnlyForTheCapabilityAndChainsPrevResult() throws {
        let lab = try Lab()
        for p in ["a", "b", "c"] { try lab.plugin(p) }
        let plugins: [JSON] = [
            ["type": "a", "mtu": 1500, "runtimeConfig": ["stale": true]],
            ["type": "b", "capabilities": ["portMappings": true]],
            ["type": "c", "capabilities": ["bandwidth": true, "portMappings": false]],
        ]
        let result = try lab.attacher().attach(lab.attachment(plugins, ports: Self.ports), netns: "/n")
        let a = try lab.stdin(1, "a", "ADD"), b = try lab.stdin(2, "b", "ADD"), c = try lab.stdin(3, "c", "ADD")
        for s in [a, b, c] {
            #expect(s["name"] == "testnet")
            #expect(s["cniVersion"] == "1.0.0")
        }
        // Unknown fields reach the plugin unchanged, integers as integers; a runtimeConfig in
        // the conflist is the operator's, kept when no capability replaces it.
        #expect(a["mtu"] == .int(1500))
        #expect(a["runtimeConfig"] == ["stale": true])
        #expect(a["prevResult"] == nil)
        #expect(b["runtimeConfig"] == ["portMappings": [
            ["hostPort": 8080, "containerPort": 80, "protocol": "tcp"],
            ["hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "127.0.0.1"],
        ]])
        #expect(b["prevResult"]?["by"] == "a")
        #expect(c["runtimeConfig"] == nil)
        #expect(c["prevResult"]?["by"] == "b")
        // The cached result is the last plugin's.
        let cached = try JSON.parse(try Sys.readFile(lab.layout.result("podrec-uid-1", ifName: "eth0")))
        #expect(cached["by"] == "c")
        #expect(try JSON.parse(result.raw) == cached)
    }

    @Test func theResultGivesThePodIPsOfItsInterfaceIPv4First() throws {
        let lab = try Lab()
        try lab.plugin("a")
        let result = try lab.attacher().attach(lab.attachment([["type": "a"]]), netns: "/n")
        #expect(result.ips.map(\.description) == ["10.1.0.9/24", "fd00::5/64", "10.1.0.5/24"])
        #expect(result.ips.map(\.interface) == ["other", "eth0", "eth0"])
        #expect(result.podIPs == ["10.1.0.5", "fd00::5"])
        #expect(result.gateway == "10.1.0.1")
    }

    @Test func anErrorObjectCarriesThePluginsOwnMessageAndADDIsUndone() throws {
        let lab = try Lab()
        try lab.plugin("a")
        try lab.plugin("bridge", #"[ "$CNI_COMMAND" = ADD ] && { echo '{"cniVersion":"1.0.0","code":11,"msg":"failed to set bridge addr","details":"could not add IP address to \"podrec0\": permission denied"}'; exit 1; }; exit 0"#)
        try lab.plugin("c")
        let attachment = lab.attachment([["type": "a"], ["type": "bridge"], ["type": "c"]])
        let error = try #require(throws: NetworkError.self) { try lab.attacher().attach(attachment, netns: "/n") }
        #expect(error.description == #"CNI plugin bridge ADD: failed to set bridge addr: could not add IP address to "podrec0": permission denied (code 11)"#)
        // DEL of every plugin, last first, with what ADD got so far as prevResult.
        #expect(try lab.runs().map { "\($0.plugin) \($0.command)" } == ["a ADD", "bridge ADD", "c DEL", "bridge DEL", "a DEL"])
        #expect(try lab.stdin(3, "c", "DEL")["prevResult"]?["by"] == "a")
        #expect(lab.leftovers() == [])
    }

    @Test func aPluginExitingWithoutAnErrorObjectReportsItsStatusAndStderr() throws {
        let lab = try Lab()
        try lab.plugin("a", "echo 'panic: runtime error' >&2; exit 2")
        let error = try #require(throws: NetworkError.self) { try lab.attacher().attach(lab.attachment([["type": "a"]]), netns: "/n") }
        #expect(error.description == "CNI plugin a ADD: exited with exit 2: panic: runtime error")
        #expect(lab.leftovers() == [])
    }

    @Test func aResultThatIsNotJSONFailsTheADD() throws {
        let lab = try Lab()
        try lab.plugin("a", "[ \"$CNI_COMMAND\" = ADD ] && echo 'hello'; exit 0")
        let error = try #require(throws: NetworkError.self) { try lab.attacher().attach(lab.attachment([["type": "a"]]), netns: "/n") }
        #expect(error.description == "CNI plugin a ADD: unreadable output: not a JSON object: hello\n")
        #expect(lab.leftovers() == [])
    }

    @Test func aPluginPastTheTimeoutIsKilledByPid() throws {
        let lab = try Lab()
        try lab.plugin("slow", "[ \"$CNI_COMMAND\" = ADD ] && { echo $$ > \(lab.tmp)/slow.pid; exec sleep 30; }; exit 0")
        let start = MonotonicClock.now()
        let error = try #require(throws: NetworkError.self) {
            try lab.attacher(timeout: 300).attach(lab.attachment([["type": "slow"]]), netns: "/n")
        }
        #expect(MonotonicClock.now() - start < 5_000_000_000)
        #expect(error.description == "CNI plugin slow ADD: no answer after 300 ms; killed")
        let pid = try #require(Int32(try Sys.readString(lab.tmp + "/slow.pid").trimmingWhitespace))
        // Killed and reaped: no such process any more (kill(pid, 0) says ESRCH).
        #expect(!Sys.processExists(pid))
        #expect(try lab.runs().map(\.command) == ["ADD", "DEL"])
        #expect(lab.leftovers() == [])
    }

    @Test func aMissingPluginIsNamedWithTheDirsSearched() throws {
        let lab = try Lab()
        try lab.plugin("a")
        let error = try #require(throws: NetworkError.self) {
            try lab.attacher().attach(lab.attachment([["type": "a"], ["type": "nosuch"]]), netns: "/n")
        }
        #expect(error.description == "CNI plugin nosuch ADD: no executable \"nosuch\" in \(lab.bin):\(lab.tmp)/nowhere")
        #expect(try lab.runs().map { "\($0.plugin) \($0.command)" } == ["a ADD", "a DEL"])
        #expect(lab.leftovers() == [])
    }

    // MARK: The record, the result, DEL

    @Test func theRecordIsOnDiskBeforeADD() throws {
        let lab = try Lab()
        let record = lab.layout.attachment("podrec-uid-1", ifName: "eth0")
        try lab.plugin("a", """
            if [ "$CNI_COMMAND" = ADD ]; then
              grep -q '"containerID" : "podrec-uid-1"' \(record) || { echo '{"code":99,"msg":"no record before ADD"}'; exit 1; }
              echo '{"cniVersion":"1.0.0"}'
            fi
            """)
        let a = lab.attachment([["type": "a"]], ports: Self.ports)
        _ = try lab.attacher().attach(a, netns: "/n")
        // The record gives back the attachment exactly: DEL repeats ADD's arguments.
        #expect(try AttachmentRecords(layout: lab.layout).read("podrec-uid-1", ifName: "eth0") == a)
        #expect(try Sys.stat(record).permissions == 0o600)
    }

    @Test func addIsRefusedWhileAResultIsCached() throws {
        let lab = try Lab()
        try lab.plugin("a")
        let a = lab.attachment([["type": "a"]])
        _ = try lab.attacher().attach(a, netns: "/n")
        let error = try #require(throws: NetworkError.self) { try lab.attacher().attach(a, netns: "/n") }
        #expect(error == .alreadyAttached(containerID: "podrec-uid-1", ifName: "eth0"))
        #expect(try lab.runs().count == 1)
        // After a DEL, ADD runs again.
        try lab.attacher().detach(containerID: "podrec-uid-1")
        _ = try lab.attacher().attach(a, netns: "/n")
        #expect(try lab.runs().map(\.command) == ["ADD", "DEL", "ADD"])
    }

    @Test func aRecordWithoutAResultIsDELetedBeforeADD() throws {
        let lab = try Lab()
        try lab.plugin("a")
        let a = lab.attachment([["type": "a"]])
        try AttachmentRecords(layout: lab.layout).write(a)  // podrec died during an ADD
        _ = try lab.attacher().attach(a, netns: "/n")
        #expect(try lab.runs().map(\.command) == ["DEL", "ADD"])
    }

    @Test func delRunsInReverseWithTheCachedResultAndAnEmptyNetnsWithoutAPin() throws {
        let lab = try Lab()
        for p in ["a", "b", "c"] { try lab.plugin(p) }
        let a = lab.attachment([["type": "a"], ["type": "b", "capabilities": ["portMappings": true]], ["type": "c"]], ports: Self.ports)
        _ = try lab.attacher().attach(a, netns: "/n")
        // Edited since: DEL still runs what the record says.
        #expect(try lab.attacher().detach(containerID: "podrec-uid-1", ifName: "eth0") == [])
        #expect(try lab.runs().map { "\($0.plugin) \($0.command)" } == ["a ADD", "b ADD", "c ADD", "c DEL", "b DEL", "a DEL"])
        for (n, p) in [(4, "c"), (5, "b"), (6, "a")] {
            #expect(try lab.stdin(n, p, "DEL")["prevResult"]?["by"] == "c")
            // No pin (the path given to ADD was never a mounted namespace): DEL gets "".
            #expect(try lab.env(n, p, "DEL").contains("CNI_NETNS="))
        }
        #expect(try lab.stdin(5, "b", "DEL")["runtimeConfig"]?["portMappings"]?.array?.count == 2)
        #expect(lab.leftovers() == [])
        // Twice, and for an attachment never made: nothing to do, no error.
        #expect(try lab.attacher().detach(containerID: "podrec-uid-1") == [])
        #expect(try lab.attacher().detach(containerID: "podrec-never") == [])
        #expect(try lab.runs().count == 6)
    }

    @Test func aFailingDELIsReportedAndTheRecordStillGoes() throws {
        let lab = try Lab()
        try lab.plugin("a", """
            [ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0"}'
            [ "$CNI_COMMAND" = DEL ] && { echo '{"code":7,"msg":"no such link"}'; exit 1; }
            exit 0
            """)
        _ = try lab.attacher().attach(lab.attachment([["type": "a"]]), netns: "/n")
        #expect(try lab.attacher().detach(containerID: "podrec-uid-1") == ["CNI plugin a DEL: no such link (code 7)"])
        #expect(lab.leftovers() == [])
    }

    @Test func checkRunsEveryPluginButPortmapWithTheCachedResult() throws {
        let lab = try Lab()
        for p in ["a", "portmap"] { try lab.plugin(p) }
        try lab.plugin("c", """
            [ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","by":"c"}'
            [ "$CNI_COMMAND" = CHECK ] && { echo '{"code":999,"msg":"Interface name eth0 not found"}'; exit 1; }
            exit 0
            """)
        let attacher = lab.attacher()
        _ = try attacher.attach(lab.attachment([["type": "a"], ["type": "portmap"], ["type": "c"]]), netns: "/n")
        // Not pinned: CHECK cannot reach the pod, and says so without running a plugin.
        #expect(attacher.check(containerID: "podrec-uid-1")?.description.hasSuffix("its net namespace is no longer pinned at \(lab.layout.netnsPin("podrec-uid-1"))") == true)
        #expect(try lab.runs().count == 3)
        #expect(attacher.check(containerID: "podrec-none") == .notAttached(containerID: "podrec-none", ifName: "eth0", reason: "no record"))
    }

    // MARK: Collection

    @Test func collectRemovesOnlyDeadPodrecAttachmentsAndLeases() throws {
        let lab = try Lab()
        try lab.plugin("a")
        let attacher = lab.attacher()
        let ipam = lab.tmp + "/ipam"
        let plugins: [JSON] = [["type": "a", "ipam": ["type": "host-local", "dataDir": .string(ipam)]]]
        _ = try attacher.attach(lab.attachment(plugins, uid: "live"), netns: "/n")
        _ = try attacher.attach(lab.attachment(plugins, uid: "dead"), netns: "/n")
        // Leases as host-local 1.1.1 writes them, in the network's dataDir and in podrec's.
        try Sys.mkdirs(ipam + "/testnet")
        try Sys.mkdirs(lab.layout.ipam + "/podrec")
        let leases = [
            (ipam + "/testnet/10.1.0.5", "podrec-live\r\neth0"),
            (ipam + "/testnet/10.1.0.6", "podrec-dead\r\neth0"),       // DEL failed to release it
            (ipam + "/testnet/10.1.0.7", "cri-o-abcdef\r\neth0"),      // not podrec's
            (lab.layout.ipam + "/podrec/10.89.0.8", "podrec-gone\r\neth0"),  // a record lost
            (lab.layout.ipam + "/podrec/10.89.0.9", "podrec-old"),     // the older format
            (ipam + "/testnet/last_reserved_ip.0", "10.1.0.7"),
            (ipam + "/testnet/lock", ""),
        ]
        for (path, text) in leases { try Sys.writeFileAtomically(path, Array(text.utf8), durable: false) }
        // A result and a pin file without a record.
        try AttachmentRecords(layout: lab.layout).writeResult(["cniVersion": "1.0.0"], "podrec-gone", ifName: "eth0")
        try Sys.mkdirs(lab.layout.netnsPins)
        _ = try Sys.createEmptyFile(lab.layout.netnsPin("podrec-gone"), mode: 0o600)

        let inventory = try attacher.attachments()
        #expect(inventory.attachments.map(\.attachment.containerID) == ["podrec-dead", "podrec-live"])
        #expect(inventory.attachments.allSatisfy { $0.result?.podIPs == ["10.1.0.5", "fd00::5"] && $0.netnsPin == nil })
        #expect(Set(inventory.leases.map(\.address)) == ["10.1.0.5", "10.1.0.6", "10.1.0.7", "10.89.0.8", "10.89.0.9"])
        #expect(inventory.leases.first { $0.address == "10.1.0.5" }.map { ($0.containerID, $0.ifName, $0.network) } ?? ("", nil, "") == ("podrec-live", "eth0", "testnet"))

        let removed = attacher.collect(livePodUIDs: ["live"], rules: false)
        #expect(removed == [
            "detached podrec-dead eth0",
            "removed the result of podrec-gone eth0, which had no record",
            "unpinned the net namespace of podrec-gone, which had no record",
            "removed the lease \(ipam)/testnet/10.1.0.6 of podrec-dead, which had no record",
            "removed the lease \(lab.layout.ipam)/podrec/10.89.0.8 of podrec-gone, which had no record",
            "removed the lease \(lab.layout.ipam)/podrec/10.89.0.9 of podrec-old, which had no record",
        ])
        #expect(try lab.runs().map { "\($0.plugin) \($0.command)" } == ["a ADD", "a ADD", "a DEL"])
        #expect(try Sys.readString(lab.tmp + "/log/3-a-DEL.env").contains("CNI_CONTAINERID=podrec-dead"))
        #expect(Set(try Sys.listDirectory(ipam + "/testnet")) == ["10.1.0.5", "10.1.0.7", "last_reserved_ip.0", "lock"])
        #expect(try Sys.listDirectory(lab.layout.ipam + "/podrec") == ["lock"])
        #expect(lab.leftovers() == [lab.layout.attachment("podrec-live", ifName: "eth0"), lab.layout.result("podrec-live", ifName: "eth0")])
        // Nothing more to do the second time.
        #expect(attacher.collect(livePodUIDs: ["live"], rules: false) == [])
    }

    // MARK: The nat rules podrec reads itself

    @Test func sweepRemovesTheRulesAndChainsOfOneContainerOnly() throws {
        let lab = try Lab()
        let rules = #"""
            -P PREROUTING ACCEPT
            -N CNI-26b1d0e7e14ed740c61f9862
            -N CNI-DN-26b1d0e7e14ed740c61f9
            -N CNI-HOSTPORT-DNAT
            -A POSTROUTING -s 10.199.0.3/32 -m comment --comment "name: \"podrectest\" id: \"podrec-abc\"" -j CNI-26b1d0e7e14ed740c61f9862
            -A POSTROUTING -s 10.199.0.4/32 -m comment --comment "name: \"podrectest\" id: \"podrec-abcd\"" -j CNI-ffff
            -A CNI-26b1d0e7e14ed740c61f9862 -d 10.199.0.0/24 -m comment --comment "name: \"podrectest\" id: \"podrec-abc\"" -j ACCEPT
            -A CNI-DN-26b1d0e7e14ed740c61f9 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.199.0.3:80
            -A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"podrectest\" id: \"podrec-abc\"" -m multiport --dports 8080 -j CNI-DN-26b1d0e7e14ed740c61f9
            -A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE

            """#
        try Sys.writeFileAtomically(lab.tmp + "/rules", Array(rules.utf8), durable: false)
        let fake = """
            #!/bin/sh
            echo "$*" >> \(lab.tmp)/iptables.log
            case "$*" in *" -S") /bin/cat \(lab.tmp)/rules ;; esac
            exit 0

            """
        try Sys.writeFileAtomically(lab.bin + "/iptables", Array(fake.utf8), mode: 0o755, durable: false)
        let removed = NodeRules(runner: lab.attacher().runner).sweep { $0 == "podrec-abc" }
        #expect(try Sys.readString(lab.tmp + "/iptables.log").split(separator: "\n") == [
            "-w -t nat -S",
            #"-w -t nat -D POSTROUTING -s 10.199.0.3/32 -m comment --comment name: "podrectest" id: "podrec-abc" -j CNI-26b1d0e7e14ed740c61f9862"#,
            #"-w -t nat -D CNI-HOSTPORT-DNAT -p tcp -m comment --comment dnat name: "podrectest" id: "podrec-abc" -m multiport --dports 8080 -j CNI-DN-26b1d0e7e14ed740c61f9"#,
            "-w -t nat -F CNI-26b1d0e7e14ed740c61f9862",
            "-w -t nat -X CNI-26b1d0e7e14ed740c61f9862",
            "-w -t nat -F CNI-DN-26b1d0e7e14ed740c61f9",
            "-w -t nat -X CNI-DN-26b1d0e7e14ed740c61f9",
        ])
        #expect(removed.count == 4)

        // The check reads the same rules: the DNAT of 8080 is there; 9090's is not.
        let a = lab.attachment([["type": "bridge", "ipMasq": true], ["type": "portmap"]])
        var withPorts = a
        withPorts.containerID = "podrec-abc"
        withPorts.network.name = "podrectest"
        withPorts.portMappings = [PortMapping(hostPort: 8080, containerPort: 80)]
        let conflist = try Conflist(withPorts.network.bytes, file: "x")
        let nodeRules = NodeRules(runner: lab.attacher().runner)
        var listed: [String: [NodeRules.Rule]] = [:]
        #expect(nodeRules.check(withPorts, conflist: conflist, podIP: "10.199.0.3", listed: &listed) == nil)
        withPorts.portMappings.append(PortMapping(hostPort: 9090, containerPort: 90))
        let missingDNAT = nodeRules.check(withPorts, conflist: conflist, podIP: "10.199.0.3", listed: &listed)
        #expect(missingDNAT == .drift("podrec check: no DNAT rule for host port 9090->90/tcp to 10.199.0.3:90 in the node's nat table"))
        let missingMasquerade = nodeRules.check(withPorts, conflist: conflist, podIP: "10.199.0.7", listed: &listed)
        #expect(missingMasquerade == .drift("podrec check: no masquerade rule for 10.199.0.7 (podrec-abc) in the node's nat POSTROUTING chain"))
        #expect(listed.count == 1, "one listing of the nat table served the three checks")
    }
}
