import Testing
import YAML

@testable import Manifest

/// `imagePullPolicy` and `imagePullSecrets`: honoured, defaulted as the API server does,
/// and outside the spec hash.
@Suite struct ImagePullFieldTests {
    func policy(_ image: String, _ written: String? = nil) throws -> String {
        let line = written.map { "\n  imagePullPolicy: \($0)" } ?? ""
        let set = load(pod("containers:\n- name: c\n  image: \"\(image)\"\(line)"))
        #expect(set.isValid, "\(set.diagnostics)")
        return try #require(set.pods.first).pod.spec.containers[0].imagePullPolicy
    }

    @Test func theDefaultIsAlwaysForLatestOrNoTagAndIfNotPresentOtherwise() throws {
        #expect(try policy("nginx") == "Always")
        #expect(try policy("nginx:latest") == "Always")
        #expect(try policy("registry.example:5000/team/app") == "Always")
        #expect(try policy("nginx:1.27") == "IfNotPresent")
        #expect(try policy("registry.example:5000/team/app:v1") == "IfNotPresent")
        #expect(try policy("nginx@sha256:" + String(repeating: "a", count: 64)) == "IfNotPresent")
        #expect(try policy("nginx:latest@sha256:" + String(repeating: "a", count: 64)) == "Always")
        #expect(try policy("host") == "Never")
        #expect(try policy("nginx", "Never") == "Never")
        #expect(try policy("nginx:1", "Always") == "Always")
    }

    @Test func aBadPolicyIsTheAPIServersError() {
        let set = load(pod("containers:\n- name: c\n  image: nginx\n  imagePullPolicy: Sometimes"))
        #expect(!set.isValid)
        #expect(set.diagnostics.map(\.description).joined().contains("spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\""))
    }

    @Test func pullSecretsAreHonouredWithoutAWarning() throws {
        let set = load(pod("imagePullSecrets:\n- name: regcred\n- name: other\ncontainers:\n- name: c\n  image: nginx:1"))
        #expect(set.isValid)
        #expect(set.diagnostics.isEmpty, "\(set.diagnostics)")
        let p = try #require(set.pods.first).pod
        #expect(p.spec.imagePullSecrets == ["regcred", "other"])
        #expect(p.spec.canonicalJSON.serialized().contains("\"imagePullSecrets\":[{\"name\":\"regcred\"},{\"name\":\"other\"}]"))
    }

    @Test func thePolicyIsOutsideTheSpecHash() throws {
        let a = try #require(load(pod("containers:\n- name: c\n  image: nginx:1")).pods.first).pod.spec.containers[0]
        var b = a
        b.imagePullPolicy = "Always"
        #expect(a.imagePullPolicy == "IfNotPresent")
        #expect(SpecHash.of(a, resolvedEnv: []) == SpecHash.of(b, resolvedEnv: []))
        var c = a
        c.image = "nginx:2"
        #expect(SpecHash.of(a, resolvedEnv: []) != SpecHash.of(c, resolvedEnv: []))
    }
}
