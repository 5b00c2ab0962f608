import ArgumentParser
import Kernel
import PodModel
import PodNetwork
import YAML

extension Podrec {
    struct Network: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "network",
            abstract: "The pod network: its conflist, subnets, the pods' attachments and leases.",
            discussion: """
                The pod network is the first *.conflist by name in the CNI config dir (--cni-conf-dir), or \
                podrec's default (bridge podrec0, 10.89.0.0/16), written there on first use. Attachments, \
                cached results, pinned net namespaces and host-local leases are under ROOT/network/.
                """,
            subcommands: [List.self, Inspect.self]
        )

        /// What both subcommands read: the configured network (nil with `--pod-network
        /// none`) and what is recorded.
        static func read(_ roots: RootOptions) throws -> (network: NetworkConfig?, inventory: NetworkInventory) {
            let settings = try roots.network()
            let layout = roots.roots.network
            var network: NetworkConfig?
            if let settings {
                do { network = try NetworkLookup.network(settings, layout: layout) } catch { throw CLIError("the pod network: \(error)") }
            }
            let attacher = NetworkAttacher(layout: layout, settings: settings ?? .host)
            do { return (network, try attacher.attachments()) } catch { throw CLIError("\(error)") }
        }

        /// The networks to show: the configured one first, then any an attachment still
        /// names (a conflist since replaced), by name.
        static func networks(_ network: NetworkConfig?, _ inventory: NetworkInventory) -> [NetworkConfig] {
            var out = network.map { [$0] } ?? []
            for a in inventory.attachments where !out.contains(where: { $0.name == a.attachment.network.name }) {
                out.append(a.attachment.network)
            }
            return out
        }

        static func subnets(_ n: NetworkConfig) -> [String] { (try? Conflist(n.bytes, file: n.file))?.subnets ?? [] }

        static func pod(_ a: NetworkAttachment) -> String {
            let ns = a.args.first { $0.name == "K8S_POD_NAMESPACE" }?.value ?? "?"
            let name = a.args.first { $0.name == "K8S_POD_NAME" }?.value ?? "?"
            return "\(ns)/\(name)"
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "ls", abstract: "NAME FILE SUBNETS ATTACHMENTS LEASES of each network podrec uses.")
            @Option(name: .shortAndLong, help: "json.")
            var output: String?
            @OptionGroup var roots: RootOptions

            func run() throws {
                let (network, inventory) = try Network.read(roots)
                let networks = Network.networks(network, inventory)
                var rows = [["NAME", "FILE", "SUBNETS", "ATTACHMENTS", "LEASES"]]
                var json: [JSONValue] = []
                for n in networks {
                    let attached = inventory.attachments.filter { $0.attachment.network.name == n.name }.count
                    let leases = inventory.leases.filter { $0.network == n.name }.count
                    let file = n.file + (n.isDefault ? " (podrec's default)" : "") + (n == network ? "" : " (no longer configured)")
                    rows.append([n.name, file, Network.subnets(n).joined(separator: ","), String(attached), String(leases)])
                    json.append(.object([
                        JSONMember("name", .string(n.name)), JSONMember("file", .string(n.file)), JSONMember("default", .bool(n.isDefault)),
                        JSONMember("configured", .bool(n == network)), JSONMember("subnets", .array(Network.subnets(n).map { .string($0) })),
                        JSONMember("attachments", .int(Int64(attached))), JSONMember("leases", .int(Int64(leases))),
                    ]))
                }
                if output == "json" {
                    print(JSONValue.array(json).serialized(indent: 2))
                    return
                }
                if let output { throw CLIError("unknown output format \"\(output)\": json") }
                if networks.isEmpty {
                    print("No pod network (--pod-network none) and no attachments")
                    return
                }
                print(Get.table(rows), terminator: "")
                for p in inventory.problems { FileHandleStream.standardError("warning: \(p)\n") }
            }
        }

        struct Inspect: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "inspect",
                abstract: "One network: its conflist, its pods' attachments (IPs, host ports, pinned namespace) and leases.")
            @Argument(help: "The network's name; default: the configured one.")
            var name: String?
            @OptionGroup var roots: RootOptions

            func run() throws {
                let (network, inventory) = try Network.read(roots)
                guard let n = Network.networks(network, inventory).first(where: { $0.name == (name ?? network?.name) }) else {
                    throw CLIError(name.map { "no network \"\($0)\" is configured or attached" } ?? "no pod network (--pod-network none)")
                }
                var out = ""
                out += "Name:         \(n.name)\n"
                out += "File:         \(n.file)\(n.isDefault ? " (podrec's default\(Sys.exists(n.file) ? "" : ", not written yet"))" : "")\n"
                out += "Subnets:      \(Network.subnets(n).joined(separator: ", "))\n"
                let plugins = (try? Conflist(n.bytes, file: n.file))?.plugins.compactMap { $0["type"]?.string } ?? []
                out += "Plugins:      \(plugins.joined(separator: " → "))\n"
                out += "Attachments:\n"
                var rows = [["POD", "CONTAINER ID", "IF", "IPS", "HOST PORTS", "NETNS"]]
                for r in inventory.attachments where r.attachment.network.name == n.name {
                    let a = r.attachment
                    rows.append([Network.pod(a), a.containerID, a.ifName,
                                 r.result.map { $0.ips.map(\.description).joined(separator: ",") } ?? "(ADD not finished)",
                                 a.portMappings.isEmpty ? "<none>" : a.portMappings.map(\.description).joined(separator: ","),
                                 r.netnsPin ?? "(not pinned)"])
                }
                out += rows.count == 1 ? "  <none>\n" : Get.table(rows).split(separator: "\n").map { "  " + $0 + "\n" }.joined()
                out += "Leases:\n"
                let leases = inventory.leases.filter { $0.network == n.name }
                if leases.isEmpty { out += "  <none>\n" }
                for l in leases { out += "  \(l.address)\t\(l.containerID)\(l.ifName.map { " " + $0 } ?? "")\n" }
                print(out, terminator: "")
                for p in inventory.problems { FileHandleStream.standardError("warning: \(p)\n") }
            }
        }
    }
}
