/// The pure parts of talking to a registry over HTTP: URLs and their origins (whom an
/// `Authorization` header may go to after a redirect), the distribution error body, and the
/// token server's answer.

/// An absolute `http(s)` URL, split as far as a registry client needs it.
public struct RegistryURL: Sendable, Hashable, CustomStringConvertible {
    public var scheme: String
    /// As written, with brackets for IPv6, lowercased.
    public var host: String
    public var port: Int?
    /// The path and query, starting with `/`.
    public var pathAndQuery: String

    public init(scheme: String, host: String, port: Int? = nil, pathAndQuery: String = "/") {
        self.scheme = scheme.lowercased()
        self.host = host.lowercased()
        self.port = port
        self.pathAndQuery = pathAndQuery.isEmpty ? "/" : pathAndQuery
    }

    /// Parses `scheme://host[:port][/path][?query]`; nil for anything else (a relative
    /// reference, a scheme other than http and https, userinfo).
    public init?(_ text: String) {
        guard let sep = text.firstRange(of: "://") else { return nil }
        let scheme = text[..<sep.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = text[sep.upperBound...]
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = String(rest[..<end])
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        let (name, port) = RegistryEndpoint.splitHost(authority)
        let hasColon = authority.contains(":")
        if authority.hasSuffix(":") { return nil }
        if hasColon && port == nil && !authority.hasPrefix("[") { return nil }
        guard !name.isEmpty else { return nil }
        var path = String(rest[end...])
        if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }
        if path.hasPrefix("?") { path = "/" + path }
        let host = name.contains(":") ? "[" + name + "]" : name
        self.init(scheme: scheme, host: host, port: port, pathAndQuery: path)
    }

    /// The port a connection uses: the explicit one or the scheme's.
    public var effectivePort: Int { port ?? (scheme == "https" ? 443 : 80) }

    /// `host[:port]` as a Host header and a URL write it.
    public var authority: String { host + (port.map { ":\($0)" } ?? "") }

    public var description: String { "\(scheme)://\(authority)\(pathAndQuery)" }

    /// The URL without its query: what messages show (a query may carry a signed token).
    public var withoutQuery: String {
        "\(scheme)://\(authority)" + String(pathAndQuery.prefix { $0 != "?" })
    }

    /// Same scheme, host and port (RFC 6454): the only place an `Authorization` header
    /// meant for this URL may also be sent. A redirect to anywhere else (a blob store, a
    /// CDN, http instead of https) goes without it.
    public func sameOrigin(_ other: RegistryURL) -> Bool {
        scheme == other.scheme && host == other.host && effectivePort == other.effectivePort
    }

    /// A redirect's `Location`, resolved against this URL: absolute, scheme-relative
    /// (`//host/path`), absolute-path or relative. nil when it is none of them.
    public func resolving(_ location: String) -> RegistryURL? {
        if location.contains("://") { return RegistryURL(location) }
        if location.hasPrefix("//") { return RegistryURL(scheme + ":" + location) }
        if location.hasPrefix("/") { return RegistryURL(scheme: scheme, host: host, port: port, pathAndQuery: location) }
        if location.isEmpty { return nil }
        let path = pathAndQuery.prefix { $0 != "?" }
        let directory = path.lastIndex(of: "/").map { path[...$0] } ?? "/"
        return RegistryURL(scheme: scheme, host: host, port: port, pathAndQuery: String(directory) + location)
    }
}

/// Percent-encoding of a query value (RFC 3986 unreserved characters pass).
public func percentEncodeQueryValue(_ s: String) -> String {
    var out = ""
    for u in s.utf8 {
        switch u {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(u))
        default:
            let hex = Array("0123456789ABCDEF".unicodeScalars)
            out.unicodeScalars.append("%")
            out.unicodeScalars.append(hex[Int(u >> 4)])
            out.unicodeScalars.append(hex[Int(u & 15)])
        }
    }
    return out
}

/// The distribution spec's error body: `{"errors": [{"code", "message", "detail"}]}`.
public enum RegistryErrorBody {
    /// `CODE: message` for each error, or nil when the body is not that document (a proxy's
    /// HTML page, an empty body).
    public static func messages(_ bytes: [UInt8]) -> [String]? {
        guard !bytes.isEmpty, let o = try? JSONObject(parsing: bytes, what: "error body"),
              let errors = try? o.objects("errors"), !errors.isEmpty else { return nil }
        return errors.map { e in
            let code: String? = (try? e.string("code")).flatMap { $0 }
            let message: String? = (try? e.string("message")).flatMap { $0 }
            return [code, message].compactMap { $0 }.joined(separator: ": ")
        }
    }
}

/// The token server's answer (distribution docs/spec/auth/token.md): `token`, or OAuth's
/// `access_token`, and how long it lasts.
public struct BearerToken: Sendable, Hashable, CustomStringConvertible {
    public var token: String
    /// Seconds; the spec's default is 60.
    public var expiresIn: Int64

    public init(token: String, expiresIn: Int64 = 60) {
        self.token = token
        self.expiresIn = expiresIn
    }

    public init(parsing bytes: [UInt8], what: String) throws(ImageSpecError) {
        let o = try JSONObject(parsing: bytes, what: what)
        var token = try o.string("token")
        if token == nil { token = try o.string("access_token") }
        guard let token, !token.isEmpty else { throw o.bad("neither \"token\" nor \"access_token\" in the answer") }
        self.init(token: token, expiresIn: max(try o.int("expires_in") ?? 60, 60))
    }

    /// Never the token itself.
    public var description: String { "<bearer token, \(expiresIn) s>" }
}
