import Kernel
import PodModel

/// One attachment as recorded, for `podrec network ls/inspect` and the observer.
public struct RecordedAttachment: Sendable, Hashable {
    public var attachment: NetworkAttachment
    /// The cached ADD result; nil while ADD runs, or when it never finished.
    public var result: AttachResult?
    /// The pin's path while it holds a namespace.
    public var netnsPin: String?
}

/// A host-local lease: `<dataDir>/<network>/<ip>`, holding the container id, `\r\n` and the
/// ifname (host-local 1.1.1; older ones wrote the id alone).
public struct Lease: Sendable, Hashable {
    public var path: String
    public var dataDirectory: String
    public var network: String
    public var address: String
    public var containerID: String
    public var ifName: String?
}

public struct NetworkInventory: Sendable, Hashable {
    public var attachments: [RecordedAttachment]
    public var leases: [Lease]
    /// Records and results podrec could not read back, one line each.
    public var problems: [String]
}

extension NetworkAttacher {
    /// Every recorded attachment with its cached result and pin, and every lease in the
    /// host-local data dirs podrec knows: its own and each recorded network's.
    public func attachments() throws(NetworkError) -> NetworkInventory {
        var out = NetworkInventory(attachments: [], leases: [], problems: [])
        var dataDirectories: Set<String> = [layout.ipam]
        for (id, ifName) in try records.list() {
            do {
                guard let a = try records.read(id, ifName: ifName) else { continue }
                dataDirectories.formUnion((try? Conflist(a.network.bytes, file: a.network.file))?.hostLocalDataDirectories ?? [])
                let result = try records.readResult(id, ifName: ifName).map { AttachResult(result: $0, ifName: ifName) }
                let pin = layout.netnsPin(id)
                out.attachments.append(RecordedAttachment(attachment: a, result: result, netnsPin: Self.isPinned(pin) ? pin : nil))
            } catch { out.problems.append("\(error)") }
        }
        out.leases = Self.leases(in: dataDirectories)
        return out
    }

    /// The leases in `dataDirectories`, in path order. Only files named as an address are
    /// leases; host-local's `lock` and `last_reserved_ip.N` are not.
    public static func leases(in dataDirectories: Set<String>) -> [Lease] {
        var out: [Lease] = []
        for dir in dataDirectories.sorted() {
            for network in (try? Sys.listDirectory(dir)) ?? [] {
                let netDir = dir + "/" + network
                for name in (try? Sys.listDirectory(netDir)) ?? [] where isAddress(name) {
                    let path = netDir + "/" + name
                    guard let text = try? Sys.readString(path) else { continue }
                    let lines = text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
                    out.append(Lease(path: path, dataDirectory: dir, network: network, address: name,
                                     containerID: lines.first.map { String($0).trimmingWhitespace } ?? "",
                                     ifName: lines.dropFirst().first.map { String($0).trimmingWhitespace }))
                }
            }
        }
        return out
    }

    /// `10.89.0.5`, `fd00::5`: host-local names a lease by its address alone.
    static func isAddress(_ name: String) -> Bool {
        (name.contains(".") || name.contains(":")) && name.allSatisfy { $0.isHexDigit || $0 == "." || $0 == ":" }
    }

    // MARK: Garbage collection

    /// Removes what no live pod owns, and returns what it removed, one line each (a failure
    /// is a line too: a sweep goes on). For every record whose pod uid is not in
    /// `livePodUIDs` (or that podrec did not name after a uid): `detach`. Then results and
    /// pins without a record; then host-local leases of a `podrec-` container id without a
    /// record, in podrec's IPAM dir and every recorded network's data dirs; then, with
    /// `rules`, nat rules tagged with such an id. Nothing without podrec's prefix is touched.
    public func collect(livePodUIDs: Set<String>, rules sweepRules: Bool = true) -> [String] {
        var out: [String] = []
        let recorded: [(containerID: String, ifName: String)]
        do { recorded = try records.list() } catch {
            return ["could not list the attachments: \(error)"]
        }
        var dataDirectories: Set<String> = [layout.ipam]
        for (id, ifName) in recorded {
            let a = try? records.read(id, ifName: ifName)
            if let a { dataDirectories.formUnion((try? Conflist(a.network.bytes, file: a.network.file))?.hostLocalDataDirectories ?? []) }
            if let uid = NetworkAttachment.uid(containerID: id), livePodUIDs.contains(uid) { continue }
            do {
                let problems = try detach(containerID: id, ifName: ifName)
                out.append("detached \(id) \(ifName)" + (problems.isEmpty ? "" : " (\(problems.joined(separator: "; ")))"))
            } catch { out.append("could not detach \(id) \(ifName): \(error)") }
        }
        for (id, ifName) in (try? records.listResults()) ?? [] where !Sys.exists(layout.attachment(id, ifName: ifName)) {
            do {
                try records.removeResult(id, ifName: ifName)
                out.append("removed the result of \(id) \(ifName), which had no record")
            } catch { out.append("could not remove a result: \(error)") }
        }
        for id in (try? records.names(layout.netnsPins)) ?? [] where !records.hasRecord(containerID: id) {
            do {
                try unpin(containerID: id)
                out.append("unpinned the net namespace of \(id), which had no record")
            } catch { out.append("could not unpin \(id): \(error)") }
        }
        for lease in Self.leases(in: dataDirectories) where lease.containerID.hasPrefix("podrec-") {
            // host-local's own lock on its network dir: no ADD allocates while we look.
            let lock: Int32
            do { lock = try Sys.lockFile(parentDirectory(lease.path) + "/lock") } catch {
                out.append("could not lock \(parentDirectory(lease.path)): \(error)")
                continue
            }
            defer { Sys.close(lock) }
            // Read now, under the lock: a record written since the listing keeps its lease.
            guard !records.hasRecord(containerID: lease.containerID) else { continue }
            do {
                if try Sys.unlinkIfPresent(lease.path) {
                    out.append("removed the lease \(lease.path) of \(lease.containerID), which had no record")
                }
            } catch { out.append("could not remove a lease: \(error)") }
        }
        if sweepRules {
            out += rules.sweep { $0.hasPrefix("podrec-") && !records.hasRecord(containerID: $0) }
                .map { $0.hasPrefix("could not") ? $0 : "removed " + $0 + ", which had no record" }
        }
        return out
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}
