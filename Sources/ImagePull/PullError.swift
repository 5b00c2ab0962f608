import ImageModel
import Images

/// Why a pull failed. `description` is the whole message: the reference, the request (method
/// and URL, without its query) with the status, and the registry's own error text when it
/// sent one. Never a password or a token.
public struct PullError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A flag, an auth file, registries.conf, a cert dir: the user's configuration.
        case configuration
        /// No connection: refused, timed out, reset, DNS.
        case network
        /// The TLS handshake failed: an unknown CA, a wrong host name.
        case tls
        /// 401/403 after trying the credentials we have (or with none).
        case unauthorized
        /// 404: no such repository, tag or blob.
        case notFound
        /// Any other answer a registry should not give.
        case registry
        /// Bytes that are not what their digest or size says.
        case verification
        /// The image store failed (disk, a bad document, no image for this platform).
        case store
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    init(_ error: ImageError) {
        if case .verification = error { self.init(.verification, error.description) } else { self.init(.store, error.description) }
    }

    init(_ error: ImageSpecError) { self.init(.configuration, error.description) }

    /// The same error, with `context` (the image being pulled) in front.
    func about(_ context: String) -> PullError { PullError(kind, context + ": " + message) }
}
