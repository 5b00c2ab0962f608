import Foundation
import Kernel
import KernelTestSupport
import Testing

extension Integration {
    /// downwardAPI and projected volumes through the built `podrec`, on real pods: the files
    /// as a container reads them, their update in place, and where a projected secret is
    /// kept. Each test has its own roots and cgroup parent (`CLIPodTests.CLI`), deletes its
    /// pods and checks that nothing leaked (`PodLab.finish`).
    @Suite(.serialized, .enabled(if: Privilege.enabled))
    struct CLIDownwardAPIVolumeTests {
        typealias CLI = CLIPodTests.CLI

        static func downwardPod(tier: String) -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata:
              name: dw
              labels: {app: web, tier: \(tier)}
              annotations: {note: 'say "hi"'}
            spec:
              terminationGracePeriodSeconds: 1
              volumes:
              - name: info
                downwardAPI:
                  defaultMode: 0440
                  items:
                  - {path: labels, fieldRef: {fieldPath: metadata.labels}}
                  - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
                  - {path: name, fieldRef: {fieldPath: metadata.name}}
                  - {path: namespace, fieldRef: {fieldPath: metadata.namespace}}
                  - {path: uid, mode: 0400, fieldRef: {fieldPath: metadata.uid}}
                  - {path: tier, fieldRef: {fieldPath: "metadata.labels['tier']"}}
                  - {path: mem, resourceFieldRef: {containerName: app, resource: limits.memory, divisor: 1Mi}}
                  - {path: cpu, resourceFieldRef: {containerName: app, resource: limits.cpu, divisor: 1m}}
              containers:
              - name: app
                image: host
                command: [sh, -c, 'exec sleep 3600']
                resources: {limits: {memory: 32Mi, cpu: 200m}}
                volumeMounts: [{name: info, mountPath: /info}]
            """
        }

        /// Every file of `/info` as `[name]contents` lines, the modes of two, and what
        /// `..data` points to, read inside the container in one exec.
        static func readInfo(_ podrec: CLI) throws -> (files: String, modes: String, data: String) {
            let run = try podrec("exec", "dw", "-c", "app", "--", "sh", "-c", """
                cd /info && for f in labels annotations name namespace uid tier mem cpu; do printf '[%s]' "$f"; cat "$f"; echo; done
                echo "--- $(stat -L -c %a uid name)"
                echo "--- $(readlink ..data)"
                """)
            #expect(run.status == 0, "\(run.output)")
            let parts = run.output.components(separatedBy: "--- ")
            guard parts.count == 3 else { return (run.output, "", "") }
            return (parts[0], parts[1].trimmingCharacters(in: .whitespacesAndNewlines), parts[2].trimmingCharacters(in: .whitespacesAndNewlines))
        }

        /// kubelet's downwardAPI volume (`downwardapi.CollectData` through AtomicWriter): the
        /// fieldRef and resourceFieldRef files read from inside the container, labels and
        /// annotations in `fieldpath.FormatMap`'s `key="value"` lines, modes per item. Then
        /// kubelet's refresh of a running pod's downward API volume after a label change: the
        /// files are swapped in place through a new `..data`, and the container is not
        /// restarted (same pid, restartCount 0); `diff` shows it as volume files, and is
        /// clean after.
        @Test func downwardAPIFilesAndTheirUpdateInPlace() throws {
            let (lab, podrec) = try CLI.lab("cli-downward")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", Self.downwardPod(tier: "blue"))
            let applied = try podrec("apply", "-f", file, "--wait")
            #expect(applied.status == 0, "\(applied.output)")
            let uid = try #require(try Sys.listDirectory(lab.tmp + "/data/pods").first)
            let before = try Self.readInfo(podrec)
            #expect(before.files == """
                [labels]app="web"
                tier="blue"
                [annotations]note="say \\"hi\\""
                [name]dw
                [namespace]default
                [uid]\(uid)
                [tier]blue
                [mem]32
                [cpu]200

                """, "\(before.files)")
            #expect(before.modes == "400\n440", "\(before.modes)")
            #expect(before.data.hasPrefix("..20"), "\(before.data)")
            let pid = try #require(try podrec.pid("dw", "app"))

            _ = try podrec.write("pod.yaml", Self.downwardPod(tier: "green"))
            let diff = try podrec("diff", "-f", file)
            #expect(diff.status == 1 && diff.output.contains("~ pod default/dw volume files"), "\(diff.output)")
            #expect(!diff.output.contains("restart") || diff.output.contains("no restart"), "\(diff.output)")
            #expect(!diff.output.contains("recreate") && !diff.output.contains("plan generation"), "\(diff.output)")
            let updated = try podrec("apply", "-f", file, "--wait")
            #expect(updated.status == 0, "\(updated.output)")

            let after = try Self.readInfo(podrec)
            #expect(after.files.contains("[labels]app=\"web\"\ntier=\"green\"\n[annotations]"), "\(after.files)")
            #expect(after.files.contains("[tier]green\n"), "\(after.files)")
            #expect(after.modes == "400\n440")
            #expect(after.data != before.data && after.data.hasPrefix("..20"), "a new ..data: \(before.data) → \(after.data)")
            #expect(try podrec.pid("dw", "app") == pid, "the container was not restarted")
            #expect(try podrec.status("dw", "app", "restartCount") == "0")
            #expect(try podrec("diff", "-f", file).status == 0)
        }

        static func projectedPod(greeting: String, password: String, tier: String) -> String {
            """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: cfg}
            data: {greeting: \(greeting)}
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: creds}
            stringData: {password: \(password)}
            ---
            apiVersion: v1
            kind: Pod
            metadata:
              name: pj
              labels: {tier: \(tier)}
            spec:
              terminationGracePeriodSeconds: 1
              volumes:
              - name: all
                projected:
                  defaultMode: 0440
                  sources:
                  - configMap: {name: cfg, items: [{key: greeting, path: conf/greeting}]}
                  - secret: {name: creds, items: [{key: password, path: creds/password, mode: 0400}]}
                  - downwardAPI: {items: [{path: meta/labels, fieldRef: {fieldPath: metadata.labels}}]}
              - name: plain
                projected:
                  sources:
                  - configMap: {name: cfg}
                  - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
              containers:
              - name: app
                image: host
                command: [sh, -c, 'exec sleep 3600']
                volumeMounts: [{name: all, mountPath: /all}, {name: plain, mountPath: /plain}]
            """
        }

        static func readProjected(_ podrec: CLI) throws -> String {
            let run = try podrec("exec", "pj", "-c", "app", "--", "sh", "-c", """
                for f in /all/conf/greeting /all/creds/password /all/meta/labels /plain/greeting /plain/name; do printf '[%s]' "$f"; cat "$f"; echo; done
                stat -L -c '%a %n' /all/conf/greeting /all/creds/password /plain/name
                stat -f -c '%T' /all
                touch /all/x 2>/dev/null || echo read-only
                """)
            #expect(run.status == 0, "\(run.output)")
            return run.output
        }

        /// kubelet's projected volume (`projected.collectData`): a configMap, a secret and a
        /// downwardAPI source in one dir, items with their paths and modes, the volume's
        /// `defaultMode` for the rest, mounted read-only. With a secret source, the volume is
        /// a tmpfs of its own, as a secret volume is (kubelet backs projected volumes with a
        /// memory medium), so the secret never reaches the disk; one without stays on the
        /// data root. A new ConfigMap value, Secret value and label arrive in place, with no
        /// restart, as kubelet refreshes them.
        @Test func aProjectedVolumeMixesTheThreeSourcesAndKeepsSecretsOnTmpfs() throws {
            let (lab, podrec) = try CLI.lab("cli-projected")
            defer { podrec.finish() }
            let file = try podrec.write("pod.yaml", Self.projectedPod(greeting: "hello", password: "s3cret", tier: "a"))
            let applied = try podrec("apply", "-f", file, "--wait")
            #expect(applied.status == 0, "\(applied.output)")
            #expect(try Self.readProjected(podrec) == """
                [/all/conf/greeting]hello
                [/all/creds/password]s3cret
                [/all/meta/labels]tier="a"
                [/plain/greeting]hello
                [/plain/name]pj
                440 /all/conf/greeting
                400 /all/creds/password
                644 /plain/name
                tmpfs
                read-only

                """)
            let uid = try #require(try Sys.listDirectory(lab.tmp + "/data/pods").first)
            let volumes = "\(lab.tmp)/data/pods/\(uid)/volumes"
            #expect(try Sys.isMountPoint(volumes + "/all") && Sys.filesystemType(volumes + "/all") == Sys.tmpfsMagic)
            #expect(try !Sys.isMountPoint(volumes + "/plain"))
            let pid = try #require(try podrec.pid("pj", "app"))

            _ = try podrec.write("pod.yaml", Self.projectedPod(greeting: "bonjour", password: "n3w", tier: "b"))
            let diff = try podrec("diff", "-f", file)
            #expect(diff.status == 1 && diff.output.contains("~ pod default/pj volume files"), "\(diff.output)")
            #expect(!diff.output.contains("recreate") && !diff.output.contains("plan generation"), "\(diff.output)")
            #expect(try podrec("apply", "-f", file, "--wait").status == 0)
            let after = try Self.readProjected(podrec)
            #expect(after.hasPrefix("""
                [/all/conf/greeting]bonjour
                [/all/creds/password]n3w
                [/all/meta/labels]tier="b"
                [/plain/greeting]bonjour

                """), "\(after)")
            #expect(try podrec.pid("pj", "app") == pid, "the container was not restarted")
            #expect(try podrec.status("pj", "app", "restartCount") == "0")
            #expect(try podrec("diff", "-f", file).status == 0)
        }
    }
}
