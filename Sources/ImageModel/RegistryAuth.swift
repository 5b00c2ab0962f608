/// What a registry asks for and what we answer with: the `WWW-Authenticate` challenges of a
/// 401 (RFC 7235, as distribution's docs/spec/auth/token.md uses them) and the user's
/// credentials from Docker's `config.json` / a Secret's `.dockerconfigjson`. Pure: the
/// files are read and the requests made by `ImagePull`.

/// One challenge: `Bearer realm="https://auth.example/token",service="registry",scope="…"`.
public struct AuthChallenge: Sendable, Hashable {
    /// Lowercased: `bearer`, `basic`.
    public var scheme: String
    /// Parameter names lowercased, values unquoted.
    public var parameters: [String: String]

    public init(scheme: String, parameters: [String: String] = [:]) {
        self.scheme = scheme.lowercased()
        self.parameters = parameters
    }

    public var realm: String? { parameters["realm"] }

    /// The challenges of one `WWW-Authenticate` value. A header may hold several, separated
    /// by commas, as may the parameters of one: a token followed by `=` is a parameter, a
    /// token followed by a space or the end is the next challenge's scheme. Values are
    /// tokens or quoted strings with `\` escapes. Throws on what no registry sends (an
    /// unterminated quote, a parameter without a scheme).
    public static func parse(_ header: String) throws(ImageSpecError) -> [AuthChallenge] {
        func fail(_ reason: String) -> ImageSpecError { .badDocument("WWW-Authenticate \"\(header)\"", reason: reason) }
        let s = Array(header.utf8)
        var i = 0
        func skipSpace() { while i < s.count, s[i] == 0x20 || s[i] == 0x09 { i += 1 } }
        func isTokenChar(_ c: UInt8) -> Bool {
            // RFC 7230 tchar, plus '/' so that token68 values (Negotiate) read as one.
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return true
            default: return Array("!#$%&'*+-.^_`|~/".utf8).contains(c)
            }
        }
        func token() -> String {
            let start = i
            while i < s.count, isTokenChar(s[i]) { i += 1 }
            return String(decoding: s[start..<i], as: UTF8.self)
        }
        var out: [AuthChallenge] = []
        while true {
            skipSpace()
            while i < s.count, s[i] == UInt8(ascii: ",") { i += 1; skipSpace() }
            if i >= s.count { break }
            let scheme = token()
            if scheme.isEmpty { throw fail("expected an auth scheme at offset \(i)") }
            var challenge = AuthChallenge(scheme: scheme)
            // Parameters: name=value pairs separated by commas, until a token not followed by '='.
            while true {
                skipSpace()
                let mark = i
                let name = token()
                skipSpace()
                guard !name.isEmpty, i < s.count, s[i] == UInt8(ascii: "=") else {
                    i = mark
                    break
                }
                i += 1
                skipSpace()
                var value = ""
                if i < s.count, s[i] == UInt8(ascii: "\"") {
                    i += 1
                    var bytes: [UInt8] = []
                    var closed = false
                    while i < s.count {
                        if s[i] == UInt8(ascii: "\\"), i + 1 < s.count { bytes.append(s[i + 1]); i += 2; continue }
                        if s[i] == UInt8(ascii: "\"") { closed = true; i += 1; break }
                        bytes.append(s[i]); i += 1
                    }
                    if !closed { throw fail("unterminated quoted value of \(name)") }
                    value = String(decoding: bytes, as: UTF8.self)
                } else {
                    // Unquoted: up to a comma or a space (a lenient reading: an unquoted
                    // realm URL has ':', which a strict token would stop at).
                    let start = i
                    while i < s.count, s[i] != UInt8(ascii: ","), s[i] != 0x20, s[i] != 0x09 { i += 1 }
                    value = String(decoding: s[start..<i], as: UTF8.self)
                }
                challenge.parameters[name.lowercased()] = value
                skipSpace()
                if i < s.count, s[i] == UInt8(ascii: ",") { i += 1 } else { break }
            }
            out.append(challenge)
        }
        return out
    }
}

/// A user name and password (or a registry token as the password).
public struct RegistryCredentials: Sendable, Hashable, CustomStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// `USER:PASS`, as `--creds` takes it; the password may hold ':'.
    public init(parsing text: String) throws(ImageSpecError) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            throw .badConfig("credentials: expected USER:PASSWORD")
        }
        self.init(username: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
    }

    /// The `Authorization` value for Basic auth.
    public var basicAuthorization: String { "Basic " + Base64.encode(Array("\(username):\(password)".utf8)) }

    /// Never the password: this may end up in a message.
    public var description: String { "\(username):<redacted>" }
}

/// Docker's auth file (`~/.docker/config.json`, containers-auth.json(5), a Secret's
/// `.dockerconfigjson`): `{"auths": {KEY: {"auth": base64(user:pass)} | {"username",
/// "password"}}}`. A Secret's older `.dockercfg` (the `auths` map itself at the top) is
/// read too. Keys are matched to a registry host Docker's way (`normalizedKey`).
///
/// Not read: `credsStore` and `credHelpers` (they run external programs), and
/// `identitytoken` (an OAuth refresh token for Docker's token exchange, which podrec does
/// not do): an entry with only an identity token gives no credentials.
public struct DockerAuthConfig: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        /// The normalised registry host.
        public var key: String
        public var credentials: RegistryCredentials
    }

    /// In the file's order; the first entry of a host wins.
    public private(set) var entries: [Entry] = []

    public init() {}

    /// Parses the file's bytes; `what` names it in errors (a path, a Secret's key), which
    /// never quote a value.
    public init(parsing bytes: [UInt8], what: String) throws(ImageSpecError) {
        let top = try JSONObject(parsing: bytes, what: what)
        // `.dockercfg` (a Secret's older key) is the auths map itself.
        let isMap = top["auths"] == nil && top.members.allSatisfy { member in
            if case .object = member.value { return true }
            return false
        }
        let auths = try top.object("auths") ?? (isMap ? top : nil)
        guard let auths else { return }
        for member in auths.members {
            guard case .object(let fields) = member.value else { throw top.bad("auths.\"\(member.key)\" is not an object") }
            let entry = JSONObject(members: fields, what: what)
            var credentials: RegistryCredentials?
            if let auth = try entry.string("auth"), !auth.isEmpty {
                guard let decoded = Base64.decode(auth), let text = String(validating: decoded, as: UTF8.self),
                      let c = try? RegistryCredentials(parsing: text) else {
                    throw top.bad("auths.\"\(member.key)\".auth is not base64 of USER:PASSWORD")
                }
                credentials = c
            } else if let user = try entry.string("username"), let password = try entry.string("password"), !user.isEmpty {
                credentials = RegistryCredentials(username: user, password: password)
            }
            guard let credentials else { continue }
            let key = Self.normalizedKey(member.key)
            if !entries.contains(where: { $0.key == key }) { entries.append(Entry(key: key, credentials: credentials)) }
        }
    }

    /// The credentials for a registry host (`docker.io`, `127.0.0.1:5000`), or nil.
    public func credentials(for registry: String) -> RegistryCredentials? {
        let want = Self.normalizedKey(registry)
        return entries.first { $0.key == want }?.credentials
    }

    /// The registry host a key names: the scheme and any path dropped
    /// (`https://host:5000/v2/` → `host:5000`), and Docker Hub's aliases
    /// (`https://index.docker.io/v1/`, `index.docker.io`, `registry-1.docker.io`,
    /// `docker.io`) all `docker.io`. Lowercased: host names are case-insensitive.
    public static func normalizedKey(_ key: String) -> String {
        var k = Substring(key.lowercased())
        if let r = k.firstRange(of: "://") { k = k[r.upperBound...] }
        if let slash = k.firstIndex(of: "/") { k = k[..<slash] }
        switch k {
        case "index.docker.io", "registry-1.docker.io", "docker.io", "registry.hub.docker.com": return "docker.io"
        default: return String(k)
        }
    }
}
