/// grpc.health.v1's two messages (grpc/grpc-proto `grpc/health/v1/health.proto`) in
/// protobuf's binary wire format, by hand: one string field out and one enum field back do
/// not earn swift-protobuf a place in the helper, and swift-protobuf imports all of
/// Foundation (with ICU), which made the static podrec-probe many times larger and its runs
/// seconds slow in the emulated VM (see GRPCUnaryCall). The proto:
///
///     message HealthCheckRequest { string service = 1; }
///     message HealthCheckResponse {
///       enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
///       ServingStatus status = 1;
///     }
enum HealthMessages {
    /// HealthCheckRequest: field 1 (wire type 2, length-delimited) unless empty, as proto3
    /// leaves a default value out.
    static func request(service: String) -> [UInt8] {
        let bytes = Array(service.utf8)
        if bytes.isEmpty { return [] }
        return [0x0A] + varint(UInt64(bytes.count)) + bytes
    }

    /// HealthCheckResponse's status: field 1 (a varint; an enum is an int32 on the wire and
    /// proto3 enums are open, so a value no name is given for still reads); 0 when absent.
    /// Other fields are skipped as protobuf parsers skip unknown fields. nil: not a message.
    static func status(fromResponse bytes: [UInt8]) -> Int32? {
        var i = 0
        var status: Int32 = 0
        while i < bytes.count {
            guard let key = readVarint(bytes, &i) else { return nil }
            switch (key >> 3, key & 7) {
            case (1, 0):
                guard let v = readVarint(bytes, &i) else { return nil }
                status = Int32(truncatingIfNeeded: v)
            case (_, 0):
                guard readVarint(bytes, &i) != nil else { return nil }
            case (_, 1):
                i += 8
            case (_, 2):
                guard let n = readVarint(bytes, &i), n <= UInt64(bytes.count - i) else { return nil }
                i += Int(n)
            case (_, 5):
                i += 4
            default:
                return nil
            }
            if i > bytes.count { return nil }
        }
        return status
    }

    static func varint(_ value: UInt64) -> [UInt8] {
        var v = value
        var out: [UInt8] = []
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
        return out
    }

    static func readVarint(_ bytes: [UInt8], _ i: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count, shift < 64 {
            let b = bytes[i]
            i += 1
            value |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}
