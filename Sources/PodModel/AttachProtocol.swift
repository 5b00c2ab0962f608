/// The attach socket's messages (`PodStateDirectory.File.attach`): between `podrec attach`
/// and the pod's supervisor, which holds each container's terminal master or stdin pipe.
/// The socket is seqpacket, so each message is one packet: a type byte, then its payload.
/// Pure, and shared by both sides: the one owner of the format.
///
/// A session: the client sends `hello`; the supervisor answers `accepted` or `refused` (and
/// closes). Then the client sends `input`, `resize` and `endOfInput`, and the supervisor
/// sends `output` (stdout, or the terminal's one stream) and `errorOutput` (stderr, without
/// a terminal) as the container writes them. The supervisor closes the session when the
/// container's run ends; the client detaches by closing it.
public enum AttachMessage: Sendable, Hashable {
    /// The client's first message: which container, and whether it sends input.
    case hello(container: String, stdin: Bool)
    case accepted
    case refused(String)
    /// Bytes for the container's stdin.
    case input([UInt8])
    /// The client's terminal size, for the container's terminal (TIOCSWINSZ).
    case resize(rows: UInt16, columns: UInt16)
    /// The client's input ended (its stdin reached EOF).
    case endOfInput
    case output([UInt8])
    case errorOutput([UInt8])

    /// The largest packet either side sends: a receiver's buffer of this size (the
    /// supervisor's read buffer) takes any message whole; a seqpacket read into a smaller
    /// one would cut it.
    public static let maxPacket = 16 << 10
    /// The largest payload of `output`, `errorOutput` and `input`: longer bytes go in
    /// several messages.
    public static let maxPayload = maxPacket - 1

    enum Tag: UInt8 {
        case hello = 0x68 // h
        case accepted = 0x6B // k
        case refused = 0x72 // r
        case input = 0x69 // i
        case resize = 0x77 // w
        case endOfInput = 0x65 // e
        case output = 0x6F // o
        case errorOutput = 0x32 // 2
    }

    public var encoded: [UInt8] {
        switch self {
        case .hello(let container, let stdin): return [Tag.hello.rawValue, stdin ? 1 : 0] + Array(container.utf8)
        case .accepted: return [Tag.accepted.rawValue]
        case .refused(let message): return [Tag.refused.rawValue] + Array(message.utf8)
        case .input(let bytes): return [Tag.input.rawValue] + bytes
        case .resize(let rows, let columns):
            return [Tag.resize.rawValue, UInt8(rows >> 8), UInt8(rows & 0xFF), UInt8(columns >> 8), UInt8(columns & 0xFF)]
        case .endOfInput: return [Tag.endOfInput.rawValue]
        case .output(let bytes): return [Tag.output.rawValue] + bytes
        case .errorOutput(let bytes): return [Tag.errorOutput.rawValue] + bytes
        }
    }

    /// One packet as received; nil for one that is empty, of an unknown type or malformed
    /// (the receiver ends the session: the peer speaks something else).
    public init?<Bytes: Collection>(_ packet: Bytes) where Bytes.Element == UInt8 {
        guard let first = packet.first, let tag = Tag(rawValue: first) else { return nil }
        let body = Array(packet.dropFirst())
        switch tag {
        case .hello:
            guard let flag = body.first, flag <= 1 else { return nil }
            self = .hello(container: String(decoding: body.dropFirst(), as: UTF8.self), stdin: flag == 1)
        case .accepted:
            guard body.isEmpty else { return nil }
            self = .accepted
        case .refused: self = .refused(String(decoding: body, as: UTF8.self))
        case .input: self = .input(body)
        case .resize:
            guard body.count == 4 else { return nil }
            self = .resize(rows: UInt16(body[0]) << 8 | UInt16(body[1]), columns: UInt16(body[2]) << 8 | UInt16(body[3]))
        case .endOfInput:
            guard body.isEmpty else { return nil }
            self = .endOfInput
        case .output: self = .output(body)
        case .errorOutput: self = .errorOutput(body)
        }
    }
}
