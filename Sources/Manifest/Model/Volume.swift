public struct Volume: Sendable, Hashable {
    public var name: String
    public var source: VolumeSource
}

public enum VolumeSource: Sendable, Hashable {
    /// `medium` is "" (disk under the data root) or "Memory" (tmpfs).
    case emptyDir(medium: String, sizeLimit: Quantity?)
    /// `type` is one of Kubernetes' HostPathType values; "" checks nothing.
    case hostPath(path: String, type: String)
    case configMap(ProjectedKeys)
    case secret(ProjectedKeys)
    /// Files of the pod's own metadata and its containers' resources.
    case downwardAPI(DownwardAPIVolume)
    /// configMap, secret and downwardAPI sources merged into one dir.
    case projected(ProjectedVolume)
}

/// `downwardAPI` volumes: one file per item.
public struct DownwardAPIVolume: Sendable, Hashable {
    public var items: [DownwardAPIFile] = []
    /// File mode; Kubernetes defaults it to 0644.
    public var defaultMode: Int32 = 0o644
}

/// One file of a downwardAPI volume or projection. Validation makes sure exactly one of
/// `fieldRef` and `resourceFieldRef` is set.
public struct DownwardAPIFile: Sendable, Hashable {
    public var path: String
    /// `fieldRef.fieldPath`, and its `apiVersion` (defaulted to v1).
    public var fieldPath: String?
    public var fieldAPIVersion = "v1"
    /// As env's `resourceFieldRef`.
    public var resourceFieldRef: ResourceFieldSelector?
    public var mode: Int32?

    public init(path: String, fieldPath: String? = nil, resourceFieldRef: ResourceFieldSelector? = nil, mode: Int32? = nil) {
        self.path = path
        self.fieldPath = fieldPath
        self.resourceFieldRef = resourceFieldRef
        self.mode = mode
    }
}

public struct ResourceFieldSelector: Sendable, Hashable {
    public var containerName: String?
    public var resource: String
    public var divisor: Quantity?

    public init(containerName: String?, resource: String, divisor: Quantity?) {
        self.containerName = containerName
        self.resource = resource
        self.divisor = divisor
    }
}

/// `projected` volumes. The sources' files go into one dir; `defaultMode` is the
/// volume's for every source (a projection has none of its own).
public struct ProjectedVolume: Sendable, Hashable {
    public var sources: [VolumeProjection] = []
    /// File mode; Kubernetes defaults it to 0644.
    public var defaultMode: Int32 = 0o644
}

/// One source of a projected volume. serviceAccountToken and clusterTrustBundle are
/// refused before decoding (`FieldClasses`); a projection with no source is `empty`, which
/// Kubernetes accepts and kubelet projects nothing for.
public enum VolumeProjection: Sendable, Hashable {
    /// `ProjectedKeys.defaultMode` is unused: the volume's applies.
    case configMap(ProjectedKeys)
    case secret(ProjectedKeys)
    case downwardAPI([DownwardAPIFile])
    case empty
}

/// The shared shape of configMap and secret volumes.
public struct ProjectedKeys: Sendable, Hashable {
    /// The ConfigMap's or Secret's name (`secretName` for secrets).
    public var name: String
    public var items: [KeyToPath] = []
    /// File mode; Kubernetes defaults it to 0644.
    public var defaultMode: Int32 = 0o644
    public var optional = false
}

public struct KeyToPath: Sendable, Hashable {
    public var key: String
    public var path: String
    public var mode: Int32?
}

/// A ConfigMap from the same input as the pods that use it.
public struct ConfigMap: Sendable, Hashable {
    public var name: String
    public var namespace: String
    public var data: [String: String] = [:]
    public var binaryData: [String: [UInt8]] = [:]
    public var immutable = false

    public var id: String { "\(namespace)/\(name)" }
}

/// A Secret from the same input as the pods that use it. Its values are never printed:
/// `description` and the canonical form mask them.
public struct Secret: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var namespace: String
    /// `data` decoded from base64, with `stringData` merged over it as the API server does.
    public var data: [String: [UInt8]] = [:]
    public var type = "Opaque"
    public var immutable = false

    public var id: String { "\(namespace)/\(name)" }

    public var description: String { "Secret(\(id), \(data.count) keys, values masked)" }
}
