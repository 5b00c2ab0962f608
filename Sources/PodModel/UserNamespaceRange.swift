/// A range of host ids: a pod's user namespace maps its ids `0..<count` to the host's
/// `start..<start+count`, for uids and gids alike.
public struct IDRange: Sendable, Hashable, CustomStringConvertible {
    public var start: UInt32
    public var count: UInt32

    public init(start: UInt32, count: UInt32) {
        self.start = start
        self.count = count
    }

    /// One past the last id, in 64 bits (a range may end at 2^32).
    public var end: UInt64 { UInt64(start) + UInt64(count) }

    public func overlaps(_ other: IDRange) -> Bool {
        UInt64(start) < other.end && UInt64(other.start) < end
    }

    /// The host id of the namespace's `id`.
    public func hostID(_ id: UInt32) -> UInt32 { start &+ id }

    /// `START\tCOUNT`, as the plan and the record write it.
    public var recordValue: String { "\(start)\t\(count)" }

    /// The uid_map / gid_map line: `0 START COUNT`.
    public var description: String { "0 \(start) \(count)" }

    init(_ r: Record) throws(RecordError) {
        let f = try r.fields(2)
        guard let start = UInt32(f[0]), let count = UInt32(f[1]), count > 0, UInt64(start) + UInt64(count) <= 1 << 32 else {
            throw RecordError(line: r.line, reason: "\(r.key): a start and a count of host ids expected, found \(r.value)")
        }
        self.init(start: start, count: count)
    }
}

/// podrec's pool of host ids for pods' user namespaces (`--userns-range`,
/// `PODREC_USERNS_RANGE`): `START[:COUNT]`, each pod taking `perPod` (65536, as kubelet
/// gives each pod) ids aligned to a multiple of `perPod` from `start`. The default starts
/// at 2^31, far above the ids a host's users and system accounts get, and spans up to
/// 2^32 - 2^16 (32767 pods): id 4294967295 is `(uid_t)-1`, which no namespace may map.
public struct UserNamespaceRange: Sendable, Hashable, CustomStringConvertible {
    public static let perPod: UInt32 = 65536
    public static let defaultStart: UInt32 = 1 << 31
    public static let `default` = UserNamespaceRange(start: defaultStart, count: UInt32.max - defaultStart - perPod + 1)

    public var start: UInt32
    public var count: UInt32

    public init(start: UInt32, count: UInt32) {
        self.start = start
        self.count = count
    }

    /// `START[:COUNT]`: START a multiple of 65536 and at least 65536 (ids below are the
    /// host's own), COUNT (default: up to the highest usable id) at least 65536, and the
    /// whole range below 2^32 - 1.
    public init(parsing text: String) throws(UserNamespaceRangeError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let start = UInt32(parts[0]) else { throw .init(text, "expected START or START:COUNT, decimal host ids") }
        guard start >= Self.perPod, start % Self.perPod == 0 else { throw .init(text, "START must be a multiple of 65536, at least 65536") }
        let limit = UInt64(UInt32.max) - UInt64(Self.perPod) + 1  // the last usable range ends below (uid_t)-1
        let count: UInt64
        if parts.count == 2 {
            guard let c = UInt32(parts[1]) else { throw .init(text, "COUNT is not a decimal number") }
            count = UInt64(c)
        } else {
            guard UInt64(start) < limit else { throw .init(text, "no room for a pod's 65536 ids above START") }
            count = limit - UInt64(start)
        }
        guard count >= UInt64(Self.perPod) else { throw .init(text, "COUNT must be at least 65536, one pod's ids") }
        guard UInt64(start) + count <= limit else { throw .init(text, "the range must end at or below \(limit)") }
        self.init(start: start, count: UInt32(count))
    }

    /// How many pods the range holds.
    public var slots: UInt32 { count / Self.perPod }

    public var description: String { "\(start):\(count)" }

    /// The first `perPod` slot that overlaps none of `used`; nil when the range is full.
    public func allocate(avoiding used: [IDRange]) -> IDRange? {
        var i: UInt32 = 0
        while i < slots {
            let candidate = IDRange(start: start + i * Self.perPod, count: Self.perPod)
            if let clash = used.filter({ $0.overlaps(candidate) }).max(by: { $0.end < $1.end }) {
                // Skip past the range in the way (a recorded range need not be aligned).
                let next = (clash.end - UInt64(start) + UInt64(Self.perPod) - 1) / UInt64(Self.perPod)
                i = UInt32(clamping: max(next, UInt64(i) + 1))
                continue
            }
            return candidate
        }
        return nil
    }
}

public struct UserNamespaceRangeError: Error, Sendable, Hashable, CustomStringConvertible {
    public var text: String
    public var reason: String
    init(_ text: String, _ reason: String) {
        self.text = text
        self.reason = reason
    }
    public var description: String { "user namespace range \"\(text)\": \(reason)" }
}
