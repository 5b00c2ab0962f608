/// A reference or an image config that is not what it must be. Pure: the store's own
/// failures (a refused tar entry, a system call) are `Images.ImageError`.
public enum ImageSpecError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `NAME[:TAG]` does not follow the grammar; `reason` says which rule.
    case invalidReference(String, reason: String)
    /// A `--entrypoint`, `--cmd`, `--env` or `--workdir` value, or a stored config.json,
    /// that is not what it must be.
    case badConfig(String)

    public var description: String {
        switch self {
        case .invalidReference(let ref, let reason): return "invalid image reference \"\(ref)\": \(reason)"
        case .badConfig(let reason): return reason
        }
    }
}
