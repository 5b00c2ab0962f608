import ImageModel
import Manifest
import PodBuilder
import PodModel
import Planner

/// A Secret's registry credentials for one pull: the `.dockerconfigjson` document of a
/// `kubernetes.io/dockerconfigjson` Secret (a `kubernetes.io/dockercfg` one is wrapped into
/// that shape). Never printed.
public struct PullSecret: Sendable, Hashable, CustomStringConvertible {
    /// `namespace/name`.
    public var id: String
    public var dockerConfigJSON: [UInt8]

    public init(id: String, dockerConfigJSON: [UInt8]) {
        self.id = id
        self.dockerConfigJSON = dockerConfigJSON
    }

    public var description: String { "Secret \(id) (values masked)" }
}

/// An image that a pass pulls before it builds the pods that name it, by their
/// `imagePullPolicy`: `IfNotPresent` (and `Always`) when the store lacks it, `Always` also
/// when a pod is about to start containers from it (kubelet pulls at each container start;
/// podrec at each pod create, recreate or container restart that a pass plans).
public struct PendingPull: Sendable, Hashable, CustomStringConvertible {
    public var reference: ImageReference
    /// `not in the store`, or `imagePullPolicy Always`.
    public var reason: String
    /// The pods that wait for it.
    public var pods: [PodKey]
    /// From the pods' `imagePullSecrets`, tried before the host's auth files.
    public var pullSecrets: [PullSecret]
    /// Names a pod gave in `imagePullSecrets` that the input has no registry Secret for:
    /// kubelet goes on without them, and so does podrec; a failed pull names them.
    public var missingSecrets: [String]

    public var description: String {
        "image \(reference) (\(reason); for \(pods.map(\.description).joined(separator: ", ")))"
    }
}

/// The registry side of a pull, given by the processes that link the registry client (the
/// CLI's `apply` and the watcher): the reconciler decides what to pull and never links it.
public protocol ImageFetcher: Sendable {
    /// Pulls `pull.reference` into the store; returns a line for the user (the digest, and
    /// what it downloaded). A thrown error's description is the registry's own message.
    func fetch(_ pull: PendingPull) async throws -> String
    /// Closes its connections and threads, once no fetch runs.
    func shutdown() async
}

/// What a pass must pull: the rules above, and the pull secrets of each pod.
struct PullNeeds {
    var images: ImageLookup
    /// Images pulled by this invocation already (`Always` is satisfied by one pull).
    var pulled: Set<ImageReference>
    private(set) var pulls: [PendingPull] = []

    init(images: ImageLookup, pulled: Set<ImageReference>) {
        self.images = images
        self.pulled = pulled
    }

    /// The images of `pod` that the store lacks and its policies allow to pull. Adds them
    /// and returns true: the pod waits for them.
    mutating func missing(_ pod: Manifest.Pod, set: ManifestSet) -> Bool {
        let wanted = Self.containers(pod).filter { $0.imagePullPolicy != "Never" && !isPresent($0.image) }
        return add(wanted, pod: pod, set: set, reason: "not in the store")
    }

    /// The `Always` images of `containers` (of `pod`, which a pass is about to start) not
    /// pulled yet by this invocation. Adds them and returns true: the pod waits for them.
    mutating func always(_ containers: [Container], pod: Manifest.Pod, set: ManifestSet) -> Bool {
        let wanted = containers.filter { $0.imagePullPolicy == "Always" && $0.image != ImageReference.reservedName }
            .filter { c in (try? ImageReference(parsing: c.image)).map { !pulled.contains($0) } ?? false }
        return add(wanted, pod: pod, set: set, reason: "imagePullPolicy Always")
    }

    /// The first image of `pod` whose pull failed, with the failure.
    static func failed(_ pod: Manifest.Pod, _ unpulled: [ImageReference: String]) -> (ImageReference, String)? {
        guard !unpulled.isEmpty else { return nil }
        for c in containers(pod) where c.imagePullPolicy != "Never" {
            if let ref = try? ImageReference(parsing: c.image), let message = unpulled[ref] { return (ref, message) }
        }
        return nil
    }

    static func containers(_ pod: Manifest.Pod) -> [Container] {
        (pod.spec.initContainers + pod.spec.containers).filter { $0.image != ImageReference.reservedName }
    }

    /// A reference that does not parse, or a store that cannot be read, counts as present:
    /// the build then reports it, as before pulls.
    func isPresent(_ image: String) -> Bool {
        guard let ref = try? ImageReference(parsing: image) else { return true }
        do { return try images.find(ref) != nil } catch { return true }
    }

    private mutating func add(_ containers: [Container], pod: Manifest.Pod, set: ManifestSet, reason: String) -> Bool {
        guard !containers.isEmpty else { return false }
        let key = PodKey(namespace: pod.metadata.namespace, name: pod.metadata.name)
        let (secrets, missing) = Self.pullSecrets(pod, set: set)
        for c in containers {
            guard let ref = try? ImageReference(parsing: c.image) else { continue }
            if let i = pulls.firstIndex(where: { $0.reference == ref }) {
                if !pulls[i].pods.contains(key) { pulls[i].pods.append(key) }
                for s in secrets where !pulls[i].pullSecrets.contains(s) { pulls[i].pullSecrets.append(s) }
                for m in missing where !pulls[i].missingSecrets.contains(m) { pulls[i].missingSecrets.append(m) }
            } else {
                pulls.append(PendingPull(reference: ref, reason: reason, pods: [key], pullSecrets: secrets, missingSecrets: missing))
            }
        }
        return true
    }

    /// kubelet's `getPullSecretsForPod`: the named Secrets of the pod's namespace, in order;
    /// one that is missing or holds no registry credentials is skipped (and named).
    static func pullSecrets(_ pod: Manifest.Pod, set: ManifestSet) -> ([PullSecret], [String]) {
        var found: [PullSecret] = []
        var missing: [String] = []
        for name in pod.spec.imagePullSecrets where !name.isEmpty {
            let id = "\(pod.metadata.namespace)/\(name)"
            guard let secret = set.secrets[id] else { missing.append(name); continue }
            switch secret.type {
            case "kubernetes.io/dockerconfigjson":
                guard let json = secret.data[".dockerconfigjson"] else { missing.append(name); continue }
                found.append(PullSecret(id: id, dockerConfigJSON: json))
            case "kubernetes.io/dockercfg":
                // The older format is the `auths` object alone.
                guard let cfg = secret.data[".dockercfg"] else { missing.append(name); continue }
                found.append(PullSecret(id: id, dockerConfigJSON: Array("{\"auths\":".utf8) + cfg + Array("}".utf8)))
            default:
                missing.append(name)
            }
        }
        return (found, missing)
    }
}
