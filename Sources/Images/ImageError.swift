import ImageModel
import Kernel

/// Why an image operation failed. Every message names what it is about: the reference, the
/// tar entry or the path of the source tree.
public enum ImageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `NAME[:TAG]` does not follow the grammar; `reason` says which rule.
    case invalidReference(String, reason: String)
    /// No image with this name and tag in the store.
    case notFound(ImageReference)
    /// An entry the store will not import: a `..` path, an escaping symlink, a device
    /// node, a FIFO, a socket, a hard link to nothing extracted. `source` is the tar or
    /// directory, `entry` the entry's name as the input spells it.
    case refusedEntry(source: String, entry: String, reason: String)
    /// The input is not an uncompressed tar we can read: compressed, truncated, a bad
    /// header checksum.
    case badArchive(source: String, reason: String)
    /// A `--entrypoint`, `--cmd`, `--env` or `--workdir` value, or a stored config.json,
    /// that is not what it must be.
    case badConfig(String)
    /// A system call failed.
    case kernel(KernelError)
    /// A digest, manifest, index or config that does not decode; the message names it.
    case badDocument(String)
    /// Bytes that are not what their digest or size says: `what` names the blob (its
    /// digest and where it came from). Nothing of it is kept.
    case verification(what: String, reason: String)
    /// A compressed stream that does not decompress.
    case decompression(source: String, reason: String)

    public var description: String {
        switch self {
        case .invalidReference(let ref, let reason): return "invalid image reference \"\(ref)\": \(reason)"
        case .notFound(let ref): return "no image \(ref)"
        case .refusedEntry(let source, let entry, let reason): return "\(source): \(entry): \(reason)"
        case .badArchive(let source, let reason): return "\(source): \(reason)"
        case .badConfig(let reason): return reason
        case .kernel(let e): return e.description
        case .badDocument(let reason): return reason
        case .verification(let what, let reason): return "\(what): \(reason)"
        case .decompression(let source, let reason): return "\(source): \(reason)"
        }
    }
}

extension ImageError {
    /// The store's error for a reference or config that is not what it must be.
    public init(_ error: ImageSpecError) {
        switch error {
        case .invalidReference(let ref, let reason): self = .invalidReference(ref, reason: reason)
        case .badConfig(let reason): self = .badConfig(reason)
        case .invalidDigest, .badDocument: self = .badDocument(error.description)
        }
    }
}

/// Runs a `Sys` call and carries its `KernelError` out as an `ImageError`.
@inline(__always)
func sys<T>(_ body: () throws(KernelError) -> T) throws(ImageError) -> T {
    do { return try body() } catch { throw .kernel(error) }
}
