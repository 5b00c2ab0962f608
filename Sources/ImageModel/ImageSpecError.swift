/// A reference, digest or image document that is not what it must be. Pure: the store's
/// own failures (a refused tar entry, a system call) are `Images.ImageError`.
public enum ImageSpecError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `[REGISTRY/]NAME[:TAG][@DIGEST]` does not follow the grammar; `reason` says which rule.
    case invalidReference(String, reason: String)
    /// A `--entrypoint`, `--cmd`, `--env` or `--workdir` value, or a stored config.json,
    /// that is not what it must be.
    case badConfig(String)
    /// `sha256:<64 lowercase hex>` it is not.
    case invalidDigest(String, reason: String)
    /// A manifest, index, OCI config or archive metadata file that does not decode:
    /// `what` names the document (a digest or a file), `reason` the field.
    case badDocument(String, reason: String)

    public var description: String {
        switch self {
        case .invalidReference(let ref, let reason): return "invalid image reference \"\(ref)\": \(reason)"
        case .badConfig(let reason): return reason
        case .invalidDigest(let d, let reason): return "invalid digest \"\(d)\": \(reason)"
        case .badDocument(let what, let reason): return "\(what): \(reason)"
        }
    }
}
