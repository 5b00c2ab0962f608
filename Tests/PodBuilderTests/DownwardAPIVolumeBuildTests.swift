import Manifest
import Planner
import PodBuilder
import PodModel
import Testing

/// downwardAPI and projected volumes built into the files the host writes (kubelet's
/// `downwardapi.CollectData` and the projected volume's `collectData`), and a label change
/// planned as new files in place.
@Suite struct DownwardAPIVolumeBuildTests {
    static func pod(labels: String = "{app: web, tier: a}") -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
          namespace: default
          labels: \(labels)
          annotations: {note: "say \\"hi\\"\\nline2 \\u00e9", b: x}
        spec:
          volumes:
          - name: info
            downwardAPI:
              defaultMode: 0440
              items:
              - {path: labels, fieldRef: {fieldPath: metadata.labels}}
              - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
              - {path: name, fieldRef: {fieldPath: metadata.name}}
              - {path: ns, fieldRef: {fieldPath: metadata.namespace}}
              - {path: uid, mode: 0400, fieldRef: {fieldPath: metadata.uid}}
              - {path: sub/app, fieldRef: {fieldPath: "metadata.labels['app']"}}
              - {path: sub/none, fieldRef: {fieldPath: "metadata.annotations['none']"}}
              - {path: mem, resourceFieldRef: {containerName: app, resource: limits.memory, divisor: 1Mi}}
              - {path: cpu, resourceFieldRef: {containerName: app, resource: requests.cpu, divisor: 1m}}
              - {path: side-cpu, resourceFieldRef: {containerName: side, resource: limits.cpu}}
          - name: all
            projected:
              defaultMode: 0400
              sources:
              - configMap: {name: cfg, items: [{key: a, path: conf/a, mode: 0444}]}
              - secret: {name: creds}
              - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
              - configMap: {name: cfg, items: [{key: b, path: token}]}
          - name: plain
            projected:
              sources:
              - configMap: {name: missing, optional: true}
              - downwardAPI: {items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]}
          containers:
          - name: app
            image: host
            command: [/usr/bin/env]
            resources: {limits: {memory: 64Mi, cpu: 500m}, requests: {cpu: 250m}}
            volumeMounts: [{name: info, mountPath: /info}, {name: all, mountPath: /all}]
          - name: side
            image: host
            command: [/usr/bin/env]
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cfg}
        data: {a: "1", b: "2"}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: creds}
        data: {token: dG9r}
        """
    }

    static func file(_ path: String, _ text: String, _ mode: UInt32) -> ProjectedFiles.File {
        .init(path: path, bytes: Array(text.utf8), mode: mode)
    }

    @Test func filesAreKubeletsValuesAndFormats() throws {
        let specs = try LaunchPlanBuilder.volumeSpecs(LaunchPlanBuilderTests.input(Self.pod()))
        // FormatMap: `key="value"` lines sorted by key, values as Go's %q (strconv.Quote:
        // quotes and control characters escaped, printable non-ASCII kept), no final newline.
        // A label or annotation that is not there is an empty file. A limit not set is the
        // node's allocatable (4 cpus; divided by 1 and rounded up).
        #expect(specs[0].spec == .files(ProjectedFiles(files: [
            Self.file("annotations", "b=\"x\"\nnote=\"say \\\"hi\\\"\\nline2 é\"", 0o440),
            Self.file("cpu", "250", 0o440),
            Self.file("labels", "app=\"web\"\ntier=\"a\"", 0o440),
            Self.file("mem", "64", 0o440),
            Self.file("name", "web", 0o440),
            Self.file("ns", "default", 0o440),
            Self.file("side-cpu", "4", 0o440),
            Self.file("sub/app", "web", 0o440),
            Self.file("sub/none", "", 0o440),
            Self.file("uid", "u1", 0o400),
        ], secret: false)))
        // Projected: the volume's defaultMode for every source, an item's mode over it, a
        // later source's path replacing an earlier one's (the secret's `token` by the last
        // configMap item's), and a secret source puts it all on a tmpfs.
        #expect(specs[1].spec == .files(ProjectedFiles(files: [
            Self.file("conf/a", "1", 0o444),
            Self.file("name", "web", 0o400),
            Self.file("token", "2", 0o400),
        ], secret: true)))
        // Without a secret source, on disk as a configMap volume; a missing optional
        // ConfigMap gives nothing.
        #expect(specs[2].spec == .files(ProjectedFiles(files: [Self.file("ns", "default", 0o644)], secret: false)))

        // Mounted read-only, as kubelet mounts every AtomicWriter volume.
        let build = try LaunchPlanBuilderTests.build(Self.pod(), prepared: [
            "info": PreparedVolume(path: "/v/info", isFile: false), "all": PreparedVolume(path: "/v/all", isFile: false),
            "plain": PreparedVolume(path: "/v/plain", isFile: false),
        ])
        let mounts = try #require(build.plan.containers.first?.mounts)
        #expect(mounts.filter { $0.target == "/info" || $0.target == "/all" }.map(\.readOnly) == [true, true])
    }

    /// A label changed in the manifest: kubelet rewrites the downward API files in place
    /// and restarts nothing. The desired pod differs from the running one only in its
    /// volume contents, so the plan is one `refreshFiles`, shown as volume files; neither a
    /// recreate nor a new launch plan.
    @Test func aLabelChangeIsNewFilesInPlace() throws {
        let before = try NetworkBuildTests.desired(Self.pod(), network: nil)
        let after = try NetworkBuildTests.desired(Self.pod(labels: #"{app: web, tier: c}"#), network: nil)
        #expect(before.immutable == after.immutable)
        #expect(before.plan == after.plan)
        #expect(before.contents != after.contents)

        var plan = before.plan
        plan.generation = 3
        var limits: [String: CgroupReading] = [:]
        func reading(_ l: CgroupLimits) -> CgroupReading {
            CgroupReading(cpuShares: l.cpuShares, cpuMax: l.cpuMax ?? .unlimited, memory: l.memory ?? .max, pids: l.pids ?? .max)
        }
        limits[""] = reading(before.limits.pod)
        for (name, l) in before.limits.containers { limits[name] = reading(l) }
        let running = ObservedPod(key: before.key, record: before.record(generation: 3), plan: plan,
                                  status: PodStatus(observedGeneration: 3, phase: .running), supervisor: .alive(pid: 42),
                                  cgroup: "podrec/shop_web_u1", cgroupExists: true, limits: limits, processes: [42])
        let observed = Observed(pods: [before.key: running])
        #expect(Planner.plan(desired: [before], observed: observed, options: PlanOptions()).actions.isEmpty)
        let actions = Planner.plan(desired: [after], observed: observed, options: PlanOptions()).actions
        #expect(actions.count == 1)
        guard case .refreshFiles? = actions.first?.kind else {
            Issue.record("\(actions.map(\.kind))")
            return
        }
        #expect(actions[0].subject == "pod default/web volume files")
        #expect(actions[0].reason.contains("no restart"))
    }
}
