/// A network configuration list (CNI SPEC.md, "Configuration format"), as far as podrec
/// reads it: its name, version and plugins. The plugins' configs stay JSON, handed on as
/// they are.
public struct Conflist: Sendable, Hashable {
    public var name: String
    public var cniVersion: String
    /// Each plugin's config object, in order; each has a string `type`.
    public var plugins: [JSON]

    /// Parses and checks `bytes`; `file` only names it in errors.
    public init(_ bytes: [UInt8], file: String) throws(NetworkError) {
        let json: JSON
        do { json = try JSON.parse(bytes) } catch {
            throw .conflist(file: file, reason: "not JSON: \(Self.describe(error))")
        }
        guard case .object = json else { throw .conflist(file: file, reason: "not a JSON object") }
        guard let name = json["name"]?.string, !name.isEmpty else {
            throw .conflist(file: file, reason: "no \"name\" (a non-empty string)")
        }
        guard let version = json["cniVersion"]?.string, !version.isEmpty else {
            throw .conflist(file: file, reason: "no \"cniVersion\" (a string such as \"1.0.0\")")
        }
        guard let plugins = json["plugins"]?.array, !plugins.isEmpty else {
            throw .conflist(file: file, reason: "no \"plugins\" (a non-empty list)")
        }
        for (i, p) in plugins.enumerated() {
            guard let type = p["type"]?.string, !type.isEmpty else {
                throw .conflist(file: file, reason: "plugins[\(i)] has no \"type\"")
            }
            // The type names a file in the bin dirs: nothing may lead out of them.
            if type.contains("/") || type == "." || type == ".." {
                throw .conflist(file: file, reason: "plugins[\(i)] type \(type.debugDescription) is not a plugin name")
            }
        }
        self.name = name
        self.cniVersion = version
        self.plugins = plugins
    }

    /// Every host-local `dataDir` of the plugins, with host-local's default
    /// (`/var/lib/cni/networks`) for one that names none: where this network's leases are.
    public var hostLocalDataDirectories: [String] {
        plugins.compactMap { p -> String? in
            guard let ipam = p["ipam"], ipam["type"]?.string == "host-local" else { return nil }
            return ipam["dataDir"]?.string ?? "/var/lib/cni/networks"
        }
    }

    /// The subnets its IPAM hands out (host-local's `ranges`, or the older `subnet`), for
    /// `podrec network`.
    public var subnets: [String] {
        plugins.flatMap { p -> [String] in
            guard let ipam = p["ipam"] else { return [] }
            var out = (ipam["ranges"]?.array ?? []).flatMap { set in (set.array ?? []).compactMap { $0["subnet"]?.string } }
            if let subnet = ipam["subnet"]?.string { out.append(subnet) }
            return out
        }
    }

    /// The decoder's reason without its Swift type dump: "The given data was not valid JSON.
    /// (Unexpected character 'x' around line 1, column 2.)"
    static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let c) = error {
            let under = c.underlyingError.map { " (\($0))" } ?? ""
            return c.debugDescription + under
        }
        return "\(error)"
    }
}
