/// The defaults the Kubernetes API server applies (pkg/apis/core/v1/defaults.go), for the
/// fields podrec honours. Most live as property defaults on the model; these need the
/// whole object.
enum Defaults {
    static func apply(_ pod: inout Pod) {
        if pod.metadata.namespace.isEmpty { pod.metadata.namespace = "default" }
        for i in pod.spec.containers.indices { requestsFromLimits(&pod.spec.containers[i].resources) }
        for i in pod.spec.initContainers.indices { requestsFromLimits(&pod.spec.initContainers[i].resources) }
        if pod.spec.resources != nil { requestsFromLimits(&pod.spec.resources!) }
    }

    /// A limit with no request sets the request to the limit (SetDefaults_ResourceList).
    static func requestsFromLimits(_ r: inout ResourceRequirements) {
        for (name, limit) in r.limits where r.requests[name] == nil {
            r.requests[name] = limit
        }
    }
}
