import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOSSL

/// One HTTPS GET as kubelet's HTTP prober makes it (`pkg/probe/http/http.go`): TLS without
/// verifying the certificate (`InsecureSkipVerify: true`), kubelet's headers and the probe's,
/// no keep-alive; a status from 200 to 399 is success. Redirects are followed while they stay
/// on the same host (by name, any port or scheme), at most 10; one to another host is not
/// followed and is a success with kubelet's warning. The probe's timeout bounds it all.
enum HTTPSGet {
    static let maxBody = 10 << 10

    /// An outcome before the client exists is returned; one after goes to `finish`.
    static func run(_ get: HTTPGetFields, timeoutSeconds: Int32, finish: @escaping @Sendable (ProbeOutcome) -> Never) async -> ProbeOutcome {
        let deadline = Dial.now() + Int64(timeoutSeconds) * 1_000_000_000
        let url = KubeletWords.url(get.host, get.port, get.path)
        // Go's net/http reports a refused connection at once, in its own words.
        switch Dial.connect(host: get.host, port: get.port, deadline: deadline, retryRefused: false) {
        case .connected: break
        case .timedOut: return .failure(KubeletWords.httpTimeout(url: url))
        case .failed(let reason):
            return .failure(KubeletWords.httpGetError(url: url, KubeletWords.dialError(address: KubeletWords.hostPort(get.host, get.port), reason)))
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow)
        configuration.connectionPool = .init(idleTimeout: .seconds(1), concurrentHTTP1ConnectionsPerHostSoftLimit: 1)
        configuration.httpVersion = .http1Only
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        finish(await fetch(get, url: url, deadline: deadline, client: client))
    }

    static func fetch(_ get: HTTPGetFields, url: String, deadline: Int64, client: HTTPClient) async -> ProbeOutcome {
        var url = url
        var redirects = 0
        while true {
            let left = deadline - Dial.now()
            if left <= 0 { return .failure(KubeletWords.httpTimeout(url: url)) }
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            let names = Set(get.headers.map { $0.name.lowercased() })
            if !names.contains("user-agent") { request.headers.add(name: "User-Agent", value: "kube-probe/1.32") }
            if !names.contains("accept") { request.headers.add(name: "Accept", value: "*/*") }
            request.headers.add(name: "Connection", value: "close")
            for h in get.headers { request.headers.add(name: h.name, value: h.value) }
            let response: HTTPClientResponse
            var body: [UInt8] = []
            do {
                response = try await client.execute(request, timeout: .nanoseconds(left))
                for try await chunk in response.body {
                    body += chunk.readableBytesView.prefix(maxBody - body.count)
                    if body.count >= maxBody { break }
                }
            } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
                return .failure(KubeletWords.httpTimeout(url: url))
            } catch {
                return .failure(KubeletWords.httpGetError(url: url, describe(error)))
            }
            let code = Int(response.status.code)
            if (300...399).contains(code), let location = response.headers.first(name: "Location"),
               let next = Redirect.resolve(location, against: url), Redirect.host(of: next) == Redirect.host(of: url) {
                redirects += 1
                if redirects > 10 { return .failure(KubeletWords.httpTooManyRedirects(url: url)) }
                url = next
                continue
            }
            let text = String(decoding: body, as: UTF8.self)
            if (200...299).contains(code) { return .success(nil) }
            if (300...399).contains(code) { return .success(KubeletWords.httpRedirectWarning(body: text)) }
            return .failure(KubeletWords.httpStatusFailure(code))
        }
    }

    /// An error in words close to Go's.
    static func describe(_ error: any Error) -> String {
        if let e = error as? NIOSSLError { return "tls: \(e)" }
        if let e = error as? BoringSSLError { return "tls: \(e)" }
        if let e = error as? HTTPClientError, e == .remoteConnectionClosed { return "EOF" }
        return "\(error)"
    }
}

/// The probe's httpGet, as the helper needs it.
struct HTTPGetFields {
    var host: String
    var port: UInt16
    var path: String
    var headers: [(name: String, value: String)]
}

/// Go's redirect checks, on URL strings: the next URL (a Location resolved against the
/// current one) and the host name it goes to.
enum Redirect {
    /// `scheme://authority/path`: absolute, scheme-relative (`//h/p`), absolute-path or
    /// relative-path Locations.
    static func resolve(_ location: String, against base: String) -> String? {
        guard let schemeEnd = base.range(of: "://") else { return nil }
        let scheme = String(base[..<schemeEnd.lowerBound])
        let rest = base[schemeEnd.upperBound...]
        let authority = String(rest.prefix { $0 != "/" })
        let path = String(rest.dropFirst(authority.count))
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        if location.hasPrefix("//") { return scheme + ":" + location }
        if location.hasPrefix("/") { return scheme + "://" + authority + location }
        let dir = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "/"
        let parent = dir.hasSuffix("/") ? dir : String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)]) + "/"
        return scheme + "://" + authority + parent + location
    }

    /// The host name without port or brackets (Go's `URL.Hostname()`), lowercased.
    static func host(of url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        var authority = String(url[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" })
        if let at = authority.lastIndex(of: "@") { authority = String(authority[authority.index(after: at)...]) }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close]).lowercased()
        }
        return String(authority.prefix { $0 != ":" }).lowercased()
    }
}
