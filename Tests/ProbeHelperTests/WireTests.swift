import NIOHPACK
import Testing
@testable import ProbeHelper

/// What the helper writes and reads by hand on top of swift-nio: grpc.health.v1's two
/// messages in protobuf's wire format, a gRPC response's status as grpc-go's client makes it,
/// and the parts of a URL that one GET needs.
@Suite struct WireTests {
    /// The bytes grpcio (and Tests/Support/grpc_health_server.py) read and write.
    @Test func healthMessages() {
        #expect(HealthMessages.request(service: "") == [])
        #expect(HealthMessages.request(service: "db") == [0x0A, 2, UInt8(ascii: "d"), UInt8(ascii: "b")])
        let long = String(repeating: "s", count: 200)
        #expect(Array(HealthMessages.request(service: long).prefix(3)) == [0x0A, 0xC8, 0x01])
        #expect(HealthMessages.status(fromResponse: []) == 0, "proto3 leaves UNKNOWN (0) out")
        #expect(HealthMessages.status(fromResponse: [0x08, 1]) == 1)
        #expect(HealthMessages.status(fromResponse: [0x08, 2]) == 2)
        // Unknown fields are skipped: a varint, a string, a fixed32, then the status.
        #expect(HealthMessages.status(fromResponse: [0x10, 0x96, 0x01, 0x1A, 2, 0x41, 0x42, 0x25, 0, 0, 0, 0, 0x08, 3]) == 3)
        #expect(HealthMessages.status(fromResponse: [0x08]) == nil, "a truncated varint")
        #expect(HealthMessages.status(fromResponse: [0x1A, 5, 0x41]) == nil, "a string longer than the message")
    }

    static func headers(_ pairs: [(String, String)]) -> HPACKHeaders { HPACKHeaders(pairs) }

    @Test func grpcStatusAsGrpcGoSeesIt() {
        let ok = Self.headers([(":status", "200"), ("content-type", "application/grpc")])
        // OK with one message.
        var r = GRPCUnaryCall.reply(head: ok, trailers: Self.headers([("grpc-status", "0")]), body: [0, 0, 0, 0, 2, 0x08, 1])
        #expect(r == GRPCUnaryCall.Reply(code: 0, message: "", response: [0x08, 1]))
        // Trailers-only: the status in the one HEADERS frame; grpc-message percent-decoded.
        let only = Self.headers([(":status", "200"), ("grpc-status", "5"), ("grpc-message", "unknown%20service")])
        r = GRPCUnaryCall.reply(head: only, trailers: only, body: [])
        #expect(r.code == 5 && r.message == "unknown service")
        // Not gRPC at all: grpc-go's code for the HTTP status.
        r = GRPCUnaryCall.reply(head: Self.headers([(":status", "404")]), trailers: [:], body: [])
        #expect(r.code == 12)
        // No status, or OK without its message: Internal.
        #expect(GRPCUnaryCall.reply(head: ok, trailers: [:], body: []).code == 13)
        #expect(GRPCUnaryCall.reply(head: ok, trailers: Self.headers([("grpc-status", "0")]), body: []).code == 13)
        #expect(GRPCUnaryCall.reply(head: ok, trailers: Self.headers([("grpc-status", "0")]), body: [0, 0, 0, 0, 5, 0x08]).code == 13)
        #expect(GRPCUnaryCall.percentDecoded("a%2Fb%zz%") == "a/b%zz%")
    }

    @Test func urlParts() {
        #expect(Redirect.parts(of: "https://10.0.0.2:8443/a?b=1") == Redirect.Parts(https: true, host: "10.0.0.2", port: 8443, path: "/a?b=1"))
        #expect(Redirect.parts(of: "http://web") == Redirect.Parts(https: false, host: "web", port: 80, path: "/"))
        #expect(Redirect.parts(of: "https://[fd00::2]/x#frag") == Redirect.Parts(https: true, host: "fd00::2", port: 443, path: "/x"))
        #expect(Redirect.parts(of: "https://[fd00::2]:9/?q") == Redirect.Parts(https: true, host: "fd00::2", port: 9, path: "/?q"))
        #expect(Redirect.parts(of: "ftp://h/") == nil)
        #expect(Redirect.parts(of: "https://h:99999/") == nil)
    }
}
