import Planner
import PodModel
import Testing

/// The pod network in the plan: the pod's IPs kept across plans, broken attachments
/// repaired, stray ones removed, and host ports held by one pod only.
@Suite struct NetworkPlanTests {
    static let network = NetworkConfig(name: "podrec", file: "/etc/podrec/net.d/10-podrec.conflist", bytes: Array("{}".utf8), isDefault: true)

    /// PlannerTests' pod on the network, its container's env holding the pod IP's token.
    static func desired(_ key: PodKey = PlannerTests.key, uid: String = "u1", ports: [PortMapping] = []) -> DesiredPod {
        var d = PlannerTests.desired()
        d.key = key
        d.uid = uid
        d.plan.name = key.name
        d.plan.uid = uid
        d.plan.containers[0].environment = ["POD_IP=" + LaunchPlan.podIPToken, "URL=http://\(LaunchPlan.podIPToken):80/"]
        d.network = NetworkAttachment(network: network, key: key, uid: uid, portMappings: ports)
        d.setup.attached = true
        d.immutable["network"] = "podrec"
        return d
    }

    /// The host as `d` asks, the attachment having given `ips`.
    static func observed(_ d: DesiredPod, ips: [String] = ["10.89.0.7"], hostPorts: [PortMapping] = []) -> Observed {
        var o = PlannerTests.observed(from: d)
        var pod = o.pods[d.key]!
        pod.plan = pod.plan!.assigningPodIPs(ips)
        pod.record?.hostPorts = hostPorts
        o.pods[d.key] = pod
        return o
    }

    @Test func aRunningPodKeepsItsIPsAndNothingChanges() throws {
        let d = Self.desired()
        #expect(PlannerTests.kinds(PlannerTests.run(d, Self.observed(d))) == [])
        // A changed env restarts the container with the IP it has, not the token.
        var changed = d
        changed.plan.containers[0].environment.append("MORE=1")
        changed.plan.containers[0].specHash = "h2"
        let actions = PlannerTests.run(changed, Self.observed(d))
        guard case .updatePlan(let sent, _, let restart, _, _)? = actions.first?.kind else {
            Issue.record("no plan update: \(PlannerTests.kinds(actions))")
            return
        }
        #expect(restart == ["app"])
        #expect(sent.plan.podIPs == ["10.89.0.7"])
        #expect(sent.plan.containers[0].environment == ["POD_IP=10.89.0.7", "URL=http://10.89.0.7:80/", "MORE=1"])
        #expect(sent.setup.podIPs == ["10.89.0.7"], "the hosts file keeps the pod's IP")
    }

    @Test func aBrokenAttachmentIsRepairedWithThePodsAddress() {
        let d = Self.desired()
        var o = Self.observed(d)
        o.pods[d.key]?.networkProblem = "CNI plugin bridge CHECK: Interface name eth0 not found"
        let actions = PlannerTests.run(d, o)
        #expect(PlannerTests.kinds(actions) == ["repair network default/web"])
        #expect(actions.first?.reason.contains("Interface name eth0 not found") == true)
        guard case .repairNetwork(let sent)? = actions.first?.kind else { return }
        #expect(sent.setup.podIPs == ["10.89.0.7"])
        #expect(Plan(actions: actions).hasChanges)
    }

    @Test func aStrayAttachmentIsRemovedInAFullPass() {
        var o = Observed()
        o.strayAttachments = ["podrec-gone"]
        #expect(PlannerTests.kinds(PlannerTests.run(nil, o)) == ["stray attachment podrec-gone"])
    }

    @Test func aHostPortIsHeldByOnePodAndTheOtherIsRefusedNamingIt() {
        let http = PortMapping(hostPort: 8080, containerPort: 80)
        let web = Self.desired(ports: [http])
        let other = Self.desired(PodKey(namespace: "default", name: "api"), uid: "u2", ports: [PortMapping(hostPort: 8080, containerPort: 9000)])
        // web holds 8080 on the host: api is refused, web is left as it is.
        let o = Self.observed(web, hostPorts: [http])
        let actions = Planner.plan(desired: [web, other], observed: o, options: PlanOptions()).actions
        #expect(PlannerTests.kinds(actions) == ["refuse default/api"])
        #expect(actions[0].reason == "host port 8080/tcp is held by pod default/web (8080->80/tcp)")
        #expect(Plan(actions: actions).hasChanges)
        // Neither on the host yet: the first by key (default/api) gets it.
        let fresh = Planner.plan(desired: [web, other], observed: Observed(), options: PlanOptions()).actions
        #expect(PlannerTests.kinds(fresh) == ["create", "refuse default/web"])
        #expect(fresh[1].reason.contains("held by pod default/api"))
    }

    @Test func hostPortsConflictOnTheSameProtocolAndAnOverlappingAddress() {
        let all = PortMapping(hostPort: 53, containerPort: 53, proto: "udp")
        #expect(all.conflicts(with: PortMapping(hostPort: 53, containerPort: 5353, proto: "udp", hostIP: "127.0.0.1")))
        #expect(!all.conflicts(with: PortMapping(hostPort: 53, containerPort: 53, proto: "tcp")))
        #expect(!PortMapping(hostPort: 53, containerPort: 53, proto: "udp", hostIP: "127.0.0.1")
                    .conflicts(with: PortMapping(hostPort: 53, containerPort: 53, proto: "udp", hostIP: "127.0.0.2")))
    }

    @Test func aCreateShowsTheNetworkAndItsPorts() {
        let actions = PlannerTests.run(Self.desired(ports: [PortMapping(hostPort: 8080, containerPort: 80, hostIP: "127.0.0.1")]), Observed())
        #expect(actions.first?.details.map(\.description)
                == ["+ network podrec (podrec's default, written to /etc/podrec/net.d/10-podrec.conflist), host ports 127.0.0.1:8080->80/tcp"])
    }
}
