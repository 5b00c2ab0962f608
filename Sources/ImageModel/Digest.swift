/// A content digest, `sha256:<64 lowercase hex>`: the only algorithm the OCI image spec
/// requires and the only one registries serve. Other algorithms are refused by name rather
/// than stored unverified: every byte podrec keeps is checked against its digest.
public struct Digest: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 64 lowercase hex digits.
    public let hex: String

    public static let algorithm = "sha256"

    public init(parsing text: String) throws(ImageSpecError) {
        guard let colon = text.firstIndex(of: ":") else {
            throw .invalidDigest(text, reason: "expected ALGORITHM:HEX, e.g. sha256:<64 hex digits>")
        }
        let algorithm = text[..<colon]
        guard algorithm == Self.algorithm else {
            throw .invalidDigest(text, reason: "the algorithm \"\(algorithm)\" is not supported (sha256 only)")
        }
        self = try Digest(hex: String(text[text.index(after: colon)...]), shown: text)
    }

    /// From the 64 hex digits alone (a `blobs/sha256/<hex>` file name, a hash just computed).
    public init(hex: String) throws(ImageSpecError) {
        try self.init(hex: hex, shown: "sha256:" + hex)
    }

    private init(hex: String, shown: String) throws(ImageSpecError) {
        guard hex.utf8.count == 64 else {
            throw .invalidDigest(shown, reason: "a sha256 digest has 64 hex digits, this one \(hex.utf8.count)")
        }
        for u in hex.utf8 {
            switch u {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): continue
            default: throw .invalidDigest(shown, reason: "the hex digits must be 0-9 and a-f (lowercase)")
            }
        }
        self.hex = hex
    }

    /// From a raw 32-byte hash.
    public init(bytes: some Sequence<UInt8>) {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        precondition(out.count == 64, "a sha256 hash is 32 bytes")
        hex = String(decoding: out, as: UTF8.self)
    }

    public var description: String { "sha256:" + hex }
    /// The first 12 hex digits, as `podman images` shows an id.
    public var short: String { String(hex.prefix(12)) }

    public static func < (a: Digest, b: Digest) -> Bool { a.hex < b.hex }
}
