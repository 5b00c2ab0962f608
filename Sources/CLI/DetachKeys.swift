/// `attach -t`'s key sequence that ends the session and leaves the container running:
/// docker's and podman's `ctrl-p,ctrl-q` by default, in their `--detach-keys` notation
/// (kubectl attach has none: its ^C goes to the container under -t). Pure.
struct DetachKeys: Sendable, Hashable {
    static let standard = "ctrl-p,ctrl-q"

    let sequence: [UInt8]
    /// How much of the sequence the input has matched so far: held back, not sent, until
    /// the sequence completes (detach) or breaks (then sent after all).
    private(set) var matched = 0

    init(sequence: [UInt8]) { self.sequence = sequence }

    /// docker's notation: comma-separated keys, each a single character or `ctrl-X` with X
    /// one of a-z, @, [, \, ], ^, _ (the control codes 0 to 31).
    init(_ notation: String) throws(CLIError) {
        var bytes: [UInt8] = []
        for key in notation.split(separator: ",", omittingEmptySubsequences: false) {
            let k = key.lowercased()
            if k.hasPrefix("ctrl-"), k.count == 6, let c = k.utf8.last {
                switch c {
                case UInt8(ascii: "a")...UInt8(ascii: "z"): bytes.append(c - UInt8(ascii: "a") + 1)
                case UInt8(ascii: "@"): bytes.append(0)
                case UInt8(ascii: "["): bytes.append(27)
                case UInt8(ascii: "\\"): bytes.append(28)
                case UInt8(ascii: "]"): bytes.append(29)
                case UInt8(ascii: "^"): bytes.append(30)
                case UInt8(ascii: "_"): bytes.append(31)
                default: throw CLIError("invalid detach key \"\(key)\": ctrl- takes a-z, @, [, \\, ], ^ or _")
                }
            } else if key.utf8.count == 1, let c = key.utf8.first {
                bytes.append(c)
            } else {
                throw CLIError("invalid detach key \"\(key)\": a single character or ctrl-X")
            }
        }
        if bytes.isEmpty { throw CLIError("no detach keys given") }
        self.init(sequence: bytes)
    }

    /// The input with the sequence taken out: what to send, and whether the sequence was
    /// typed (what follows it in `input` is dropped: the session is over).
    mutating func scan(_ input: some Sequence<UInt8>) -> (send: [UInt8], detach: Bool) {
        var send: [UInt8] = []
        for byte in input {
            if byte == sequence[matched] {
                matched += 1
                if matched == sequence.count {
                    matched = 0
                    return (send, true)
                }
                continue
            }
            // The sequence broke: what was held back goes after all, and this byte may
            // begin it anew.
            send += sequence[..<matched]
            matched = 0
            if byte == sequence[0] {
                matched = 1
                if sequence.count == 1 { return (send, true) }
            } else {
                send.append(byte)
            }
        }
        return (send, false)
    }
}
