/// A pod's DNS settings as its manifest gives them: `dnsPolicy` and `dnsConfig`.
public struct PodDNS: Sendable, Hashable {
    /// `ClusterFirst`, `ClusterFirstWithHostNet`, `Default` or `None`.
    public var policy: String
    public var nameservers: [String]
    public var searches: [String]
    /// `(name, value)`; nil value for a bare option (`rotate`).
    public var options: [ResolvConf.Option]

    public init(policy: String = "ClusterFirst", nameservers: [String] = [], searches: [String] = [], options: [ResolvConf.Option] = []) {
        self.policy = policy
        self.nameservers = nameservers
        self.searches = searches
        self.options = options
    }
}

/// A pod's `/etc/resolv.conf`, made as kubelet makes it (`pkg/kubelet/network/dns/dns.go`,
/// `GetPodDNS`), from the host's file and the pod's `PodDNS`:
///
/// - `Default`, and `ClusterFirst` (which without a cluster DNS service is the host's, as
///   kubelet falls back when it has no `clusterDNS`), and `ClusterFirstWithHostNet`: the
///   host's nameservers, search domains and options;
/// - `None`: nothing from the host;
/// - then `dnsConfig` merged in: nameservers and searches appended without duplicates,
///   options merged by name with the pod's value winning; at most 3 nameservers and 32
///   search domains, as kubelet trims them.
///
/// Nameservers on loopback are dropped (podman's rule): they do not answer from a pod's own
/// network namespace. The host file to read for a systemd-resolved stub is the caller's
/// (`ResolvConf.usesResolvedStub`).
public enum ResolvConf {
    public struct Option: Sendable, Hashable {
        public var name: String
        public var value: String?

        public init(name: String, value: String? = nil) {
            self.name = name
            self.value = value
        }
    }

    public struct Parsed: Sendable, Hashable {
        public var nameservers: [String] = []
        public var searches: [String] = []
        public var options: [Option] = []

        public init(nameservers: [String] = [], searches: [String] = [], options: [Option] = []) {
            self.nameservers = nameservers
            self.searches = searches
            self.options = options
        }
    }

    public static let maxNameservers = 3
    public static let maxSearches = 32

    /// The host file's nameservers, its last `search` (or `domain`) line, and its options,
    /// as the resolver reads them (`#` and `;` start comments).
    public static func parse(_ bytes: [UInt8]) -> Parsed {
        var out = Parsed()
        for raw in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let line = raw.split(whereSeparator: { $0 == "#" || $0 == ";" }).first.map(String.init) ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let key = fields.first else { continue }
            switch key {
            case "nameserver": if fields.count > 1 { out.nameservers.append(fields[1]) }
            case "search", "domain": out.searches = Array(fields.dropFirst())
            case "options":
                for o in fields.dropFirst() {
                    if let eq = o.firstIndex(of: ":") {
                        out.options.append(Option(name: String(o[..<eq]), value: String(o[o.index(after: eq)...])))
                    } else {
                        out.options.append(Option(name: o))
                    }
                }
            default: break
            }
        }
        return out
    }

    /// Whether the host's file points at systemd-resolved's stub (127.0.0.53), whose real
    /// upstreams are in `/run/systemd/resolve/resolv.conf`.
    public static func usesResolvedStub(_ host: Parsed) -> Bool {
        host.nameservers.contains("127.0.0.53")
    }

    /// The pod's settings from the host's (`host`, already the resolved upstream file for a
    /// stub) and the pod's.
    public static func merge(host: Parsed, pod: PodDNS) -> Parsed {
        var out = pod.policy == "None" ? Parsed() : host
        out.nameservers = out.nameservers.filter { !isLoopback($0) }
        for n in pod.nameservers where !out.nameservers.contains(n) { out.nameservers.append(n) }
        for s in pod.searches where !out.searches.contains(s) { out.searches.append(s) }
        for o in pod.options {
            if let i = out.options.firstIndex(where: { $0.name == o.name }) { out.options[i] = o } else { out.options.append(o) }
        }
        out.nameservers = Array(out.nameservers.prefix(maxNameservers))
        out.searches = Array(out.searches.prefix(maxSearches))
        return out
    }

    /// The file: nameservers, then `search`, then `options`, one line each.
    public static func render(_ p: Parsed) -> [UInt8] {
        var text = ""
        for n in p.nameservers { text += "nameserver \(n)\n" }
        if !p.searches.isEmpty { text += "search " + p.searches.joined(separator: " ") + "\n" }
        if !p.options.isEmpty {
            let options: [String] = p.options.map { o in o.value.map { "\(o.name):\($0)" } ?? o.name }
            text += "options " + options.joined(separator: " ") + "\n"
        }
        return Array(text.utf8)
    }

    /// 127.0.0.0/8 and ::1.
    public static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1" || address == "0:0:0:0:0:0:0:1"
    }
}
