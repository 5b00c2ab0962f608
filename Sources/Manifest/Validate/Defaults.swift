/// The defaults the Kubernetes API server applies (pkg/apis/core/v1/defaults.go), for the
/// fields podrec honours. Most live as property defaults on the model; these need the
/// whole object.
enum Defaults {
    static func apply(_ pod: inout Pod) {
        if pod.metadata.namespace.isEmpty { pod.metadata.namespace = "default" }
        for i in pod.spec.containers.indices { requestsFromLimits(&pod.spec.containers[i].resources) }
        for i in pod.spec.initContainers.indices { requestsFromLimits(&pod.spec.initContainers[i].resources) }
        if pod.spec.resources != nil { requestsFromLimits(&pod.spec.resources!) }
        for i in pod.spec.containers.indices { defaultPullPolicy(&pod.spec.containers[i]) }
        for i in pod.spec.initContainers.indices { defaultPullPolicy(&pod.spec.initContainers[i]) }
    }

    /// SetDefaults_Container: `Always` when the image's tag is `latest`, or when it has
    /// neither tag nor digest (parsers.ParseImageName then says `latest`); else
    /// `IfNotPresent`. podrec's reserved `host` is never pulled: `Never`.
    static func defaultPullPolicy(_ c: inout Container) {
        guard c.imagePullPolicy.isEmpty else { return }
        if c.image == "host" { c.imagePullPolicy = "Never"; return }
        let image = c.image.utf8
        if image.allSatisfy({ $0 < 0x80 }) {
            // The same steps over the bytes: in ASCII every separator here is a character of
            // its own. Splitting the String by characters cost ~8,000 instructions a container.
            let hasDigest = image.contains(UInt8(ascii: "@"))
            let name = image.split(separator: UInt8(ascii: "@"), maxSplits: 1).first ?? image[...]
            let last = name.split(separator: UInt8(ascii: "/")).last ?? name
            let tag = last.firstIndex(of: UInt8(ascii: ":")).map { last[last.index(after: $0)...] }
            let isLatest = tag.map { $0.elementsEqual("latest".utf8) } ?? false
            c.imagePullPolicy = isLatest || (tag == nil && !hasDigest) ? "Always" : "IfNotPresent"
            return
        }
        let hasDigest = c.image.contains("@")
        let name = c.image.split(separator: "@", maxSplits: 1).first.map(String.init) ?? c.image
        // A tag is after the last ':' of the last path component (a registry's port is not).
        let last = name.split(separator: "/").last.map(String.init) ?? name
        let tag = last.firstIndex(of: ":").map { String(last[last.index(after: $0)...]) }
        c.imagePullPolicy = tag == "latest" || (tag == nil && !hasDigest) ? "Always" : "IfNotPresent"
    }

    /// A limit with no request sets the request to the limit (SetDefaults_ResourceList).
    static func requestsFromLimits(_ r: inout ResourceRequirements) {
        for (name, limit) in r.limits where r.requests[name] == nil {
            r.requests[name] = limit
        }
    }
}
