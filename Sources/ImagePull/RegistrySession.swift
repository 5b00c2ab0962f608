import AsyncHTTPClient
import ImageModel
import Kernel
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// One registry endpoint (a registry or a mirror) for one pull: how to reach it (HTTPS, or
/// plain HTTP where allowed), its TLS trust, and the `Authorization` it asked for. Redirects
/// are followed here, not by AsyncHTTPClient, so that `Authorization` goes only to the
/// registry's own origin (scheme, host and port): a blob redirected to a storage host must
/// not carry the user's password or token there.
final class RegistrySession: Sendable {
    let endpoint: RegistryEndpoint
    let http: HTTPClient
    let tls: TLSConfiguration
    /// The credentials for this host and where they came from (`--creds`, a pull secret, a
    /// file): the source is named when a registry refuses them, the values never.
    let credentials: (RegistryCredentials, source: String)?
    /// For the hint on an untrusted certificate.
    let certDirectory: String
    private let state = Mutex<State>(State())

    struct State {
        var base: RegistryURL?
        var authorization: String?
    }

    static let maxRedirects = 10
    static let maxErrorBody = 64 << 10

    init(endpoint: RegistryEndpoint, http: HTTPClient, certDirectory: String, credentials: (RegistryCredentials, source: String)?) throws(PullError) {
        self.endpoint = endpoint
        self.http = http
        self.credentials = credentials
        self.certDirectory = certDirectory
        var tls = TLSConfiguration.makeClientConfiguration()
        if endpoint.insecure { tls.certificateVerification = .none }
        // containers-certs.d(5), Docker's certs.d: <dir>/<host[:port]>/*.crt are CAs.
        let dir = certDirectory + "/" + endpoint.host
        if let names = try? Sys.listDirectory(dir) {
            for name in names.sorted() where name.hasSuffix(".crt") {
                do {
                    tls.additionalTrustRoots.append(.certificates(try NIOSSLCertificate.fromPEMFile(dir + "/" + name)))
                } catch {
                    throw PullError(.configuration, "\(dir)/\(name): not a PEM certificate: \(error)")
                }
            }
        }
        self.tls = tls
    }

    var repositoryPath: String { "/v2/" + endpoint.repository }

    // MARK: Requests

    /// GET `path` (below the registry's base URL): authenticates on a 401 and tries once
    /// more. The response is the final one, after redirects; the caller reads its body.
    func get(_ path: String, accept: [String] = []) async throws(PullError) -> (HTTPClientResponse, RegistryURL) {
        let base = try await baseURL()
        let url = RegistryURL(scheme: base.scheme, host: base.host, port: base.port, pathAndQuery: path)
        var (response, final) = try await follow(url, accept: accept, base: base)
        if response.status == .unauthorized {
            let challenges = Self.challenges(response)
            _ = try? await response.body.collect(upTo: Self.maxErrorBody)
            try await authenticate(challenges, after: url)
            (response, final) = try await follow(url, accept: accept, base: base)
        }
        return (response, final)
    }

    /// One GET and its redirects, up to ten. `Authorization` goes only to `base`'s origin;
    /// a redirect from https to http is refused.
    private func follow(_ start: RegistryURL, accept: [String], base: RegistryURL) async throws(PullError) -> (HTTPClientResponse, RegistryURL) {
        var url = start
        for _ in 0...Self.maxRedirects {
            var request = HTTPClientRequest(url: url.description)
            request.method = .GET
            if !accept.isEmpty { request.headers.add(name: "Accept", value: accept.joined(separator: ", ")) }
            if url.sameOrigin(base), let authorization = state.withLock({ $0.authorization }) {
                request.headers.add(name: "Authorization", value: authorization)
            }
            if url.scheme == "https" { request.tlsConfiguration = tls }
            let response = try await execute(request, url: url)
            guard [301, 302, 303, 307, 308].contains(response.status.code) else { return (response, url) }
            _ = try? await response.body.collect(upTo: Self.maxErrorBody)
            guard let location = response.headers.first(name: "Location"), let next = url.resolving(location) else {
                throw PullError(.registry, "GET \(url.withoutQuery): \(response.status.code) without a usable Location")
            }
            if url.scheme == "https" && next.scheme == "http" {
                throw PullError(.registry, "GET \(url.withoutQuery): redirected from https to plain http (\(next.withoutQuery)); refused")
            }
            url = next
        }
        throw PullError(.registry, "GET \(start.withoutQuery): more than \(Self.maxRedirects) redirects")
    }

    /// Sends one request; a transport failure becomes a `.network` or `.tls` error naming
    /// the URL.
    func execute(_ request: HTTPClientRequest, url: RegistryURL, deadline: TimeAmount = .hours(2)) async throws(PullError) -> HTTPClientResponse {
        do {
            return try await http.execute(request, timeout: deadline)
        } catch {
            throw Self.transportError(error, url: url, certDirectory: certDirectory)
        }
    }

    static func transportError(_ error: any Error, url: RegistryURL, certDirectory: String) -> PullError {
        let text = String(describing: error)
        if error is NIOSSLError || error is BoringSSLError || text.contains("SSL") || text.contains("handshake") {
            var message = "GET \(url.withoutQuery): TLS handshake failed: \(text)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate") {
                message += " (the registry's certificate is not trusted: put its CA in \(certDirectory)/\(url.authority)/ca.crt)"
            }
            return PullError(.tls, message)
        }
        if error is CancellationError || (error as? HTTPClientError) == .cancelled {
            return PullError(.network, "GET \(url.withoutQuery): cancelled")
        }
        return PullError(.network, "GET \(url.withoutQuery): \(text)")
    }

    // MARK: The base URL

    /// `https://host/`, or `http://host/` for a loopback or insecure registry that does not
    /// speak TLS: decided once per session by GET /v2/ (the distribution spec's version
    /// check), as Docker does. A TLS failure on a registry that does speak TLS (an unknown
    /// CA) is reported, not turned into plain HTTP: the fallback is taken only when the
    /// plain-HTTP answer is a registry's (200 or 401 to /v2/).
    func baseURL() async throws(PullError) -> RegistryURL {
        if let base = state.withLock({ $0.base }) { return base }
        let (name, port) = RegistryEndpoint.splitHost(endpoint.apiHost)
        let host = name.contains(":") ? "[" + name + "]" : name
        let https = RegistryURL(scheme: "https", host: host, port: port, pathAndQuery: "/v2/")
        var request = HTTPClientRequest(url: https.description)
        request.tlsConfiguration = tls
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(30))
        } catch {
            let httpsError = Self.transportError(error, url: https, certDirectory: certDirectory)
            // A refused certificate means the registry speaks TLS: report it, never retry in
            // plain HTTP (an insecure endpoint does not verify, so never gets here with one).
            guard endpoint.allowsPlainHTTP, !Self.isVerificationFailure(error) else { throw httpsError }
            let plain = RegistryURL(scheme: "http", host: host, port: port, pathAndQuery: "/v2/")
            if let answer = try? await http.execute(HTTPClientRequest(url: plain.description), timeout: .seconds(30)),
               answer.status == .ok || answer.status == .unauthorized {
                let challenges = Self.challenges(answer)
                _ = try? await answer.body.collect(upTo: Self.maxErrorBody)
                let base = RegistryURL(scheme: "http", host: host, port: port)
                state.withLock { $0.base = base }
                if answer.status == .unauthorized { try await authenticate(challenges, after: plain) }
                return base
            }
            throw httpsError
        }
        let challenges = Self.challenges(response)
        let bodyBytes = try? await response.body.collect(upTo: Self.maxErrorBody)
        guard response.status == .ok || response.status == .unauthorized else {
            throw Self.statusError(response.status, url: https, body: bodyBytes.map { Array($0.readableBytesView) } ?? [])
        }
        let base = RegistryURL(scheme: "https", host: host, port: port)
        state.withLock { $0.base = base }
        if response.status == .unauthorized { try await authenticate(challenges, after: https) }
        return base
    }

    /// The certificate itself was refused (as opposed to a server that does not speak TLS).
    static func isVerificationFailure(_ error: any Error) -> Bool {
        let text = String(describing: error)
        return text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed") || text.contains("unableToValidateCertificate")
    }

    // MARK: Auth

    static func challenges(_ response: HTTPClientResponse) -> [AuthChallenge] {
        response.headers["WWW-Authenticate"].flatMap { (try? AuthChallenge.parse($0)) ?? [] }
    }

    /// Answers a 401: a Bearer challenge gets a token from its realm (with our credentials,
    /// when we have some) for `repository:<name>:pull`; a Basic one gets our credentials.
    private func authenticate(_ challenges: [AuthChallenge], after url: RegistryURL) async throws(PullError) {
        if let bearer = challenges.first(where: { $0.scheme == "bearer" }) {
            let token = try await fetchToken(bearer)
            state.withLock { $0.authorization = "Bearer " + token.token }
        } else if challenges.contains(where: { $0.scheme == "basic" }) {
            guard let credentials = credentials?.0 else {
                throw PullError(.unauthorized, "GET \(url.withoutQuery): the registry asks for a user name and password, and none is configured for \(endpoint.host) (--creds, a pull secret, --authfile, $REGISTRY_AUTH_FILE, /etc/podrec/auth.json, $DOCKER_CONFIG/config.json)")
            }
            state.withLock { $0.authorization = credentials.basicAuthorization }
        } else {
            let offered = challenges.map(\.scheme).joined(separator: ", ")
            throw PullError(.unauthorized, "GET \(url.withoutQuery): 401 with no Bearer or Basic challenge (offered: \(offered.isEmpty ? "none" : offered))")
        }
    }

    /// distribution docs/spec/auth/token.md: GET realm?service=…&scope=repository:NAME:pull.
    private func fetchToken(_ challenge: AuthChallenge) async throws(PullError) -> BearerToken {
        guard let realmText = challenge.realm, let realm = RegistryURL(realmText) else {
            throw PullError(.registry, "\(endpoint.host): a Bearer challenge without a usable realm (\(challenge.realm ?? "none"))")
        }
        // Credentials go to the realm (that is the protocol), but never in the clear off
        // this machine.
        let realmEndpoint = RegistryEndpoint(host: realm.authority, repository: "")
        if realm.scheme == "http" && !realmEndpoint.isLoopback && !endpoint.insecure {
            throw PullError(.configuration, "\(endpoint.host): its token realm \(realm.withoutQuery) is plain http; refused (list the registry with --insecure-registry to allow it)")
        }
        var query: [String] = []
        if let service = challenge.parameters["service"] { query.append("service=" + percentEncodeQueryValue(service)) }
        query.append("scope=" + percentEncodeQueryValue("repository:\(endpoint.repository):pull"))
        let separator = realm.pathAndQuery.contains("?") ? "&" : "?"
        let url = RegistryURL(scheme: realm.scheme, host: realm.host, port: realm.port, pathAndQuery: realm.pathAndQuery + separator + query.joined(separator: "&"))
        var request = HTTPClientRequest(url: url.description)
        if let credentials = credentials?.0 { request.headers.add(name: "Authorization", value: credentials.basicAuthorization) }
        if url.scheme == "https" { request.tlsConfiguration = tls }
        let response = try await execute(request, url: url, deadline: .seconds(60))
        let body: [UInt8]
        do { body = Array(try await response.body.collect(upTo: 1 << 20).readableBytesView) } catch {
            throw PullError(.registry, "GET \(url.withoutQuery): the token answer: \(error)")
        }
        guard response.status == .ok else {
            var e = Self.statusError(response.status, url: url, body: body)
            if let source = credentials?.source, e.kind == .unauthorized { e.message += " (the credentials for \(endpoint.host) from \(source) were refused)" }
            throw e
        }
        do { return try BearerToken(parsing: body, what: "the token from \(url.withoutQuery)") } catch { throw PullError(.registry, error.description) }
    }

    // MARK: Errors

    /// A status the caller did not want, with the registry's error text.
    static func statusError(_ status: HTTPResponseStatus, url: RegistryURL, body: [UInt8]) -> PullError {
        let kind: PullError.Kind
        switch status.code {
        case 401, 403: kind = .unauthorized
        case 404: kind = .notFound
        default: kind = .registry
        }
        var message = "GET \(url.withoutQuery): \(status.code) \(status.reasonPhrase)"
        if let messages = RegistryErrorBody.messages(body) {
            message += ": " + messages.joined(separator: "; ")
        } else if !body.isEmpty, body.count < 300, let text = String(validating: body, as: UTF8.self), !text.contains("<") {
            message += ": " + text.split(whereSeparator: \.isNewline).joined(separator: " ")
        }
        return PullError(kind, message)
    }

    /// `statusError` for a response whose body is still unread, adding which credentials
    /// were refused on a 401.
    func failure(_ response: HTTPClientResponse, url: RegistryURL) async -> PullError {
        let body = (try? await response.body.collect(upTo: Self.maxErrorBody)).map { Array($0.readableBytesView) } ?? []
        var e = Self.statusError(response.status, url: url, body: body)
        if response.status == .unauthorized || response.status == .forbidden {
            if let source = credentials?.source {
                e.message += " (the credentials for \(endpoint.host) from \(source) were refused)"
            } else {
                e.message += " (no credentials for \(endpoint.host): --creds, a pull secret, or an auth file)"
            }
        }
        return e
    }
}
