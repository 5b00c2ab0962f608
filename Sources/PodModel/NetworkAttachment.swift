/// Where podrec finds the CNI plugins and the pod network's conflist (`--cni-bin-dir`,
/// `--cni-conf-dir`; ARCHITECTURE, "Containers: … network").
public struct NetworkSettings: Sendable, Hashable {
    /// Searched in order for a plugin's executable (CNI_PATH).
    public var binDirectories: [String]
    /// The first `*.conflist` in name order is the pod network; with none, podrec writes its
    /// default here on first use.
    public var confDirectory: String

    public init(binDirectories: [String] = ["/usr/lib/cni", "/opt/cni/bin"], confDirectory: String = "/etc/podrec/net.d") {
        self.binDirectories = binDirectories
        self.confDirectory = confDirectory
    }

    public static let host = NetworkSettings()
}

/// One host port a pod publishes, as containerd hands `portMappings` to CNI (the runtime
/// config of the `portmap` capability): only ports with a `hostPort`, protocol in lower case.
public struct PortMapping: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var hostPort: Int
    public var containerPort: Int
    /// `tcp`, `udp` or `sctp`.
    public var proto: String
    /// "" for every address.
    public var hostIP: String

    public init(hostPort: Int, containerPort: Int, proto: String = "tcp", hostIP: String = "") {
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.proto = proto
        self.hostIP = hostIP
    }

    public static func < (a: PortMapping, b: PortMapping) -> Bool {
        (a.hostPort, a.proto, a.hostIP, a.containerPort) < (b.hostPort, b.proto, b.hostIP, b.containerPort)
    }

    /// `8080->80/tcp`, or `127.0.0.1:8080->80/tcp`, as podman prints ports.
    public var description: String {
        (hostIP.isEmpty ? "" : (hostIP.contains(":") ? "[\(hostIP)]:" : "\(hostIP):")) + "\(hostPort)->\(containerPort)/\(proto)"
    }

    /// Whether two mappings want the same host port: same port and protocol, and addresses
    /// that overlap (one of them all addresses, or the same one).
    public func conflicts(with other: PortMapping) -> Bool {
        hostPort == other.hostPort && proto == other.proto && (hostIP.isEmpty || other.hostIP.isEmpty || hostIP == other.hostIP)
    }
}

/// The pod network as read when the pass planned: one conflist.
public struct NetworkConfig: Sendable, Hashable {
    /// The conflist's `name`.
    public var name: String
    /// Its file; for podrec's default, where it is written on first use.
    public var file: String
    /// The conflist's bytes (JSON), exactly as read or as it will be written.
    public var bytes: [UInt8]
    /// podrec's default network, which the executor writes to `file` before its first ADD.
    public var isDefault: Bool

    public init(name: String, file: String, bytes: [UInt8], isDefault: Bool = false) {
        self.name = name
        self.file = file
        self.bytes = bytes
        self.isDefault = isDefault
    }
}

/// A pod's attachment to its network, decided at plan time and recorded before ADD, so that
/// DEL can run with exactly the same arguments after any crash (the portmap plugin removes
/// nothing without the same `portMappings`; its chain names hash the network's name and the
/// container id).
public struct NetworkAttachment: Sendable, Hashable {
    public var network: NetworkConfig
    /// `CNI_CONTAINERID`: stable for the pod's uid.
    public var containerID: String
    /// `CNI_IFNAME`.
    public var ifName: String
    /// `CNI_ARGS`, in order.
    public var args: [(name: String, value: String)]
    /// The `portMappings` capability argument.
    public var portMappings: [PortMapping]

    public init(network: NetworkConfig, containerID: String, ifName: String = "eth0",
                args: [(name: String, value: String)], portMappings: [PortMapping] = []) {
        self.network = network
        self.containerID = containerID
        self.ifName = ifName
        self.args = args
        self.portMappings = portMappings
    }

    /// The attachment of pod `key` with `uid`, as containerd's CRI builds it: CNI_ARGS
    /// `IgnoreUnknown=1;K8S_POD_NAMESPACE;K8S_POD_NAME;K8S_POD_INFRA_CONTAINER_ID;K8S_POD_UID`.
    public init(network: NetworkConfig, key: PodKey, uid: String, portMappings: [PortMapping]) {
        let id = Self.containerID(uid: uid)
        self.init(network: network, containerID: id, ifName: "eth0",
                  args: [("IgnoreUnknown", "1"), ("K8S_POD_NAMESPACE", key.namespace), ("K8S_POD_NAME", key.name),
                         ("K8S_POD_INFRA_CONTAINER_ID", id), ("K8S_POD_UID", uid)],
                  portMappings: portMappings)
    }

    /// `CNI_CONTAINERID` for a pod uid: `podrec-` and the uid. It is what a lease file and
    /// a portmap chain carry, so a leftover can be traced back to its pod.
    public static func containerID(uid: String) -> String { "podrec-" + uid }

    /// The uid back from a container id podrec made; nil for anyone else's.
    public static func uid(containerID: String) -> String? {
        containerID.hasPrefix("podrec-") ? String(containerID.dropFirst(7)) : nil
    }

    /// `K=V;K=V`.
    public var argsString: String { args.map { "\($0.name)=\($0.value)" }.joined(separator: ";") }

    public static func == (a: NetworkAttachment, b: NetworkAttachment) -> Bool {
        a.network == b.network && a.containerID == b.containerID && a.ifName == b.ifName
            && a.args.map(\.name) == b.args.map(\.name) && a.args.map(\.value) == b.args.map(\.value) && a.portMappings == b.portMappings
    }

    public func hash(into h: inout Hasher) {
        h.combine(network)
        h.combine(containerID)
        h.combine(ifName)
        for a in args { h.combine(a.name); h.combine(a.value) }
        h.combine(portMappings)
    }
}

/// Where the network's files are under `--root` (they die with a reboot, as the pods'
/// namespaces do):
///
///     <root>/network/attachments/<containerID>_<ifName>   the record, written before ADD
///     <root>/network/results/<containerID>_<ifName>       the ADD result, written after it
///     <root>/network/netns/<containerID>                  the pod's net namespace, pinned
///     <root>/network/ipam                                 host-local's dataDir (default net)
public struct NetworkLayout: Sendable, Hashable {
    public var root: String

    public init(root: String) { self.root = root + "/network" }

    public var attachments: String { root + "/attachments" }
    public var results: String { root + "/results" }
    public var netnsPins: String { root + "/netns" }
    public var ipam: String { root + "/ipam" }

    public func attachment(_ containerID: String, ifName: String) -> String { attachments + "/" + containerID + "_" + ifName }
    public func result(_ containerID: String, ifName: String) -> String { results + "/" + containerID + "_" + ifName }
    public func netnsPin(_ containerID: String) -> String { netnsPins + "/" + containerID }
}

extension Roots {
    public var network: NetworkLayout { NetworkLayout(root: state) }
}
