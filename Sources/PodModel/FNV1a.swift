/// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3): podrec's one
/// non-cryptographic hash, for the spec hash, shortened cgroup names, volume contents and
/// the watcher's keys. Its values are recorded on running hosts: they must never change.
/// It detects change; it is not a security boundary. Pure.
public enum FNV1a {
    @inlinable
    public static func hash64<S: Sequence>(_ bytes: S) -> UInt64 where S.Element == UInt8 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    /// `v` as 16 lowercase hex digits, zero-padded.
    public static func hex16(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
