import ImageModel
import Testing

/// The pure parts of registry pulls: challenges, auth files, registries.conf, endpoints,
/// URLs and origins, the registry's error and token documents.
@Suite struct RegistryChallengeTests {
    @Test func bearerWithQuotedParameters() throws {
        let c = try AuthChallenge.parse(#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#)
        #expect(c.count == 1)
        #expect(c[0].scheme == "bearer")
        #expect(c[0].realm == "https://auth.docker.io/token")
        #expect(c[0].parameters["service"] == "registry.docker.io")
        #expect(c[0].parameters["scope"] == "repository:library/busybox:pull")
    }

    @Test func basicAndCommasInsideQuotes() throws {
        let c = try AuthChallenge.parse(#"Basic realm="a, b \"c\"", Bearer realm=https://x/t,service=s"#)
        #expect(c.map(\.scheme) == ["basic", "bearer"])
        #expect(c[0].realm == #"a, b "c""#)
        #expect(c[1].realm == "https://x/t")
        #expect(c[1].parameters["service"] == "s")
    }

    @Test func schemeOnlyAndCase() throws {
        let c = try AuthChallenge.parse("NEGOTIATE, basic REALM=\"r\"")
        #expect(c.map(\.scheme) == ["negotiate", "basic"])
        #expect(c[1].parameters["realm"] == "r")
    }

    @Test func unterminatedQuoteIsAnError() {
        #expect(throws: ImageSpecError.self) { try AuthChallenge.parse(#"Bearer realm="https://x"#) }
    }
}

@Suite struct RegistryAuthFileTests {
    static func config(_ auths: String) -> [UInt8] { Array(#"{"auths": {\#(auths)}}"#.utf8) }

    @Test func authFieldAndDockerHubAliases() throws {
        let auth = Base64.encode(Array("me:pa:ss".utf8))
        let c = try DockerAuthConfig(parsing: Self.config(#""https://index.docker.io/v1/": {"auth": "\#(auth)"}"#), what: "f")
        for host in ["docker.io", "registry-1.docker.io", "index.docker.io"] {
            #expect(c.credentials(for: host) == RegistryCredentials(username: "me", password: "pa:ss"))
        }
        #expect(c.credentials(for: "quay.io") == nil)
    }

    @Test func usernamePasswordHostPortAndSchemeKeys() throws {
        let c = try DockerAuthConfig(parsing: Self.config(#"""
            "127.0.0.1:5000": {"username": "u", "password": "p"},
            "https://Registry.Example.com:8443/v2/": {"username": "v", "password": "q"},
            "token.only": {"identitytoken": "xyz"}
            """#), what: "f")
        #expect(c.credentials(for: "127.0.0.1:5000") == RegistryCredentials(username: "u", password: "p"))
        #expect(c.credentials(for: "127.0.0.1") == nil)  // the port is part of the key
        #expect(c.credentials(for: "registry.example.com:8443") == RegistryCredentials(username: "v", password: "q"))
        #expect(c.credentials(for: "token.only") == nil)  // identitytoken is not used
    }

    @Test func firstEntryOfAHostWins() throws {
        let c = try DockerAuthConfig(parsing: Self.config(#""docker.io": {"username": "a", "password": "1"}, "registry-1.docker.io": {"username": "b", "password": "2"}"#), what: "f")
        #expect(c.credentials(for: "docker.io")?.username == "a")
    }

    @Test func dockercfgWithoutAuths() throws {
        let c = try DockerAuthConfig(parsing: Array(#"{"h:1": {"auth": "\#(Base64.encode(Array("x:y".utf8)))"}}"#.utf8), what: "f")
        #expect(c.credentials(for: "h:1") == RegistryCredentials(username: "x", password: "y"))
    }

    @Test func badAuthNamesTheKeyNotTheValue() {
        do {
            _ = try DockerAuthConfig(parsing: Self.config(#""h": {"auth": "bm90IGEgcGFpcg=="}"#), what: "/etc/podrec/auth.json")
            Issue.record("no error")
        } catch {
            #expect(error.description.contains("/etc/podrec/auth.json"))
            #expect(error.description.contains("auths.\"h\".auth"))
            #expect(!error.description.contains("bm90IGEgcGFpcg"))
        }
    }

    @Test func credentialsNeverPrintThePassword() throws {
        let c = try RegistryCredentials(parsing: "user:s3cret")
        #expect(!"\(c)".contains("s3cret"))
        #expect(c.basicAuthorization == "Basic " + Base64.encode(Array("user:s3cret".utf8)))
        #expect(throws: ImageSpecError.self) { try RegistryCredentials(parsing: "nopassword") }
    }

    @Test func base64RoundTrips() {
        for s in ["", "a", "ab", "abc", "abcd", "user:pass with spaces"] {
            #expect(Base64.decode(Base64.encode(Array(s.utf8))) == Array(s.utf8))
        }
        #expect(Base64.encode(Array("user:pass".utf8)) == "dXNlcjpwYXNz")
        #expect(Base64.decode("dXNlcjpwYXNz") == Array("user:pass".utf8))
        #expect(Base64.decode("a=b") == nil)
        #expect(Base64.decode("*") == nil)
    }
}

@Suite struct RegistriesConfTests {
    static let sample = """
        # podrec's mirrors
        unqualified-search-registries = ["docker.io", 'quay.io']

        [[registry]]
        prefix = "docker.io"
        location = "127.0.0.1:5000/hub"   # the local cache first

        [[registry.mirror]]
        location = "127.0.0.1:5001"
        insecure = true

        [[registry]]
        location = "blocked.example.com"
        blocked = true

        [[registry]]
        prefix = "docker.io/library/busybox"
        location = "127.0.0.1:6000/bb"
        insecure = true
        """

    @Test func parsesTheSubset() throws {
        let c = try RegistriesConf(parsing: Self.sample, path: "r.conf")
        #expect(c.registries.count == 3)
        #expect(c.registries[0] == .init(prefix: "docker.io", location: "127.0.0.1:5000/hub", mirrors: [.init(location: "127.0.0.1:5001", insecure: true)]))
        #expect(c.registries[1].prefix == "blocked.example.com" && c.registries[1].blocked)
    }

    @Test func endpointsMirrorsFirstWithTheLongestPrefix() throws {
        let c = try RegistriesConf(parsing: Self.sample, path: "r.conf")
        let nginx = try c.endpoints(for: ImageReference(parsing: "nginx:1"))
        #expect(nginx.map(\.description) == ["127.0.0.1:5001/library/nginx", "127.0.0.1:5000/hub/library/nginx"])
        #expect(nginx.map(\.insecure) == [true, false])
        #expect(nginx.map(\.mirror) == [true, false])
        let busybox = try c.endpoints(for: ImageReference(parsing: "busybox"))
        #expect(busybox.map(\.description) == ["127.0.0.1:6000/bb"])
        #expect(busybox[0].insecure)
        #expect(throws: ImageSpecError.self) { try c.endpoints(for: ImageReference(parsing: "blocked.example.com/x")) }
    }

    @Test func noEntryIsTheReferencesOwnRegistry() throws {
        let plain = try RegistriesConf().endpoints(for: ImageReference(parsing: "busybox"), insecureHosts: ["docker.io"])
        #expect(plain == [RegistryEndpoint(host: "docker.io", repository: "library/busybox", insecure: true)])
        #expect(plain[0].apiHost == "registry-1.docker.io")
        let local = try RegistriesConf().endpoints(for: ImageReference(parsing: "localhost:5000/a/b@sha256:" + String(repeating: "a", count: 64)))
        #expect(local[0].host == "localhost:5000" && local[0].repository == "a/b" && local[0].isLoopback && !local[0].insecure)
    }

    @Test(arguments: [
        ("127.0.0.1:5000", true), ("127.3.4.5", true), ("localhost", true), ("[::1]:5000", true),
        ("128.0.0.1", false), ("localhost.example.com", false), ("docker.io", false), ("10.0.0.1:5000", false),
    ])
    func loopback(_ host: String, _ expected: Bool) {
        #expect(RegistryEndpoint(host: host, repository: "x").isLoopback == expected)
    }

    /// text, the error's `path:line:column` and a word of its reason.
    @Test(arguments: [
        ("[[registry]]\nprefix = docker.io\n", "c:2:10:", "string"),
        ("[[registry]]\nlocation = \"x\"\nmirror-by-digest = true\n", "c:3:1:", "not supported"),
        ("[aliases]\n", "c:1:1:", "not supported"),
        ("[[registry.mirror]]\nlocation = \"m\"\n", "c:1:1:", "before any"),
        ("[[registry]]\nlocation = \"https://x\"\n", "c:2:12:", "scheme"),
        ("[[registry]]\nlocation = \"x\"\nlocation = \"y\"\n", "c:3:1:", "twice"),
        ("[[registry]]\ninsecure = \"yes\"\n", "c:2:12:", "true or false"),
        ("[[registry]]\nlocation = \"x\" extra\n", "c:2:16:", "unexpected"),
        ("[[registry]]\nlocation = \"x\n", "c:2:12:", "unterminated"),
        ("[[registry]]\ninsecure = true\n", "c:1:1:", "prefix or a location"),
    ])
    func errorsNameLineAndColumn(_ text: String, _ position: String, _ reason: String) {
        do {
            _ = try RegistriesConf(parsing: text, path: "c")
            Issue.record("no error for \(text)")
        } catch {
            #expect(error.description.hasPrefix(position), "\(error)")
            #expect(error.description.contains(reason), "\(error)")
        }
    }
}

@Suite struct RegistryURLTests {
    @Test func originsDecideWhereAuthorizationGoes() throws {
        let base = try #require(RegistryURL("https://127.0.0.1:5000/v2/x/blobs/sha256:ab"))
        #expect(base.sameOrigin(try #require(RegistryURL("https://127.0.0.1:5000/other"))))
        #expect(!base.sameOrigin(try #require(RegistryURL("https://127.0.0.1:5001/v2/"))))   // another port
        #expect(!base.sameOrigin(try #require(RegistryURL("http://127.0.0.1:5000/v2/"))))    // another scheme
        #expect(!base.sameOrigin(try #require(RegistryURL("https://localhost:5000/v2/"))))   // another host
        let hub = try #require(RegistryURL("https://registry-1.docker.io/v2/"))
        #expect(hub.sameOrigin(try #require(RegistryURL("https://REGISTRY-1.docker.io:443/x"))))
    }

    @Test func redirectsResolve() throws {
        let u = try #require(RegistryURL("https://r.example:5000/v2/a/blobs/sha256:1?x=1"))
        #expect(u.resolving("https://cdn.example/b?sig=2")?.description == "https://cdn.example/b?sig=2")
        #expect(u.resolving("//cdn.example/c")?.description == "https://cdn.example/c")
        #expect(u.resolving("/v2/other")?.description == "https://r.example:5000/v2/other")
        #expect(u.resolving("sibling")?.description == "https://r.example:5000/v2/a/blobs/sibling")
        #expect(u.resolving("ftp://x/y") == nil)
        #expect(RegistryURL("https://[::1]:5000/v2/")?.authority == "[::1]:5000")
        #expect(RegistryURL("https://user:pw@host/") == nil)
        #expect(RegistryURL("https://cdn/x?sig=secret")?.withoutQuery == "https://cdn/x")
    }

    @Test func registryErrorsAndTokens() throws {
        let body = Array(#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"v9"}}]}"#.utf8)
        #expect(RegistryErrorBody.messages(body) == ["MANIFEST_UNKNOWN: manifest unknown"])
        #expect(RegistryErrorBody.messages(Array("<html>".utf8)) == nil)
        #expect(try BearerToken(parsing: Array(#"{"token":"t1","expires_in":300}"#.utf8), what: "w") == BearerToken(token: "t1", expiresIn: 300))
        #expect(try BearerToken(parsing: Array(#"{"access_token":"t2"}"#.utf8), what: "w").token == "t2")
        #expect(throws: ImageSpecError.self) { try BearerToken(parsing: Array(#"{"token":""}"#.utf8), what: "w") }
        #expect(percentEncodeQueryValue("repository:a/b:pull") == "repository%3Aa%2Fb%3Apull")
    }
}
