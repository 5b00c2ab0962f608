import Glibc
import Kernel
import Reconciler
import KernelTestSupport
import Manifest
import PodBuilder
import PodModel
import ContainerRuntime
import HostSetup
import Testing

extension Integration {
    /// Pods from YAML, all the way: manifest → launch plan → volumes → supervisor →
    /// containers, on the real kernel.
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct ManifestPodTests {
        static let manifests = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: conf}
            data: {greeting: hello-v1}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: token}
            stringData: {token: s3cret-token}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: files, labels: {app: demo}}
            spec:
              hostname: files-host
              shareProcessNamespace: true
              terminationGracePeriodSeconds: 1
              hostAliases: [{ip: "10.1.2.3", hostnames: [db.local]}]
              volumes:
              - {name: data, emptyDir: {}}
              - {name: conf, configMap: {name: conf}}
              - {name: token, secret: {secretName: token}}
              containers:
              - name: writer
                image: host
                command: [sh, -c, 'echo from-shm > /dev/shm/marker; echo from-writer > /data/shared; exec sleep 3600']
                securityContext: {runAsUser: 1000, runAsGroup: 1000}
                volumeMounts: [{name: data, mountPath: /data}]
              - name: reader
                image: host
                command:
                - sh
                - -c
                - |
                  until [ -s /data/shared ]; do sleep 0.05; done
                  echo "data $(cat /data/shared) owner $(stat -c %u /data/shared)"
                  echo "shm $(cat /dev/shm/marker)"
                  echo "env $GREETING $POD $APP"
                  echo "id $(id -u) $(id -g)"
                  echo "token $(cat /secrets/token)"
                  echo "hosts $(grep -c 'db.local' /etc/hosts) $(hostname)"
                  echo "caps $(grep CapEff /proc/self/status | tr -d '\\t')"
                  last=
                  while true; do
                    g=$(cat /config/greeting)
                    [ "$g" != "$last" ] && echo "greeting $g" && last=$g
                    sleep 0.05
                  done
                env:
                - {name: GREETING, valueFrom: {configMapKeyRef: {name: conf, key: greeting}}}
                - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
                - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
                volumeMounts:
                - {name: data, mountPath: /data}
                - {name: conf, mountPath: /config}
                - {name: token, mountPath: /secrets}
            """

        static func load(_ text: String) throws -> ManifestSet {
            let set = ManifestLoader.load([ManifestFile(name: "pod.yaml", bytes: Array(text.utf8))])
            try #require(set.diagnostics.filter { $0.severity == .error }.isEmpty, "\(set.diagnostics)")
            return set
        }

        /// An emptyDir written by one container is read by another at `/data`, a path the
        /// host does not have; env comes from a ConfigMap and the pod's fields; the secret
        /// and `/etc/hosts` are there; a ConfigMap update reaches the running container
        /// through the `..data` swap, without a restart.
        @Test func volumesEnvAndAConfigMapUpdateWithoutARestart() throws {
            try #require(!Sys.exists("/data") && !Sys.exists("/config") && !Sys.exists("/secrets"))
            let lab = try PodLab("files")
            defer { lab.finish() }
            let set = try Self.load(Self.manifests)
            let pod = try #require(set.pods.first?.pod)
            let layout = lab.layout("files")
            let creator = LabCreator(lab: lab)
            lab.launchers.append(creator.launcher(layout))
            let status = try creator.create(pod, manifests: set, layout: layout)
            #expect(status.phase == .running, "\(status)")
            let reader = layout.logDirectory + "/reader/0.log"
            let lines = PodLab.logLines(lab.waitForText(reader, "greeting hello-v1"))
            #expect(lines.contains("data from-writer owner 1000"), "\(lines)")
            #expect(lines.contains("shm from-shm"), "one /dev/shm for the pod")
            #expect(lines.contains("env hello-v1 files demo"))
            #expect(lines.contains("id 0 0"))
            #expect(lines.contains("token s3cret-token"))
            #expect(lines.contains("hosts 1 files-host"))
            // containerd's 14 default capabilities: 0x00000000a80425fb.
            #expect(lines.contains("caps CapEff:00000000a80425fb"), "\(lines)")

            try PodVolumes().update(name: "conf", files: ProjectedFiles(files: [.init(path: "greeting", bytes: Array("hello-v2".utf8), mode: 0o644)], secret: false),
                                    layout: layout)
            let after = PodLab.logLines(lab.waitForText(reader, "greeting hello-v2"))
            #expect(after.contains("greeting hello-v2"))
            let now = try #require(try creator.launcher(layout).status())
            #expect(now.container("reader")?.restartCount == 0, "\(now)")
            #expect(now.container("reader")?.pid == status.container("reader")?.pid)
        }

        /// A container sees neither another pod's secret nor podrec's state, data and log
        /// dirs, and cannot reach the host through the supervisor's `/proc/1/root`.
        @Test func aContainerCannotReachOtherPodsOrPodrecsOwnFiles() throws {
            let lab = try PodLab("snoop")
            defer { lab.finish() }
            let creator = LabCreator(lab: lab)
            let otherSet = try Self.load("""
                apiVersion: v1
                kind: Secret
                metadata: {name: other-token}
                stringData: {token: other-pods-secret}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: other}
                spec:
                  terminationGracePeriodSeconds: 0
                  volumes: [{name: token, secret: {secretName: other-token}}]
                  containers:
                  - {name: c, image: host, command: [sleep, "3600"], volumeMounts: [{name: token, mountPath: /secrets}]}
                """)
            let otherLayout = lab.layout("other")
            lab.launchers.append(creator.launcher(otherLayout))
            try creator.create(try #require(otherSet.pods.first?.pod), manifests: otherSet, layout: otherLayout)
            let secretPath = otherLayout.volumeDirectory("token") + "/token"
            #expect(try Sys.readString(secretPath) == "other-pods-secret")

            let layout = lab.layout("snoop")
            let paths = [secretPath, layout.state.path + "/plan", otherLayout.state.path + "/plan",
                         otherLayout.dataDirectory, layout.logDirectory, lab.tmp]
            let script = paths.map { "cat \($0) >/dev/null 2>&1 && echo READ \($0) || ls \($0) >/dev/null 2>&1 && echo SEEN \($0)" }
                .joined(separator: "\n") + """

                cat /proc/1/root\(secretPath) 2>&1 | head -c 200; echo
                ls /proc/1/root/ >/dev/null 2>&1 && echo ROOT-VISIBLE
                echo finished
                exec sleep 3600
                """
            let set = try Self.load("""
                apiVersion: v1
                kind: Pod
                metadata: {name: snoop}
                spec:
                  shareProcessNamespace: true
                  terminationGracePeriodSeconds: 0
                  containers:
                  - name: c
                    image: host
                    command: [sh, -c, "\(script.doubleQuotedYAML)"]
                """)
            lab.launchers.append(creator.launcher(layout))
            try creator.create(try #require(set.pods.first?.pod), manifests: set, layout: layout)
            let lines = PodLab.logLines(lab.waitForText(layout.logDirectory + "/c/0.log", "finished"))
            #expect(!lines.contains { $0.hasPrefix("READ") || $0.hasPrefix("SEEN") || $0 == "ROOT-VISIBLE" || $0.contains("other-pods-secret") }, "\(lines)")
            #expect(lines.contains { $0.contains("Permission denied") }, "\(lines)")
        }
    }
}

extension String {
    /// The inside of a double-quoted YAML scalar: backslash, quote and newline escaped.
    var doubleQuotedYAML: String {
        var out = ""
        for ch in self {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }
}
