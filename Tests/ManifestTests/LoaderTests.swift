import Foundation
import Testing
import YAML

@testable import Manifest

func load(_ text: String, file: String = "t.yaml") -> ManifestSet {
    ManifestLoader.load([ManifestFile(name: file, bytes: Array(text.utf8))])
}

func pod(_ body: String, name: String = "p") -> String {
    """
    apiVersion: v1
    kind: Pod
    metadata:
      name: \(name)
    spec:
    \(body.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
    """
}

let oneContainer = """
    containers:
    - name: c
      image: host
    """

@Suite struct LoaderTests {
    @Test func errorsReadFileLineColumnPathAndReason() {
        let set = load(pod("""
            containers:
            - name: c
              image: host
              resources:
                limts:
                  cpu: 1
            """), file: "web.yaml")
        #expect(set.diagnostics.map(\.description) == [
            "web.yaml:10:7: error: spec.containers[0].resources.limts: unknown field; did you mean \"limits\"?"
        ])
        #expect(!set.isValid)
        #expect(set.pods.isEmpty)
    }

    @Test func allErrorsInAFileAreCollected() {
        let set = load(pod("""
            containers:
            - name: c
              image: host
              command: sh
            - name: c
              image: host
              ports:
              - containerPort: 70000
            volumes:
            - name: v
              persistentVolumeClaim: {claimName: x}
            restartPolicy: Sometimes
            """))
        let messages = set.diagnostics.map { "\($0.path): \($0.message)" }
        #expect(messages.contains("spec.containers[0].command: expected a list, found a string"))
        #expect(messages.contains("spec.containers[1].name: duplicate container name \"c\""))
        #expect(messages.contains("spec.containers[1].ports[0].containerPort: must be between 1 and 65535, found 70000"))
        #expect(messages.contains("spec.volumes[0].persistentVolumeClaim: not supported on a single host; use hostPath"))
        #expect(messages.contains("spec.restartPolicy: must be Always, OnFailure or Never, found \"Sometimes\""))
        #expect(set.diagnostics.count == 5)
    }

    /// gRPC probes are honoured; their port is checked as the API server checks it (1 to
    /// 65535; the API has no named gRPC port), and `service` is optional.
    @Test func grpcProbesAreAcceptedWithAValidPort() {
        let good = load(pod("""
            containers:
            - name: c
              image: host
              readinessProbe: {grpc: {port: 9090}}
              livenessProbe: {grpc: {port: 9090, service: db}}
            """))
        #expect(good.diagnostics.isEmpty, "\(good.diagnostics)")
        #expect(good.pods.first?.pod.spec.containers.first?.livenessProbe?.handler == .grpc(port: 9090, service: "db"))
        let bad = load(pod("""
            containers:
            - name: c
              image: host
              readinessProbe: {grpc: {port: 0}}
              livenessProbe: {grpc: {port: 70000}}
            """))
        let messages = bad.diagnostics.map { "\($0.path): \($0.message)" }
        #expect(messages.contains("spec.containers[0].readinessProbe.grpc.port: must be between 1 and 65535, found 0"), "\(messages)")
        #expect(messages.contains("spec.containers[0].livenessProbe.grpc.port: must be between 1 and 65535, found 70000"), "\(messages)")
    }

    @Test func wrongTypesSayWhatWasExpected() {
        let set = load(pod("containers: {name: c}"))
        #expect(set.diagnostics.first?.message == "expected a list, found a mapping")
        let set2 = load(pod("""
            containers:
            - name: c
              image: host
              args: [--port, 8080]
            """))
        #expect(set2.diagnostics.first?.message == "expected a string, found a number (8080); quote it to keep it a string")
        #expect(set2.diagnostics.first?.path == "spec.containers[0].args[1]")
    }

    @Test func ignoredFieldsWarnAndAreStillCheckedAgainstUpstream() {
        let ok = load(pod(oneContainer + "\nnodeSelector: {disk: ssd}"))
        #expect(ok.isValid)
        #expect(ok.diagnostics.map(\.description) == ["t.yaml:9:3: warning: spec.nodeSelector: ignored: scheduling has no meaning on a single host"])
        #expect(ok.pods.first?.pod.spec.ignored["nodeSelector"] == .object([JSONMember("disk", .string("ssd"))]))
        let bad = load(pod(oneContainer + "\naffinity:\n  nodeAffinity:\n    requiredDuringSchedulingIgnoredDuringExecution: []"))
        #expect(bad.diagnostics.errors.map(\.message) == ["expected a mapping, found a list"])
    }

    @Test func imageIsRequired() {
        let set = load(pod("containers:\n- name: c"))
        #expect(set.diagnostics.errors.map(\.path) == ["spec.containers[0].image"])
    }

    @Test func defaultsAreKubernetes() throws {
        let set = load(pod("""
            containers:
            - name: c
              image: host
              resources:
                limits: {cpu: 500m, memory: 64Mi}
            """))
        let p = try #require(set.pods.first?.pod)
        #expect(p.metadata.namespace == "default")
        #expect(p.spec.restartPolicy == .always)
        #expect(p.spec.terminationGracePeriodSeconds == 30)
        #expect(p.spec.dnsPolicy == "ClusterFirst")
        #expect(p.spec.containers[0].resources.cpuRequestMillis == 500)
        #expect(p.spec.containers[0].resources.memoryRequestBytes == 64 << 20)
    }

    @Test func requestsMayNotExceedLimits() {
        let set = load(pod("""
            containers:
            - name: c
              image: host
              resources:
                requests: {cpu: "2"}
                limits: {cpu: "1"}
            """))
        #expect(set.diagnostics.errors.map(\.message) == ["must be less than or equal to the cpu limit (1)"])
    }

    @Test func plainNumbersAreResolvedBeforeTheyBecomeQuantities() throws {
        let set = load(pod("containers:\n- name: c\n  image: host\n  resources:\n    limits: {cpu: 010, memory: 1e3}\n    requests: {cpu: 0x2, memory: \"010\"}"))
        let r = try #require(set.pods.first?.pod.spec.containers.first?.resources)
        #expect(r.cpuLimitMillis == 8000)
        #expect(r.memoryLimitBytes == 1000)
        #expect(r.cpuRequestMillis == 2000)
        #expect(r.memoryRequestBytes == 10)
    }

    @Test func quantitiesThatDoNotFitAreErrorsNotTraps() {
        let set = load(pod("""
            containers:
            - name: c
              image: host
              resources:
                limits: {cpu: 8Ei}
            """))
        #expect(set.diagnostics.errors.map(\.message).contains("8Ei of CPU is too large to represent in millicores"))
    }

    @Test func kubectlScalarRulesPerKindOfField() throws {
        let text = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cm}
            data: {a: x}
            ---

            """ + pod("""
            hostNetwork: yes
            containers:
            - name: c
              image: host
            volumes:
            - name: a
              configMap: {name: cm, defaultMode: 0644}
            - name: b
              configMap: {name: cm, defaultMode: 0o644}
            - name: c
              configMap: {name: cm, defaultMode: 01777}
            """)
        // 01777 is octal 1023, a sticky-bit mode Kubernetes refuses for volume files.
        let set = load(text)
        #expect(set.diagnostics.map(\.description) == ["t.yaml:21:40: error: spec.volumes[2].configMap.defaultMode: must be a file mode between 0 and 0777 (octal), found 1023"])
        let valid = load(text.replacingOccurrences(of: "- name: c\n    configMap: {name: cm, defaultMode: 01777}", with: ""))
        let p = try #require(valid.pods.first?.pod)
        #expect(p.spec.hostNetwork)
        #expect(p.spec.volumes.map { if case .configMap(let k) = $0.source { Int(k.defaultMode) } else { -1 } } == [420, 420])

        let quoted = load(pod(oneContainer + "\nvolumes:\n- name: a\n  secret: {secretName: s, optional: true, defaultMode: \"0644\"}"))
        #expect(quoted.diagnostics.errors.map(\.message) == ["expected an integer, found a string (\"0644\"); remove the quotes"])
        let env = load(pod(oneContainer + "\n  env:\n  - {name: A, value: on}"))
        #expect(env.diagnostics.errors.map(\.message) == ["expected a string, found a boolean (on); quote it to keep it a string"])
    }

    @Test func annotationKeysAreCheckedLowercasedAsTheAPIServerDoes() {
        func withMetadata(_ extra: String) -> String {
            pod(oneContainer).replacingOccurrences(of: "  name: p\n", with: "  name: p\n  \(extra)\n")
        }
        let upper = load(withMetadata("annotations: {Example.com/Key: v}"))
        #expect(upper.isValid, "\(upper.diagnostics)")
        #expect(upper.pods.first?.pod.metadata.annotations["Example.com/Key"] == "v")
        let label = load(withMetadata("labels: {Example.com/Key: v}"))
        #expect(!label.isValid, "a label key's prefix must be lower case")
        let bad = load(withMetadata("annotations: {\"a b\": v}"))
        #expect(!bad.isValid)
    }

    @Test func hostUsersFalseIsHonouredAndRefusedWithHostNamespaces() {
        #expect(load(pod(oneContainer + "\nhostUsers: false")).isValid)
        let all = load(pod(oneContainer + "\nhostUsers: false\nhostNetwork: true\nhostPID: true\nhostIPC: true"))
        // The API server's words and field names (validateHostUsers), its capitals included.
        #expect(Set(all.diagnostics.errors.map { "\($0.path): \($0.message)" }) == [
            "spec.hostNetwork: Forbidden: when `pod.Spec.HostUsers` is false",
            "spec.HostPID: Forbidden: when `pod.Spec.HostUsers` is false",
            "spec.HostIPC: Forbidden: when `pod.Spec.HostUsers` is false",
        ])
        #expect(load(pod(oneContainer + "\nhostUsers: true\nhostNetwork: true\nhostPID: true\nhostIPC: true")).isValid)
    }

    @Test func namespaceRulesAndPodRules() {
        let both = load(pod(oneContainer + "\nhostPID: true\nshareProcessNamespace: true"))
        #expect(both.diagnostics.errors.map(\.message) == ["cannot be set together with hostPID, as Kubernetes refuses it"])
        let hostPort = load(pod("containers:\n- name: c\n  image: host\n  ports:\n  - {containerPort: 80, hostPort: 8080}"))
        #expect(hostPort.isValid, "a pod on the pod network publishes a host port")
        let withNet = load(pod("hostNetwork: true\ncontainers:\n- name: c\n  image: host\n  ports:\n  - {containerPort: 80, hostPort: 80}"))
        #expect(withNet.isValid)
        let other = load(pod("hostNetwork: true\ncontainers:\n- name: c\n  image: host\n  ports:\n  - {containerPort: 80, hostPort: 8080}"))
        #expect(other.diagnostics.errors.map(\.message) == ["must equal containerPort (80) with hostNetwork"])
    }

    @Test func containerNamesAreUniqueAcrossInitContainersAndSidecarsAreRecognised() throws {
        let dup = load(pod("initContainers:\n- {name: c, image: host}\n" + oneContainer))
        #expect(dup.diagnostics.errors.map(\.message) == ["duplicate container name \"c\""])
        let sidecar = load(pod("initContainers:\n- {name: s, image: host, restartPolicy: Always}\n- {name: i, image: host}\n" + oneContainer))
        let spec = try #require(sidecar.pods.first?.pod.spec)
        #expect(spec.sidecars.map(\.name) == ["s"])
        let onMain = load(pod("containers:\n- {name: c, image: host, restartPolicy: Always}"))
        #expect(onMain.diagnostics.errors.map(\.message) == ["may only be set on init containers (Always makes a native sidecar)"])
    }

    @Test func volumeMountsNameVolumesAndPathsAreUnique() {
        let set = load(pod("""
            containers:
            - name: c
              image: host
              volumeMounts:
              - {name: v, mountPath: /a}
              - {name: v, mountPath: /a/}
              - {name: nope, mountPath: /b}
              - {name: v, mountPath: /c, subPath: ../x}
            volumes:
            - {name: v, emptyDir: {}}
            """))
        #expect(set.diagnostics.errors.map(\.message) == [
            "duplicate mount path \"/a/\" in this container",
            "no volume named \"nope\" in spec.volumes",
            "must not contain '..'",
        ])
    }

    @Test func aNullVolumeSourceIsAbsent() throws {
        let set = load(pod(oneContainer + "\nvolumes:\n- name: v\n  emptyDir:\n  hostPath: {path: /srv}\n- name: w\n  emptyDir:"))
        let volumes = try #require(set.pods.first?.pod.spec.volumes)
        #expect(volumes.map(\.source) == [.hostPath(path: "/srv", type: ""), .emptyDir(medium: "", sizeLimit: nil)])
    }

    @Test func referencesResolveWithinTheInputUnlessOptional() {
        let podText = pod(oneContainer + "\n  envFrom:\n  - configMapRef: {name: cm}\n  - secretRef: {name: s, optional: true}")
        let alone = load(podText)
        #expect(alone.diagnostics.errors.map(\.path) == ["spec.containers[0].envFrom[0].configMapRef.name"])
        // Another file of the same input defines it: a directory is applied together.
        let together = ManifestLoader.load([
            ManifestFile(name: "a.yaml", bytes: Array(podText.utf8)),
            ManifestFile(name: "b.yaml", bytes: Array("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {K: v}\n".utf8)),
        ])
        #expect(together.isValid, "\(together.diagnostics)")
    }

    @Test func duplicateObjectsAreErrorsThatNameTheFirst() {
        let set = load(pod(oneContainer) + "\n---\n" + pod(oneContainer))
        #expect(set.diagnostics.errors.map(\.message) == ["Pod default/p is defined twice (first at t.yaml:1:1)"])
    }

    @Test func otherKindsAndVersionsAreRefusedClearly() {
        #expect(load("apiVersion: apps/v1\nkind: Deployment\n").diagnostics.first?.message == "podrec reads v1 Pod, ConfigMap and Secret objects, found \"Deployment\"")
        #expect(load("apiVersion: v2\nkind: Pod\n").diagnostics.first?.message == "Pod is apiVersion: v1, found \"v2\"")
        #expect(load("kind: Pod\nspec: {}\n").diagnostics.first?.message == "required field is missing (Pod is apiVersion: v1)")
    }

    @Test func jsonInputWorks() throws {
        let set = load(#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"}, "spec": {"containers": [{"name": "c", "image": "host"}]}}"#, file: "p.json")
        #expect(set.isValid)
        #expect(try #require(set.pods.first).pod.metadata.name == "j")
    }

    @Test func secretsAreNeverPrinted() throws {
        let text = """
            apiVersion: v1
            kind: Secret
            metadata: {name: s}
            data: {password: aHVudGVyMg==, bad: "hunter3!!"}
            stringData: {token: sup3rs3cret}
            """
        let set = load(text)
        let all = set.diagnostics.map(\.description).joined() + (set.secrets.values.first.map { $0.canonicalJSON.serialized() } ?? "")
        #expect(set.diagnostics.errors.map(\.message) == ["not valid base64"])
        #expect(!all.contains("hunter"))
        let good = load("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: aHVudGVyMg==}\nstringData: {token: sup3rs3cret}\n")
        let s = try #require(good.secrets["default/s"])
        #expect(s.data["password"] == Array("hunter2".utf8))
        #expect(s.data["token"] == Array("sup3rs3cret".utf8))
        let printed = s.canonicalJSON.serialized() + s.description
        #expect(!printed.contains("hunter2") && !printed.contains("sup3rs3cret") && !printed.contains("aHVudGVyMg"))
    }

    /// `validate -o json` prints what podrec understood; fed back, it must mean the same.
    /// Found by Fuzz/ (fuzz-manifest's round trip): a label key with U+2028, written raw,
    /// read back as a line break and a parse error. YAML escapes make such characters.
    @Test func normalizedOutputLoadsBackWithLineSeparatorsAndControls() throws {
        // YAML double-quoted escapes, so the file itself holds only ASCII.
        let text = #"""
            apiVersion: v1
            kind: Pod
            metadata: {name: p, annotations: {k: "v\u2028w"}}
            spec:
              containers:
              - name: c
                image: host
                env: [{name: A, value: "x\u2028y\x85z\u2029\x80\uFEFF"}]
                args: ["\u2028"]
            """#
        let set = load(text)
        #expect(set.isValid, "\(set.diagnostics)")
        let p = try #require(set.pods.first).pod
        #expect(p.spec.containers[0].env.first?.value == "x\u{2028}y\u{85}z\u{2029}\u{80}\u{FEFF}")
        #expect(p.metadata.annotations["k"] == "v\u{2028}w")
        let printed = p.canonicalJSON.serialized(indent: 2)
        let again = load(printed, file: "out.json")
        #expect(again.isValid, "\(again.diagnostics)")
        #expect(again.pods.first?.pod.canonicalJSON.serialized(indent: 2) == printed)
    }

    /// Found by Fuzz/ (fuzz-manifest's round trip): `!!null podAffinityTerm:` was checked
    /// as the field podAffinityTerm and printed under the key "" (JSON has no null key), so
    /// the output did not load again. A null key is an error, as kubectl's "unsupported map
    /// key" is.
    @Test(arguments: ["!!null podAffinityTerm", "~", "null", "\"\"", "!!str ~"])
    func nullKeysAreErrors(key: String) {
        let set = load(pod("""
            containers: [{name: c, image: host}]
            affinity:
              podAntiAffinity:
                preferredDuringSchedulingIgnoredDuringExecution:
                - weight: 100
                  \(key): {topologyKey: zone}
            """))
        let errors = set.diagnostics.errors.map(\.description)
        switch key {
        case "\"\"", "!!str ~":
            // A string key, empty or not: an unknown field, printed and read back as such.
            #expect(errors.contains { $0.hasSuffix("unknown field") }, "\(errors)")
        default:
            #expect(errors.contains { $0.hasSuffix("preferredDuringSchedulingIgnoredDuringExecution[0]: a key must be a string, found null") }, "\(errors)")
        }
        #expect(!set.isValid)
    }

    @Test func canonicalFormIsStableUnderReordering() throws {
        let a = load(pod("containers:\n- {name: c, image: host, resources: {limits: {memory: 1Gi, cpu: \"1\"}}}\nrestartPolicy: Never"))
        let b = load(pod("restartPolicy: Never\ncontainers:\n- {image: host, name: c, resources: {limits: {cpu: 1000m, memory: 1073741824}}}"))
        let ja = try #require(a.pods.first).pod.canonicalJSON
        let jb = try #require(b.pods.first).pod.canonicalJSON
        #expect(ja.serialized() == jb.serialized())
    }
}

@Suite struct SpecHashTests {
    func hashes(_ containerYAML: String, configValue: String = "v1") throws -> String {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {K: \(configValue), F: file}\n---\n" + pod("containers:\n" + containerYAML + "\nvolumes:\n- name: cfg\n  configMap: {name: cm}")
        let set = load(text)
        #expect(set.isValid, "\(set.diagnostics)")
        let p = try #require(set.pods.first?.pod)
        return set.specHash(p.spec.containers[0], in: p)
    }

    let base = "- name: c\n  image: host\n  command: [sleep, '1']\n  volumeMounts: [{name: cfg, mountPath: /cfg}]\n  env:\n  - name: E\n    valueFrom: {configMapKeyRef: {name: cm, key: K}}"

    @Test func changesWithTheSpecAndWithResolvedEnv() throws {
        let h = try hashes(base)
        #expect(h.count == 16)
        #expect(try hashes(base) == h)
        #expect(try hashes(base.replacingOccurrences(of: "'1'", with: "'2'")) != h)
        #expect(try hashes(base, configValue: "v2") != h, "a changed ConfigMap value read through env must change the hash")
    }

    /// Spec hashes are recorded on running hosts: a changed hash restarts every container.
    /// This one was computed apart from podrec (FNV-1a 64 of the canonical JSON in Python).
    @Test func aKnownSpecHasTheSameHashAsBefore() throws {
        #expect(try hashes(base) == "6120c712eff56c33")
    }

    @Test func leavesOutResourcesThatResizeInPlace() throws {
        let small = try hashes(base + "\n  resources: {limits: {cpu: 100m, memory: 64Mi}}")
        let big = try hashes(base + "\n  resources: {limits: {cpu: 200m, memory: 64Mi}}")
        #expect(small == big)
        let policy = "\n  resizePolicy: [{resourceName: memory, restartPolicy: RestartContainer}]"
        let m1 = try hashes(base + "\n  resources: {limits: {cpu: 100m, memory: 64Mi}}" + policy)
        let m2 = try hashes(base + "\n  resources: {limits: {cpu: 100m, memory: 128Mi}}" + policy)
        let c2 = try hashes(base + "\n  resources: {limits: {cpu: 300m, memory: 64Mi}}" + policy)
        #expect(m1 != m2, "memory with RestartContainer is part of the hash")
        #expect(m1 == c2, "cpu stays NotRequired")
    }

    @Test func leavesOutMountedConfigMapContents() throws {
        // F is only mounted, never read through env: its content updates in place.
        let text1 = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {K: v, F: one}\n---\n" + pod("containers:\n" + base + "\nvolumes:\n- name: cfg\n  configMap: {name: cm}")
        let text2 = text1.replacingOccurrences(of: "F: one", with: "F: two")
        let s1 = load(text1), s2 = load(text2)
        let p1 = try #require(s1.pods.first?.pod), p2 = try #require(s2.pods.first?.pod)
        #expect(s1.specHash(p1.spec.containers[0], in: p1) == s2.specHash(p2.spec.containers[0], in: p2))
    }
}

@Suite struct BadInputTests {
    func expectOneError(_ bytes: [UInt8], containing: String) {
        let set = ManifestLoader.load([ManifestFile(name: "bad.yaml", bytes: bytes)])
        #expect(!set.isValid)
        #expect(set.diagnostics.errors.count >= 1)
        #expect(set.diagnostics.errors.first?.message.contains(containing) == true, "\(set.diagnostics)")
    }

    @Test func emptyFile() { expectOneError([], containing: "no Kubernetes objects") }
    @Test func onlyComments() { expectOneError(Array("# nothing\n---\n".utf8), containing: "no Kubernetes objects") }
    @Test func notYAMLAtAll() { expectOneError(Array("just some words\n".utf8), containing: "expected a Kubernetes object") }
    @Test func binary() { expectOneError([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x00, 0x00, 0xFF], containing: "control characters are not allowed") }
    @Test func invalidUTF8() { expectOneError(Array("kind: Pod\nmetadata: {name: \"".utf8) + [0xC3, 0x28] + Array("\"}\n".utf8), containing: "UTF-8") }
    @Test func tabsAsIndentation() { expectOneError(Array("kind: Pod\nmetadata:\n\tname: x\n".utf8), containing: "tabs cannot indent YAML") }
    @Test func duplicateKeys() { expectOneError(Array("kind: Pod\nkind: Pod\n".utf8), containing: "duplicate key \"kind\" (first defined at 1:1)") }

    @Test func hundredMegabytes() {
        let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 100 << 20)
        expectOneError(bytes, containing: "over the limit of 16 MiB")
    }

    @Test func nestingTenThousandDeep() {
        expectOneError(Array((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8), containing: "deeper than the limit")
    }

    @Test func aliasBomb() {
        var text = "a: &a [x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 {
            text += "\(Character(UnicodeScalar(UInt8(97 + i)))): &\(Character(UnicodeScalar(UInt8(97 + i)))) [" + Array(repeating: "*\(Character(UnicodeScalar(UInt8(96 + i))))", count: 9).joined(separator: ", ") + "]\n"
        }
        expectOneError(Array(text.utf8), containing: "alias bomb")
    }

    /// 10,000 containers validate, and in linear time: four times the containers may
    /// not cost more than eight times the time (a quadratic step would cost sixteen).
    @Test func tenThousandContainers() throws {
        func text(_ n: Int) -> [UInt8] {
            var s = "apiVersion: v1\nkind: Pod\nmetadata: {name: big}\nspec:\n  containers:\n"
            for i in 0..<n { s += "  - {name: c\(i), image: host, ports: [{containerPort: 80, name: p\(i % 1000)}], volumeMounts: [{name: v, mountPath: /v}]}\n" }
            s += "  volumes: [{name: v, emptyDir: {}}]\n"
            return Array(s.utf8)
        }
        let clock = ContinuousClock()
        let small = text(2_500), large = text(10_000)
        _ = ManifestLoader.load([ManifestFile(name: "warm.yaml", bytes: small)])
        var set = ManifestSet()
        let tSmall = clock.measure { set = ManifestLoader.load([ManifestFile(name: "s.yaml", bytes: small)]) }
        #expect(set.isValid)
        let tLarge = clock.measure { set = ManifestLoader.load([ManifestFile(name: "l.yaml", bytes: large)]) }
        #expect(set.isValid, "\(set.diagnostics.prefix(3))")
        #expect(set.pods.first?.pod.spec.containers.count == 10_000)
        #expect(tLarge < tSmall * 8, "2,500 containers: \(tSmall), 10,000: \(tLarge)")
    }
}
