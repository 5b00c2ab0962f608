import Planner
import PodModel
import Testing

@Suite struct RecordTests {
    @Test func aRecordRoundTrips() throws {
        let r = PodRecord(uid: "u-1", source: "watch:/etc/pods/a b.yaml", immutable: ["hostNetwork": "false", "volumes": "a\tb"], generation: 4)
        let back = try PodRecord.decode(r.encoded())
        #expect(back.uid == "u-1" && back.source == r.source && back.generation == 4)
        #expect(back.immutable["hostNetwork"] == "false")
    }

    @Test func aRecordWithoutUIDIsRefused() {
        #expect(throws: RecordError.self) { try PodRecord.decode("podrec-pod-record 1\nsource apply\n") }
    }
}

@Suite struct NetworkRecordTests {
    @Test func hostPortsRoundTripInTheRecord() throws {
        let ports = [PortMapping(hostPort: 8080, containerPort: 80), PortMapping(hostPort: 53, containerPort: 5353, proto: "udp", hostIP: "127.0.0.1")]
        let r = PodRecord(uid: "u-1", source: "apply", immutable: [:], generation: 1, hostPorts: ports)
        #expect(try PodRecord.decode(r.encoded()).hostPorts == ports)
        #expect(throws: RecordError.self) { try PodRecord.decode("podrec-pod-record 1\nuid u\nhostPort 80\ttcp\n") }
    }

    @Test func thePlanCarriesThePodsIPsAndTheTokensAreFilledIn() throws {
        var plan = LaunchPlan(generation: 1, namespace: "default", name: "web", uid: "u", hostname: "web", logDirectory: "/l",
                              scratchDirectory: "/s")
        var c = ContainerLaunch(name: "app", executable: "/bin/app", arguments: ["app", "--listen=\(LaunchPlan.podIPToken):80"],
                                environment: ["IP=\(LaunchPlan.podIPToken)", "IPS=\(LaunchPlan.podIPsToken)", "X=1"], cgroup: "c")
        c.readinessProbe = ProbeSpec(action: .httpGet(HTTPGet(host: LaunchPlan.podIPToken, port: 80)))
        c.livenessProbe = ProbeSpec(action: .tcpSocket(host: LaunchPlan.podIPToken, port: 80))
        plan.containers = [c]
        #expect(try LaunchPlan.decode(plan.encoded()) == plan, "the tokens survive the text form")
        let filled = plan.assigningPodIPs(["10.89.0.2", "fd00::2"])
        #expect(filled.podIPs == ["10.89.0.2", "fd00::2"])
        #expect(filled.containers[0].environment == ["IP=10.89.0.2", "IPS=10.89.0.2,fd00::2", "X=1"])
        #expect(filled.containers[0].arguments == ["app", "--listen=10.89.0.2:80"])
        #expect(filled.containers[0].readinessProbe?.action == .httpGet(HTTPGet(host: "10.89.0.2", port: 80)))
        #expect(filled.containers[0].livenessProbe?.action == .tcpSocket(host: "10.89.0.2", port: 80))
        #expect(try LaunchPlan.decode(filled.encoded()) == filled)
        // No address from the network: loopback stands in.
        #expect(plan.assigningPodIPs([]).containers[0].environment[0] == "IP=127.0.0.1")
        #expect(LaunchPlan.displaying("http://\(LaunchPlan.podIPToken)/") == "http://<pod IP>/")
    }
}

@Suite struct UserNamespaceRecordTests {
    @Test func theRangeRoundTripsInTheRecordAndThePlan() throws {
        let range = IDRange(start: 1 << 31, count: 65536)
        let r = PodRecord(uid: "u", source: "apply", immutable: [:], generation: 1, userNamespace: range)
        #expect(try PodRecord.decode(r.encoded()).userNamespace == range)
        #expect(try PodRecord.decode(PodRecord(uid: "u", source: "apply", immutable: [:], generation: 1).encoded()).userNamespace == nil)
        var plan = LaunchPlan(generation: 1, namespace: "default", name: "p", uid: "u", hostname: "p", logDirectory: "/l", scratchDirectory: "/s")
        #expect(!plan.encoded().contains("hostUsers"), "a plan with the host's users reads as before")
        plan.hostUsers = false
        plan.userNamespace = range
        #expect(try LaunchPlan.decode(plan.encoded()) == plan)
        #expect(throws: RecordError.self) { try PodRecord.decode("podrec-pod-record 1\nuid u\nuserNamespace 5\n") }
        #expect(throws: RecordError.self) { try PodRecord.decode("podrec-pod-record 1\nuid u\nuserNamespace 4294967295\t2\n") }
    }

    @Test func theFlagParsesStartAndCount() throws {
        #expect(try UserNamespaceRange(parsing: "2147483648") == .default)
        #expect(UserNamespaceRange.default.slots == 32767)
        #expect(try UserNamespaceRange(parsing: "65536:131072") == UserNamespaceRange(start: 65536, count: 131072))
        for bad in ["", "0", "100000", "65536:100", "x", "65536:x", "4294901760", "4294901760:65536", "1:2:3"] {
            #expect(throws: UserNamespaceRangeError.self, "\(bad)") { try UserNamespaceRange(parsing: bad) }
        }
    }

    @Test func allocationTakesTheFirstFreeSlot() {
        let pool = UserNamespaceRange(start: 1 << 20, count: 3 * 65536)
        let first = IDRange(start: 1 << 20, count: 65536)
        let second = IDRange(start: (1 << 20) + 65536, count: 65536)
        let third = IDRange(start: (1 << 20) + 131072, count: 65536)
        #expect(pool.allocate(avoiding: []) == first)
        #expect(pool.allocate(avoiding: [first]) == second)
        #expect(pool.allocate(avoiding: [second]) == first)
        #expect(pool.allocate(avoiding: [first, third]) == second)
        #expect(pool.allocate(avoiding: [first, second, third]) == nil)
        // A recorded range that is not aligned (an older pool) blocks every slot it touches.
        #expect(pool.allocate(avoiding: [IDRange(start: (1 << 20) + 10, count: 65536)]) == third)
    }
}
