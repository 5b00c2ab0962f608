import NIOCore
import NIOHTTP1
import NIOPosix

/// The watcher's HTTP endpoint (`--metrics-address`): `GET /metrics`, `/healthz` and
/// `/readyz`, HTTP/1.1 on one event-loop thread of its own, so that a scrape never waits
/// for a pass and a pass never waits for a scrape.
public final class MetricsServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let channel: any Channel

    /// The address it listens on (the port chosen when 0 was asked for).
    public var address: String {
        guard let a = channel.localAddress, let ip = a.ipAddress, let port = a.port else { return "?" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// Binds `host:port` and serves. Throws what the bind says (`EADDRINUSE`, ...).
    public init(host: String, port: Int, metrics: WatcherMetrics) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 64)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.pipeline.configureHTTPServerPipeline().flatMap {
                        channel.pipeline.addHandler(Handler(metrics: metrics))
                    }
                }
                .bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let metrics: WatcherMetrics
        var head: HTTPRequestHead?

        init(metrics: WatcherMetrics) { self.metrics = metrics }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let h): head = h
            case .body: break
            case .end:
                guard let head else { return }
                self.head = nil
                respond(context, head)
            }
        }

        func respond(_ context: ChannelHandlerContext, _ head: HTTPRequestHead) {
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            var status = HTTPResponseStatus.ok
            var type = "text/plain; charset=utf-8"
            var body: [UInt8]
            switch (head.method, path) {
            case (.GET, "/metrics"), (.HEAD, "/metrics"):
                type = "text/plain; version=0.0.4; charset=utf-8"
                body = metrics.scrape()
            case (.GET, "/healthz"), (.HEAD, "/healthz"):
                let ok = metrics.healthy
                status = ok ? .ok : .serviceUnavailable
                body = Array((ok ? "ok\n" : "the watcher's loop has not gone round lately\n").utf8)
            case (.GET, "/readyz"), (.HEAD, "/readyz"):
                let ok = metrics.ready
                status = ok ? .ok : .serviceUnavailable
                body = Array((ok ? "ok\n" : "the first full pass is not done yet\n").utf8)
            case (_, "/metrics"), (_, "/healthz"), (_, "/readyz"):
                status = .methodNotAllowed
                body = Array("GET or HEAD\n".utf8)
            default:
                status = .notFound
                body = Array("not found: /metrics, /healthz and /readyz are served\n".utf8)
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: String(body.count))
            let keepAlive = head.isKeepAlive
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            if head.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            }
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive { done.whenComplete { [context] _ in context.close(promise: nil) } }
        }
    }
}
