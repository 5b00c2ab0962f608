/// What ADD gave a pod: its addresses, the pod IPs, the gateway, and the result as the
/// last plugin printed it.
public struct AttachResult: Sendable, Hashable {
    public struct Address: Sendable, Hashable, CustomStringConvertible {
        /// `10.89.0.5`, no prefix.
        public var address: String
        public var prefixLength: Int
        public var gateway: String?
        /// The interface it is on, when the result says (its `interface` index).
        public var interface: String?
        public var isIPv4: Bool { !address.contains(":") }
        /// `10.89.0.5/16`.
        public var description: String { "\(address)/\(prefixLength)" }
    }

    /// Every address of the result, in its order.
    public var ips: [Address]
    /// The addresses of the pod's interface, IPv4 first (containerd's pod IP is the first
    /// IPv4 address of eth0; the rest are `status.podIPs`).
    public var podIPs: [String]
    /// The gateway of the first pod IP.
    public var gateway: String?
    /// The interfaces ADD made on the node's side (no `sandbox`): the bridge and the veth's
    /// host end, which a pass checks are still there.
    public var hostInterfaces: [String]
    /// The result (CNI JSON).
    public var raw: [UInt8]

    /// Reads a CNI result (spec 0.3.0 and later: `interfaces`, `ips` with an `interface`
    /// index). An address without an index counts as the pod's, as libcni's callers take it.
    public init(result: JSON, ifName: String) {
        let interfaces = result["interfaces"]?.array ?? []
        ips = (result["ips"]?.array ?? []).compactMap { ip -> Address? in
            guard let cidr = ip["address"]?.string else { return nil }
            let parts = cidr.split(separator: "/", maxSplits: 1)
            let index = ip["interface"]?.int.map(Int.init)
            let name = index.flatMap { interfaces.indices.contains($0) ? interfaces[$0]["name"]?.string : nil }
            return Address(address: String(parts[0]), prefixLength: parts.count > 1 ? Int(parts[1]) ?? 0 : 0,
                           gateway: ip["gateway"]?.string, interface: name)
        }
        let own = ips.filter { $0.interface == nil || $0.interface == ifName }
        let ordered = own.filter(\.isIPv4) + own.filter { !$0.isIPv4 }
        podIPs = ordered.map(\.address)
        gateway = ordered.first?.gateway
        hostInterfaces = interfaces.filter { $0["sandbox"] == nil }.compactMap { $0["name"]?.string }
        raw = result.prettyBytes
    }
}
