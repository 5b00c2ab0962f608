import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PodModel

/// One HTTPS GET as kubelet's HTTP prober makes it (`pkg/probe/http/http.go`): TLS without
/// verifying the certificate (`InsecureSkipVerify: true`), kubelet's headers and the probe's,
/// no keep-alive; a status from 200 to 399 is success. Redirects are followed while they stay
/// on the same host (by name, any port or scheme), at most 10; one to another host is not
/// followed and is a success with kubelet's warning. The probe's timeout bounds it all.
///
/// swift-nio's HTTP/1 codec over swift-nio-ssl, not async-http-client: that client imports
/// FoundationEssentials and brings a dozen modules (tracing, compression, SOCKS, HTTP/2)
/// that one GET does not use, into a helper that is started for every probe run.
enum HTTPSGet {
    static let maxBody = 10 << 10

    static func run(_ get: HTTPGet, timeoutSeconds: Int32) -> ProbeOutcome {
        let deadline = Dial.now() + Int64(timeoutSeconds) * 1_000_000_000
        var url = KubeletWords.url(get.host, get.port, get.path)
        // Go's net/http reports a refused connection at once, in its own words.
        switch Dial.connect(host: get.host, port: get.port, deadline: deadline, retryRefused: false) {
        case .connected: break
        case .timedOut: return .failure(KubeletWords.httpTimeout(url: url))
        case .failed(let reason):
            return .failure(KubeletWords.httpGetError(url: url, KubeletWords.dialError(address: KubeletWords.hostPort(get.host, get.port), reason)))
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let context: NIOSSLContext
        do { context = try NIOSSLContext(configuration: tls) } catch {
            return .failure(KubeletWords.httpGetError(url: url, "tls: \(error)"))
        }
        var redirects = 0
        while true {
            guard let target = Redirect.parts(of: url) else { return .failure(KubeletWords.httpGetError(url: url, "unsupported URL")) }
            let response: HTTPOneGet.Response
            switch HTTPOneGet.get(target, headers: get.headers, tls: target.https ? context : nil, deadline: deadline, maxBody: maxBody) {
            case .success(let r): response = r
            case .failure(.deadline): return .failure(KubeletWords.httpTimeout(url: url))
            case .failure(.connection(let error)): return .failure(KubeletWords.httpGetError(url: url, describe(error, target)))
            }
            let code = Int(response.head.status.code)
            if (300...399).contains(code), let location = response.head.headers.first(name: "Location"),
               let next = Redirect.resolve(location, against: url), Redirect.host(of: next) == Redirect.host(of: url) {
                redirects += 1
                if redirects > 10 { return .failure(KubeletWords.httpTooManyRedirects(url: url)) }
                url = next
                continue
            }
            let text = String(decoding: response.body, as: UTF8.self)
            if (200...299).contains(code) { return .success(nil) }
            if (300...399).contains(code) { return .success(KubeletWords.httpRedirectWarning(body: text)) }
            return .failure(KubeletWords.httpStatusFailure(code))
        }
    }

    /// An error in words close to Go's.
    static func describe(_ error: any Error, _ target: Redirect.Parts) -> String {
        if let e = error as? NIOSSLError { return "tls: \(e)" }
        if let e = error as? BoringSSLError { return "tls: \(e)" }
        if let e = error as? IOError { return KubeletWords.dialError(address: KubeletWords.hostPort(target.host, target.port), Dial.errorText(e.errnoCode)) }
        if let e = error as? NIOConnectionError, let first = e.connectionErrors.first?.error as? IOError {
            return KubeletWords.dialError(address: KubeletWords.hostPort(target.host, target.port), Dial.errorText(first.errnoCode))
        }
        if error is HTTPOneGet.ClosedEarly { return "EOF" }
        return "\(error)"
    }
}

/// One HTTP/1.1 GET on its own connection (`Connection: close`), over TLS when given a
/// context: the response's head and at most `maxBody` bytes of its body.
enum HTTPOneGet {
    struct Response: Sendable {
        var head: HTTPResponseHead
        var body: [UInt8]
    }

    /// The server closed the connection before a whole response head.
    struct ClosedEarly: Error {}

    static func get(_ target: Redirect.Parts, headers: [HTTPHeaderField], tls: NIOSSLContext?,
                    deadline: Int64, maxBody: Int) -> Result<Response, CallFailure> {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let done = loop.makePromise(of: Response.self)
        let authority = KubeletWords.hostPort(target.host, target.port)
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.path)
        // kubelet's, with Go's Host: the URL's (this hop's), unless the probe gives one.
        for h in HTTPGet.requestHeaders(headers, authority: authority) { head.headers.add(name: h.name, value: h.value) }
        let request = head
        // Go sends SNI only for a name, never for an IP address (nor does BoringSSL accept one).
        let sni: String? = target.host.contains(":") || target.host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : target.host

        let connected = ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(max(deadline - Dial.now(), 1)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: sni)) }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler(done: done, maxBody: maxBody))
                }
            }
            .connect(host: target.host, port: Int(target.port))
        connected.whenFailure { done.fail(CallFailure.connection($0)) }
        connected.whenSuccess { channel in
            channel.write(HTTPClientRequestPart.head(request), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        // The connection is not closed: a redirect opens a new one, and the process ends soon.
        return done.wait(until: deadline)
    }

    final class ResponseHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        let done: EventLoopPromise<Response>
        let maxBody: Int
        var head: HTTPResponseHead?
        var body: [UInt8] = []

        init(done: EventLoopPromise<Response>, maxBody: Int) {
            self.done = done
            self.maxBody = maxBody
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h):
                head = h
            case .body(let chunk):
                body += chunk.readableBytesView.prefix(max(maxBody - body.count, 0))
                // Enough of the body (kubelet reads at most 10 KiB of it).
                if body.count >= maxBody, let head { done.succeed(Response(head: head, body: body)) }
            case .end:
                if let head { done.succeed(Response(head: head, body: body)) }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A TLS close without close_notify after the whole head is the server's way of
            // ending a read-until-close body, as Go takes it.
            if let head, let e = error as? NIOSSLError, case .uncleanShutdown = e {
                done.succeed(Response(head: head, body: body))
            } else {
                done.fail(CallFailure.connection(error))
            }
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            if let head { done.succeed(Response(head: head, body: body)) } else { done.fail(CallFailure.connection(ClosedEarly())) }
        }
    }
}

/// Go's redirect checks, on URL strings: the next URL (a Location resolved against the
/// current one) and the host name it goes to.
enum Redirect {
    /// A URL's scheme and what follows its `://` (no Foundation here for `range(of:)`).
    static func split(_ url: String) -> (scheme: String, rest: Substring)? {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else { return nil }
        return (String(url[..<colon]), url[url.index(colon, offsetBy: 3)...])
    }

    /// `scheme://authority/path`: absolute, scheme-relative (`//h/p`), absolute-path or
    /// relative-path Locations.
    static func resolve(_ location: String, against base: String) -> String? {
        guard let (scheme, rest) = split(base) else { return nil }
        let authority = String(rest.prefix { $0 != "/" })
        let path = String(rest.dropFirst(authority.count))
        if location.hasPrefix("http://") || location.hasPrefix("https://") { return location }
        if location.hasPrefix("//") { return scheme + ":" + location }
        if location.hasPrefix("/") { return scheme + "://" + authority + location }
        let dir = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "/"
        let parent = dir.hasSuffix("/") ? dir : String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)]) + "/"
        return scheme + "://" + authority + parent + location
    }

    /// What a GET needs of an `http` or `https` URL: the scheme, the host (no brackets), the
    /// port (the scheme's default when none is given) and the path with its query (`/` if
    /// empty); nil for another scheme or a port that is not one.
    struct Parts: Equatable {
        var https: Bool
        var host: String
        var port: UInt16
        var path: String
    }

    static func parts(of url: String) -> Parts? {
        guard let (name, rest) = split(url) else { return nil }
        let scheme = name.lowercased()
        guard scheme == "https" || scheme == "http", let host = host(of: url) else { return nil }
        var authority = String(rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" })
        var path = String(rest.dropFirst(authority.count).prefix { $0 != "#" })
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        if let at = authority.lastIndex(of: "@") { authority = String(authority[authority.index(after: at)...]) }
        // The port: after the last colon, unless that colon is inside an IPv6 address's brackets.
        var port: UInt16 = scheme == "https" ? 443 : 80
        if let colon = authority.lastIndex(of: ":"), !authority[colon...].contains("]") {
            let digits = authority[authority.index(after: colon)...]
            if !digits.isEmpty {
                guard let p = UInt16(digits), p > 0 else { return nil }
                port = p
            }
        }
        return Parts(https: scheme == "https", host: host, port: port, path: path)
    }

    /// The host name without port or brackets (Go's `URL.Hostname()`), lowercased.
    static func host(of url: String) -> String? {
        guard let (_, rest) = split(url) else { return nil }
        var authority = String(rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" })
        if let at = authority.lastIndex(of: "@") { authority = String(authority[authority.index(after: at)...]) }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close]).lowercased()
        }
        return String(authority.prefix { $0 != ":" }).lowercased()
    }
}
