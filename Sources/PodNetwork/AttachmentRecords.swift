#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Kernel
import PodModel

/// The one owner of the files under `NetworkLayout`'s `attachments` and `results`: the
/// record of an attachment, written before ADD, and the ADD result, cached after it. Both
/// are replaced atomically (libcni once wrote its cache in place, and a DEL after a crash
/// then read half a file).
struct AttachmentRecords {
    let layout: NetworkLayout

    /// The record's format: everything DEL needs to repeat ADD's arguments exactly.
    struct Record: Codable {
        var version = 1
        var network: String
        var file: String
        var isDefault: Bool
        /// The conflist's bytes as ADD used them: a conflist edited since does not change
        /// what DEL runs.
        var conflist: String
        var containerID: String
        var ifName: String
        var args: [[String]]
        var portMappings: [Mapping]

        struct Mapping: Codable {
            var hostPort: Int
            var containerPort: Int
            var proto: String
            var hostIP: String
        }

        init(_ a: NetworkAttachment) {
            network = a.network.name
            file = a.network.file
            isDefault = a.network.isDefault
            conflist = String(decoding: a.network.bytes, as: UTF8.self)
            containerID = a.containerID
            ifName = a.ifName
            args = a.args.map { [$0.name, $0.value] }
            portMappings = a.portMappings.map { Mapping(hostPort: $0.hostPort, containerPort: $0.containerPort, proto: $0.proto, hostIP: $0.hostIP) }
        }

        var attachment: NetworkAttachment {
            NetworkAttachment(
                network: NetworkConfig(name: network, file: file, bytes: Array(conflist.utf8), isDefault: isDefault),
                containerID: containerID, ifName: ifName,
                args: args.map { (name: $0.first ?? "", value: $0.dropFirst().first ?? "") },
                portMappings: portMappings.map { PortMapping(hostPort: $0.hostPort, containerPort: $0.containerPort, proto: $0.proto, hostIP: $0.hostIP) })
        }
    }

    /// `<containerID>_<ifName>`: the name of both files. An interface name has no `_`-free
    /// guarantee, but a container id podrec makes has no `_`, so the first `_` splits.
    static func split(_ name: String) -> (containerID: String, ifName: String)? {
        guard let i = name.firstIndex(of: "_"), !name.hasPrefix(".") else { return nil }
        return (String(name[..<i]), String(name[name.index(after: i)...]))
    }

    func write(_ a: NetworkAttachment) throws(NetworkError) {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let bytes: [UInt8]
        do { bytes = Array(try e.encode(Record(a))) } catch {
            throw .record(path: layout.attachment(a.containerID, ifName: a.ifName), reason: "encode: \(error)")
        }
        do {
            try Sys.mkdirs(layout.attachments, mode: 0o700)
            // Under the runtime root, which a reboot empties as it does the namespaces: no fsync.
            try Sys.writeFileAtomically(layout.attachment(a.containerID, ifName: a.ifName), bytes, mode: 0o600, durable: false)
        } catch { throw .kernel(error) }
    }

    /// The record, or nil when there is none.
    func read(_ containerID: String, ifName: String) throws(NetworkError) -> NetworkAttachment? {
        let path = layout.attachment(containerID, ifName: ifName)
        let bytes: [UInt8]
        do { bytes = try Sys.readFile(path) } catch where error.isNotFound { return nil } catch { throw .kernel(error) }
        do { return try JSONDecoder().decode(Record.self, from: Data(bytes)).attachment } catch {
            throw .record(path: path, reason: Conflist.describe(error))
        }
    }

    /// Every recorded (containerID, ifName), in name order.
    func list() throws(NetworkError) -> [(containerID: String, ifName: String)] {
        try names(layout.attachments).compactMap(Self.split)
    }

    func listResults() throws(NetworkError) -> [(containerID: String, ifName: String)] {
        try names(layout.results).compactMap(Self.split)
    }

    func names(_ dir: String) throws(NetworkError) -> [String] {
        do { return try Sys.listDirectory(dir).filter { !$0.hasPrefix(".") } } catch where error.isNotFound { return [] } catch {
            throw .kernel(error)
        }
    }

    func hasRecord(containerID: String) -> Bool {
        ((try? names(layout.attachments)) ?? []).contains { Self.split($0)?.containerID == containerID }
    }

    func removeRecord(_ containerID: String, ifName: String) throws(NetworkError) {
        do { try Sys.unlinkIfPresent(layout.attachment(containerID, ifName: ifName)) } catch { throw .kernel(error) }
    }

    // MARK: Results

    func writeResult(_ result: JSON, _ containerID: String, ifName: String) throws(NetworkError) {
        do {
            try Sys.mkdirs(layout.results, mode: 0o700)
            try Sys.writeFileAtomically(layout.result(containerID, ifName: ifName), result.prettyBytes, mode: 0o600, durable: false)
        } catch { throw .kernel(error) }
    }

    func readResult(_ containerID: String, ifName: String) throws(NetworkError) -> JSON? {
        let path = layout.result(containerID, ifName: ifName)
        let bytes: [UInt8]
        do { bytes = try Sys.readFile(path) } catch where error.isNotFound { return nil } catch { throw .kernel(error) }
        do { return try JSON.parse(bytes) } catch { throw .record(path: path, reason: Conflist.describe(error)) }
    }

    func hasResult(_ containerID: String, ifName: String) -> Bool {
        Sys.exists(layout.result(containerID, ifName: ifName))
    }

    func removeResult(_ containerID: String, ifName: String) throws(NetworkError) {
        do { try Sys.unlinkIfPresent(layout.result(containerID, ifName: ifName)) } catch { throw .kernel(error) }
    }
}
