import Testing
import YAML

@testable import Manifest

/// downwardAPI and projected volumes in the manifest layer: decoding, the canonical form,
/// and the API server's validation (validateDownwardAPIVolumeSource,
/// validateProjectionSources), each error with file:line:column and key path.
@Suite struct DownwardAPIVolumeTests {
    static let containers = """
        containers:
        - name: c
          image: host
          resources: {limits: {memory: 64Mi}}
        """

    @Test func decodesBothKindsWithModesAndSources() throws {
        let set = load(pod(Self.containers + """

            volumes:
            - name: info
              downwardAPI:
                defaultMode: 0440
                items:
                - {path: labels, fieldRef: {fieldPath: metadata.labels}}
                - {path: mem, mode: 0400, resourceFieldRef: {containerName: c, resource: limits.memory, divisor: 1Mi}}
            - name: all
              projected:
                defaultMode: 0400
                sources:
                - configMap: {name: cm, items: [{key: a, path: conf/a}], optional: true}
                - secret: {name: s, optional: true}
                - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
            """))
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
        let volumes = try #require(set.pods.first?.pod.spec.volumes)
        guard case .downwardAPI(let d) = volumes[0].source, case .projected(let p) = volumes[1].source else {
            Issue.record("\(volumes)")
            return
        }
        #expect(d.defaultMode == 0o440)
        #expect(d.items == [
            DownwardAPIFile(path: "labels", fieldPath: "metadata.labels"),
            DownwardAPIFile(path: "mem", resourceFieldRef: ResourceFieldSelector(containerName: "c", resource: "limits.memory", divisor: try Quantity(parsing: "1Mi")), mode: 0o400),
        ])
        #expect(p.defaultMode == 0o400)
        #expect(p.sources.count == 3)
        // The canonical form, which `-o json` prints and the pod's record keeps.
        #expect(volumes[1].canonicalJSON.serialized() == #"{"name":"all","projected":{"sources":[{"configMap":{"name":"cm","items":[{"key":"a","path":"conf/a"}],"optional":true}},{"secret":{"name":"s","optional":true}},{"downwardAPI":{"items":[{"path":"name","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.name"}}]}}],"defaultMode":256}}"#)
        #expect(volumes[0].canonicalJSON.serialized().contains(#""resourceFieldRef":{"containerName":"c","resource":"limits.memory","divisor":"1Mi"},"mode":256"#))
    }

    /// validateDownwardAPIVolumeFile's rules, each at its key with file:line:column.
    @Test func itemRulesAreTheAPIServers() {
        let set = load(pod(Self.containers + """

            volumes:
            - name: info
              downwardAPI:
                defaultMode: 01000
                items:
                - {path: /abs, fieldRef: {fieldPath: metadata.name}}
                - {path: a/../b, fieldRef: {fieldPath: metadata.name}}
                - {path: ..x, fieldRef: {fieldPath: metadata.name}}
                - {path: ip, fieldRef: {fieldPath: status.podIP}}
                - {path: both, fieldRef: {fieldPath: metadata.name}, resourceFieldRef: {containerName: c, resource: limits.cpu}}
                - {path: none}
                - {path: cpu, resourceFieldRef: {resource: limits.cpu}}
                - {path: gpu, resourceFieldRef: {containerName: c, resource: limits.gpu}}
                - {path: mode, mode: 01000, fieldRef: {fieldPath: metadata.uid}}
                - {path: key, fieldRef: {fieldPath: "metadata.labels['a b']"}}
                - {path: other, resourceFieldRef: {containerName: nope, resource: limits.cpu}}
            """), file: "dw.yaml")
        let lines = set.diagnostics.map(\.description)
        let base = "spec.volumes[0].downwardAPI"
        let expected = [
            "dw.yaml:13:20: error: \(base).defaultMode: must be a file mode between 0 and 0777 (octal), found 512",
            "dw.yaml:15:16: error: \(base).items[0].path: must be a relative path",
            "dw.yaml:16:16: error: \(base).items[1].path: must not contain '..'",
            "dw.yaml:17:16: error: \(base).items[2].path: must not start with '..'",
            #"dw.yaml:18:42: error: \#(base).items[3].fieldRef.fieldPath: Unsupported value: "status.podIP": supported values: "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid""#,
            #"dw.yaml:19:9: error: \#(base).items[4]: Invalid value: "resource": fieldRef and resourceFieldRef can not be specified simultaneously"#,
            "dw.yaml:20:9: error: \(base).items[5]: Required value: one of fieldRef and resourceFieldRef is required",
            "dw.yaml:21:39: error: \(base).items[6].resourceFieldRef.containerName: Required value",
            "dw.yaml:22:68: error: \(base).items[7].resourceFieldRef.resource: must be one of limits.cpu, limits.memory, limits.ephemeral-storage, requests.cpu, requests.memory, requests.ephemeral-storage, found \"limits.gpu\"",
            "dw.yaml:23:28: error: \(base).items[8].mode: must be a file mode between 0 and 0777 (octal), found 512",
        ]
        for e in expected { #expect(lines.contains(e), "\(e)\nnot in\n\(lines.joined(separator: "\n"))") }
        #expect(lines.contains { $0.contains("\(base).items[9].fieldRef.fieldPath: key \"a b\"") }, "\(lines)")
        #expect(lines.contains { $0.contains("\(base).items[10].resourceFieldRef.containerName: no container named \"nope\"") }, "\(lines)")
        #expect(lines.count == expected.count + 2, "\(lines.joined(separator: "\n"))")
    }

    /// validateProjectionSources: a path given twice across the sources is the API server's
    /// "conflicting duplicate paths" (its value the source's name, or a downwardAPI item's
    /// path), put at the item that repeats it; more than one type in a source is an error.
    @Test func projectedPathsAreUniqueAcrossSources() {
        let set = load(pod(Self.containers + """

            volumes:
            - name: all
              projected:
                sources:
                - configMap: {name: cm, items: [{key: a, path: x}], optional: true}
                - secret: {name: s, items: [{key: b, path: x}], optional: true}
                - downwardAPI: {items: [{path: x, fieldRef: {fieldPath: metadata.name}}]}
                - configMap: {name: cm2, optional: true}
                  secret: {name: s2, optional: true}
                - secret: {optional: true}
            """), file: "pr.yaml")
        let lines = set.diagnostics.map(\.description)
        let base = "spec.volumes[0].projected.sources"
        #expect(lines.contains(#"pr.yaml:15:50: error: \#(base)[1].secret.items[0].path: Invalid value: "s": conflicting duplicate paths"#), "\(lines)")
        #expect(lines.contains(#"pr.yaml:16:38: error: \#(base)[2].downwardAPI.items[0].path: Invalid value: "x": conflicting duplicate paths"#), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("pr.yaml:17:9: error: \(base)[3]: may not specify more than one volume type") }, "\(lines)")
        #expect(lines.contains { $0.contains("\(base)[4].secret.name: required field is missing") }, "\(lines)")
        #expect(lines.count == 4, "\(lines.joined(separator: "\n"))")
    }

    /// The sources that need an API server stay refused, with the reason, file:line:column
    /// and key path; podCertificate (Kubernetes 1.34) is newer than the schema and says so.
    @Test func sourcesThatNeedAnAPIServerAreRefused() {
        let set = load(pod(Self.containers + """

            volumes:
            - name: tok
              projected:
                sources:
                - serviceAccountToken: {path: token}
                - clusterTrustBundle: {name: b, path: ca.pem}
                - podCertificate: {signerName: x/y, keyType: ED25519}
            """), file: "sa.yaml")
        let lines = set.diagnostics.map(\.description)
        let base = "spec.volumes[0].projected.sources"
        #expect(lines.contains("sa.yaml:14:9: error: \(base)[0].serviceAccountToken: service-account tokens are issued by an API server; podrec has no service accounts or API server"), "\(lines)")
        #expect(lines.contains("sa.yaml:15:9: error: \(base)[1].clusterTrustBundle: ClusterTrustBundles are objects of an API server, which podrec does not have"), "\(lines)")
        #expect(lines.contains("sa.yaml:16:9: error: \(base)[2].podCertificate: a field newer than Kubernetes 1.32, refused: pod certificates are issued by an API server's signers, and podrec has no API server"), "\(lines)")
        #expect(lines.count == 3, "\(lines.joined(separator: "\n"))")
    }

    /// A projected volume's ConfigMaps and Secrets must be in the input unless optional,
    /// as a configMap or secret volume's.
    @Test func projectedReferencesResolveWithinTheInput() {
        let set = load(pod(Self.containers + """

            volumes:
            - name: all
              projected:
                sources:
                - configMap: {name: missing}
                - secret: {name: gone, items: [{key: k, path: k}]}
            """))
        let messages = set.diagnostics.map { "\($0.path): \($0.message)" }
        #expect(messages.contains { $0.hasPrefix("spec.volumes[0].projected.sources[0].configMap.name: ConfigMap \"missing\" is not defined in this input") }, "\(messages)")
        #expect(messages.contains { $0.hasPrefix("spec.volumes[0].projected.sources[1].secret.name: Secret \"gone\" is not defined in this input") }, "\(messages)")
    }
}
