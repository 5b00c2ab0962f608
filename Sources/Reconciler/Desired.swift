import Manifest
import PodBuilder
import PodModel

/// The input of one pass, resolved for this host into `DesiredPod`s, each with its whole
/// build (`LaunchPlanBuilder.desired`), without touching the host. A pod keeps its recorded
/// uid; a new pod gets a new one.
public struct DesiredBuilder: Sendable {
    public var facts: HostFacts
    public var roots: Roots

    public init(facts: HostFacts, roots: Roots) {
        self.facts = facts
        self.roots = roots
    }

    /// One pod that could not be built (an image not in the store, a hostPath of the wrong
    /// type): reported; the pod is left as it is on the host, and never pruned.
    public struct Failure: Sendable {
        public var key: PodKey
        public var file: String
        public var message: String
    }

    public func build(_ set: ManifestSet, source: (SourcedPod) -> String, records: [PodKey: PodRecord],
                      newUID: () -> String) -> (pods: [DesiredPod], failures: [Failure]) {
        var pods: [DesiredPod] = []
        var failures: [Failure] = []
        for sourced in set.pods {
            let pod = sourced.pod
            let key = PodKey(namespace: pod.metadata.namespace, name: pod.metadata.name)
            let layout = roots.layout(key, uid: records[key]?.uid ?? newUID())
            do {
                pods.append(try LaunchPlanBuilder.desired(pod, manifests: set, source: source(sourced), layout: layout, facts: facts))
            } catch {
                failures.append(Failure(key: key, file: sourced.file, message: "\(error)"))
            }
        }
        return (pods, failures)
    }
}
