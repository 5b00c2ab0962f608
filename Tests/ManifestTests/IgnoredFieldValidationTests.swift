import Testing
import YAML

@testable import Manifest

// Issue 21: the fields podrec ignores are validated as the Kubernetes 1.32 API server
// validates them (pkg/apis/core/validation/validation.go), with its own words. Each case is
// a pod and the exact errors it must get: where (line:column of a marked token), the key
// path and the message. Every family also has a valid example that must load with no
// error at all (its warnings say the field is ignored).

/// A pod named `p` with one container `web`, unless `spec` lists its own containers.
func ignoredFieldPod(meta: String = "", spec: String = "") -> String {
    func indent(_ s: String) -> String {
        s.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n")
    }
    let containers = spec.contains("containers:") ? "" : "containers:\n- name: web\n  image: host\n"
    return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n" + (meta.isEmpty ? "" : indent(meta) + "\n") + "spec:\n" + indent(containers + spec) + "\n"
}

/// One expected error: `at` is a token of the document, unique in it, where the error must
/// point (its first occurrence); nil for the document's own start.
struct ExpectedError: CustomStringConvertible {
    var at: String?
    var path: String
    var message: String
    var description: String { "\(at ?? "-") \(path): \(message)" }
}

func E(_ at: String?, _ path: String, _ message: String) -> ExpectedError { ExpectedError(at: at, path: path, message: message) }

/// Line and column (1-based) of the first occurrence of `token` in `text`.
func position(of token: String, in text: String) -> Mark? {
    guard let range = text.range(of: token) else { return nil }
    let before = text[..<range.lowerBound]
    let line = before.filter { $0 == "\n" }.count + 1
    let column = before.count - (before.lastIndex(of: "\n").map { before.distance(from: before.startIndex, to: $0) + 1 } ?? 0) + 1
    return Mark(line: line, column: column)
}

/// Checks that `text` loads with exactly `expected` as its errors, each at its token.
func expectErrors(_ text: String, _ expected: [ExpectedError], sourceLocation: SourceLocation = #_sourceLocation) {
    let set = ManifestLoader.load([ManifestFile(name: "p.yaml", bytes: Array(text.utf8))])
    func render(_ mark: Mark, _ path: String, _ message: String) -> String { "\(mark.line):\(mark.column) \(path): \(message)" }
    let got = set.diagnostics.errors.map { render($0.mark, $0.path, $0.message) }.sorted()
    let want = expected.map { e -> String in
        let mark = e.at.map { position(of: $0, in: text) ?? Mark(line: 0, column: 0) } ?? Mark(line: 1, column: 1)
        return render(mark, e.path, e.message)
    }.sorted()
    #expect(got == want, "\n\(text)", sourceLocation: sourceLocation)
    if expected.isEmpty { #expect(set.isValid, sourceLocation: sourceLocation) }
}

// The apimachinery messages, as the server writes them.
let qualifiedNameRegexMessage = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
let labelValueMessage = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
let subdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
let labelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"

@Suite struct IgnoredFieldValidationTests {
    // MARK: The wording helpers against apimachinery's own test expectations

    @Test func qualifiedNamesAsApimachineryJudgesThem() {
        for good in ["simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple", "now-with-dashes/simple", "example.com/Upper-Case",
                     "a" + String(repeating: "b", count: 61) + "c", "k8s.io/a"] {
            #expect(APIServerWording.isQualifiedName(good).isEmpty, "\(good)")
        }
        #expect(APIServerWording.isQualifiedName("nospecialchars%^=@") == ["name part " + qualifiedNameRegexMessage])
        #expect(APIServerWording.isQualifiedName("/simple") == ["prefix part must be non-empty"])
        #expect(APIServerWording.isQualifiedName("example.com/") == ["name part must be non-empty", "name part " + qualifiedNameRegexMessage])
        #expect(APIServerWording.isQualifiedName("Example.com/x") == ["prefix part " + subdomainMessage])
        #expect(APIServerWording.isQualifiedName("a/b/c").first?.hasPrefix("a qualified name must consist of") == true)
        #expect(APIServerWording.isQualifiedName(String(repeating: "a", count: 64)) == ["name part must be no more than 63 characters"])
        #expect(APIServerWording.isValidLabelValue("").isEmpty)
        #expect(APIServerWording.isValidLabelValue("-x") == [labelValueMessage])
        #expect(APIServerWording.isDNS1123Label("a.b") == ["must not contain dots"])
        #expect(APIServerWording.isDNS1123Label("A") == [labelMessage])
        #expect(APIServerWording.goQuote("a\"b\\c\n") == "\"a\\\"b\\\\c\\n\"")
    }

    // MARK: One valid pod using every family

    @Test func aPodTheAPIServerAcceptsIsAccepted() {
        let text = ignoredFieldPod(meta: """
            labels:
              app: web
            annotations:
              container.apparmor.security.beta.kubernetes.io/web: localhost/web-profile
              container.seccomp.security.alpha.kubernetes.io/web: localhost/profiles/web.json
              seccomp.security.alpha.kubernetes.io/pod: runtime/default
              controller.kubernetes.io/pod-deletion-cost: "-100"
            """, spec: """
            containers:
            - name: web
              image: host
              imagePullPolicy: IfNotPresent
              terminationMessagePolicy: FallbackToLogsOnError
              securityContext:
                appArmorProfile: {type: Localhost, localhostProfile: web-profile}
                seccompProfile: {type: Localhost, localhostProfile: profiles/web.json}
                seLinuxOptions: {level: "s0:c123,c456", type: spc_t}
                windowsOptions: {runAsUserName: 'DOMAIN\\user'}
            nodeSelector:
              kubernetes.io/os: linux
              disktype: ""
            nodeName: node-1.example.com
            serviceAccountName: builder
            priorityClassName: high-priority
            priority: 1000
            preemptionPolicy: Never
            schedulerName: my-scheduler
            readinessGates:
            - conditionType: example.com/feature-1
            imagePullSecrets:
            - name: regcred
            overhead: {cpu: 250m, memory: 120Mi}
            tolerations:
            - {key: example.com/gpu, operator: Exists, effect: NoSchedule}
            - {key: dedicated, operator: Equal, value: web, effect: NoExecute, tolerationSeconds: 30}
            - {operator: Exists}
            affinity:
              nodeAffinity:
                requiredDuringSchedulingIgnoredDuringExecution:
                  nodeSelectorTerms:
                  - matchExpressions:
                    - {key: topology.kubernetes.io/zone, operator: In, values: [antarctica-east1]}
                    - {key: example.com/cores, operator: Gt, values: ["8"]}
                    matchFields:
                    - {key: metadata.name, operator: In, values: [node-1]}
                preferredDuringSchedulingIgnoredDuringExecution:
                - weight: 100
                  preference:
                    matchExpressions:
                    - {key: label-1, operator: In, values: ["not a label value, allowed here"]}
              podAffinity:
                requiredDuringSchedulingIgnoredDuringExecution:
                - labelSelector:
                    matchExpressions:
                    - {key: security, operator: In, values: [S1]}
                  topologyKey: topology.kubernetes.io/zone
                  namespaces: [default, team-a]
                  matchLabelKeys: [app]
              podAntiAffinity:
                preferredDuringSchedulingIgnoredDuringExecution:
                - weight: 1
                  podAffinityTerm:
                    labelSelector: {matchLabels: {security: S2}}
                    namespaceSelector: {}
                    topologyKey: kubernetes.io/hostname
            topologySpreadConstraints:
            - maxSkew: 1
              topologyKey: zone
              whenUnsatisfiable: DoNotSchedule
              minDomains: 2
              nodeAffinityPolicy: Honor
              nodeTaintsPolicy: Ignore
              labelSelector: {matchLabels: {app: web}}
              matchLabelKeys: [pod-template-hash]
            - maxSkew: 2
              topologyKey: zone
              whenUnsatisfiable: ScheduleAnyway
            securityContext:
              sysctls:
              - {name: kernel.shm_rmid_forced, value: "0"}
              - {name: net/ipv4/ip_local_port_range, value: "1024 65535"}
              appArmorProfile: {type: RuntimeDefault}
              seccompProfile: {type: RuntimeDefault}
            """)
        let set = ManifestLoader.load([ManifestFile(name: "p.yaml", bytes: Array(text.utf8))])
        #expect(set.diagnostics.errors.map(\.description) == [])
        // Still ignored: each ignored field keeps its warning.
        let warned = Set(set.diagnostics.warnings.map(\.path))
        for path in ["spec.tolerations", "spec.affinity", "spec.nodeSelector", "spec.topologySpreadConstraints", "spec.overhead",
                     "spec.containers[0].securityContext.appArmorProfile"] {
            #expect(warned.contains(path), "\(path) not warned about")
        }
        // seccompProfile is honoured now: validated as the API server does, never warned about.
        #expect(!warned.contains("spec.securityContext.seccompProfile"))
    }

    // MARK: Tolerations

    @Test func tolerations() {
        expectErrors(ignoredFieldPod(spec: "tolerations:\n- {key: dedicated, operator: Sometimes}"), [
            E("Sometimes", "spec.tolerations[0].operator", "Unsupported value: \"Sometimes\": supported values: \"Equal\", \"Exists\""),
        ])
        expectErrors(ignoredFieldPod(spec: "tolerations:\n- {operator: Equal, value: x}"), [
            E("Equal", "spec.tolerations[0].operator", "Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\""),
        ])
        expectErrors(ignoredFieldPod(spec: "tolerations:\n- {key: k, operator: Exists, value: yes-please}"), [
            E("Exists", "spec.tolerations[0].operator", "Invalid value: \"yes-please\": value must be empty when `operator` is 'Exists'"),
        ])
        expectErrors(ignoredFieldPod(spec: "tolerations:\n- {key: k, value: -bad-, effect: NoSchedule, tolerationSeconds: 5}"), [
            E("NoSchedule", "spec.tolerations[0].effect", "Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"),
            // The server reports a bad value at `operator`, its path for value rules.
            E("{key: k", "spec.tolerations[0].operator", "Invalid value: \"-bad-\": " + labelValueMessage),
        ])
        expectErrors(ignoredFieldPod(spec: "tolerations:\n- {key: 'bad key', operator: Exists, effect: NoEvict}"), [
            E("'bad key'", "spec.tolerations[0].key", "Invalid value: \"bad key\": name part " + qualifiedNameRegexMessage),
            E("NoEvict", "spec.tolerations[0].effect", "Unsupported value: \"NoEvict\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""),
        ])
    }

    // MARK: nodeSelector, nodeName, names

    @Test func nodeSelectorKeysAndValues() {
        expectErrors(ignoredFieldPod(spec: "nodeSelector:\n  disktype: ssd\n  -bad: x\n  zone: -us-"), [
            E("-bad", "spec.nodeSelector.-bad", "Invalid value: \"-bad\": name part " + qualifiedNameRegexMessage),
            E("-us-", "spec.nodeSelector.zone", "Invalid value: \"-us-\": " + labelValueMessage),
        ])
        let long = String(repeating: "v", count: 64)
        expectErrors(ignoredFieldPod(spec: "nodeSelector:\n  zone: \(long)"), [
            E(long, "spec.nodeSelector.zone", "Invalid value: \"\(long)\": must be no more than 63 characters"),
        ])
    }

    @Test func namesThatMustBeDNSSubdomains() {
        expectErrors(ignoredFieldPod(spec: "nodeName: Node_1\npriorityClassName: High\nserviceAccountName: ci.bot."), [
            E("Node_1", "spec.nodeName", "Invalid value: \"Node_1\": " + subdomainMessage),
            E("High", "spec.priorityClassName", "Invalid value: \"High\": " + subdomainMessage),
            E("ci.bot.", "spec.serviceAccountName", "Invalid value: \"ci.bot.\": " + subdomainMessage),
        ])
        // The deprecated alias is read only when serviceAccountName is empty.
        expectErrors(ignoredFieldPod(spec: "serviceAccount: Bot"), [E("Bot", "spec.serviceAccount", "Invalid value: \"Bot\": " + subdomainMessage)])
        expectErrors(ignoredFieldPod(spec: "serviceAccount: Bot\nserviceAccountName: bot"), [])
    }

    @Test func preemptionPolicyAndGates() {
        expectErrors(ignoredFieldPod(spec: "preemptionPolicy: Sometimes"), [
            E("Sometimes", "spec.preemptionPolicy", "Unsupported value: \"Sometimes\": supported values: \"PreemptLowerPriority\", \"Never\""),
        ])
        expectErrors(ignoredFieldPod(spec: "preemptionPolicy: \"\""), [E("\"\"", "spec.preemptionPolicy", "Required value")])
        // A list item's mark is where its mapping starts, at its first key.
        expectErrors(ignoredFieldPod(spec: "schedulingGates:\n- name: example.com/foo\n- name: example.com/foo\n- name: -x"), [
            E("name: example.com/foo\n  - name: -x", "spec.schedulingGates[1]", "Duplicate value: \"example.com/foo\""),
            E("name: -x", "spec.schedulingGates[2]", "Invalid value: \"-x\": name part " + qualifiedNameRegexMessage),
        ])
        expectErrors(ignoredFieldPod(spec: "nodeName: node-1\nschedulingGates:\n- name: wait"), [
            E("node-1", "spec.nodeName", "Forbidden: cannot be set until all schedulingGates have been cleared"),
        ])
        expectErrors(ignoredFieldPod(spec: "readinessGates:\n- conditionType: www.example.com/feature_1/x"), [
            E("www.example.com/feature_1/x", "spec.readinessGates[0].conditionType",
              "Invalid value: \"www.example.com/feature_1/x\": a qualified name " + qualifiedNameRegexMessage + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"),
        ])
    }

    // MARK: Affinity

    @Test func nodeAffinity() {
        let required = "affinity:\n  nodeAffinity:\n    requiredDuringSchedulingIgnoredDuringExecution:\n"
        let rp = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        expectErrors(ignoredFieldPod(spec: required + "      nodeSelectorTerms: []"), [
            E("[]", rp + ".nodeSelectorTerms", "Required value: must have at least one node selector term"),
        ])
        expectErrors(ignoredFieldPod(spec: required + """
                  nodeSelectorTerms:
                  - matchExpressions:
                    - {key: a, operator: Has}
                    - {key: b, operator: In}
                    - {key: c, operator: Exists, values: [x]}
                    - {key: d, operator: Gt, values: ["1", "2"]}
                    - {key: e, operator: NotIn, values: [ok, "not ok"]}
                    matchFields:
                    - {key: metadata.uid, operator: In, values: [x]}
                    - {key: metadata.name, operator: Exists}
            """), [
            E("Has", rp + ".nodeSelectorTerms[0].matchExpressions[0].operator", "Invalid value: \"Has\": not a valid selector operator"),
            E("{key: b", rp + ".nodeSelectorTerms[0].matchExpressions[1].values", "Required value: must be specified when `operator` is 'In' or 'NotIn'"),
            E("[x]}\n", rp + ".nodeSelectorTerms[0].matchExpressions[2].values", "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
            E("[\"1\"", rp + ".nodeSelectorTerms[0].matchExpressions[3].values", "Required value: must be specified single value when `operator` is 'Lt' or 'Gt'"),
            E("\"not ok\"", rp + ".nodeSelectorTerms[0].matchExpressions[4].values[1]", "Invalid value: \"not ok\": " + labelValueMessage),
            E("metadata.uid", rp + ".nodeSelectorTerms[0].matchFields[0].key", "Invalid value: \"metadata.uid\": not a valid field selector key"),
            E("Exists}\n", rp + ".nodeSelectorTerms[0].matchFields[1].operator", "Invalid value: \"Exists\": not a valid selector operator"),
        ])
        // Preferred terms may hold any value, but not a weight out of 1-100.
        expectErrors(ignoredFieldPod(spec: """
            affinity:
              nodeAffinity:
                preferredDuringSchedulingIgnoredDuringExecution:
                - weight: 0
                  preference:
                    matchExpressions: [{key: e, operator: In, values: ["not ok"]}]
                - weight: 101
                  preference: {}
            """), [
            E("0\n", "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight", "Invalid value: 0: must be in the range 1-100"),
            E("101", "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[1].weight", "Invalid value: 101: must be in the range 1-100"),
        ])
    }

    @Test func podAffinityAndAntiAffinity() {
        let pp = "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
        expectErrors(ignoredFieldPod(spec: """
            affinity:
              podAntiAffinity:
                requiredDuringSchedulingIgnoredDuringExecution:
                - labelSelector:
                    matchLabels: {app: -web}
                    matchExpressions: [{key: tier, operator: Equals, values: [a]}]
                  namespaces: [Team_A]
                  topologyKey: ""
            """), [
            E("-web", pp + ".labelSelector.matchLabels.app", "Invalid value: \"-web\": " + labelValueMessage),
            E("Equals", pp + ".labelSelector.matchExpressions[0].operator", "Invalid value: \"Equals\": not a valid selector operator"),
            E("Team_A", pp + ".namespaces[0]", "Invalid value: \"Team_A\": " + labelMessage),
            E("\"\"", pp + ".topologyKey", "Required value: can not be empty"),
            E("\"\"", pp + ".topologyKey", "Invalid value: \"\": name part must be non-empty"),
            E("\"\"", pp + ".topologyKey", "Invalid value: \"\": name part " + qualifiedNameRegexMessage),
        ])
        let wp = "spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0]"
        expectErrors(ignoredFieldPod(spec: """
            affinity:
              podAffinity:
                preferredDuringSchedulingIgnoredDuringExecution:
                - weight: 500
                  podAffinityTerm:
                    topologyKey: zone
                    matchLabelKeys: [app]
                    mismatchLabelKeys: [tier]
            """), [
            E("500", wp + ".weight", "Invalid value: 500: must be in the range 1-100"),
            E("[app]", wp + ".podAffinityTerm.matchLabelKeys", "Forbidden: must not be specified when labelSelector is not set"),
            E("[tier]", wp + ".podAffinityTerm.mismatchLabelKeys", "Forbidden: must not be specified when labelSelector is not set"),
        ])
        // The pod's label `app` is merged into the selector first, so naming it in both
        // the selector and matchLabelKeys is refused; a key in match and mismatch too.
        let rp = "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
        expectErrors(ignoredFieldPod(meta: "labels: {app: web}", spec: """
            affinity:
              podAffinity:
                requiredDuringSchedulingIgnoredDuringExecution:
                - labelSelector: {matchLabels: {app: web}}
                  topologyKey: zone
                  matchLabelKeys: [app, tier]
                  mismatchLabelKeys: [tier]
            """), [
            E("app, tier]", rp + ".matchLabelKeys[0]", "Invalid value: \"app\": exists in both matchLabelKeys and labelSelector"),
            E("tier]\n", rp + ".matchLabelKeys[1]", "Invalid value: \"tier\": exists in both matchLabelKeys and mismatchLabelKeys"),
        ])
    }

    // MARK: Topology spread constraints

    @Test func topologySpreadConstraints() {
        let tp = "spec.topologySpreadConstraints"
        expectErrors(ignoredFieldPod(spec: """
            topologySpreadConstraints:
            - maxSkew: 0
              topologyKey: ""
              whenUnsatisfiable: Whenever
              nodeAffinityPolicy: Always
            - maxSkew: 1
              topologyKey: zone
              whenUnsatisfiable: ScheduleAnyway
              minDomains: 0
              nodeTaintsPolicy: honor
            - maxSkew: 1
              topologyKey: zone
              whenUnsatisfiable: ScheduleAnyway
              labelSelector: {matchLabels: {app: web}}
              matchLabelKeys: [app]
            """), [
            E("0\n", tp + "[0].maxSkew", "Invalid value: 0: must be greater than zero"),
            E("\"\"", tp + "[0].topologyKey", "Required value: can not be empty"),
            E("Whenever", tp + "[0].whenUnsatisfiable", "Unsupported value: \"Whenever\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\""),
            E("Always", tp + "[0].nodeAffinityPolicy", "Unsupported value: \"Always\": supported values: \"Honor\", \"Ignore\""),
            E("maxSkew: 1\n    topologyKey: zone", tp + "[1].{topologyKey, whenUnsatisfiable}", "Duplicate value: \"{zone, ScheduleAnyway}\""),
            E("0\n    nodeTaintsPolicy", tp + "[1].minDomains", "Invalid value: 0: must be greater than zero"),
            E("0\n    nodeTaintsPolicy", tp + "[1].minDomains", "Invalid value: 0: can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway"),
            E("honor", tp + "[1].nodeTaintsPolicy", "Unsupported value: \"honor\": supported values: \"Honor\", \"Ignore\""),
            E("app]", tp + "[2].matchLabelKeys[0]", "Invalid value: \"app\": exists in both matchLabelKeys and labelSelector"),
        ])
    }

    // MARK: Overhead

    @Test func overhead() {
        expectErrors(ignoredFieldPod(spec: "overhead:\n  gpus: 1\n  memory: -1Mi\n  example.com/dongle: 500m"), [
            E("gpus", "spec.overhead.gpus", "Invalid value: \"gpus\": must be a standard resource type or fully qualified"),
            E("gpus", "spec.overhead.gpus", "Invalid value: \"gpus\": must be a standard resource for containers"),
            E("-1Mi", "spec.overhead.memory", "Invalid value: \"-1Mi\": must be greater than or equal to 0"),
            E("500m", "spec.overhead[\"example.com/dongle\"]", "Invalid value: \"500m\": must be an integer"),
        ])
    }

    // MARK: Security contexts: seccomp, AppArmor, Windows options, sysctls

    @Test func seccompProfiles() {
        let sp = "spec.securityContext.seccompProfile"
        expectErrors(ignoredFieldPod(spec: "securityContext:\n  seccompProfile: {type: Localhost, localhostProfile: ../../etc/shadow}"), [
            E("../../etc/shadow", sp + ".localhostProfile", "Invalid value: \"../../etc/shadow\": must not contain '..'"),
        ])
        expectErrors(ignoredFieldPod(spec: "securityContext:\n  seccompProfile: {type: Localhost, localhostProfile: profiles/../../x.json}"), [
            E("profiles/../../x.json", sp + ".localhostProfile", "Invalid value: \"profiles/../../x.json\": must not contain '..'"),
        ])
        expectErrors(ignoredFieldPod(spec: "securityContext:\n  seccompProfile: {type: Localhost, localhostProfile: /etc/x.json}"), [
            E("/etc/x.json", sp + ".localhostProfile", "Invalid value: \"/etc/x.json\": must be a relative path"),
        ])
        expectErrors(ignoredFieldPod(spec: "securityContext:\n  seccompProfile: {type: Localhost}"), [
            E("{type: Localhost}", sp + ".localhostProfile", "Required value: must be set when seccomp type is Localhost"),
        ])
        expectErrors(ignoredFieldPod(spec: "securityContext:\n  seccompProfile: {type: RuntimeDefault, localhostProfile: x.json}"), [
            E("x.json", sp + ".localhostProfile", "Invalid value: \"x.json\": can only be set when seccomp type is Localhost"),
        ])
        expectErrors(ignoredFieldPod(spec: """
            containers:
            - name: web
              image: host
              securityContext:
                seccompProfile: {type: Default}
            """), [
            E("Default", "spec.containers[0].securityContext.seccompProfile.type",
              "Unsupported value: \"Default\": supported values: \"Localhost\", \"RuntimeDefault\", \"Unconfined\""),
        ])
    }

    @Test func appArmorProfiles() {
        let ap = "spec.securityContext.appArmorProfile"
        expectErrors(ignoredFieldPod(spec: "securityContext:\n  appArmorProfile: {type: Localhost}"), [
            E("{type: Localhost}", ap + ".localhostProfile", "Required value: must be set when AppArmor type is Localhost"),
        ])
        expectErrors(ignoredFieldPod(spec: "securityContext:\n  appArmorProfile: {type: Localhost, localhostProfile: ' web'}"), [
            E("' web'", ap + ".localhostProfile", "Invalid value: \" web\": must not be padded with whitespace"),
        ])
        expectErrors(ignoredFieldPod(spec: "securityContext:\n  appArmorProfile: {type: Unconfined, localhostProfile: web}"), [
            E("web}", ap + ".localhostProfile", "Invalid value: \"web\": can only be set when AppArmor type is Localhost"),
        ])
        expectErrors(ignoredFieldPod(spec: "securityContext:\n  appArmorProfile: {type: Complain}"), [
            E("Complain", ap + ".type", "Unsupported value: \"Complain\": supported values: \"Localhost\", \"RuntimeDefault\", \"Unconfined\""),
        ])
        expectErrors(ignoredFieldPod(spec: "securityContext:\n  appArmorProfile: {type: \"\"}"), [
            E("\"\"", ap + ".type", "Required value: type is required when appArmorProfile is set"),
        ])
    }

    @Test func windowsOptions() {
        expectErrors(ignoredFieldPod(spec: "os: {name: linux}\nsecurityContext:\n  windowsOptions: {runAsUserName: 'a\\b\\c', gmsaCredentialSpecName: Spec}"), [
            E("windowsOptions", "spec.securityContext.windowsOptions", "Forbidden: windows options cannot be set for a linux pod"),
            E("'a\\b\\c'", "spec.securityContext.windowsOptions.runAsUserName", "Invalid value: \"a\\\\b\\\\c\": runAsUserName cannot contain more than one backslash"),
            E("Spec}", "spec.securityContext.windowsOptions.gmsaCredentialSpecName", "Invalid value: \"Spec\": " + subdomainMessage),
        ])
        expectErrors(ignoredFieldPod(spec: "securityContext:\n  windowsOptions: {runAsUserName: 'bad:user', gmsaCredentialSpec: ''}"), [
            E("'bad:user'", "spec.securityContext.windowsOptions.runAsUserName",
              "Invalid value: \"bad:user\": runAsUserName's User cannot contain the following characters: \"/\\:;|=,+*?<>@[]"),
            E("''}", "spec.securityContext.windowsOptions.gmsaCredentialSpec", "Invalid value: \"\": gmsaCredentialSpec cannot be an empty string"),
        ])
        expectErrors(ignoredFieldPod(spec: """
            containers:
            - name: a
              image: host
              securityContext: {windowsOptions: {hostProcess: false}}
            securityContext:
              windowsOptions: {hostProcess: true}
            """), [
            E("false}}", "spec.containers[0].securityContext.windowsOptions.hostProcess", "Invalid value: \"false\": pod hostProcess value must be identical if both are specified, was true"),
        ])
        expectErrors(ignoredFieldPod(spec: """
            containers:
            - name: a
              image: host
              securityContext: {windowsOptions: {hostProcess: true}}
            - name: b
              image: host
            """), [
            E("containers:", "spec", "Invalid value: \"\": If pod contains any hostProcess containers then all containers must be HostProcess containers"),
            E("containers:", "spec.hostNetwork", "Invalid value: false: hostNetwork must be true if pod contains any hostProcess containers"),
        ])
    }

    @Test func sysctls() {
        let sp = "spec.securityContext.sysctls"
        expectErrors(ignoredFieldPod(spec: """
            hostNetwork: true
            securityContext:
              sysctls:
              - {name: kernel.msgmax, value: "1"}
              - {name: kernel.msgmax, value: "2"}
              - {name: net.core.somaxconn, value: "1024"}
              - {name: Kernel.Panic, value: "1"}
              - {name: "", value: "1"}
            """), [
            E("kernel.msgmax, value: \"2\"", sp + "[1].name", "Duplicate value: \"kernel.msgmax\""),
            E("net.core.somaxconn", sp + "[2].name", "Invalid value: \"net.core.somaxconn\": may not be specified when 'hostNetwork' is true"),
            E("Kernel.Panic", sp + "[3].name",
              "Invalid value: \"Kernel.Panic\": must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$"),
            E("\"\", value", sp + "[4].name", "Required value"),
        ])
        expectErrors(ignoredFieldPod(spec: "hostIPC: true\nsecurityContext:\n  sysctls: [{name: kernel.shm_rmid_forced, value: \"1\"}]"), [
            E("kernel.shm_rmid_forced", sp + "[0].name", "Invalid value: \"kernel.shm_rmid_forced\": may not be specified when 'hostIPC' is true"),
        ])
    }

    @Test func containerLevelFields() {
        expectErrors(ignoredFieldPod(spec: """
            containers:
            - name: web
              image: host
              imagePullPolicy: Sometimes
              terminationMessagePolicy: Log
              securityContext:
                allowPrivilegeEscalation: false
                capabilities: {add: [NET_ADMIN, CAP_SYS_ADMIN]}
                appArmorProfile: {type: Localhost, localhostProfile: ""}
            """), [
            E("Sometimes", "spec.containers[0].imagePullPolicy", "Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\""),
            E("Log", "spec.containers[0].terminationMessagePolicy", "Unsupported value: \"Log\": supported values: \"File\", \"FallbackToLogsOnError\""),
            E("CAP_SYS_ADMIN", "spec.containers[0].securityContext.capabilities.add[1]",
              "Invalid value: \"CAP_SYS_ADMIN\": cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"),
            E("\"\"}", "spec.containers[0].securityContext.appArmorProfile.localhostProfile", "Required value: must be set when AppArmor type is Localhost"),
        ])
    }

    // MARK: Annotations against fields

    @Test func appArmorAnnotations() {
        let key = "container.apparmor.security.beta.kubernetes.io"
        expectErrors(ignoredFieldPod(meta: "annotations:\n  \(key)/db: runtime/default\n  \(key)/web: enforce"), [
            E("\(key)/db", "metadata.annotations[\"\(key)/db\"]", "Invalid value: \"db\": container not found"),
            E("enforce", "metadata.annotations[\"\(key)/web\"]", "Invalid value: \"enforce\": invalid AppArmor profile name: \"enforce\""),
        ])
        // The annotation and the container's own field must agree.
        let containerWith = { (profile: String) in """
            containers:
            - name: web
              image: host
              securityContext: {appArmorProfile: \(profile)}
            """ }
        let ap = "spec.containers[0].securityContext.appArmorProfile"
        expectErrors(ignoredFieldPod(meta: "annotations: {\(key)/web: unconfined}", spec: containerWith("{type: RuntimeDefault}")), [
            E("RuntimeDefault", ap + ".type", "Forbidden: apparmor type in annotation and field must match"),
        ])
        expectErrors(ignoredFieldPod(meta: "annotations: {\(key)/web: localhost/a}", spec: containerWith("{type: Localhost, localhostProfile: b}")), [
            E("b}}", ap + ".localhostProfile", "Forbidden: apparmor profile in annotation and field must match"),
        ])
        expectErrors(ignoredFieldPod(meta: "annotations: {\(key)/web: localhost/a}", spec: containerWith("{type: Localhost, localhostProfile: a}")), [])
        // With no field of its own, the container takes the annotation (the server's
        // version skew handling), so a different pod-level field is no conflict...
        expectErrors(ignoredFieldPod(meta: "annotations: {\(key)/web: unconfined}", spec: "securityContext: {appArmorProfile: {type: RuntimeDefault}}"), [])
        // ...unless the annotation gives no valid field: then the pod's field must match it.
        expectErrors(ignoredFieldPod(meta: "annotations: {\(key)/web: localhost/}", spec: "securityContext: {appArmorProfile: {type: RuntimeDefault}}"), [
            // The container has no securityContext: the error points at the container.
            E("name: web", ap + ".type", "Forbidden: apparmor type in annotation and field must match"),
        ])
    }

    @Test func seccompAnnotations() {
        expectErrors(ignoredFieldPod(meta: "annotations:\n  seccomp.security.alpha.kubernetes.io/pod: localhost/../escape.json\n  container.seccomp.security.alpha.kubernetes.io/web: chrome"), [
            E("localhost/../escape.json", "metadata.annotations[\"seccomp.security.alpha.kubernetes.io/pod\"]", "Invalid value: \"localhost/../escape.json\": must not contain '..'"),
            E("chrome", "metadata.annotations[\"container.seccomp.security.alpha.kubernetes.io/web\"]", "Invalid value: \"chrome\": must be a valid seccomp profile"),
        ])
        expectErrors(ignoredFieldPod(meta: "annotations: {seccomp.security.alpha.kubernetes.io/pod: unconfined}", spec: "securityContext:\n  seccompProfile: {type: RuntimeDefault}"), [
            E("RuntimeDefault", "spec.securityContext.seccompProfile.type", "Forbidden: seccomp type in annotation and field must match"),
        ])
        expectErrors(ignoredFieldPod(meta: "annotations: {seccomp.security.alpha.kubernetes.io/pod: docker/default}", spec: "securityContext:\n  seccompProfile: {type: RuntimeDefault}"), [])
    }

    @Test func otherPodAnnotations() {
        expectErrors(ignoredFieldPod(meta: "annotations:\n  controller.kubernetes.io/pod-deletion-cost: \"+5\"\n  kubernetes.io/config.mirror: abc"), [
            E("\"+5\"", "metadata.annotations[\"controller.kubernetes.io/pod-deletion-cost\"]", "Invalid value: \"+5\": must be a 32bit integer"),
            E("abc", "metadata.annotations[\"kubernetes.io/config.mirror\"]", "Invalid value: \"abc\": must set spec.nodeName if mirror pod annotation is set"),
        ])
        expectErrors(ignoredFieldPod(meta: "annotations:\n  controller.kubernetes.io/pod-deletion-cost: \"2147483648\""), [
            E("\"2147483648\"", "metadata.annotations[\"controller.kubernetes.io/pod-deletion-cost\"]", "Invalid value: \"2147483648\": must be a 32bit integer"),
        ])
        let big = String(repeating: "x", count: 256 << 10)
        expectErrors(ignoredFieldPod(meta: "annotations:\n  a: \(big)"), [
            E("annotations", "metadata.annotations", "Too long: may not be more than 262144 bytes"),
        ])
        expectErrors(ignoredFieldPod(meta: "annotations:\n  a: \(big.dropFirst())"), [])
    }
}
