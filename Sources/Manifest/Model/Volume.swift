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
