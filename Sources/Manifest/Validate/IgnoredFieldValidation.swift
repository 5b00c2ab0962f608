import YAML

/// The Kubernetes API server's semantic rules for the Pod fields podrec ignores (or does
/// not act on yet), and the cross-field rules it applies to a pod as a whole on create:
/// `ValidatePodCreate` in kubernetes/kubernetes pkg/apis/core/validation/validation.go,
/// v1.32, with the apimachinery helpers it calls.
///
/// podrec still ignores these fields (the warning stays), but a file it accepts must be one
/// the API server accepts too, so that it moves to a cluster unchanged. The messages are the
/// server's own (`APIServerWording`); the paths are the server's too, except where it names
/// a whole map or list and podrec can point at the entry (`nodeSelector["k"]`,
/// `namespaces[1]`), since file:line:column is the point of a path here.
///
/// It reads the document's node tree, not the model: the model keeps ignored fields only as
/// JSON and drops the ignored parts of security contexts. `StructuralCheck` has already
/// checked types and required fields; a value of the wrong type reads as absent here, and
/// the loader drops findings under a path that is already wrong.
struct IgnoredFieldValidation {
    var findings: [Finding] = []

    mutating func error(_ path: String, _ message: String, atKey: Bool = false) {
        findings.append(Finding(severity: .error, path: path, message: message, atKey: atKey))
    }

    typealias W = APIServerWording

    /// A container and where it is, in the server's visiting order: init containers, then
    /// containers (ephemeral containers are refused before this).
    struct ContainerRef {
        var node: Node
        var path: String
        var name: String
    }

    mutating func validate(_ root: Node) {
        let meta = root.field("metadata")
        let annotations = meta.pairs("annotations")
        let spec = root.field("spec")
        var containers: [ContainerRef] = []
        for group in ["initContainers", "containers"] {
            for (i, c) in spec.items(group).enumerated() {
                containers.append(ContainerRef(node: c, path: "spec.\(group)[\(i)]", name: c.text("name") ?? ""))
            }
        }

        podLabels = Set(meta.pairs("labels").map(\.key))
        validateAnnotations(annotations, spec: spec, containers: containers)
        guard let spec else { return }
        validateSpec(spec, containers: containers)
        validateAppArmorAnnotationsMatchFields(annotations, spec: spec, containers: containers)
        validateSeccompAnnotationsMatchFields(annotations, spec: spec, containers: containers)
    }

    // MARK: metadata.annotations (ValidateAnnotations, ValidatePodSpecificAnnotations)

    static let appArmorAnnotationPrefix = "container.apparmor.security.beta.kubernetes.io/"
    static let seccompPodAnnotation = "seccomp.security.alpha.kubernetes.io/pod"
    static let seccompContainerAnnotationPrefix = "container.seccomp.security.alpha.kubernetes.io/"
    static let mirrorPodAnnotation = "kubernetes.io/config.mirror"
    static let podDeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

    mutating func validateAnnotations(_ annotations: [(key: String, value: String)], spec: Node?, containers: [ContainerRef]) {
        // TotalAnnotationSizeLimitB: keys and values together, 256 KiB.
        let size = annotations.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        if size > 256 << 10 { error("metadata.annotations", W.tooLong(256 << 10), atKey: true) }

        for (key, value) in annotations {
            let path = KeyPath("metadata.annotations").mapKey(key).description
            if key == Self.mirrorPodAnnotation, (spec.text("nodeName") ?? "").isEmpty {
                error(path, W.invalid(value, "must set spec.nodeName if mirror pod annotation is set"))
            }
            if key == Self.podDeletionCostAnnotation, !Self.isInt32Annotation(value) {
                error(path, W.invalid(value, "must be a 32bit integer"))
            }
            if key == Self.seccompPodAnnotation || key.hasPrefix(Self.seccompContainerAnnotationPrefix) {
                for why in Self.seccompAnnotationErrors(value) { error(path, W.invalid(value, why)) }
            }
            if key.hasPrefix(Self.appArmorAnnotationPrefix) {
                let container = String(key.dropFirst(Self.appArmorAnnotationPrefix.count))
                if !containers.contains(where: { $0.name == container }) {
                    error(path, W.invalid(container, "container not found"), atKey: true)
                }
                if !["", "runtime/default", "unconfined"].contains(value), !value.hasPrefix("localhost/") {
                    error(path, W.invalid(value, "invalid AppArmor profile name: \(W.goQuote(value))"))
                }
            }
        }
    }

    /// GetDeletionCostFromPodAnnotations: a decimal int32, no '+', no leading zeros.
    static func isInt32Annotation(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first else { return false }
        guard first == "-" || s == "0" || ("1"..."9").contains(first) else { return false }
        return Int32(s) != nil
    }

    /// ValidateSeccompProfile, for the deprecated annotations.
    static func seccompAnnotationErrors(_ p: String) -> [String] {
        if ["runtime/default", "docker/default", "unconfined"].contains(p) { return [] }
        if p.hasPrefix("localhost/") { return localDescendingPathErrors(String(p.dropFirst("localhost/".count))) }
        return ["must be a valid seccomp profile"]
    }

    /// validateLocalDescendingPath: relative, and no `..` element.
    static func localDescendingPathErrors(_ p: String) -> [String] {
        var out: [String] = []
        if p.hasPrefix("/") { out.append("must be a relative path") }
        if p.split(separator: "/", omittingEmptySubsequences: false).contains("..") { out.append("must not contain '..'") }
        return out
    }

    // MARK: spec (ValidatePodSpec, ValidatePodCreate)

    mutating func validateSpec(_ spec: Node, containers: [ContainerRef]) {
        validateLabels(spec.pairs("nodeSelector"), path: "spec.nodeSelector")

        let nodeName = spec.text("nodeName") ?? ""
        if !nodeName.isEmpty {
            for why in W.isDNS1123Subdomain(nodeName) { error("spec.nodeName", W.invalid(nodeName, why)) }
            if !spec.items("schedulingGates").isEmpty {
                error("spec.nodeName", W.forbidden("cannot be set until all schedulingGates have been cleared"))
            }
        }

        // The deprecated serviceAccount is an alias, read when serviceAccountName is empty
        // (Convert_v1_PodSpec_To_core_PodSpec); the server reports it as serviceAccountName.
        let (accountField, account) = (spec.text("serviceAccountName") ?? "").isEmpty
            ? ("spec.serviceAccount", spec.text("serviceAccount") ?? "") : ("spec.serviceAccountName", spec.text("serviceAccountName") ?? "")
        if !account.isEmpty {
            for why in W.isDNS1123Subdomain(account) { error(accountField, W.invalid(account, why)) }
        }

        if let name = spec.text("priorityClassName"), !name.isEmpty {
            for why in W.isDNS1123Subdomain(name) { error("spec.priorityClassName", W.invalid(name, why)) }
        }
        if let policy = spec.text("preemptionPolicy") {
            if policy.isEmpty {
                error("spec.preemptionPolicy", W.required())
            } else if !["PreemptLowerPriority", "Never"].contains(policy) {
                error("spec.preemptionPolicy", W.notSupported(policy, ["PreemptLowerPriority", "Never"]))
            }
        }

        for (i, gate) in spec.items("readinessGates").enumerated() {
            let type = gate.text("conditionType") ?? ""
            for why in W.isQualifiedName(type) { error("spec.readinessGates[\(i)].conditionType", W.invalid(type, why)) }
        }
        var gates = Set<String>()
        for (i, gate) in spec.items("schedulingGates").enumerated() {
            let name = gate.text("name") ?? ""
            for why in W.isQualifiedName(name) { error("spec.schedulingGates[\(i)]", W.invalid(name, why)) }
            if !gates.insert(name).inserted { error("spec.schedulingGates[\(i)]", W.duplicate(name)) }
        }

        for (i, t) in spec.items("tolerations").enumerated() { validateToleration(t, path: "spec.tolerations[\(i)]") }
        if let affinity = spec.field("affinity") { validateAffinity(affinity, path: "spec.affinity") }
        validateTopologySpreadConstraints(spec.items("topologySpreadConstraints"), path: "spec.topologySpreadConstraints")
        validateOverhead(spec.pairNodes("overhead"), path: "spec.overhead")

        let isLinux = spec.field("os").text("name") == "linux"
        if let sc = spec.field("securityContext") {
            validatePodSecurityContext(sc, spec: spec, path: "spec.securityContext", isLinux: isLinux)
        }
        for c in containers {
            validateContainer(c.node, path: c.path, isLinux: isLinux)
        }
        validateWindowsHostProcess(spec, containers: containers)
    }

    /// ValidateLabels: every key a qualified name, every value a label value. The server
    /// names the whole map; podrec names the entry, to point at it.
    mutating func validateLabels(_ labels: [(key: String, value: String)], path: String) {
        for (key, value) in labels {
            let entry = KeyPath(path).mapKey(key).description
            for why in W.isQualifiedName(key) { error(entry, W.invalid(key, why), atKey: true) }
            for why in W.isValidLabelValue(value) { error(entry, W.invalid(value, why)) }
        }
    }

    // MARK: tolerations (ValidateTolerations)

    mutating func validateToleration(_ t: Node, path: String) {
        let key = t.text("key") ?? ""
        let op = t.text("operator") ?? ""
        let value = t.text("value") ?? ""
        let effect = t.text("effect") ?? ""
        if !key.isEmpty {
            for why in W.isQualifiedName(key) { error(path + ".key", W.invalid(key, why)) }
        }
        if key.isEmpty && op != "Exists" {
            error(path + ".operator", W.invalid(op, "operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
        }
        if t.field("tolerationSeconds") != nil && effect != "NoExecute" {
            error(path + ".effect", W.invalid(effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        }
        switch op {
        case "Equal", "":
            let errs = W.isValidLabelValue(value)
            if !errs.isEmpty { error(path + ".operator", W.invalid(value, errs.joined(separator: ";"))) }
        case "Exists":
            if !value.isEmpty { error(path + ".operator", W.invalid(value, "value must be empty when `operator` is 'Exists'")) }
        default:
            error(path + ".operator", W.notSupported(op, ["Equal", "Exists"]))
        }
        if !effect.isEmpty, !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(effect) {
            error(path + ".effect", W.notSupported(effect, ["NoSchedule", "PreferNoSchedule", "NoExecute"]))
        }
    }

    // MARK: affinity (validateAffinity)

    mutating func validateAffinity(_ a: Node, path: String) {
        if let na = a.field("nodeAffinity") {
            let np = path + ".nodeAffinity"
            if let required = na.field("requiredDuringSchedulingIgnoredDuringExecution") {
                let rp = np + ".requiredDuringSchedulingIgnoredDuringExecution"
                let terms = required.items("nodeSelectorTerms")
                if terms.isEmpty { error(rp + ".nodeSelectorTerms", W.required("must have at least one node selector term")) }
                // Label values are checked in required terms since 1.32 (kubernetes#128212).
                for (i, term) in terms.enumerated() {
                    validateNodeSelectorTerm(term, allowInvalidLabelValue: false, path: "\(rp).nodeSelectorTerms[\(i)]")
                }
            }
            for (i, term) in na.items("preferredDuringSchedulingIgnoredDuringExecution").enumerated() {
                let tp = "\(np).preferredDuringSchedulingIgnoredDuringExecution[\(i)]"
                validateWeight(term, path: tp)
                // "we always allow invalid label-value for preferred affinity"
                validateNodeSelectorTerm(term.field("preference"), allowInvalidLabelValue: true, path: tp + ".preference")
            }
        }
        for kind in ["podAffinity", "podAntiAffinity"] {
            guard let pa = a.field(kind) else { continue }
            let pp = "\(path).\(kind)"
            for (i, term) in pa.items("requiredDuringSchedulingIgnoredDuringExecution").enumerated() {
                validatePodAffinityTerm(term, path: "\(pp).requiredDuringSchedulingIgnoredDuringExecution[\(i)]")
            }
            for (i, term) in pa.items("preferredDuringSchedulingIgnoredDuringExecution").enumerated() {
                let tp = "\(pp).preferredDuringSchedulingIgnoredDuringExecution[\(i)]"
                validateWeight(term, path: tp)
                validatePodAffinityTerm(term.field("podAffinityTerm"), path: tp + ".podAffinityTerm")
            }
        }
    }

    mutating func validateWeight(_ term: Node, path: String) {
        guard let w = term.field("weight")?.int else { return }
        if w <= 0 || w > 100 { error(path + ".weight", W.invalid(w, "must be in the range 1-100")) }
    }

    mutating func validateNodeSelectorTerm(_ term: Node?, allowInvalidLabelValue: Bool, path: String) {
        for (j, req) in term.items("matchExpressions").enumerated() {
            let rp = "\(path).matchExpressions[\(j)]"
            let values = req.strings("values")
            let op = req.text("operator") ?? ""
            switch op {
            case "In", "NotIn":
                if values.isEmpty { error(rp + ".values", W.required("must be specified when `operator` is 'In' or 'NotIn'")) }
            case "Exists", "DoesNotExist":
                if !values.isEmpty { error(rp + ".values", W.forbidden("may not be specified when `operator` is 'Exists' or 'DoesNotExist'")) }
            case "Gt", "Lt":
                if values.count != 1 { error(rp + ".values", W.required("must be specified single value when `operator` is 'Lt' or 'Gt'")) }
            default:
                error(rp + ".operator", W.invalid(op, "not a valid selector operator"))
            }
            let key = req.text("key") ?? ""
            for why in W.isQualifiedName(key) { error(rp + ".key", W.invalid(key, why)) }
            if !allowInvalidLabelValue {
                for (k, v) in values.enumerated() {
                    for why in W.isValidLabelValue(v) { error("\(rp).values[\(k)]", W.invalid(v, why)) }
                }
            }
        }
        for (j, req) in term.items("matchFields").enumerated() {
            let rp = "\(path).matchFields[\(j)]"
            let values = req.strings("values")
            let op = req.text("operator") ?? ""
            if op == "In" || op == "NotIn" {
                if values.count != 1 {
                    error(rp + ".values", W.required("must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
                }
            } else {
                error(rp + ".operator", W.invalid(op, "not a valid selector operator"))
            }
            let key = req.text("key") ?? ""
            if key != "metadata.name" {
                error(rp + ".key", W.invalid(key, "not a valid field selector key"))
            } else {
                for (k, v) in values.enumerated() {
                    for why in W.isDNS1123Subdomain(v) { error("\(rp).values[\(k)]", W.invalid(v, why)) }
                }
            }
        }
    }

    /// validatePodAffinityTerm, for a pod being created: label values in selectors are
    /// checked (AllowInvalidLabelValueInSelector is only for updates of old pods).
    mutating func validatePodAffinityTerm(_ term: Node?, path: String) {
        guard let term else { return }
        let selector = term.field("labelSelector")
        validateLabelSelector(selector, path: path + ".labelSelector")
        validateLabelSelector(term.field("namespaceSelector"), path: path + ".namespaceSelector")
        // The server names this path `namespace`, singular; podrec names the entry.
        for (i, ns) in term.strings("namespaces").enumerated() {
            for why in W.isDNS1123Label(ns) { error("\(path).namespaces[\(i)]", W.invalid(ns, why)) }
        }

        // validateMatchLabelKeysAndMismatchLabelKeys. On create the server first appends,
        // for each of these keys the pod has as a label, `key In/NotIn [value]` to the
        // selector's matchExpressions (applyMatchLabelKeysAndMismatchLabelKeys); a
        // matchLabelKeys key then "exists in both" when an expression names a key that the
        // matchLabels or an earlier expression already named.
        let matchKeys = term.strings("matchLabelKeys")
        let mismatchKeys = term.strings("mismatchLabelKeys")
        for (field, keys) in [("matchLabelKeys", matchKeys), ("mismatchLabelKeys", mismatchKeys)] where !keys.isEmpty {
            if selector == nil {
                error("\(path).\(field)", W.forbidden("must not be specified when labelSelector is not set"))
                continue
            }
            for (i, key) in keys.enumerated() {
                for why in W.isQualifiedName(key) { error("\(path).\(field)[\(i)]", W.invalid(key, why)) }
            }
        }
        if let selector {
            var expressionKeys = selector.items("matchExpressions").map { $0.text("key") ?? "" }
            expressionKeys += (matchKeys + mismatchKeys).filter(podLabels.contains)
            var named = Set(selector.pairs("matchLabels").map(\.key))
            var reported = Set<String>()
            for key in expressionKeys {
                if let i = matchKeys.firstIndex(of: key), named.contains(key), reported.insert(key).inserted {
                    error("\(path).matchLabelKeys[\(i)]", W.invalid(key, "exists in both matchLabelKeys and labelSelector"))
                }
                named.insert(key)
            }
        }
        let mismatch = Set(mismatchKeys)
        for (i, key) in matchKeys.enumerated() where mismatch.contains(key) {
            error("\(path).matchLabelKeys[\(i)]", W.invalid(key, "exists in both matchLabelKeys and mismatchLabelKeys"))
        }

        let topologyKey = term.text("topologyKey") ?? ""
        if topologyKey.isEmpty { error(path + ".topologyKey", W.required("can not be empty")) }
        for why in W.isQualifiedName(topologyKey) { error(path + ".topologyKey", W.invalid(topologyKey, why)) }
    }

    /// The pod's own label keys, for the matchLabelKeys rule above; set by `validate`.
    var podLabels = Set<String>()

    /// ValidateLabelSelector (metav1), label values checked.
    mutating func validateLabelSelector(_ selector: Node?, path: String) {
        guard let selector else { return }
        validateLabels(selector.pairs("matchLabels"), path: path + ".matchLabels")
        for (i, req) in selector.items("matchExpressions").enumerated() {
            let rp = "\(path).matchExpressions[\(i)]"
            let values = req.strings("values")
            let op = req.text("operator") ?? ""
            switch op {
            case "In", "NotIn":
                if values.isEmpty { error(rp + ".values", W.required("must be specified when `operator` is 'In' or 'NotIn'")) }
            case "Exists", "DoesNotExist":
                if !values.isEmpty { error(rp + ".values", W.forbidden("may not be specified when `operator` is 'Exists' or 'DoesNotExist'")) }
            default:
                error(rp + ".operator", W.invalid(op, "not a valid selector operator"))
            }
            let key = req.text("key") ?? ""
            for why in W.isQualifiedName(key) { error(rp + ".key", W.invalid(key, why)) }
            for (k, v) in values.enumerated() {
                for why in W.isValidLabelValue(v) { error("\(rp).values[\(k)]", W.invalid(v, why)) }
            }
        }
    }

    // MARK: topologySpreadConstraints (validateTopologySpreadConstraints)

    mutating func validateTopologySpreadConstraints(_ constraints: [Node], path: String) {
        let pairs = constraints.map { ($0.text("topologyKey") ?? "", $0.text("whenUnsatisfiable") ?? "") }
        for (i, c) in constraints.enumerated() {
            let cp = "\(path)[\(i)]"
            if let skew = c.field("maxSkew")?.int, skew <= 0 { error(cp + ".maxSkew", W.invalid(skew, "must be greater than zero")) }
            let (key, action) = pairs[i]
            if key.isEmpty { error(cp + ".topologyKey", W.required("can not be empty")) }
            if !["DoNotSchedule", "ScheduleAnyway"].contains(action) {
                error(cp + ".whenUnsatisfiable", W.notSupported(action, ["DoNotSchedule", "ScheduleAnyway"]))
            }
            // ValidateSpreadConstraintNotRepeat: the path is the server's, braces and all.
            if pairs[(i + 1)...].contains(where: { $0 == key && $1 == action }) {
                error(cp + ".{topologyKey, whenUnsatisfiable}", W.duplicate("{\(key), \(action)}"))
            }
            if let minDomains = c.field("minDomains")?.int {
                if minDomains <= 0 { error(cp + ".minDomains", W.invalid(minDomains, "must be greater than zero")) }
                if action != "DoNotSchedule" {
                    error(cp + ".minDomains", W.invalid(minDomains, "can only use minDomains if whenUnsatisfiable=DoNotSchedule, not \(action)"))
                }
            }
            for policy in ["nodeAffinityPolicy", "nodeTaintsPolicy"] {
                if let p = c.text(policy), !["Honor", "Ignore"].contains(p) {
                    error("\(cp).\(policy)", W.notSupported(p, ["Honor", "Ignore"]))
                }
            }
            let selector = c.field("labelSelector")
            let matchKeys = c.strings("matchLabelKeys")
            if !matchKeys.isEmpty {
                var selectorKeys = Set(selector.pairs("matchLabels").map(\.key))
                for e in selector.items("matchExpressions") { selectorKeys.insert(e.text("key") ?? "") }
                if selector == nil { error(cp + ".matchLabelKeys", W.forbidden("must not be specified when labelSelector is not set")) }
                for (j, k) in matchKeys.enumerated() {
                    for why in W.isQualifiedName(k) { error("\(cp).matchLabelKeys[\(j)]", W.invalid(k, why)) }
                    if selectorKeys.contains(k) { error("\(cp).matchLabelKeys[\(j)]", W.invalid(k, "exists in both matchLabelKeys and labelSelector")) }
                }
            }
            validateLabelSelector(selector, path: cp + ".labelSelector")
        }
    }

    // MARK: overhead (validateOverhead: ValidateContainerResourceRequirements on limits)

    static let standardContainerResources: Set<String> = ["cpu", "memory", "ephemeral-storage"]
    static let standardResources: Set<String> = [
        "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage", "limits.cpu",
        "limits.memory", "limits.ephemeral-storage", "pods", "services", "replicationcontrollers", "resourcequotas", "secrets",
        "configmaps", "persistentvolumeclaims", "requests.storage", "services.nodeports", "services.loadbalancers",
    ]

    mutating func validateOverhead(_ entries: [(key: String, value: Node)], path: String) {
        for (name, node) in entries {
            let rp = KeyPath(path).mapKey(name).description
            // validateContainerResourceName, through validateResourceName.
            let qualified = W.isQualifiedName(name)
            for why in qualified { error(rp, W.invalid(name, why), atKey: true) }
            let extended = name.contains("/") && !name.contains("kubernetes.io/")
            if qualified.isEmpty, !name.contains("/") {
                let hugepages = name.hasPrefix("hugepages-")
                if !Self.standardResources.contains(name) && !hugepages && !name.hasPrefix("requests.hugepages-") {
                    error(rp, W.invalid(name, "must be a standard resource type or fully qualified"), atKey: true)
                }
                if !Self.standardContainerResources.contains(name) && !hugepages {
                    error(rp, W.invalid(name, "must be a standard resource for containers"), atKey: true)
                }
            } else if qualified.isEmpty, extended, name.hasPrefix("requests.") {
                error(rp, W.invalid(name, "doesn't follow extended resource name standard"), atKey: true)
            }
            guard var text = node.scalar?.value else { continue }
            if case .int(let i) = node.resolved(.kubectl) { text = String(i) }
            guard let q = try? Quantity(parsing: text) else {
                error(rp, "invalid quantity \(W.goQuote(text)): quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
                continue
            }
            if q.isNegative { error(rp, W.invalid(text, "must be greater than or equal to 0")) }
            // Extended resources are counted in whole units (IsIntegerResourceName).
            if extended, let m = q.milliValue, m % 1000 != 0 { error(rp, W.invalid(text, "must be an integer")) }
        }
    }

    // MARK: security contexts

    mutating func validatePodSecurityContext(_ sc: Node, spec: Node, path: String, isLinux: Bool) {
        // validateSysctls: the names' form is PodValidation's; here the rest of the rule.
        var seen = Set<String>()
        let hostNetwork = spec.field("hostNetwork")?.bool == true
        let hostIPC = spec.field("hostIPC")?.bool == true
        for (i, s) in sc.items("sysctls").enumerated() {
            let name = s.text("name") ?? ""
            let np = "\(path).sysctls[\(i)].name"
            if name.isEmpty {
                error(np, W.required())
            } else if PodValidation.isSysctlName(name), !seen.insert(name).inserted {
                error(np, W.duplicate(name))
            }
            // ValidateHostSysctl: a namespaced sysctl would change the host's own.
            switch Self.sysctlNamespace(name) {
            case "net" where hostNetwork: error(np, W.invalid(name, "may not be specified when 'hostNetwork' is true"))
            case "ipc" where hostIPC: error(np, W.invalid(name, "may not be specified when 'hostIPC' is true"))
            default: break
            }
        }
        validateSeccompProfile(sc.field("seccompProfile"), path: path + ".seccompProfile")
        validateAppArmorProfile(sc.field("appArmorProfile"), path: path + ".appArmorProfile")
        validateWindowsOptions(sc.field("windowsOptions"), path: path + ".windowsOptions", isLinux: isLinux)
    }

    /// utilsysctl.GetNamespace: which namespace a sysctl belongs to, by name.
    static func sysctlNamespace(_ name: String) -> String? {
        let n = name.replacingSlashes()
        if n == "kernel.sem" || n.hasPrefix("kernel.shm") || n.hasPrefix("kernel.msg") || n.hasPrefix("fs.mqueue.") { return "ipc" }
        if n.hasPrefix("net.") { return "net" }
        return nil
    }

    mutating func validateContainer(_ c: Node, path: String, isLinux: Bool) {
        if let policy = c.text("imagePullPolicy"), !policy.isEmpty, !["Always", "IfNotPresent", "Never"].contains(policy) {
            error(path + ".imagePullPolicy", W.notSupported(policy, ["Always", "IfNotPresent", "Never"]))
        }
        if let policy = c.text("terminationMessagePolicy"), !policy.isEmpty, !["File", "FallbackToLogsOnError"].contains(policy) {
            error(path + ".terminationMessagePolicy", W.notSupported(policy, ["File", "FallbackToLogsOnError"]))
        }
        guard let sc = c.field("securityContext") else { return }
        let sp = path + ".securityContext"
        validateSeccompProfile(sc.field("seccompProfile"), path: sp + ".seccompProfile")
        validateAppArmorProfile(sc.field("appArmorProfile"), path: sp + ".appArmorProfile")
        validateWindowsOptions(sc.field("windowsOptions"), path: sp + ".windowsOptions", isLinux: isLinux)
        // ValidateSecurityContext: the server compares the exact string CAP_SYS_ADMIN. It
        // names the whole securityContext; podrec names the capability.
        if sc.field("allowPrivilegeEscalation")?.bool == false {
            for (j, cap) in sc.field("capabilities").strings("add").enumerated() where cap == "CAP_SYS_ADMIN" {
                error("\(sp).capabilities.add[\(j)]", W.invalid(cap, "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
            }
        }
    }

    /// validateSeccompProfileField.
    mutating func validateSeccompProfile(_ p: Node?, path: String) {
        guard let p else { return }
        let type = p.text("type") ?? ""
        let profile = p.text("localhostProfile")
        switch type {
        case "Localhost", "RuntimeDefault", "Unconfined": break
        case "": error(path + ".type", W.required("type is required when seccompProfile is set"))
        default: error(path + ".type", W.notSupported(type, ["Localhost", "RuntimeDefault", "Unconfined"]))
        }
        if type == "Localhost" {
            if let profile {
                for why in Self.localDescendingPathErrors(profile) { error(path + ".localhostProfile", W.invalid(profile, why)) }
            } else {
                error(path + ".localhostProfile", W.required("must be set when seccomp type is Localhost"))
            }
        } else if let profile {
            // The server prints the whole profile struct here; podrec prints the field.
            error(path + ".localhostProfile", W.invalid(profile, "can only be set when seccomp type is Localhost"))
        }
    }

    /// ValidateAppArmorProfileField.
    mutating func validateAppArmorProfile(_ p: Node?, path: String) {
        guard let p else { return }
        let type = p.text("type") ?? ""
        let profile = p.text("localhostProfile")
        switch type {
        case "Localhost":
            guard let profile else {
                error(path + ".localhostProfile", W.required("must be set when AppArmor type is Localhost"))
                return
            }
            let trimmed = profile.trimmingGoSpace()
            if trimmed != profile {
                error(path + ".localhostProfile", W.invalid(profile, "must not be padded with whitespace"))
            } else if trimmed.isEmpty {
                error(path + ".localhostProfile", W.required("must be set when AppArmor type is Localhost"))
            }
            if profile.utf8.count > 4095 { error(path + ".localhostProfile", W.tooLong(4095)) }
        case "RuntimeDefault", "Unconfined":
            if let profile { error(path + ".localhostProfile", W.invalid(profile, "can only be set when AppArmor type is Localhost")) }
        case "":
            error(path + ".type", W.required("type is required when appArmorProfile is set"))
        default:
            error(path + ".type", W.notSupported(type, ["Localhost", "RuntimeDefault", "Unconfined"]))
        }
    }

    /// validateWindowsSecurityContextOptions, and validateLinux's rule for `os.name: linux`.
    mutating func validateWindowsOptions(_ w: Node?, path: String, isLinux: Bool) {
        guard let w else { return }
        if isLinux { error(path, W.forbidden("windows options cannot be set for a linux pod"), atKey: true) }
        if let name = w.text("gmsaCredentialSpecName") {
            for why in W.isDNS1123Subdomain(name) { error(path + ".gmsaCredentialSpecName", W.invalid(name, why)) }
        }
        if let spec = w.text("gmsaCredentialSpec") {
            if spec.isEmpty {
                error(path + ".gmsaCredentialSpec", W.invalid(spec, "gmsaCredentialSpec cannot be an empty string"))
            } else if spec.utf8.count > 64 * 1024 {
                error(path + ".gmsaCredentialSpec", W.invalid(spec, "gmsaCredentialSpec size must be under 64 KiB"))
            }
        }
        if let user = w.text("runAsUserName") {
            for why in Self.runAsUserNameErrors(user) { error(path + ".runAsUserName", W.invalid(user, why)) }
        }
    }

    /// The runAsUserName rules: `[DOMAIN\]USER`, DOMAIN a NetBIOS or DNS name.
    static func runAsUserNameErrors(_ name: String) -> [String] {
        if name.isEmpty { return ["runAsUserName cannot be an empty string"] }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return ["runAsUserName cannot contain control characters"] }
        let parts = name.split(separator: "\\", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 2 { return ["runAsUserName cannot contain more than one backslash"] }
        let (domain, user) = parts.count == 1 ? ("", parts[0]) : (parts[0], parts[1])
        var out: [String] = []
        if domain.utf8.count >= 256 { out.append("runAsUserName's Domain length must be under 256 characters") }
        if parts.count == 2, !(isNetBIOSName(domain) || isWindowsDNSName(domain)) {
            out.append("runAsUserName's Domain doesn't match the NetBios nor the DNS format")
        }
        if user.isEmpty {
            out.append("runAsUserName's User cannot be empty")
        } else if user.utf8.count > 104 {
            out.append("runAsUserName's User length must not be longer than 104 characters")
        }
        if !user.isEmpty, user.allSatisfy({ $0 == "." || $0 == " " }) {
            out.append("runAsUserName's User cannot contain only periods or spaces")
        }
        if user.contains(where: { "\"/\\:;|=,+*?<>@[]".contains($0) }) {
            out.append("runAsUserName's User cannot contain the following characters: \"/\\:;|=,+*?<>@[]")
        }
        return out
    }

    /// `^[^\\/:\*\?"<>|\.][^\\/:\*\?"<>|]{0,14}$`
    static func isNetBIOSName(_ s: String) -> Bool {
        let u = Array(s.unicodeScalars)
        let bad: Set<Unicode.Scalar> = ["\\", "/", ":", "*", "?", "\"", "<", ">", "|"]
        guard let first = u.first, first != ".", u.count <= 15 else { return false }
        return u.allSatisfy { !bad.contains($0) }
    }

    /// `^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.same)*$`
    static func isWindowsDNSName(_ s: String) -> Bool {
        s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let u = Array(label.unicodeScalars)
            func alnum(_ c: Unicode.Scalar) -> Bool { c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c)) }
            guard let f = u.first, let l = u.last, u.count <= 63, alnum(f), alnum(l) else { return false }
            return u.allSatisfy { alnum($0) || $0 == "-" }
        }
    }

    /// validateWindowsHostProcessPod: all containers or none are HostProcess containers,
    /// and those need hostNetwork. (The "disallowed by cluster policy" rule depends on the
    /// server's --allow-privileged flag, which podrec cannot know.)
    mutating func validateWindowsHostProcess(_ spec: Node, containers: [ContainerRef]) {
        let podHostProcess = spec.field("securityContext").field("windowsOptions")?.field("hostProcess")?.bool
        var hostProcessCount = 0
        for c in containers {
            let own = c.node.field("securityContext").field("windowsOptions")?.field("hostProcess")?.bool
            if let pod = podHostProcess, let own, pod != own {
                error(c.path + ".securityContext.windowsOptions.hostProcess", W.invalid(own ? "true" : "false", "pod hostProcess value must be identical if both are specified, was \(pod)"))
            }
            if own == true || (own == nil && podHostProcess == true) { hostProcessCount += 1 }
        }
        guard hostProcessCount > 0 else { return }
        if hostProcessCount != containers.count {
            error("spec", W.invalid("", "If pod contains any hostProcess containers then all containers must be HostProcess containers"))
        }
        if spec.field("hostNetwork")?.bool != true {
            error("spec.hostNetwork", "Invalid value: false: hostNetwork must be true if pod contains any hostProcess containers")
        }
    }

    // MARK: annotations against fields (ValidatePodCreate)

    /// validateAppArmorAnnotationsAndFieldsMatchOnCreate, after the server's
    /// applyAppArmorVersionSkew: a container with an annotation and no field of its own
    /// gets the field from a valid annotation, so only a container's own field, or the pod's
    /// field against an annotation that gives no valid field, can disagree.
    mutating func validateAppArmorAnnotationsMatchFields(_ annotations: [(key: String, value: String)], spec: Node, containers: [ContainerRef]) {
        if spec.field("os").text("name") == "windows" { return }
        let byKey = Dictionary(annotations.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        let podProfile = spec.field("securityContext").field("appArmorProfile")
        for c in containers {
            guard let annotation = byKey[Self.appArmorAnnotationPrefix + c.name] else { continue }
            let own = c.node.field("securityContext").field("appArmorProfile")
            if own == nil, Self.appArmorFieldIsValid(forAnnotation: annotation) { continue }
            guard let profile = own ?? podProfile else { continue }
            let path = c.path + ".securityContext.appArmorProfile"
            let localhost = profile.text("localhostProfile")
            switch profile.text("type") ?? "" {
            case "Unconfined" where annotation != "unconfined",
                 "RuntimeDefault" where annotation != "runtime/default",
                 "Localhost" where !annotation.hasPrefix("localhost/"):
                error(path + ".type", W.forbidden("apparmor type in annotation and field must match"))
            case "Localhost" where localhost != String(annotation.dropFirst("localhost/".count)):
                error(path + ".localhostProfile", W.forbidden("apparmor profile in annotation and field must match"))
            default:
                break
            }
        }
    }

    /// ApparmorFieldForAnnotation gives a field that ValidateAppArmorProfileField accepts.
    static func appArmorFieldIsValid(forAnnotation a: String) -> Bool {
        if a == "runtime/default" || a == "unconfined" { return true }
        guard a.hasPrefix("localhost/") else { return false }
        let profile = String(a.dropFirst("localhost/".count))
        return !profile.isEmpty && profile.trimmingGoSpace() == profile && profile.utf8.count <= 4095
    }

    /// validateSeccompAnnotationsAndFields: where a field and its annotation are both set,
    /// they must agree (the pod's, and each container's own).
    mutating func validateSeccompAnnotationsMatchFields(_ annotations: [(key: String, value: String)], spec: Node, containers: [ContainerRef]) {
        let byKey = Dictionary(annotations.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        if let field = spec.field("securityContext").field("seccompProfile"), let annotation = byKey[Self.seccompPodAnnotation] {
            seccompMatch(annotation, field, path: "spec.securityContext.seccompProfile")
        }
        for c in containers {
            guard let field = c.node.field("securityContext").field("seccompProfile"),
                let annotation = byKey[Self.seccompContainerAnnotationPrefix + c.name] else { continue }
            seccompMatch(annotation, field, path: c.path + ".securityContext.seccompProfile")
        }
    }

    mutating func seccompMatch(_ annotation: String, _ field: Node, path: String) {
        switch field.text("type") ?? "" {
        case "Unconfined" where annotation != "unconfined",
             "RuntimeDefault" where annotation != "runtime/default" && annotation != "docker/default",
             "Localhost" where !annotation.hasPrefix("localhost/"):
            error(path + ".type", W.forbidden("seccomp type in annotation and field must match"))
        case "Localhost" where field.text("localhostProfile") != String(annotation.dropFirst("localhost/".count)):
            error(path + ".localhostProfile", W.forbidden("seccomp profile in annotation and field must match"))
        default:
            break
        }
    }
}

// MARK: Reading the node tree as the server reads JSON: null is absent.

extension Optional where Wrapped == Node {
    /// The value of `key`, unless absent or null.
    func field(_ key: String) -> Node? {
        guard let v = self?[key], !v.isNull else { return nil }
        return v
    }

    func text(_ key: String) -> String? { field(key)?.string }

    func items(_ key: String) -> [Node] { field(key)?.sequence ?? [] }

    func strings(_ key: String) -> [String] { items(key).compactMap(\.string) }

    /// A map of strings, in document order.
    func pairs(_ key: String) -> [(key: String, value: String)] {
        pairNodes(key).map { ($0.key, $0.value.string ?? "") }
    }

    func pairNodes(_ key: String) -> [(key: String, value: Node)] {
        (field(key)?.mapping ?? []).compactMap { p in p.key.scalar.map { ($0.value, p.value) } }
    }
}

extension Node {
    func field(_ key: String) -> Node? { Optional(self).field(key) }
    func text(_ key: String) -> String? { Optional(self).text(key) }
    func items(_ key: String) -> [Node] { Optional(self).items(key) }
    func strings(_ key: String) -> [String] { Optional(self).strings(key) }
    func pairs(_ key: String) -> [(key: String, value: String)] { Optional(self).pairs(key) }
    func pairNodes(_ key: String) -> [(key: String, value: Node)] { Optional(self).pairNodes(key) }
}

extension String {
    /// Go's strings.TrimSpace.
    func trimmingGoSpace() -> String {
        let u = unicodeScalars
        guard let start = u.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let end = u.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(u[start...end])
    }

    func replacingSlashes() -> String {
        String(unicodeScalars.map { $0 == "/" ? "." : Character($0) })
    }
}
