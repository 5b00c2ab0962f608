import SwiftProtobuf

// grpc.health.v1's two messages (grpc/grpc-proto `grpc/health/v1/health.proto`), written by
// hand against swift-protobuf's Message protocol rather than generated: two fields do not
// earn protoc and its plugins a place in the build or in a regeneration step. Only the binary
// wire format is used (no text or JSON names). The proto:
//
//     message HealthCheckRequest { string service = 1; }
//     message HealthCheckResponse {
//       enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
//       ServingStatus status = 1;
//     }

struct HealthCheckRequest: SwiftProtobuf.Message, SwiftProtobuf._MessageImplementationBase {
    static let protoMessageName = "grpc.health.v1.HealthCheckRequest"
    var service = ""
    var unknownFields = SwiftProtobuf.UnknownStorage()

    init() {}
    init(service: String) { self.service = service }

    mutating func decodeMessage<D: SwiftProtobuf.Decoder>(decoder: inout D) throws {
        while let field = try decoder.nextFieldNumber() {
            if field == 1 { try decoder.decodeSingularStringField(value: &service) }
        }
    }

    func traverse<V: SwiftProtobuf.Visitor>(visitor: inout V) throws {
        if !service.isEmpty { try visitor.visitSingularStringField(value: service, fieldNumber: 1) }
        try unknownFields.traverse(visitor: &visitor)
    }
}

struct HealthCheckResponse: SwiftProtobuf.Message, SwiftProtobuf._MessageImplementationBase {
    static let protoMessageName = "grpc.health.v1.HealthCheckResponse"
    /// The ServingStatus enum's number: proto3 enums are open, and an enum is a varint on the
    /// wire like an int32, so a value this code does not name still reads.
    var status: Int32 = 0
    var unknownFields = SwiftProtobuf.UnknownStorage()

    init() {}
    init(status: Int32) { self.status = status }

    mutating func decodeMessage<D: SwiftProtobuf.Decoder>(decoder: inout D) throws {
        while let field = try decoder.nextFieldNumber() {
            if field == 1 { try decoder.decodeSingularInt32Field(value: &status) }
        }
    }

    func traverse<V: SwiftProtobuf.Visitor>(visitor: inout V) throws {
        if status != 0 { try visitor.visitSingularInt32Field(value: status, fieldNumber: 1) }
        try unknownFields.traverse(visitor: &visitor)
    }
}
