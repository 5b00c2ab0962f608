import YAML

/// A Kubernetes v1 Pod as podrec runs it: validated and defaulted.
///
/// Fields podrec ignores (scheduling and other cluster-only fields) are kept verbatim in
/// `PodSpec.ignored` for the canonical form, never interpreted.
public struct Pod: Sendable, Hashable {
    public var metadata: ObjectMeta
    public var spec: PodSpec

    public init(metadata: ObjectMeta, spec: PodSpec) {
        self.metadata = metadata
        self.spec = spec
    }

    /// `namespace/name`, the identity podrec keys pods by.
    public var id: String { "\(metadata.namespace)/\(metadata.name)" }
}

public struct ObjectMeta: Sendable, Hashable {
    public var name: String
    public var namespace: String
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(name: String, namespace: String = "default", labels: [String: String] = [:], annotations: [String: String] = [:]) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }
}

public enum RestartPolicy: String, Sendable, Hashable, CaseIterable {
    case always = "Always", onFailure = "OnFailure", never = "Never"
}

public struct PodSpec: Sendable, Hashable {
    public var containers: [Container] = []
    /// Init containers in order; those with `restartPolicy: Always` are native sidecars.
    public var initContainers: [Container] = []
    public var volumes: [Volume] = []
    public var restartPolicy: RestartPolicy = .always
    public var terminationGracePeriodSeconds: Int64 = 30
    public var activeDeadlineSeconds: Int64?
    public var hostNetwork = false
    public var hostPID = false
    public var hostIPC = false
    public var shareProcessNamespace = false
    public var hostname: String?
    public var subdomain: String?
    public var hostAliases: [HostAlias] = []
    /// `ClusterFirst` (the Kubernetes default), `Default`, `ClusterFirstWithHostNet` or
    /// `None`. With no cluster DNS, every policy but `None` means the host's resolv.conf.
    public var dnsPolicy = "ClusterFirst"
    public var dnsConfig: PodDNSConfig?
    public var securityContext: PodSecurityContext?
    /// Pod-level resources (Kubernetes 1.32, PodLevelResources).
    public var resources: ResourceRequirements?
    public var os: String?
    public var hostUsers: Bool?
    /// Names of Secrets (of type `kubernetes.io/dockerconfigjson` or `kubernetes.io/dockercfg`,
    /// from the same input and namespace) whose registry credentials pull this pod's images.
    public var imagePullSecrets: [String] = []
    /// Cluster-only fields as written, by field name; see `FieldClasses`.
    public var ignored: [String: JSONValue] = [:]

    public init() {}

    /// The native sidecars: init containers that keep running.
    public var sidecars: [Container] { initContainers.filter(\.isSidecar) }

    /// Every container, init containers first, in pod order.
    public var allContainers: [Container] { initContainers + containers }
}

public struct HostAlias: Sendable, Hashable {
    public var ip: String
    public var hostnames: [String]
}

public struct PodDNSConfig: Sendable, Hashable {
    public var nameservers: [String] = []
    public var searches: [String] = []
    public var options: [DNSOption] = []

    public struct DNSOption: Sendable, Hashable {
        public var name: String
        public var value: String?
    }
}

public struct PodSecurityContext: Sendable, Hashable {
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var fsGroup: Int64?
    public var fsGroupChangePolicy: String?
    public var supplementalGroups: [Int64] = []
    public var sysctls: [Sysctl] = []
    /// The default for every container that sets none of its own.
    public var seccompProfile: SeccompProfile?

    public struct Sysctl: Sendable, Hashable {
        public var name: String
        public var value: String
    }
}

/// `securityContext.seccompProfile`, at pod or container level (the container's wins).
/// Validation has checked the API server's rules: `type` is one of the three, and
/// `localhostProfile` is set, a descending relative path, exactly for `Localhost`.
public struct SeccompProfile: Sendable, Hashable {
    public var type: String
    public var localhostProfile: String?

    public init(type: String, localhostProfile: String? = nil) {
        self.type = type
        self.localhostProfile = localhostProfile
    }

    var canonicalJSON: JSONValue {
        var o = JSONObject()
        o["type"] = .string(type)
        if let p = localhostProfile { o["localhostProfile"] = .string(p) }
        return o.value
    }
}
