import YAML

public struct Container: Sendable, Hashable {
    public var name: String
    /// `host` (a read-only view of the host), or an image reference: in podrec's store, or
    /// pulled from its registry by `imagePullPolicy`.
    public var image: String
    /// `Always`, `IfNotPresent` or `Never`; defaulted as the API server does (`Defaults`):
    /// `Always` for `:latest` or no tag, `IfNotPresent` otherwise. `host` is never pulled.
    public var imagePullPolicy = ""
    public var command: [String]?
    public var args: [String]?
    public var workingDir: String?
    public var ports: [ContainerPort] = []
    public var env: [EnvVar] = []
    public var envFrom: [EnvFromSource] = []
    public var resources = ResourceRequirements()
    public var resizePolicy: [ContainerResizePolicy] = []
    /// Only `Always`, only on init containers: it makes a native sidecar (KEP-753).
    public var restartPolicy: String?
    public var volumeMounts: [VolumeMount] = []
    public var livenessProbe: Probe?
    public var readinessProbe: Probe?
    public var startupProbe: Probe?
    public var lifecycle: Lifecycle?
    public var securityContext: SecurityContext?
    /// Where the container may write why it ended: a file the runtime binds there, read
    /// after it exits (`terminated.message`). The API server's default.
    public var terminationMessagePath = Container.defaultTerminationMessagePath
    /// `File`, or `FallbackToLogsOnError`: an empty file and a failed exit take the log's tail.
    public var terminationMessagePolicy = "File"
    /// A terminal of the container's own devpts as its stdio and controlling terminal.
    public var tty = false
    /// Stdin stays open for `podrec attach -i` (else it reads /dev/null).
    public var stdin = false
    /// Stdin is closed when the first attach session ends (kubelet's CRI `stdin_once`).
    public var stdinOnce = false
    /// Cluster-only fields as written; see `FieldClasses`.
    public var ignored: [String: JSONValue] = [:]

    public init(name: String, image: String) {
        self.name = name
        self.image = image
    }

    public var isSidecar: Bool { restartPolicy == "Always" }

    /// `TerminationMessagePathDefault`.
    public static let defaultTerminationMessagePath = "/dev/termination-log"

    /// The policy for `resource` (`cpu` or `memory`); Kubernetes defaults to NotRequired.
    public func resizePolicy(for resource: String) -> String {
        resizePolicy.first { $0.resourceName == resource }?.restartPolicy ?? "NotRequired"
    }
}

public struct ContainerPort: Sendable, Hashable {
    public var name: String?
    public var containerPort: Int32
    public var hostPort: Int32?
    public var hostIP: String?
    public var `protocol` = "TCP"
}

public struct EnvVar: Sendable, Hashable {
    public var name: String
    public var value: String?
    public var valueFrom: EnvVarSource?
}

public enum EnvVarSource: Sendable, Hashable {
    case configMapKey(KeySelector)
    case secretKey(KeySelector)
    /// `metadata.name`, `metadata.namespace`, `metadata.uid`, `metadata.labels['k']`,
    /// `metadata.annotations['k']`, `spec.nodeName`, `spec.serviceAccountName`,
    /// `status.hostIP`, `status.podIP`, `status.podIPs`, `status.hostIPs`.
    case field(path: String, apiVersion: String)
    /// `limits.cpu`, `limits.memory`, `requests.cpu`, `requests.memory`, ... of a container.
    case resourceField(containerName: String?, resource: String, divisor: Quantity?)
}

public struct KeySelector: Sendable, Hashable {
    public var name: String
    public var key: String
    public var optional: Bool
}

public struct EnvFromSource: Sendable, Hashable {
    public enum Source: Sendable, Hashable {
        case configMap(name: String, optional: Bool)
        case secret(name: String, optional: Bool)
    }

    public var prefix: String?
    public var source: Source
}

/// `requests` and `limits`, by resource name (`cpu`, `memory`, `ephemeral-storage`).
public struct ResourceRequirements: Sendable, Hashable {
    public var requests: [String: Quantity] = [:]
    public var limits: [String: Quantity] = [:]

    public init(requests: [String: Quantity] = [:], limits: [String: Quantity] = [:]) {
        self.requests = requests
        self.limits = limits
    }

    public var isEmpty: Bool { requests.isEmpty && limits.isEmpty }

    /// Requested CPU in millicores, rounded up as Kubernetes rounds.
    public var cpuRequestMillis: Int64? { requests["cpu"]?.milliValue }
    public var cpuLimitMillis: Int64? { limits["cpu"]?.milliValue }
    public var memoryRequestBytes: Int64? { requests["memory"]?.value }
    public var memoryLimitBytes: Int64? { limits["memory"]?.value }
}

public struct ContainerResizePolicy: Sendable, Hashable {
    public var resourceName: String
    public var restartPolicy: String
}

public struct VolumeMount: Sendable, Hashable {
    public var name: String
    public var mountPath: String
    public var subPath: String?
    public var readOnly = false
    /// `None` (default), `HostToContainer` or `Bidirectional`.
    public var mountPropagation: String?
}

public struct Probe: Sendable, Hashable {
    public var handler: ProbeHandler
    public var initialDelaySeconds: Int32 = 0
    public var periodSeconds: Int32 = 10
    public var timeoutSeconds: Int32 = 1
    public var successThreshold: Int32 = 1
    public var failureThreshold: Int32 = 3
    public var terminationGracePeriodSeconds: Int64?
}

public enum ProbeHandler: Sendable, Hashable {
    case exec(command: [String])
    case httpGet(HTTPGetAction)
    case tcpSocket(port: IntOrString, host: String?)
    /// `grpc.health.v1.Health/Check` on `port` (a number: the API has no named gRPC port),
    /// for `service` (nil and "" alike: the API server defaults it to "").
    case grpc(port: Int32, service: String?)
}

public enum IntOrString: Sendable, Hashable, CustomStringConvertible {
    case int(Int32)
    case string(String)

    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .string(let s): return s
        }
    }
}

public struct HTTPGetAction: Sendable, Hashable {
    public var path = "/"
    public var port: IntOrString
    public var host: String?
    public var scheme = "HTTP"
    public var httpHeaders: [HTTPHeader] = []

    public struct HTTPHeader: Sendable, Hashable {
        public var name: String
        public var value: String
    }
}

public struct Lifecycle: Sendable, Hashable {
    public var postStart: LifecycleHandler?
    public var preStop: LifecycleHandler?
    /// Kubernetes 1.33 (KEP-4960): the signal that stops the container, e.g. `SIGUSR1`.
    public var stopSignal: String?
}

public enum LifecycleHandler: Sendable, Hashable {
    case exec(command: [String])
    case httpGet(HTTPGetAction)
    case sleep(seconds: Int64)
}

public struct SecurityContext: Sendable, Hashable {
    public var privileged: Bool?
    public var allowPrivilegeEscalation: Bool?
    public var readOnlyRootFilesystem: Bool?
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var capabilities: Capabilities?
    public var procMount: String?
    public var seccompProfile: SeccompProfile?

    public struct Capabilities: Sendable, Hashable {
        public var add: [String] = []
        public var drop: [String] = []
    }
}
