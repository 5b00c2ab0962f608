/// The media types of the OCI image spec and of Docker's schema 2, which registries and
/// archives still serve. podrec reads both and writes OCI.
public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    /// Deprecated by the spec but still found in old layouts.
    public static let ociLayerNondistributable = "application/vnd.oci.image.layer.nondistributable.v1.tar"
    public static let ociLayerNondistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"

    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    /// The `Accept` list of a manifest GET: every manifest and index type podrec reads.
    public static let manifestTypes = [ociManifest, ociIndex, dockerManifest, dockerManifestList]

    public static func isIndex(_ type: String) -> Bool { type == ociIndex || type == dockerManifestList }
    public static func isManifest(_ type: String) -> Bool { type == ociManifest || type == dockerManifest }

    /// How a layer's bytes are compressed, by its media type.
    public static func layerCompression(_ type: String) -> LayerCompression? {
        switch type {
        case ociLayer, ociLayerNondistributable: return LayerCompression.none
        case ociLayerGzip, ociLayerNondistributableGzip, dockerLayerGzip, dockerForeignLayerGzip: return .gzip
        case ociLayerZstd: return .zstd
        // Docker 25+'s docker-archive names layers by this type (uncompressed).
        case "application/vnd.docker.image.rootfs.diff.tar": return LayerCompression.none
        default: return nil
        }
    }
}

public enum LayerCompression: String, Sendable, Hashable {
    case none, gzip, zstd

    /// By the stream's first bytes, for archives whose metadata does not say (docker-archive).
    public static func sniff(_ head: some Collection<UInt8>) -> LayerCompression {
        let h = Array(head.prefix(4))
        if h.count >= 2 && h[0] == 0x1f && h[1] == 0x8b { return .gzip }
        if h == [0x28, 0xb5, 0x2f, 0xfd] { return .zstd }
        return .none
    }
}
