/// `registries.conf`, the subset podrec reads of containers-registries.conf(5) version 2:
///
/// ```toml
/// [[registry]]
/// prefix = "docker.io"              # what references it applies to; default: location
/// location = "registry.local:5000"  # where to pull them from instead
/// insecure = false                  # plain HTTP allowed, TLS not verified
/// blocked = false                   # refuse to pull
///
/// [[registry.mirror]]               # tried first, in order, then the location
/// location = "mirror.local/hub"
/// insecure = true
/// ```
///
/// `unqualified-search-registries` and `short-name-mode` are accepted and ignored: podrec
/// resolves a short name to Docker Hub, as Docker and kubelet do. Anything else is an error
/// with the file, line and column: a config that does not say what the user thinks it says
/// must not be half-applied.
///
/// Why a parser of our own and not a TOML library (LebJe/TOMLKit 0.6.0, over the C++
/// toml++; measured: 36 s for its clean build alone on this 2-core machine, under load):
/// TOMLKit reports a line and column only for syntax errors, and a wrong type or an
/// unknown key here must name its line too; it would also bring C++ and libstdc++ into
/// the static `podrec` executable, and this module could no longer be pure. The subset is
/// a few line forms.
public struct RegistriesConf: Sendable, Hashable {
    public struct Mirror: Sendable, Hashable {
        public var location: String
        public var insecure: Bool

        public init(location: String, insecure: Bool = false) {
            self.location = location
            self.insecure = insecure
        }
    }

    public struct Registry: Sendable, Hashable {
        public var prefix: String
        public var location: String
        public var insecure: Bool
        public var blocked: Bool
        public var mirrors: [Mirror]

        public init(prefix: String, location: String, insecure: Bool = false, blocked: Bool = false, mirrors: [Mirror] = []) {
            self.prefix = prefix
            self.location = location
            self.insecure = insecure
            self.blocked = blocked
            self.mirrors = mirrors
        }
    }

    public var registries: [Registry]

    public init(registries: [Registry] = []) {
        self.registries = registries
    }

    /// Parses the file's text; `path` names it in errors (`path:line:column: reason`).
    public init(parsing text: String, path: String) throws(ImageSpecError) {
        var parser = ConfParser(path: path)
        self = try parser.parse(text)
    }

    /// The `[[registry]]` whose prefix matches `name` (`docker.io/library/nginx`) best: equal
    /// to it, or a leading part of it ending at a `/`; `*.example.com` matches any host under
    /// example.com. The longest prefix wins.
    public func registry(for name: String) -> Registry? {
        var best: (Registry, Int)?
        for r in registries {
            let p = r.prefix
            let matches: Bool
            if p.hasPrefix("*.") {
                let host = name.split(separator: "/", maxSplits: 1).first.map(String.init) ?? name
                matches = host.hasSuffix(String(p.dropFirst(1)))
            } else {
                matches = name == p || name.hasPrefix(p + "/")
            }
            if matches, best == nil || p.count > best!.1 { best = (r, p.count) }
        }
        return best?.0
    }

    /// Where to pull `ref` from, in order: the mirrors of its `[[registry]]`, then its
    /// location (the reference's own registry when no entry matches). Each endpoint's
    /// repository is the reference's name with the prefix replaced by the location. An
    /// endpoint is insecure when its entry says so or its host is in `insecureHosts`.
    /// Throws for a blocked registry.
    public func endpoints(for ref: ImageReference, insecureHosts: Set<String> = []) throws(ImageSpecError) -> [RegistryEndpoint] {
        func endpoint(_ location: String, prefix: String, insecure: Bool, mirror: Bool) -> RegistryEndpoint {
            var rewritten = ref.name
            if !prefix.hasPrefix("*.") { rewritten = location + String(ref.name.dropFirst(prefix.count)) }
            else { rewritten = ref.name }  // a wildcard entry has no location to rewrite to
            let slash = rewritten.firstIndex(of: "/") ?? rewritten.endIndex
            let host = String(rewritten[..<slash])
            var repository = String(rewritten[slash...].dropFirst())
            // Docker Hub's official images are under library/, whoever spells the name.
            if RegistryEndpoint.isDockerHub(host), !repository.contains("/") { repository = "library/" + repository }
            return RegistryEndpoint(host: host, repository: repository,
                                    insecure: insecure || insecureHosts.contains(host.lowercased()), mirror: mirror)
        }
        guard let r = registry(for: ref.name) else {
            return [endpoint(ref.domain, prefix: ref.domain, insecure: false, mirror: false)]
        }
        if r.blocked { throw .badConfig("registry \(r.prefix) is blocked in registries.conf; \(ref) is not pulled") }
        var out = r.mirrors.map { endpoint($0.location, prefix: r.prefix, insecure: $0.insecure, mirror: true) }
        out.append(endpoint(r.location, prefix: r.prefix, insecure: r.insecure, mirror: false))
        return out
    }
}

/// One place to pull a repository from: a registry (or mirror) host and the repository's
/// name there.
public struct RegistryEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// `docker.io`, `127.0.0.1:5000`, `[::1]:5000`: the registry as references and auth
    /// files name it.
    public var host: String
    /// `library/busybox`.
    public var repository: String
    /// Listed insecure: plain HTTP allowed and TLS not verified.
    public var insecure: Bool
    public var mirror: Bool

    public init(host: String, repository: String, insecure: Bool = false, mirror: Bool = false) {
        self.host = host
        self.repository = repository
        self.insecure = insecure
        self.mirror = mirror
    }

    public static func isDockerHub(_ host: String) -> Bool {
        DockerAuthConfig.normalizedKey(host) == "docker.io"
    }

    /// The host the requests go to: Docker Hub's API is `registry-1.docker.io`.
    public var apiHost: String { Self.isDockerHub(host) ? "registry-1.docker.io" : host }

    /// The host name without its port and brackets: `127.0.0.1`, `::1`, `localhost`.
    public var hostName: String { Self.splitHost(host).name }
    public var port: Int? { Self.splitHost(host).port }

    /// A loopback registry (`localhost`, 127.0.0.0/8, `[::1]`): plain HTTP may be tried
    /// after HTTPS, as Docker does for them, because the traffic never leaves the machine.
    public var isLoopback: Bool {
        let n = hostName.lowercased()
        if n == "localhost" || n == "::1" { return true }
        let parts = n.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Plain HTTP is allowed: loopback or listed insecure.
    public var allowsPlainHTTP: Bool { isLoopback || insecure }

    public var description: String { host + "/" + repository }

    /// `host`, `host:port`, `[v6]`, `[v6]:port`.
    public static func splitHost(_ host: String) -> (name: String, port: Int?) {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            let name = String(host[host.index(after: host.startIndex)..<close])
            let rest = host[host.index(after: close)...]
            return (name, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon {
            return (String(host[..<colon]), Int(host[host.index(after: colon)...]))
        }
        return (host, nil)
    }
}

/// The line parser of `RegistriesConf`'s subset of TOML: tables `[[registry]]` and
/// `[[registry.mirror]]`, and `key = value` with basic and literal strings, booleans and
/// one-line arrays of strings; `#` comments.
private struct ConfParser {
    let path: String
    var line = 0

    enum Value {
        case string(String)
        case bool(Bool)
        case strings([String])

        var kind: String {
            switch self {
            case .string: "a string"
            case .bool: "a boolean"
            case .strings: "an array"
            }
        }
    }

    init(path: String) { self.path = path }

    func fail(_ column: Int, _ reason: String) -> ImageSpecError { .badConfig("\(path):\(line):\(column): \(reason)") }

    mutating func parse(_ text: String) throws(ImageSpecError) -> RegistriesConf {
        enum Section { case top, registry, mirror }
        var section = Section.top
        var registries: [(RegistriesConf.Registry, hasLocation: Bool, hasPrefix: Bool, line: Int)] = []
        var seen: Set<String> = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            line += 1
            let chars = Array(raw.unicodeScalars.map(Character.init))
            var i = 0
            func skip() { while i < chars.count, chars[i] == " " || chars[i] == "\t" || chars[i] == "\r" { i += 1 } }
            func atEnd() -> Bool { skip(); return i >= chars.count || chars[i] == "#" }
            if atEnd() { continue }
            if chars[i] == "[" {
                let start = i + 1
                let header = String(chars[i...]).split(separator: "#", maxSplits: 1)[0].trimmingSpaces
                switch header {
                case "[[registry]]":
                    section = .registry
                    registries.append((RegistriesConf.Registry(prefix: "", location: ""), false, false, line))
                case "[[registry.mirror]]":
                    guard !registries.isEmpty else { throw fail(start, "[[registry.mirror]] before any [[registry]]") }
                    section = .mirror
                    registries[registries.count - 1].0.mirrors.append(RegistriesConf.Mirror(location: ""))
                default:
                    throw fail(start, "the table \(header) is not supported by podrec (only [[registry]] and [[registry.mirror]])")
                }
                seen = []
                continue
            }
            let keyColumn = i + 1
            let keyStart = i
            while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "-" || chars[i] == "_" { i += 1 }
            let key = String(chars[keyStart..<i])
            if key.isEmpty { throw fail(keyColumn, "expected a key or a [[table]]") }
            skip()
            guard i < chars.count, chars[i] == "=" else { throw fail(i + 1, "expected '=' after \(key)") }
            i += 1
            skip()
            let valueColumn = i + 1
            let value = try parseValue(chars, &i)
            if !atEnd() { throw fail(i + 1, "unexpected text after the value of \(key)") }
            if seen.contains(key) { throw fail(keyColumn, "\(key) is set twice in this table") }
            seen.insert(key)
            func string() throws(ImageSpecError) -> String {
                guard case .string(let s) = value else { throw fail(valueColumn, "\(key) must be a string, not \(value.kind)") }
                return s
            }
            func bool() throws(ImageSpecError) -> Bool {
                guard case .bool(let b) = value else { throw fail(valueColumn, "\(key) must be true or false, not \(value.kind)") }
                return b
            }
            switch (section, key) {
            case (.top, "unqualified-search-registries"):
                guard case .strings = value else { throw fail(valueColumn, "\(key) must be an array of strings") }
            case (.top, "short-name-mode"):
                _ = try string()
            case (.registry, "prefix"):
                let p = try string()
                if p.isEmpty { throw fail(valueColumn, "prefix is empty") }
                registries[registries.count - 1].0.prefix = p
                registries[registries.count - 1].hasPrefix = true
            case (.registry, "location"):
                let l = try string()
                if l.isEmpty || l.contains("://") { throw fail(valueColumn, "location must be HOST[:PORT][/PATH], without a scheme") }
                registries[registries.count - 1].0.location = l
                registries[registries.count - 1].hasLocation = true
            case (.registry, "insecure"):
                registries[registries.count - 1].0.insecure = try bool()
            case (.registry, "blocked"):
                registries[registries.count - 1].0.blocked = try bool()
            case (.mirror, "location"):
                let l = try string()
                if l.isEmpty || l.contains("://") { throw fail(valueColumn, "location must be HOST[:PORT][/PATH], without a scheme") }
                let r = registries.count - 1
                registries[r].0.mirrors[registries[r].0.mirrors.count - 1].location = l
            case (.mirror, "insecure"):
                let r = registries.count - 1
                registries[r].0.mirrors[registries[r].0.mirrors.count - 1].insecure = try bool()
            default:
                let table = section == .top ? "the top level" : section == .registry ? "[[registry]]" : "[[registry.mirror]]"
                throw fail(keyColumn, "\(key) is not supported in \(table) by podrec")
            }
        }
        var out: [RegistriesConf.Registry] = []
        for (r, hasLocation, hasPrefix, at) in registries {
            var r = r
            line = at
            if !hasLocation && !hasPrefix { throw fail(1, "[[registry]] needs a prefix or a location") }
            if !hasPrefix { r.prefix = r.location }
            if !hasLocation { r.location = r.prefix }
            if r.prefix.hasPrefix("*.") && hasLocation { throw fail(1, "a wildcard prefix (\(r.prefix)) cannot have a location") }
            if let m = r.mirrors.first(where: { $0.location.isEmpty }) { _ = m; throw fail(1, "a [[registry.mirror]] of \(r.prefix) has no location") }
            out.append(r)
        }
        return RegistriesConf(registries: out)
    }

    func parseValue(_ c: [Character], _ i: inout Int) throws(ImageSpecError) -> Value {
        guard i < c.count else { throw fail(i + 1, "expected a value") }
        switch c[i] {
        case "\"", "'":
            return .string(try parseString(c, &i))
        case "[":
            i += 1
            var items: [String] = []
            while true {
                while i < c.count, c[i] == " " || c[i] == "\t" { i += 1 }
                guard i < c.count else { throw fail(i + 1, "an array must end on its line with ']'") }
                if c[i] == "]" { i += 1; return .strings(items) }
                guard c[i] == "\"" || c[i] == "'" else { throw fail(i + 1, "an array may hold only strings") }
                items.append(try parseString(c, &i))
                while i < c.count, c[i] == " " || c[i] == "\t" { i += 1 }
                if i < c.count, c[i] == "," { i += 1 }
            }
        default:
            let start = i
            while i < c.count, c[i].isLetter { i += 1 }
            switch String(c[start..<i]) {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: throw fail(start + 1, "expected a string (\"…\"), true, false or an array of strings")
            }
        }
    }

    func parseString(_ c: [Character], _ i: inout Int) throws(ImageSpecError) -> String {
        let quote = c[i]
        let start = i + 1
        i += 1
        var out = ""
        while i < c.count {
            let ch = c[i]
            if ch == quote { i += 1; return out }
            if ch == "\\" && quote == "\"" {
                guard i + 1 < c.count else { break }
                switch c[i + 1] {
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "u":
                    guard i + 5 < c.count, let v = UInt32(String(c[(i + 2)...(i + 5)]), radix: 16), let s = Unicode.Scalar(v) else {
                        throw fail(i + 1, "a bad \\u escape")
                    }
                    out.unicodeScalars.append(s)
                    i += 4
                default: throw fail(i + 1, "the escape \\\(c[i + 1]) is not supported")
                }
                i += 2
                continue
            }
            out.append(ch)
            i += 1
        }
        throw fail(start, "unterminated string")
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
