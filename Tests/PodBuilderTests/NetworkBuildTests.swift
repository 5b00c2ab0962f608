import Foundation
import Manifest
import PodBuilder
import PodModel
import Testing

/// A pod on the pod network, as the builder makes it: the attachment with containerd's
/// arguments and the hostPorts' mappings, tokens where the pod's IP goes, and the hostPort
/// rules.
@Suite struct NetworkBuildTests {
    static let network = NetworkConfig(name: "podrec", file: "/etc/podrec/net.d/10-podrec.conflist", bytes: Array("{}".utf8), isDefault: true)
    static let pod = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: shop}
        spec:
          containers:
            - name: c
              image: host
              command: [/usr/bin/env, "--listen=$(POD_IP)"]
              env:
                - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
                - {name: POD_IPS, valueFrom: {fieldRef: {fieldPath: status.podIPs}}}
                - {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
              ports:
                - {containerPort: 80, hostPort: 8080}
                - {containerPort: 53, hostPort: 5353, protocol: UDP, hostIP: 127.0.0.1}
                - {containerPort: 9000}
              readinessProbe: {httpGet: {port: 80}}
              livenessProbe: {tcpSocket: {port: 80, host: 10.0.0.9}}
        """

    static func desired(_ yaml: String, network: NetworkConfig? = network) throws -> DesiredPod {
        let (pod, set) = try LaunchPlanBuilderTests.load(yaml)
        let facts = HostFacts(node: LaunchPlanBuilderTests.node, hostEntries: LaunchPlanBuilderTests.hostEntries,
                              files: LaunchPlanBuilderTests.files, network: network)
        let layout = PodLayout(root: "/run/podrec", dataRoot: "/var/lib/podrec", logRoot: "/var/log/podrec", cgroupParent: "podrec",
                               namespace: "shop", name: "web", uid: "u1")
        return try LaunchPlanBuilder.desired(pod, manifests: set, source: "apply", layout: layout, facts: facts)
    }

    @Test func theAttachmentHasContainerdsArgumentsAndTheHostPorts() throws {
        let d = try Self.desired(Self.pod)
        let a = try #require(d.network)
        #expect(a.containerID == "podrec-u1" && a.ifName == "eth0")
        #expect(a.argsString == "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=podrec-u1;K8S_POD_UID=u1")
        #expect(a.portMappings == [PortMapping(hostPort: 8080, containerPort: 80),
                                   PortMapping(hostPort: 5353, containerPort: 53, proto: "udp", hostIP: "127.0.0.1")])
        #expect(d.record(generation: 1).hostPorts == a.portMappings)
        #expect(d.immutable["hostPorts"] == "8080->80/tcp, 127.0.0.1:5353->53/udp")
        #expect(d.immutable["network"]?.hasPrefix("podrec (/etc/podrec/net.d/10-podrec.conflist, ") == true)
        #expect(d.setup.attached)
    }

    @Test func thePodsIPIsATokenUntilTheAttachmentGivesIt() throws {
        let c = try #require(try Self.desired(Self.pod).plan.containers.first)
        let env = LaunchPlanBuilderTests.env(c)
        #expect(env["POD_IP"] == LaunchPlan.podIPToken && env["POD_IPS"] == LaunchPlan.podIPsToken)
        #expect(env["HOST_IP"] == "10.0.0.5")
        #expect(c.arguments == ["/usr/bin/env", "--listen=" + LaunchPlan.podIPToken], "$(POD_IP) expands to the token")
        #expect(c.readinessProbe?.action == .httpGet(HTTPGet(host: LaunchPlan.podIPToken, port: 80)), "kubelet probes the pod IP")
        #expect(c.livenessProbe?.action == .tcpSocket(host: "10.0.0.9", port: 80), "a host given is kept")
    }

    @Test func withoutANetworkThePodHasLoopbackAndNoHostPort() throws {
        let noPorts = Self.pod.replacingOccurrences(of: ", hostPort: 8080", with: "").replacingOccurrences(of: ", hostPort: 5353", with: "")
        let d = try Self.desired(noPorts, network: nil)
        #expect(d.network == nil && !d.setup.attached)
        #expect(LaunchPlanBuilderTests.env(d.plan.containers[0])["POD_IP"] == "127.0.0.1")
        #expect(d.plan.containers[0].readinessProbe?.action == .httpGet(HTTPGet(host: "127.0.0.1", port: 80)))
        // A hostPort needs the network.
        #expect(throws: BuildError(path: "spec.containers[0].ports[0].hostPort",
                                   message: "needs a pod network, and podrec runs with --pod-network none (or use hostNetwork: true)")) {
            try Self.desired(Self.pod, network: nil)
        }
    }

    @Test func aPodOnTheHostsNetworkIsNotAttached() throws {
        let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web}
            spec:
              hostNetwork: true
              containers:
                - name: c
                  image: host
                  command: [/usr/bin/env]
                  env: [{name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]
                  ports: [{containerPort: 8080, hostPort: 8080}]
            """
        let d = try Self.desired(yaml)
        #expect(d.network == nil && d.immutable["network"] == nil)
        #expect(LaunchPlanBuilderTests.env(d.plan.containers[0])["POD_IP"] == "10.0.0.5")
    }

    @Test func twoPortsOfOnePodOnOneHostPortAreRefused() throws {
        let yaml = Self.pod.replacingOccurrences(of: "{containerPort: 9000}", with: "{containerPort: 81, hostPort: 8080}")
        #expect(throws: BuildError(path: "spec.containers[0].ports[2].hostPort",
                                   message: "host port 8080->81/tcp is already taken by 8080->80/tcp in this pod")) {
            try Self.desired(yaml)
        }
    }

    @Test func dnsPolicyAndConfigReachTheSetUp() throws {
        let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web}
            spec:
              dnsPolicy: None
              dnsConfig: {nameservers: [192.0.2.1], searches: [a.example], options: [{name: ndots, value: "2"}, {name: rotate}]}
              containers: [{name: c, image: host, command: [/usr/bin/env]}]
            """
        let dns = try Self.desired(yaml).setup.dns
        #expect(dns == PodDNS(policy: "None", nameservers: ["192.0.2.1"], searches: ["a.example"],
                              options: [ResolvConf.Option(name: "ndots", value: "2"), ResolvConf.Option(name: "rotate")]))
    }
}
