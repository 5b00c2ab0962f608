import ImageModel

/// What a pull reports as it goes, for the CLI's renderer (and a watcher's log). Events come
/// from several tasks at once (layers download in parallel); the sink must be thread-safe.
public enum PullEvent: Sendable, Hashable {
    /// The manifest is resolved: `layers` layers of `totalBytes` compressed bytes, from
    /// `endpoint` (`registry/repository`; a mirror when one answered).
    case resolved(manifest: Digest, layers: Int, totalBytes: Int64, endpoint: String)
    /// `bytes` more of the layer blob `layer` (of `size`) arrived.
    case layerBytes(layer: Digest, bytes: Int64, size: Int64)
    /// The layer blob is downloaded and verified.
    case layerDone(layer: Digest, size: Int64)
    /// Nothing to download: the layer is unpacked already, or its blob is in the store.
    case layerPresent(layer: Digest, size: Int64)
    /// The image is in the store under `manifest`; `downloaded` bytes came over the network.
    case done(manifest: Digest, downloaded: Int64)
}

/// A sink of `PullEvent`s: a closure called on whatever task made the event.
public struct PullProgress: Sendable {
    let sink: @Sendable (PullEvent) -> Void

    public init(_ sink: @escaping @Sendable (PullEvent) -> Void) {
        self.sink = sink
    }

    public func report(_ event: PullEvent) { sink(event) }
}
