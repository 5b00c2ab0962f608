import Glibc
import ImageModel
import Images
import Reconciler
import Kernel
import Manifest
import PodModel
import PodBuilder
import Testing
import KernelTestSupport

/// `LaunchPlanBuilder` on pods parsed from YAML, with a fake filesystem and a fixed image
/// table: no I/O.
struct LaunchPlanBuilderTests {
    static let layout = PodLayout(root: "/run/podrec", dataRoot: "/var/lib/podrec", logRoot: "/var/log/podrec",
                                  cgroupParent: "podrec", namespace: "default", name: "web", uid: "u1")
    static let rootfs = "/var/lib/podrec/images/busybox/1/rootfs"
    static let busybox = ImageLookup.Found(
        rootfs: rootfs,
        config: ImageConfig(entrypoint: ["/bin/busybox"], cmd: ["httpd", "-f"], env: ["PATH=/bin:/usr/bin", "IMG=1"], workdir: "/www"))
    static let bare = ImageLookup.Found(rootfs: "/images/bare", config: ImageConfig())
    static let hostEntries: [String: HostEntry] = ["usr": .directory, "etc": .directory, "bin": .symlink(target: "usr/bin"),
                                                   "lib64": .symlink(target: "/usr/lib64")]
    static let node = NodeFacts(name: "box", hostIP: "10.0.0.5", milliCPU: 4000, memoryBytes: 4 << 30, ephemeralStorageBytes: 100 << 30)

    /// The host (allowlisted and not) and the image's rootfs, side by side.
    static let files = FileLookup.fake([
        "/usr/bin/sh": .file(executable: true),
        "/usr/bin/env": .file(executable: true),
        "/usr/bin/hostonly": .file(executable: true),
        "/usr/bin/notexec": .file(executable: false),
        "/usr/local/sbin/dir": .directory,
        "/root/bin/secret": .file(executable: true),
        rootfs + "/bin/busybox": .file(executable: true),
        rootfs + "/bin/sh": .symlink(target: "busybox"),
        rootfs + "/bin/loop": .symlink(target: "loop"),
        rootfs + "/usr/bin/env": .symlink(target: "/bin/busybox"),
        rootfs + "/usr/local/bin/hostonly": .symlink(target: "/usr/bin/hostonly"),
        rootfs + "/usr/local/bin/up": .symlink(target: "../../../../../../../usr/bin/hostonly"),
        rootfs + "/opt/tool": .file(executable: true),
        "/srv/data/logs/app.log": .file(executable: false),
        "/srv/data/file.txt": .file(executable: false),
        "/srv/data/inner": .symlink(target: "logs"),
        "/srv/data/out": .symlink(target: "/etc"),
        "/srv/data/up": .symlink(target: "../.."),
        "/etc/passwd": .file(executable: false),
        "/vol/tools/bin/toolx": .file(executable: true),
    ])

    static func load(_ yaml: String) throws -> (Manifest.Pod, ManifestSet) {
        let set = ManifestLoader.load([ManifestFile(name: "pod.yaml", bytes: Array(yaml.utf8))])
        let errors = set.diagnostics.filter { $0.severity == .error }
        try #require(errors.isEmpty, "\(errors)")
        let pod = try #require(set.pods.first).pod
        return (pod, set)
    }

    static func input(_ yaml: String, prepared: [String: PreparedVolume] = [:]) throws -> PodBuildInput {
        let (pod, set) = try load(yaml)
        return PodBuildInput(pod: pod, manifests: set, layout: layout, generation: 3,
                             images: .fixed(["busybox:1": busybox, "bare:latest": bare]), hostEntries: hostEntries,
                             preparedVolumes: prepared, node: node, files: files)
    }

    static func build(_ yaml: String, prepared: [String: PreparedVolume] = [:]) throws -> PodBuild {
        try LaunchPlanBuilder.build(input(yaml, prepared: prepared))
    }

    static func buildError(_ input: PodBuildInput) -> BuildError? {
        do {
            _ = try LaunchPlanBuilder.build(input)
            return nil
        } catch {
            return error
        }
    }

    static func buildError(_ yaml: String, prepared: [String: PreparedVolume] = [:]) throws -> BuildError? {
        do {
            _ = try LaunchPlanBuilder.build(input(yaml, prepared: prepared))
            return nil
        } catch let e as BuildError {
            return e
        }
    }

    /// A pod with one main container `c` given as a YAML flow mapping body.
    static func one(_ container: String, spec: String = "") -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
        \(spec.isEmpty ? "" : spec + "\n")  containers:
          - {name: c, \(container)}
        """
    }

    static func env(_ c: ContainerLaunch) -> [String: String] {
        var out: [String: String] = [:]
        for e in c.environment {
            let i = e.firstIndex(of: "=")!
            out[String(e[..<i])] = String(e[e.index(after: i)...])
        }
        return out
    }

    // MARK: - Order and restart policies

    static func orderPod(_ policy: String) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          restartPolicy: \(policy)
          initContainers:
          - {name: setup, image: host, command: [sh, -c, "true"]}
          - {name: proxy, image: host, command: [sh], restartPolicy: Always}
          - {name: migrate, image: host, command: [sh]}
          containers:
          - {name: app, image: host, command: [sh]}
          - {name: side, image: host, command: [sh]}
        """
    }

    @Test func initAndSidecarsComeFirstInSpecOrder() throws {
        let plan = try Self.build(Self.orderPod("Always")).plan
        #expect(plan.containers.map(\.name) == ["setup", "proxy", "migrate", "app", "side"])
        #expect(plan.containers.map(\.kind) == [.initContainer, .sidecar, .initContainer, .main, .main])
        #expect(plan.containers.map(\.restartPolicy) == [.onFailure, .always, .onFailure, .always, .always])
        #expect(plan.generation == 3 && plan.namespace == "default" && plan.name == "web" && plan.uid == "u1")
        #expect(plan.logDirectory == "/var/log/podrec/pods/default_web_u1")
        #expect(plan.scratchDirectory == "/run/podrec/pods/default_web/roots")
        #expect(plan.sharedShm == "/var/lib/podrec/pods/u1/shm")
        #expect(plan.terminationGracePeriodSeconds == 30)
    }

    /// tty, stdin and stdinOnce reach the plan, and are in the spec hash: kubelet restarts
    /// a container whose tty or stdin changed. The default-container annotation is kept
    /// when it names a container.
    @Test func terminalFieldsReachThePlanAndTheHash() throws {
        func pod(_ fields: String, annotation: String = "") -> String {
            """
            apiVersion: v1
            kind: Pod
            metadata: {name: web\(annotation)}
            spec:
              containers:
              - name: app
                image: host
                command: [/usr/bin/sh]
                \(fields)
              - name: side
                image: host
                command: [/usr/bin/sh]
            """
        }
        let plain = try Self.build(pod("")).plan
        let tty = try Self.build(pod("tty: true\n    stdin: true\n    stdinOnce: true", annotation: ", annotations: {kubectl.kubernetes.io/default-container: side}")).plan
        #expect(!plain.containers[0].tty && !plain.containers[0].stdin && !plain.containers[0].stdinOnce)
        #expect(tty.containers[0].tty && tty.containers[0].stdin && tty.containers[0].stdinOnce)
        #expect(tty.containers[0].specHash != plain.containers[0].specHash)
        #expect(tty.containers[1].specHash == plain.containers[1].specHash)
        let once = try Self.build(pod("stdin: true")).plan
        #expect(once.containers[0].specHash != plain.containers[0].specHash && once.containers[0].specHash != tty.containers[0].specHash)
        #expect(try Self.build(pod("tty: false")).plan.containers[0].specHash == plain.containers[0].specHash, "false is the default: the hash of before")
        #expect(tty.defaultContainer == "side" && plain.defaultContainer == nil)
        #expect(try Self.build(pod("", annotation: ", annotations: {kubectl.kubernetes.io/default-container: nope}")).plan.defaultContainer == nil)
    }

    @Test func restartPoliciesFollowThePodPolicy() throws {
        #expect(try Self.build(Self.orderPod("OnFailure")).plan.containers.map(\.restartPolicy) == [.onFailure, .always, .onFailure, .onFailure, .onFailure])
        #expect(try Self.build(Self.orderPod("Never")).plan.containers.map(\.restartPolicy) == [.never, .always, .never, .never, .never])
    }

    // MARK: - argv and the image's defaults

    @Test func neitherCommandNorArgsRunsEntrypointAndCmd() throws {
        let c = try Self.build(Self.one("image: busybox:1")).plan.containers[0]
        #expect(c.executable == "/bin/busybox")
        #expect(c.arguments == ["/bin/busybox", "httpd", "-f"])
        #expect(c.root == .image(rootfs: Self.rootfs, upper: "/var/lib/podrec/pods/u1/overlay/c/upper", work: "/var/lib/podrec/pods/u1/overlay/c/work"))
        #expect(c.workingDirectory == "/www")
    }

    @Test func argsAloneReplaceCmd() throws {
        let c = try Self.build(Self.one("image: busybox:1, args: [sh, -c, x]")).plan.containers[0]
        #expect(c.arguments == ["/bin/busybox", "sh", "-c", "x"])
    }

    @Test func commandReplacesEntrypointAndCmd() throws {
        let c = try Self.build(Self.one("image: busybox:1, command: [env], args: [-i], workingDir: /tmp")).plan.containers[0]
        #expect(c.arguments == ["env", "-i"])
        // PATH=/bin:/usr/bin from the image; /usr/bin/env -> /bin/busybox, re-rooted in the image.
        #expect(c.executable == "/usr/bin/env")
        #expect(c.workingDirectory == "/tmp")
        let onlyCommand = try Self.build(Self.one("image: busybox:1, command: [/bin/busybox]")).plan.containers[0]
        #expect(onlyCommand.arguments == ["/bin/busybox"])
    }

    @Test func hostWithoutCommandIsAnError() throws {
        let e = try #require(try Self.buildError(Self.one("image: host, args: [x]")))
        #expect(e.description == "spec.containers[0].command: image: host has no default command; set command")
    }

    @Test func imageWithoutEntrypointOrCmdNeedsACommand() throws {
        let e = try #require(try Self.buildError(Self.one("image: bare")))
        #expect(e.description == "spec.containers[0].command: image \"bare\" has no entrypoint or cmd; set command")
    }

    @Test func missingImageIsAClearErrorNeverAFallback() throws {
        let e = try #require(try Self.buildError(Self.one("image: \"nginx:1\"")))
        #expect(e.path == "spec.containers[0].image")
        #expect(e.description == "spec.containers[0].image: image \"nginx:1\" is not in the local store (podrec image ls): podrec image pull nginx:1, or podrec image import nginx:1 DIR|TAR")
        let bad = try #require(try Self.buildError(Self.one("image: Nginx")))
        #expect(bad.description.hasPrefix("spec.containers[0].image: invalid image reference \"Nginx\""))
    }

    @Test func commandAndArgsExpandKubeletVariablesOnly() throws {
        let c = try Self.build(Self.one("image: busybox:1, command: [sh, -c, \"echo $(GREETING) $(IMG) $$(GREETING)\"], env: [{name: GREETING, value: hi}]")).plan.containers[0]
        #expect(c.arguments == ["sh", "-c", "echo hi $(IMG) $(GREETING)"])
    }

    // MARK: - PATH search

    @Test func hostPathSearchUsesTheDefaultPathAndTheAllowlist() throws {
        #expect(try Self.build(Self.one("image: host, command: [sh]")).plan.containers[0].executable == "/usr/bin/sh")
        // /bin -> usr/bin, as the host has it.
        #expect(try Self.build(Self.one("image: host, command: [sh], env: [{name: PATH, value: /bin}]")).plan.containers[0].executable == "/bin/sh")
        // /root is not in the container's view; a file without an x bit and a dir are no match.
        #expect(try Self.build(Self.one("image: host, command: [secret], env: [{name: PATH, value: /root/bin}]")).plan.containers[0].executable == "secret")
        #expect(try Self.build(Self.one("image: host, command: [notexec]")).plan.containers[0].executable == "notexec")
        #expect(try Self.build(Self.one("image: host, command: [dir]")).plan.containers[0].executable == "dir")
        // A '/' means "as written".
        #expect(try Self.build(Self.one("image: host, command: [./run]")).plan.containers[0].executable == "./run")
        #expect(try Self.build(Self.one("image: host, command: [/no/such]")).plan.containers[0].executable == "/no/such")
    }

    @Test func imagePathSearchFollowsSymlinksInsideTheRootfs() throws {
        let c = try Self.build(Self.one("image: busybox:1, command: [sh]")).plan.containers[0]
        #expect(c.executable == "/bin/sh")
        #expect(c.arguments == ["sh"])
    }

    @Test func imageSymlinksNeverEscapeTheRootfs() throws {
        let path = "env: [{name: PATH, value: \"/usr/local/bin:/bin\"}]"
        // /usr/local/bin/hostonly -> /usr/bin/hostonly: exists on the host, not in the image.
        #expect(try Self.build(Self.one("image: busybox:1, command: [hostonly], \(path)")).plan.containers[0].executable == "hostonly")
        // ../../.. stops at the rootfs.
        #expect(try Self.build(Self.one("image: busybox:1, command: [up], \(path)")).plan.containers[0].executable == "up")
        // A loop is given up on.
        #expect(try Self.build(Self.one("image: busybox:1, command: [loop], \(path)")).plan.containers[0].executable == "loop")
        // Nothing from the host is found in an image, not even its /usr/bin.
        #expect(try Self.build(Self.one("image: busybox:1, command: [notexec], env: [{name: PATH, value: /usr/bin}]")).plan.containers[0].executable == "notexec")
    }

    @Test func pathSearchSeesVolumeMounts() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          volumes: [{name: tools, emptyDir: {}}]
          containers:
          - name: c
            image: busybox:1
            command: [toolx]
            env: [{name: PATH, value: "/bin:/tools/bin"}]
            volumeMounts: [{name: tools, mountPath: /tools}]
        """
        let c = try Self.build(yaml, prepared: ["tools": PreparedVolume(path: "/vol/tools", isFile: false)]).plan.containers[0]
        #expect(c.executable == "/tools/bin/toolx")
    }

    // MARK: - Environment

    @Test func environmentOrderExpansionAndEnvFrom() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          containers:
          - name: c
            image: host
            command: [sh]
            envFrom:
            - {configMapRef: {name: cfg}, prefix: CM_}
            - configMapRef: {name: raw}
            - {secretRef: {name: missing, optional: true}}
            env:
            - {name: X, value: "$(CM_A)-$(NOPE)-$$(CM_A)-$(YY)"}
            - {name: CM_A, value: over}
            - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
            - {name: YY, value: "$(POD)"}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cfg}
        data: {B: "2", A: "1"}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: raw}
        data: {"1bad": "x", ok: "y"}
        """
        let c = try Self.build(yaml).plan.containers[0]
        #expect(c.environment == [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=web",
            "CM_A=over", "CM_B=2", "ok=y", "X=1-$(NOPE)-$(CM_A)-$(YY)", "POD=web", "YY=web",
        ])
    }

    @Test func imageEnvComesBeforeTheManifestsAndIsOverridden() throws {
        let c = try Self.build(Self.one("image: busybox:1, env: [{name: IMG, value: two}, {name: HOSTNAME, value: mine}]")).plan.containers[0]
        #expect(c.environment == ["PATH=/bin:/usr/bin", "HOSTNAME=mine", "IMG=two"])
    }

    @Test func fieldRefs() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata:
          name: web
          namespace: prod
          labels: {app: web, tier: "front"}
          annotations: {note: "a \\"b\\""}
        spec:
          serviceAccountName: builder
          containers:
          - name: c
            image: host
            command: [sh]
            env:
            - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
            - {name: UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
            - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
            - {name: NONE, valueFrom: {fieldRef: {fieldPath: "metadata.labels['none']"}}}
            - {name: NOTE, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['note']"}}}
            - {name: LABELS, valueFrom: {fieldRef: {fieldPath: metadata.labels}}}
            - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
            - {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}
            - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
            - {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
        """
        let env = Self.env(try Self.build(yaml).plan.containers[0])
        #expect(env["NS"] == "prod")
        #expect(env["UID"] == "u1")
        #expect(env["APP"] == "web")
        #expect(env["NONE"] == "")
        #expect(env["NOTE"] == "a \"b\"")
        #expect(env["LABELS"] == "app=\"web\"\ntier=\"front\"")
        #expect(env["NODE"] == "box")
        #expect(env["SA"] == "builder")
        #expect(env["POD_IP"] == "127.0.0.1")
        #expect(env["HOST_IP"] == "10.0.0.5")

        let hostNet = Self.env(try Self.build(Self.one("image: host, command: [sh], env: [{name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}, {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}]",
                                                       spec: "  hostNetwork: true")).plan.containers[0])
        #expect(hostNet["IP"] == "10.0.0.5")
        #expect(hostNet["SA"] == "default")
        #expect(hostNet["HOSTNAME"] == "box")
    }

    @Test func resourceFieldRefs() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          containers:
          - name: c
            image: host
            command: [sh]
            resources:
              requests: {cpu: 250m, memory: 64Mi}
              limits: {cpu: 500m}
            env:
            - {name: CPU_M, valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}}
            - {name: CPU, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}
            - {name: REQ_CPU_M, valueFrom: {resourceFieldRef: {resource: requests.cpu, divisor: 1m}}}
            - {name: MEM_MI, valueFrom: {resourceFieldRef: {resource: requests.memory, divisor: 1Mi}}}
            - {name: MEM_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.memory}}}
            - {name: OTHER_CPU, valueFrom: {resourceFieldRef: {containerName: other, resource: requests.cpu, divisor: 1m}}}
            - {name: OTHER_LIMIT, valueFrom: {resourceFieldRef: {containerName: other, resource: limits.cpu}}}
            - {name: EPH, valueFrom: {resourceFieldRef: {resource: limits.ephemeral-storage, divisor: 1Gi}}}
          - name: other
            image: host
            command: [sh]
            resources: {requests: {cpu: "1.5"}}
        """
        let env = Self.env(try Self.build(yaml).plan.containers[0])
        #expect(env["CPU_M"] == "500")
        #expect(env["CPU"] == "1")               // 0.5 rounded up
        #expect(env["REQ_CPU_M"] == "250")
        #expect(env["MEM_MI"] == "64")
        #expect(env["MEM_LIMIT"] == String(4 << 30))   // no limit: the node's memory
        #expect(env["OTHER_CPU"] == "1500")
        #expect(env["OTHER_LIMIT"] == "4")       // no limit: the node's 4 CPUs
        #expect(env["EPH"] == "100")
    }

    @Test func configMapAndSecretKeyRefs() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          containers:
          - name: c
            image: host
            command: [sh]
            env:
            - {name: MODE, valueFrom: {configMapKeyRef: {name: cfg, key: mode}}}
            - {name: PASS, valueFrom: {secretKeyRef: {name: creds, key: password}}}
            - {name: GONE, valueFrom: {configMapKeyRef: {name: nope, key: x, optional: true}}}
            - {name: GONE2, valueFrom: {secretKeyRef: {name: creds, key: nokey, optional: true}}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cfg}
        data: {mode: fast}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: creds}
        stringData: {password: s3cret}
        """
        let c = try Self.build(yaml).plan.containers[0]
        let env = Self.env(c)
        #expect(env["MODE"] == "fast")
        #expect(env["PASS"] == "s3cret")
        #expect(env["GONE"] == nil && env["GONE2"] == nil)
        #expect(c.secretEnvironment == ["PASS"])
    }

    /// Probes and hooks reach the plan resolved: a named port is the container's number, the
    /// host the pod's address.
    @Test func probesAndHooksAreResolved() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          containers:
          - name: c
            image: host
            command: [sh]
            ports: [{name: http, containerPort: 8080}]
            startupProbe: {exec: {command: [cat, /tmp/up]}, failureThreshold: 30, periodSeconds: 1}
            livenessProbe: {httpGet: {path: /healthz, port: http, httpHeaders: [{name: X-A, value: "1"}]}, initialDelaySeconds: 3}
            readinessProbe: {tcpSocket: {port: 8080, host: 10.0.0.1}, successThreshold: 2}
            lifecycle:
              postStart: {sleep: {seconds: 1}}
              preStop: {httpGet: {port: 8080}}
        """
        let c = try Self.build(yaml).plan.containers[0]
        #expect(c.startupProbe == ProbeSpec(action: .exec(["cat", "/tmp/up"]), periodSeconds: 1, failureThreshold: 30))
        #expect(c.livenessProbe == ProbeSpec(action: .httpGet(HTTPGet(host: "127.0.0.1", port: 8080, path: "/healthz",
                                                                      headers: [HTTPHeaderField(name: "X-A", value: "1")])),
                                             initialDelaySeconds: 3))
        #expect(c.readinessProbe == ProbeSpec(action: .tcpSocket(host: "10.0.0.1", port: 8080), successThreshold: 2))
        #expect(c.postStart == .sleep(seconds: 1))
        #expect(c.preStop == .httpGet(HTTPGet(host: "127.0.0.1", port: 8080, path: "/")))
        // HTTPS (a hook's too) and gRPC: the pod IP, as kubelet's probers dial; gRPC's service
        // defaults to "" as the API server's defaulting does.
        let https = try Self.build(yaml.replacing("preStop: {httpGet: {port: 8080}}", with: "preStop: {httpGet: {port: 8080, scheme: HTTPS}}"))
        #expect(https.plan.containers[0].preStop == .httpGet(HTTPGet(host: "127.0.0.1", port: 8080, path: "/", https: true)))
        let grpc = try Self.build(yaml.replacing("readinessProbe: {tcpSocket: {port: 8080, host: 10.0.0.1}, successThreshold: 2}",
                                                 with: "readinessProbe: {grpc: {port: 9090}}")
                                      .replacing("livenessProbe: {httpGet: {path: /healthz, port: http, httpHeaders: [{name: X-A, value: \"1\"}]}, initialDelaySeconds: 3}",
                                                 with: "livenessProbe: {grpc: {port: 9090, service: db}}"))
        #expect(grpc.plan.containers[0].readinessProbe == ProbeSpec(action: .grpc(host: "127.0.0.1", port: 9090, service: "")))
        #expect(grpc.plan.containers[0].livenessProbe == ProbeSpec(action: .grpc(host: "127.0.0.1", port: 9090, service: "db")))
        // A port name the container does not have never gets here: validation refuses it.
    }

    /// The names whose values hold a Secret's data, so that `diff` and `describe` hide them:
    /// from secretKeyRef and envFrom secretRef, and through `$(VAR)` from such a name; a
    /// later plain value clears the mark.
    @Test func secretValuesAreMarkedWhereverTheyGo() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          containers:
          - name: c
            image: host
            command: [sh, -c, "login $(PASS)"]
            envFrom:
            - {secretRef: {name: creds}, prefix: S_}
            env:
            - {name: PASS, valueFrom: {secretKeyRef: {name: creds, key: password}}}
            - {name: DSN, value: "db://u:$(PASS)@h"}
            - {name: PLAIN, value: "$(MODE)"}
            - {name: S_user, value: overridden}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: creds}
        stringData: {password: s3cret, user: admin}
        """
        let c = try Self.build(yaml).plan.containers[0]
        #expect(c.secretEnvironment == ["S_password", "PASS", "DSN"])
        // S_password and PASS hold the same value; the first name found stands for it.
        #expect(SecretRedactor([c])(c.arguments.joined(separator: " ")) == "sh -c login $(S_password)")
    }

    @Test func expansionFollowsKubernetes() {
        let vars = ["A": "1", "B": "two"]
        func x(_ s: String) -> String { EnvExpansion.expand(s) { vars[$0] } }
        #expect(x("$(A)$(B)") == "1two")
        #expect(x("$$(A)") == "$(A)")
        #expect(x("$$$(A)") == "$1")
        #expect(x("$(C)") == "$(C)")
        #expect(x("$(A") == "$(A")
        #expect(x("a$") == "a$")
        #expect(x("$A") == "$A")
        #expect(x("$()") == "$()")
        #expect(x("ü$(A)ü") == "ü1ü")
    }

    // MARK: - Security

    static func caps(_ names: [Capability]) -> UInt64 { CapabilitySet(names).rawValue }

    @Test func capabilitiesAddThenDropOverTheDefault() throws {
        let c = try Self.build(Self.one("image: host, command: [sh], securityContext: {capabilities: {add: [NET_ADMIN], drop: [CAP_CHOWN, kill]}}")).plan.containers[0]
        var expected = CapabilitySet.containerDefault
        expected.remove(.chown)
        expected.remove(.kill)
        expected.insert(.netAdmin)
        #expect(c.capabilities == CapabilityMasks(expected.rawValue))
        #expect(c.capabilities?.inheritable == 0)
        #expect(c.privileged == false && c.noNewPrivileges == false)

        let plain = try Self.build(Self.one("image: host, command: [sh]")).plan.containers[0]
        #expect(plain.capabilities == CapabilityMasks(CapabilitySet.containerDefault.rawValue))
        #expect(CapabilitySet.containerDefault.capabilities.count == 14)
    }

    @Test func capabilitiesAll() throws {
        let dropAll = try Self.build(Self.one("image: host, command: [sh], securityContext: {capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}")).plan.containers[0]
        #expect(dropAll.capabilities == CapabilityMasks(Self.caps([.netBindService])))
        let addAll = try Self.build(Self.one("image: host, command: [sh], securityContext: {capabilities: {add: [ALL], drop: [SYS_ADMIN]}}")).plan.containers[0]
        var all = CapabilitySet.allKnown
        all.remove(.sysAdmin)
        #expect(addAll.capabilities == CapabilityMasks(all.rawValue))
    }

    @Test func privilegedKeepsEverything() throws {
        let c = try Self.build(Self.one("image: host, command: [sh], securityContext: {privileged: true, capabilities: {drop: [ALL]}}")).plan.containers[0]
        #expect(c.capabilities == nil)
        #expect(c.privileged)
    }

    @Test func nonRootUserGroupsAndFlags() throws {
        let yaml = Self.one("image: host, command: [sh], securityContext: {runAsUser: 1001, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true}",
                            spec: "  securityContext: {runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, supplementalGroups: [4000, 2000]}")
        let c = try Self.build(yaml).plan.containers[0]
        #expect(c.uid == 1001 && c.gid == 3000)
        #expect(c.supplementalGroups == [2000, 4000])
        #expect(c.capabilities == CapabilityMasks(bounding: CapabilitySet.containerDefault.rawValue, effective: 0, permitted: 0, inheritable: 0))
        #expect(c.noNewPrivileges && c.readOnlyRootFilesystem)
        #expect(c.mounts.first { $0.target == "/etc/resolv.conf" }?.readOnly == true)
        #expect(c.mounts.first { $0.target == "/etc/hosts" }?.readOnly == false)

        let root = try Self.build(Self.one("image: host, command: [sh]")).plan.containers[0]
        #expect(root.uid == 0 && root.gid == 0 && root.supplementalGroups.isEmpty)
    }

    @Test func runAsNonRootRefusesRoot() throws {
        let e = try #require(try Self.buildError(Self.one("image: host, command: [sh], securityContext: {runAsNonRoot: true}")))
        #expect(e.path == "spec.containers[0].securityContext.runAsNonRoot")
        #expect(try Self.buildError(Self.one("image: host, command: [sh], securityContext: {runAsNonRoot: true, runAsUser: 5}")) == nil)
    }

    // MARK: - Layered images and the image's user

    static let top = "/var/lib/podrec/images/layers/sha256/top/rootfs"
    static let base = "/var/lib/podrec/images/layers/sha256/base/rootfs"
    static let layered = FileLookup.fake([
        base + "/bin/busybox": .file(executable: true),
        base + "/bin/gone": .file(executable: true),
        base + "/usr/bin/hidden": .file(executable: true),
        base + "/opt/tool": .file(executable: true),
        top + "/bin/gone": .other,             // a whiteout
        top + "/usr": .file(executable: false), // a file over a lower directory hides it
        top + "/opt/tool": .file(executable: false),
    ])

    static func layeredInput(_ yaml: String, user: Result<ImageUser, ImageSpecError>? = nil, stopSignal: String = "") throws -> PodBuildInput {
        var input = try Self.input(yaml)
        let found = ImageLookup.Found(layers: [top, base], config: ImageConfig(cmd: ["busybox"], env: ["PATH=/usr/bin:/bin:/opt"], stopSignal: stopSignal), user: user)
        input.images = .fixed(["layered:latest": found])
        input.files = layered
        return input
    }

    @Test func layeredImagesStackTopFirstAndThePathSearchSeesWhiteouts() throws {
        let build = try LaunchPlanBuilder.build(Self.layeredInput(Self.one("image: layered")))
        let c = build.plan.containers[0]
        #expect(c.root == .image(layers: [Self.top, Self.base], upper: "/var/lib/podrec/pods/u1/overlay/c/upper", work: "/var/lib/podrec/pods/u1/overlay/c/work"))
        #expect(c.executable == "/bin/busybox")
        func exe(_ name: String) throws -> String {
            try LaunchPlanBuilder.build(Self.layeredInput(Self.one("image: layered, command: [\(name)]"))).plan.containers[0].executable
        }
        #expect(try exe("gone") == "gone", "whited out in the top layer")
        #expect(try exe("hidden") == "hidden", "under a file that hides its directory")
        #expect(try exe("tool") == "tool", "the top layer's copy is not executable")
    }

    @Test func theImagesUserAppliesUnlessRunAsUserReplacesIt() throws {
        let web = ImageUser(uid: 1000, gid: 1001)
        var c = try LaunchPlanBuilder.build(Self.layeredInput(Self.one("image: layered"), user: .success(web))).plan.containers[0]
        #expect(c.uid == 1000 && c.gid == 1001)
        c = try LaunchPlanBuilder.build(Self.layeredInput(Self.one("image: layered, securityContext: {runAsUser: 7}"), user: .success(web))).plan.containers[0]
        #expect(c.uid == 7 && c.gid == 0)
        c = try LaunchPlanBuilder.build(Self.layeredInput(Self.one("image: layered, securityContext: {runAsGroup: 9}"), user: .success(web))).plan.containers[0]
        #expect(c.uid == 1000 && c.gid == 9)
        // runAsNonRoot is checked against the image's user.
        #expect(Self.buildError(try Self.layeredInput(Self.one("image: layered, securityContext: {runAsNonRoot: true}"), user: .success(web))) == nil)
        let root = try #require(Self.buildError(try Self.layeredInput(Self.one("image: layered, securityContext: {runAsNonRoot: true}"))))
        #expect(root.path == "spec.containers[0].securityContext.runAsNonRoot")
        // A name the image's passwd lacks is an error unless runAsUser replaces it.
        let missing = Result<ImageUser, ImageSpecError>.failure(.badConfig("the image's user \"nobody\" is not in its /etc/passwd"))
        let e = try #require(Self.buildError(try Self.layeredInput(Self.one("image: layered"), user: missing)))
        #expect(e.message.contains("\"nobody\" is not in its /etc/passwd"))
        #expect(Self.buildError(try Self.layeredInput(Self.one("image: layered, securityContext: {runAsUser: 3}"), user: missing)) == nil)
    }

    @Test func theImagesStopSignalAppliesUnlessTheLifecycleSetsOne() throws {
        var c = try LaunchPlanBuilder.build(Self.layeredInput(Self.one("image: layered"), stopSignal: "SIGQUIT")).plan.containers[0]
        #expect(c.stopSignal == 3)
        c = try LaunchPlanBuilder.build(Self.layeredInput(Self.one("image: layered"), stopSignal: "USR1")).plan.containers[0]
        #expect(c.stopSignal == 10)
        c = try LaunchPlanBuilder.build(Self.layeredInput(Self.one("image: layered, lifecycle: {stopSignal: SIGINT}"), stopSignal: "SIGQUIT")).plan.containers[0]
        #expect(c.stopSignal == 2)
        #expect(Self.buildError(try Self.layeredInput(Self.one("image: layered"), stopSignal: "SIGNOPE")) != nil)
    }

    @Test func imageUsersResolveInTheImagesFiles() throws {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nweb:x:1000:1001::/home/web:/bin/sh\n"
        let group = "root:x:0:\nstaff:x:50:\n"
        #expect(try ImageUser.resolve("", passwd: passwd, group: group) == nil)
        #expect(try ImageUser.resolve("web", passwd: passwd, group: group) == ImageUser(uid: 1000, gid: 1001))
        #expect(try ImageUser.resolve("web:staff", passwd: passwd, group: group) == ImageUser(uid: 1000, gid: 50))
        #expect(try ImageUser.resolve("1000", passwd: passwd, group: group) == ImageUser(uid: 1000, gid: 1001))
        #expect(try ImageUser.resolve("4242:7", passwd: nil, group: nil) == ImageUser(uid: 4242, gid: 7))
        #expect(throws: ImageSpecError.self) { try ImageUser.resolve("nobody", passwd: passwd, group: group) }
        #expect(throws: ImageSpecError.self) { try ImageUser.resolve("web:nogroup", passwd: passwd, group: group) }
    }

    // MARK: - OOM scores and QoS

    @Test func oomScoresByQoS() throws {
        let bestEffort = try Self.build(Self.one("image: host, command: [sh]"))
        #expect(bestEffort.qos == .bestEffort)
        #expect(bestEffort.plan.containers[0].oomScoreAdj == 1000)

        let guaranteed = try Self.build(Self.one("image: host, command: [sh], resources: {limits: {cpu: 1, memory: 1Gi}}"))
        #expect(guaranteed.qos == .guaranteed)
        #expect(guaranteed.plan.containers[0].oomScoreAdj == nil)

        // 1 GiB of a 4 GiB machine: 1000 − 250.
        let burstable = try Self.build(Self.one("image: host, command: [sh], resources: {requests: {memory: 1Gi}}"))
        #expect(burstable.qos == .burstable)
        #expect(burstable.plan.containers[0].oomScoreAdj == 750)
        // Tiny: 1000 would tie BestEffort, so 999; the whole machine: at least 3.
        #expect(try Self.build(Self.one("image: host, command: [sh], resources: {requests: {cpu: 100m}}")).plan.containers[0].oomScoreAdj == 999)
        #expect(try Self.build(Self.one("image: host, command: [sh], resources: {requests: {memory: 4Gi}}")).plan.containers[0].oomScoreAdj == 3)
    }

    @Test func sidecarsScoreNoHigherThanTheSmallestMainContainer() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          initContainers:
          - {name: proxy, image: host, command: [sh], restartPolicy: Always}
          - {name: setup, image: host, command: [sh]}
          containers:
          - {name: app, image: host, command: [sh], resources: {requests: {memory: 1Gi}}}
          - {name: big, image: host, command: [sh], resources: {requests: {memory: 2Gi}}}
        """
        let plan = try Self.build(yaml).plan
        #expect(plan.container("app")?.oomScoreAdj == 750)
        #expect(plan.container("big")?.oomScoreAdj == 500)
        #expect(plan.container("proxy")?.oomScoreAdj == 750)
        #expect(plan.container("setup")?.oomScoreAdj == 999)
    }

    // MARK: - Hostname, stop signal, grace

    @Test func hostnameIsTruncatedAsKubeletDoes() throws {
        let name = String(repeating: "a", count: 62) + ".b" + String(repeating: "c", count: 20)
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: \(name)}
        spec:
          containers: [{name: c, image: host, command: [sh]}]
        """
        let plan = try Self.build(yaml).plan
        #expect(plan.hostname == String(repeating: "a", count: 62))
        #expect(Self.env(plan.containers[0])["HOSTNAME"] == plan.hostname)

        let named = try Self.build(Self.one("image: host, command: [sh]", spec: "  hostname: db-0")).plan
        #expect(named.hostname == "db-0")
        let hostNet = try Self.build(Self.one("image: host, command: [sh]", spec: "  hostNetwork: true")).plan
        #expect(hostNet.hostname == "box" && hostNet.hostNetwork)
    }

    @Test func stopSignalAndGracePeriod() throws {
        let c = try Self.build(Self.one("image: host, command: [sh], lifecycle: {stopSignal: SIGUSR1}", spec: "  terminationGracePeriodSeconds: 5"))
        #expect(c.plan.containers[0].stopSignal == 10)
        #expect(c.plan.terminationGracePeriodSeconds == 5)
        #expect(try Self.build(Self.one("image: host, command: [sh]")).plan.containers[0].stopSignal == 15)
    }

    // MARK: - Mounts

    static let mountPod = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          volumes:
          - {name: data, emptyDir: {}}
          - {name: conf, configMap: {name: cfg}}
          - {name: srv, hostPath: {path: /srv/data, type: Directory}}
          containers:
          - name: c
            image: host
            command: [sh]
            volumeMounts:
            - {name: data, mountPath: /data}
            - {name: conf, mountPath: /etc/app}
            - {name: srv, mountPath: /logs, subPath: logs, readOnly: true}
            - {name: srv, mountPath: /etc/file.txt, subPath: file.txt}
            - {name: srv, mountPath: /inner, subPath: inner}
            - {name: srv, mountPath: /new, subPath: new/dir}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cfg}
        data: {a: "1"}
        """
    static let prepared: [String: PreparedVolume] = [
        "data": PreparedVolume(path: "/var/lib/podrec/pods/u1/volumes/data", isFile: false),
        "conf": PreparedVolume(path: "/var/lib/podrec/pods/u1/volumes/conf", isFile: false),
        "srv": PreparedVolume(path: "/srv/data", isFile: false),
    ]

    @Test func mountsWithSubPathsAndTheEtcFiles() throws {
        let build = try Self.build(Self.mountPod, prepared: Self.prepared)
        #expect(build.plan.containers[0].mounts == [
            MountSpec(source: "/var/lib/podrec/pods/u1/volumes/data", target: "/data"),
            MountSpec(source: "/var/lib/podrec/pods/u1/volumes/conf", target: "/etc/app", readOnly: true),
            MountSpec(source: "/srv/data/logs", target: "/logs", readOnly: true, beneath: "/srv/data"),
            MountSpec(source: "/srv/data/file.txt", target: "/etc/file.txt", isFile: true, beneath: "/srv/data"),
            MountSpec(source: "/srv/data/logs", target: "/inner", beneath: "/srv/data"),
            MountSpec(source: "/srv/data/new/dir", target: "/new", beneath: "/srv/data"),
            MountSpec(source: "/var/lib/podrec/pods/u1/etc-hosts", target: "/etc/hosts", isFile: true),
            MountSpec(source: "/var/lib/podrec/pods/u1/resolv.conf", target: "/etc/resolv.conf", isFile: true),
        ])
        #expect(build.setup.subPathDirectories == [SubPathDirectory(volume: "/srv/data", path: "new/dir")])
    }

    @Test func ownEtcHostsIsKept() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          volumes: [{name: h, hostPath: {path: /etc/passwd, type: File}}]
          containers:
          - name: c
            image: host
            command: [sh]
            volumeMounts: [{name: h, mountPath: /etc/hosts}]
        """
        let mounts = try Self.build(yaml, prepared: ["h": PreparedVolume(path: "/etc/passwd", isFile: true)]).plan.containers[0].mounts
        #expect(mounts == [
            MountSpec(source: "/etc/passwd", target: "/etc/hosts", isFile: true),
            MountSpec(source: "/var/lib/podrec/pods/u1/resolv.conf", target: "/etc/resolv.conf", isFile: true),
        ])
    }

    @Test func subPathsThatEscapeAreRefused() throws {
        for sub in ["out", "up/etc", "out/passwd"] {
            let yaml = """
            apiVersion: v1
            kind: Pod
            metadata: {name: web}
            spec:
              volumes: [{name: srv, hostPath: {path: /srv/data}}]
              containers:
              - name: c
                image: host
                command: [sh]
                volumeMounts: [{name: srv, mountPath: /x, subPath: \(sub)}]
            """
            let e = try #require(try Self.buildError(yaml, prepared: ["srv": PreparedVolume(path: "/srv/data", isFile: false)]), "\(sub)")
            #expect(e.path == "spec.containers[0].volumeMounts[0].subPath")
            #expect(e.message.contains("outside the volume"))
        }
    }

    @Test func unpreparedVolumeIsAnError() throws {
        let e = try #require(try Self.buildError(Self.mountPod))
        #expect(e.description == "spec.containers[0].volumeMounts[0].name: volume \"data\" was not prepared")
    }

    // MARK: - Cgroups

    @Test func cgroupPathsAndLimits() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          containers:
          - {name: app, image: host, command: [sh], resources: {requests: {cpu: 250m}, limits: {cpu: 500m, memory: 128Mi}}}
          - {name: side, image: host, command: [sh], resources: {limits: {cpu: 500m, memory: 64Mi}}}
        """
        let build = try Self.build(yaml)
        #expect(build.plan.container("app")?.cgroup == "podrec/default_web_u1/app")
        #expect(build.containerLimits["app"] == CgroupLimits(cpuShares: 256, cpuMax: CPUMax(quota: .value(50_000), period: 100_000), memory: .value(128 << 20)))
        #expect(build.containerLimits["side"] == CgroupLimits(cpuShares: 512, cpuMax: CPUMax(quota: .value(50_000)), memory: .value(64 << 20)))
        #expect(build.podLimits == CgroupLimits(cpuShares: 768, cpuMax: CPUMax(quota: .value(100_000)), memory: .value(192 << 20)))
        #expect(build.setup.memoryLimit == 192 << 20)
        #expect(build.setup.shmSize == 64 << 20)

        let bestEffort = try Self.build(Self.one("image: host, command: [sh]"))
        #expect(bestEffort.containerLimits["c"] == CgroupLimits(cpuShares: 2, cpuMax: .unlimited, memory: .max))
        #expect(bestEffort.setup.memoryLimit == nil)
    }

    // MARK: - Volumes to prepare

    @Test func volumeSpecs() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          containers: [{name: c, image: host, command: [sh], resources: {limits: {memory: 1Gi}}}]
          volumes:
          - {name: scratch, emptyDir: {sizeLimit: 1Gi}}
          - {name: mem, emptyDir: {medium: Memory, sizeLimit: 2Gi}}
          - {name: mem2, emptyDir: {medium: Memory, sizeLimit: 100Mi}}
          - {name: logs, hostPath: {path: /var/log, type: DirectoryOrCreate}}
          - {name: all, configMap: {name: cfg}}
          - name: some
            configMap:
              name: cfg
              defaultMode: 0600
              items: [{key: b, path: dir/b.txt}, {key: bin, path: bin, mode: 0755}, {key: nope, path: x}]
              optional: true
          - {name: creds, secret: {secretName: creds, defaultMode: 0400}}
          - {name: gone, secret: {secretName: gone, optional: true}}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cfg}
        data: {b: "2", a: "1"}
        binaryData: {bin: AAE=}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: creds}
        data: {token: dG9r}
        """
        let input = try Self.input(yaml)
        let specs = try LaunchPlanBuilder.volumeSpecs(input)
        #expect(specs.map(\.name) == ["scratch", "mem", "mem2", "logs", "all", "some", "creds", "gone"])
        #expect(specs[0].spec == .emptyDir(memory: false, sizeLimit: 1 << 30))
        #expect(specs[1].spec == .emptyDir(memory: true, sizeLimit: 2 << 30))
        #expect(specs[2].spec == .emptyDir(memory: true, sizeLimit: 100 << 20))
        #expect(specs[3].spec == .hostPath(path: "/var/log", type: .directoryOrCreate))
        #expect(specs[4].spec == .files(ProjectedFiles(files: [
            .init(path: "a", bytes: Array("1".utf8), mode: 0o644),
            .init(path: "b", bytes: Array("2".utf8), mode: 0o644),
            .init(path: "bin", bytes: [0, 1], mode: 0o644),
        ], secret: false)))
        #expect(specs[5].spec == .files(ProjectedFiles(files: [
            .init(path: "bin", bytes: [0, 1], mode: 0o755),
            .init(path: "dir/b.txt", bytes: Array("2".utf8), mode: 0o600),
        ], secret: false)))
        #expect(specs[6].spec == .files(ProjectedFiles(files: [.init(path: "token", bytes: Array("tok".utf8), mode: 0o400)], secret: true)))
        #expect(specs[7].spec == .files(ProjectedFiles(files: [], secret: true)))

        // Step 2 returns the same list.
        var prepared: [String: PreparedVolume] = [:]
        for s in specs { prepared[s.name] = PreparedVolume(path: input.layout.volumeDirectory(s.name), isFile: false) }
        var step2 = input
        step2.preparedVolumes = prepared
        let build = try LaunchPlanBuilder.build(step2)
        #expect(build.setup.volumes.map(\.spec) == specs.map(\.spec))
        // The pod's memory limit, which bounds its memory-backed volumes.
        #expect(build.setup.memoryLimit == 1 << 30)
    }

    // MARK: - Spec hash and the plan file

    @Test func specHashIsTheManifestLayers() throws {
        let yaml = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web}
        spec:
          containers:
          - name: c
            image: host
            command: [sh]
            env: [{name: MODE, valueFrom: {configMapKeyRef: {name: cfg, key: mode}}}]
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cfg}
        data: {mode: fast}
        """
        let (pod, set) = try Self.load(yaml)
        let c = try Self.build(yaml).plan.containers[0]
        #expect(c.specHash == set.specHash(pod.spec.containers[0], in: pod))
        #expect(c.specHash.count == 16)
    }

    @Test func theBuiltPlanSurvivesItsTextForm() throws {
        let build = try Self.build(Self.mountPod, prepared: Self.prepared)
        #expect(try LaunchPlan.decode(build.plan.encoded()) == build.plan)
    }

    // MARK: - The real store and filesystem

    @Test func storedImageAndHostLookup() throws {
        let dir = try makeTemporaryDirectory("podrec-build")
        defer { try? Sys.removeTree(dir) }
        let tree = dir + "/tree"
        try Sys.mkdirs(tree + "/bin", mode: 0o755)
        try Sys.writeFileAtomically(tree + "/bin/tool", Array("#!/bin/sh\n".utf8), mode: 0o755)
        try Sys.writeFileAtomically(tree + "/bin/data", Array("x\n".utf8), mode: 0o644)
        try Sys.symlink("/bin/tool", tree + "/bin/link")
        let store = ImageStore(dataRoot: dir + "/data")
        let stored = try store.importImage(ImageReference(parsing: "t:1"), from: .path(tree), config: ImageConfig(env: ["PATH=/bin"]))

        var input = try Self.input(Self.one("image: \"t:1\", command: [link]"))
        input.images = .store(store)
        input.files = .host
        let c = try LaunchPlanBuilder.build(input).plan.containers[0]
        #expect(c.executable == "/bin/link")
        #expect(c.root == .image(rootfs: stored.rootfs, upper: "/var/lib/podrec/pods/u1/overlay/c/upper", work: "/var/lib/podrec/pods/u1/overlay/c/work"))
        #expect(c.environment.first == "PATH=/bin")

        input.pod.spec.containers[0].command = ["data"]
        #expect(try LaunchPlanBuilder.build(input).plan.containers[0].executable == "data")

        input.pod.spec.containers[0].image = "t:2"
        let e = try #require(Self.buildError(input))
        #expect(e.message.hasPrefix("image \"t:2\" is not in the local store"))
    }
}
