import ImageModel
import Manifest
import PodBuilder
import PodModel
import Testing

@testable import Reconciler

/// What a pass pulls, by `imagePullPolicy`, and the pull secrets it carries.
@Suite struct PullNeedsTests {
    static let present = try! ImageReference(parsing: "busybox:1")

    func set(_ yaml: String) -> ManifestSet {
        let set = ManifestLoader.load([ManifestFile(name: "t.yaml", bytes: Array(yaml.utf8))])
        #expect(set.isValid, "\(set.diagnostics)")
        return set
    }

    func pod(_ containers: String, secrets: String = "") -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: p}
        spec:
          \(secrets)
          containers:
        \(containers)
        """
    }

    var needs: PullNeeds {
        PullNeeds(images: ImageLookup { ref in ref == Self.present ? ImageLookup.Found(rootfs: "/x", config: ImageConfig()) : nil }, pulled: [])
    }

    @Test func missingImagesArePulledUnlessTheirPolicyIsNever() throws {
        let s = set(pod("""
              - {name: a, image: "nginx:1.27"}
              - {name: b, image: "busybox:1"}
              - {name: c, image: "registry.example/app:v1", imagePullPolicy: Never}
              - {name: d, image: host}
            """))
        var n = needs
        let waits = n.missing(s.pods[0].pod, set: s)
        #expect(waits)
        #expect(n.pulls.map(\.reference.description) == ["nginx:1.27"])
        #expect(n.pulls[0].reason == "not in the store")
        #expect(n.pulls[0].pods == [PodKey(namespace: "default", name: "p")])

        var none = needs
        let only = set(pod("    - {name: b, image: \"busybox:1\"}\n    - {name: d, image: host}"))
        let presentWaits = none.missing(only.pods[0].pod, set: only)
        #expect(!presentWaits)
        #expect(none.pulls.isEmpty)
    }

    @Test func alwaysPullsWhatAStartingPodNamesOncePerInvocation() throws {
        let s = set(pod("    - {name: a, image: \"busybox:1\", imagePullPolicy: Always}\n    - {name: b, image: host}"))
        let p = s.pods[0].pod
        var n = needs
        let waitsForMissing = n.missing(p, set: s)
        #expect(!waitsForMissing)
        let waits = n.always(PullNeeds.containers(p), pod: p, set: s)
        #expect(waits)
        #expect(n.pulls.map(\.reason) == ["imagePullPolicy Always"])
        var pulled = PullNeeds(images: needs.images, pulled: [Self.present])
        let waitsAgain = pulled.always(PullNeeds.containers(p), pod: p, set: s)
        #expect(!waitsAgain)
    }

    @Test func pullSecretsComeFromTheInputAndMissingOnesAreNamed() throws {
        let yaml = pod("    - {name: a, image: \"registry.example/app:v1\"}", secrets: "imagePullSecrets: [{name: json}, {name: cfg}, {name: opaque}, {name: gone}]") + """

            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: json}
            type: kubernetes.io/dockerconfigjson
            stringData: {.dockerconfigjson: '{"auths":{"registry.example":{"auth":"dTpw"}}}'}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: cfg}
            type: kubernetes.io/dockercfg
            stringData: {.dockercfg: '{"registry.example":{"auth":"dTpw"}}'}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: opaque}
            stringData: {password: x}
            """
        let s = set(yaml)
        var n = needs
        let waits = n.missing(s.pods[0].pod, set: s)
        #expect(waits)
        let pull = try #require(n.pulls.first)
        #expect(pull.pullSecrets.map(\.id) == ["default/json", "default/cfg"])
        #expect(String(decoding: pull.pullSecrets[1].dockerConfigJSON, as: UTF8.self) == #"{"auths":{"registry.example":{"auth":"dTpw"}}}"#)
        #expect(pull.missingSecrets == ["opaque", "gone"])
        // Never printed: the description names the secrets only.
        #expect(!"\(pull)".contains("dTpw") && !"\(pull.pullSecrets)".contains("dTpw"))
    }

    @Test func aFailedImageFailsThePodsThatNameIt() throws {
        let s = set(pod("    - {name: a, image: \"nginx:1.27\"}"))
        let failed = PullNeeds.failed(s.pods[0].pod, [try ImageReference(parsing: "docker.io/library/nginx:1.27"): "manifest unknown"])
        #expect(failed?.1 == "manifest unknown")
        #expect(PullNeeds.failed(s.pods[0].pod, [try ImageReference(parsing: "nginx:1.28"): "x"]) == nil)
    }
}
