import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix

/// One gRPC unary call over plaintext HTTP/2 (prior knowledge, no TLS), as grpc-go makes it
/// for kubelet's prober: swift-nio-http2 speaks HTTP/2; this adds only gRPC's part, which is
/// small for one unary call (the request headers, the 5-byte length prefix of a message,
/// and the status in the trailers, per grpc/grpc `doc/PROTOCOL-HTTP2.md`).
///
/// Why not grpc-swift: its NIO transport's client (GRPCNIOTransportHTTP2Posix) links
/// swift-certificates, swift-crypto and swift-asn1 even for plaintext, and they, with
/// swift-protobuf, import all of Foundation with ICU; the static debug helper was 211 MB and
/// one probe run took 2.3-4.0 s in the emulated cgroup v2 VM, over many probes' timeouts. The
/// transport's own connection pieces are `package`-internal, so a plaintext-only transport
/// cannot be assembled from them outside that package.
enum GRPCUnaryCall {
    /// What the server answered: its status (code and message) and the response message's
    /// bytes (without the prefix) when the status is OK.
    struct Reply: Equatable, Sendable {
        var code: Int
        var message: String
        var response: [UInt8]?
    }

    /// Calls `path` on `host:port` with one request message; waits until `deadline`
    /// (monotonic nanoseconds, `Dial.now`).
    static func call(host: String, port: UInt16, authority: String, path: String, request: [UInt8],
                     userAgent: String, deadline: Int64) -> Result<Reply, CallFailure> {
        let group = MultiThreadedEventLoopGroup.singleton
        let loop = group.next()
        let done = loop.makePromise(of: Reply.self)
        let multiplexer = loop.makePromise(of: NIOHTTP2Handler.StreamMultiplexer.self)
        var h = HPACKHeaders()
        h.add(name: ":method", value: "POST")
        h.add(name: ":scheme", value: "http")
        h.add(name: ":path", value: path)
        h.add(name: ":authority", value: authority)
        h.add(name: "content-type", value: "application/grpc")
        h.add(name: "te", value: "trailers")
        h.add(name: "user-agent", value: userAgent)
        // grpc-go sends the context's deadline; milliseconds, at most 8 digits.
        h.add(name: "grpc-timeout", value: "\(min(max((deadline - Dial.now()) / 1_000_000, 1), 99_999_999))m")
        let headers = h
        // The message: not compressed (0), its length (big-endian UInt32), its bytes.
        let n = UInt32(request.count)
        let framed = [0, UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + request

        let connected = ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(max(deadline - Dial.now(), 1)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The server opens no streams of its own here.
                    multiplexer.succeed(try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client, connectionConfiguration: .init(), streamConfiguration: .init(),
                        inboundStreamInitializer: { $0.close() }))
                }
            }
            .connect(host: host, port: Int(port))
        connected.whenFailure {
            multiplexer.fail($0)
            done.fail(CallFailure.connection($0))
        }
        connected.whenSuccess { _ in
            multiplexer.futureResult
                .flatMap { mux in
                    mux.createStreamChannel { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(ReplyHandler(done: done))
                        }
                    }
                }
                .whenComplete { result in
                    switch result {
                    case .success(let stream):
                        stream.write(HTTP2Frame.FramePayload.headers(.init(headers: headers)), promise: nil)
                        var buffer = stream.allocator.buffer(capacity: framed.count)
                        buffer.writeBytes(framed)
                        stream.writeAndFlush(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(buffer), endStream: true)), promise: nil)
                    case .failure(let error):
                        done.fail(CallFailure.connection(error))
                    }
                }
        }
        return done.wait(until: deadline)
    }

    /// Collects the response on the call's stream: headers, data, trailers (or headers only,
    /// gRPC's "Trailers-Only"), and turns them into a status as grpc-go's client does.
    final class ReplyHandler: ChannelInboundHandler {
        typealias InboundIn = HTTP2Frame.FramePayload
        let done: EventLoopPromise<Reply>
        var head: HPACKHeaders?
        var body: [UInt8] = []

        init(done: EventLoopPromise<Reply>) { self.done = done }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .headers(let h):
                if head == nil {
                    head = h.headers
                    if h.endStream { done.succeed(GRPCUnaryCall.reply(head: h.headers, trailers: h.headers, body: body)) }
                } else {
                    done.succeed(GRPCUnaryCall.reply(head: head!, trailers: h.headers, body: body))
                }
            case .data(let d):
                if case .byteBuffer(let buffer) = d.data, body.count < 1 << 20 { body += buffer.readableBytesView }
                if d.endStream, let head { done.succeed(GRPCUnaryCall.reply(head: head, trailers: [:], body: body)) }
            case .rstStream(let code):
                // grpc-go's mapping of a reset stream (http2ErrConvTab).
                done.succeed(Reply(code: code == .refusedStream ? 14 : (code == .cancel ? 1 : 13),
                                   message: "stream terminated by RST_STREAM with error code: \(code)", response: nil))
            default:
                break
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            done.fail(CallFailure.connection(error))
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            // A promise already completed ignores this.
            done.succeed(Reply(code: 14, message: "error reading from server: EOF", response: nil))
        }
    }

    /// The status of a finished response, with grpc-go's words where it makes one up.
    static func reply(head: HPACKHeaders, trailers: HPACKHeaders, body: [UInt8]) -> Reply {
        let httpStatus = head.first(name: ":status") ?? ""
        guard httpStatus == "200" else {
            // grpc-go's httpStatusConvTab: the HTTP status, when no gRPC status came.
            let code: Int = switch httpStatus {
            case "400": 13
            case "401": 16
            case "403": 7
            case "404": 12
            case "429", "502", "503", "504": 14
            default: 2
            }
            return Reply(code: code, message: "unexpected HTTP status code received from server: \(httpStatus)", response: nil)
        }
        guard let raw = trailers.first(name: "grpc-status") ?? head.first(name: "grpc-status"), let code = Int(raw) else {
            return Reply(code: 13, message: "server closed the stream without sending trailers", response: nil)
        }
        let message = percentDecoded(trailers.first(name: "grpc-message") ?? head.first(name: "grpc-message") ?? "")
        guard code == 0 else { return Reply(code: code, message: message, response: nil) }
        // One message: a 0 flag (not compressed: nothing was offered) and its length.
        guard body.count >= 5, body[0] == 0 else {
            return Reply(code: 13, message: body.isEmpty ? "cardinality violation: received no response message from non-server-streaming RPC"
                                                          : "grpc: compressed message received, but no compressor was offered", response: nil)
        }
        let length = Int(body[1]) << 24 | Int(body[2]) << 16 | Int(body[3]) << 8 | Int(body[4])
        guard body.count == 5 + length else {
            return Reply(code: 13, message: "grpc: response message framing is not one message", response: nil)
        }
        return Reply(code: 0, message: message, response: Array(body[5...]))
    }

    /// grpc-message is percent-encoded (PROTOCOL-HTTP2.md); an invalid escape stays as it is.
    static func percentDecoded(_ s: String) -> String {
        let b = Array(s.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "%"), i + 2 < b.count, let hi = hex(b[i + 1]), let lo = hex(b[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
