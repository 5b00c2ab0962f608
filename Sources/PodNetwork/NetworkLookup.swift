import Kernel
import PodModel

/// The pod network for a pass: the operator's conflist, or podrec's default. Looking up
/// only reads: the default is written by `NetworkAttacher.attach` before its first ADD, so
/// that `podrec diff` never changes the host.
public enum NetworkLookup {
    /// The default's file name in the conf dir: `10-` so that it sorts where the operator's
    /// own conflists usually start, and an operator's `00-*.conflist` wins.
    public static let defaultFileName = "10-podrec.conflist"
    public static let defaultName = "podrec"
    public static let defaultBridge = "podrec0"
    public static let defaultSubnet = "10.89.0.0/16"
    public static let defaultGateway = "10.89.0.1"

    /// The first `*.conflist` in name order in `settings.confDirectory`, parsed; with none
    /// (or no dir), podrec's default, to be written to `<confDirectory>/10-podrec.conflist`.
    /// A malformed conflist is an error naming the file: the operator meant it to be the
    /// network, so falling back to the default would put pods on the wrong one.
    public static func network(_ settings: NetworkSettings, layout: NetworkLayout) throws(NetworkError) -> NetworkConfig {
        let dir = settings.confDirectory
        let names: [String]
        do { names = try Sys.listDirectory(dir) } catch where error.isNotFound {
            names = []
        } catch {
            throw .kernel(error)
        }
        if let first = names.filter({ $0.hasSuffix(".conflist") && !$0.hasPrefix(".") }).first {
            let file = dir + "/" + first
            let bytes: [UInt8]
            do { bytes = try Sys.readFile(file) } catch { throw .kernel(error) }
            let conflist = try Conflist(bytes, file: file)
            return NetworkConfig(name: conflist.name, file: file, bytes: bytes, isDefault: false)
        }
        return NetworkConfig(name: defaultName, file: dir + "/" + defaultFileName,
                             bytes: defaultConflist(ipamDirectory: layout.ipam), isDefault: true)
    }

    /// podman's default network in CNI form, on podrec's names and subnet: a bridge with
    /// the gateway on it and masquerade, host-local leases under the runtime root (they die
    /// with a reboot, as the pods do), then portmap for hostPorts, firewall, tuning.
    public static func defaultConflist(ipamDirectory: String) -> [UInt8] {
        conflist(name: defaultName, bridge: defaultBridge, subnet: defaultSubnet, gateway: defaultGateway,
                 ipamDirectory: ipamDirectory)
    }

    /// The default's shape with other names: tests run it on a bridge and subnet of their own.
    public static func conflist(name: String, bridge: String, subnet: String, gateway: String, ipamDirectory: String) -> [UInt8] {
        let value: JSON = [
            "cniVersion": "1.0.0",
            "name": .string(name),
            "plugins": [
                [
                    "type": "bridge",
                    "bridge": .string(bridge),
                    "isGateway": true,
                    "ipMasq": true,
                    "hairpinMode": true,
                    "ipam": [
                        "type": "host-local",
                        "ranges": [[["subnet": .string(subnet), "gateway": .string(gateway)]]],
                        "routes": [["dst": "0.0.0.0/0"]],
                        "dataDir": .string(ipamDirectory),
                    ],
                ],
                ["type": "portmap", "capabilities": ["portMappings": true], "snat": true],
                ["type": "firewall"],
                ["type": "tuning"],
            ],
        ]
        return value.prettyBytes
    }
}
