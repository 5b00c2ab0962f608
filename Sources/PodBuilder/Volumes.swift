import Manifest
import PodModel

extension LaunchPlanBuilder {
    /// Step 1: what the host side must prepare for `input.pod` (`input.preparedVolumes` is
    /// not read). See `volumeSpecs(_:configMaps:secrets:)`.
    public static func volumeSpecs(_ input: PodBuildInput) throws(BuildError) -> [(name: String, spec: VolumeSpec)] {
        try volumeSpecs(input.pod, configMaps: input.configMaps, secrets: input.secrets, uid: input.layout.uid, node: input.node)
    }

    /// Where `PodVolumes.prepare` will put each volume, without making anything: what the
    /// launch plan's mounts are built against. emptyDir, configMap and secret volumes are
    /// dirs under the pod's data dir; a hostPath is what the host has there, symlinks
    /// followed (a missing one takes its type's kind: FileOrCreate, File, Socket and the
    /// devices a file, the rest a dir).
    public static func expectedVolumes(_ volumes: [(name: String, spec: VolumeSpec)], layout: PodLayout,
                                       files: FileLookup) -> [String: PreparedVolume] {
        var out: [String: PreparedVolume] = [:]
        for (name, spec) in volumes {
            switch spec {
            case .emptyDir:
                out[name] = PreparedVolume(path: layout.volumeDirectory(name), isFile: false)
            case .files:
                out[name] = PreparedVolume(path: layout.volumeDirectory(name), isFile: false, readOnly: true)
            case .hostPath(let path, let type):
                let isFile: Bool
                if let entry = files.following(path) {
                    isFile = entry != .directory
                } else {
                    isFile = type == .fileOrCreate || type == .file || type == .socket || type == .charDevice || type == .blockDevice
                }
                out[name] = PreparedVolume(path: path, isFile: isFile)
            }
        }
        return out
    }

    /// The pod's volumes as the host prepares them, in spec order:
    ///
    /// - emptyDir: `medium: Memory` or not, and the manifest's `sizeLimit` in bytes (nil
    ///   when unset or zero). `PodVolumes` bounds a memory one further by the pod's memory
    ///   limit and the node's memory, as kubelet's `calculateEmptyDirMemorySize` does;
    /// - hostPath: path and type, checked when the pod starts;
    /// - configMap and secret: the files kubelet's `MakePayload` writes. With no `items`,
    ///   every key (`data`, and a ConfigMap's `binaryData`) at `defaultMode`; with `items`,
    ///   only those, at their `mode` or `defaultMode`, a missing key being an error unless
    ///   the volume is optional. A missing optional source gives no files. Files are
    ///   sorted by path; modes are the manifest's (Kubernetes' default 0644 for secrets
    ///   too: the model cannot tell a default from a written 0644, and 0644 lets a
    ///   non-root container read its secret; the files are on a tmpfs below a 0700 dir).
    /// - downwardAPI: kubelet's `downwardapi.CollectData`, one file per item: a fieldRef's
    ///   value as env's (`fieldpath.ExtractFieldPathAsString`: labels and annotations as
    ///   `FormatMap`'s `key="value"` lines, `uid` the pod's `uid`), a resourceFieldRef's as
    ///   env's (`node`'s allocatable for a limit that is not set). Two items of one path:
    ///   the last wins, as in kubelet's map.
    /// - projected: kubelet's projected `collectData`: each source's files as above, at the
    ///   volume's `defaultMode` (a projection has none), merged in source order, a later
    ///   path replacing an earlier one (validation refuses repeated item paths, as the API
    ///   server does, but a source without `items` can still shadow one). With a secret
    ///   source, the files go on a tmpfs as a secret volume's. (kubelet wraps every
    ///   downwardAPI and projected volume in a memory-medium emptyDir; podrec keeps the
    ///   ones with nothing secret on the data root, as configMap volumes.)
    ///
    /// The downward API's values come from the manifest: a label or annotation edited there
    /// changes the files, which the pod's contents hash (`contents`) sees, so the files are
    /// swapped in place and nothing restarts, as kubelet refreshes them.
    public static func volumeSpecs(_ pod: Manifest.Pod, configMaps: [String: ConfigMap], secrets: [String: Secret],
                                   uid: String = "", node: NodeFacts = NodeFacts()) throws(BuildError) -> [(name: String, spec: VolumeSpec)] {
        let ns = pod.metadata.namespace
        // Only metadata and resource fields reach a volume (validation), so the pod IP,
        // which is not known yet, is never read.
        let fields = EnvironmentBuilder(pod: pod, uid: uid, configMaps: configMaps, secrets: secrets, node: node, podIP: "", podIPs: "", hostname: "")
        var out: [(name: String, spec: VolumeSpec)] = []
        for (i, v) in pod.spec.volumes.enumerated() {
            let vp = "spec.volumes[\(i)]"
            switch v.source {
            case .emptyDir(let medium, let sizeLimit):
                let size = sizeLimit.flatMap { $0.isNegative || $0.isZero ? nil : $0.value }
                out.append((v.name, .emptyDir(memory: medium == "Memory", sizeLimit: size)))
            case .hostPath(let path, let type):
                guard let t = HostPathType(rawValue: type) else {
                    throw BuildError(path: vp + ".hostPath.type", message: "unknown hostPath type \"\(type)\"")
                }
                out.append((v.name, .hostPath(path: path, type: t)))
            case .configMap(let keys):
                let files = try configMapFiles(keys, configMaps["\(ns)/\(keys.name)"], namespace: ns, at: vp + ".configMap", nameKey: "name")
                out.append((v.name, .files(ProjectedFiles(files: files, secret: false))))
            case .secret(let keys):
                let files = try secretFiles(keys, secrets["\(ns)/\(keys.name)"], namespace: ns, at: vp + ".secret", nameKey: "secretName")
                out.append((v.name, .files(ProjectedFiles(files: files, secret: true))))
            case .downwardAPI(let d):
                let files = try downwardAPIFiles(d.items, defaultMode: d.defaultMode, fields: fields, at: vp + ".downwardAPI")
                out.append((v.name, .files(ProjectedFiles(files: files, secret: false))))
            case .projected(let p):
                var merged: [String: ProjectedFiles.File] = [:]
                var secret = false
                for (j, source) in p.sources.enumerated() {
                    let sp = "\(vp).projected.sources[\(j)]"
                    var files: [ProjectedFiles.File] = []
                    switch source {
                    case .configMap(var keys):
                        keys.defaultMode = p.defaultMode
                        files = try configMapFiles(keys, configMaps["\(ns)/\(keys.name)"], namespace: ns, at: sp + ".configMap", nameKey: "name")
                    case .secret(var keys):
                        keys.defaultMode = p.defaultMode
                        secret = true
                        files = try secretFiles(keys, secrets["\(ns)/\(keys.name)"], namespace: ns, at: sp + ".secret", nameKey: "name")
                    case .downwardAPI(let items):
                        files = try downwardAPIFiles(items, defaultMode: p.defaultMode, fields: fields, at: sp + ".downwardAPI")
                    case .empty:
                        break
                    }
                    for f in files { merged[Self.cleanFilePath(f.path)] = f }
                }
                out.append((v.name, .files(ProjectedFiles(files: merged.keys.sorted().map { merged[$0]! }, secret: secret))))
            }
        }
        return out
    }

    /// The files of a configMap volume or projection: `data` and `binaryData`; a missing
    /// ConfigMap is an error unless optional, and then gives nothing.
    static func configMapFiles(_ keys: ProjectedKeys, _ cm: ConfigMap?, namespace ns: String, at path: String, nameKey: String) throws(BuildError) -> [ProjectedFiles.File] {
        if cm == nil && !keys.optional {
            throw BuildError(path: "\(path).\(nameKey)", message: "ConfigMap \"\(keys.name)\" is not defined in namespace \(ns)")
        }
        var values: [String: [UInt8]] = [:]
        for (k, s) in cm?.data ?? [:] { values[k] = Array(s.utf8) }
        for (k, b) in cm?.binaryData ?? [:] where values[k] == nil { values[k] = b }
        return try projectedFiles(keys, values: values, exists: cm != nil, kind: "ConfigMap", at: path)
    }

    /// The files of a secret volume or projection, as `configMapFiles`.
    static func secretFiles(_ keys: ProjectedKeys, _ s: Secret?, namespace ns: String, at path: String, nameKey: String) throws(BuildError) -> [ProjectedFiles.File] {
        if s == nil && !keys.optional {
            throw BuildError(path: "\(path).\(nameKey)", message: "Secret \"\(keys.name)\" is not defined in namespace \(ns)")
        }
        return try projectedFiles(keys, values: s?.data ?? [:], exists: s != nil, kind: "Secret", at: path)
    }

    /// The files of downwardAPI items, sorted by path; the last item of a path wins.
    static func downwardAPIFiles(_ items: [DownwardAPIFile], defaultMode: Int32, fields: EnvironmentBuilder, at path: String) throws(BuildError) -> [ProjectedFiles.File] {
        var files: [String: ProjectedFiles.File] = [:]
        for (i, item) in items.enumerated() {
            let ip = "\(path).items[\(i)]"
            let value: String
            if let fieldPath = item.fieldPath {
                guard let v = fields.fieldValue(fieldPath) else {
                    throw BuildError(path: ip + ".fieldRef.fieldPath", message: "unsupported field path \"\(fieldPath)\"")
                }
                value = v
            } else if let r = item.resourceFieldRef {
                // The container is required in a volume (validation); `current` is its
                // fallback in env only.
                guard let c = fields.pod.spec.allContainers.first(where: { $0.name == r.containerName }) else {
                    throw BuildError(path: ip + ".resourceFieldRef.containerName", message: "no container named \"\(r.containerName ?? "")\" in this pod")
                }
                value = try fields.resourceValue(container: r.containerName, resource: r.resource, divisor: r.divisor, current: c, at: ip + ".resourceFieldRef")
            } else {
                throw BuildError(path: ip, message: "one of fieldRef and resourceFieldRef is required")
            }
            files[cleanFilePath(item.path)] = ProjectedFiles.File(path: item.path, bytes: Array(value.utf8), mode: UInt32(clamping: item.mode ?? defaultMode) & 0o777)
        }
        return files.keys.sorted().map { files[$0]! }
    }

    /// kubelet keys a payload by `path.Clean(path)`: `a/./b` and `a//b` are one file.
    static func cleanFilePath(_ p: String) -> String {
        p.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }

    static func projectedFiles(_ keys: ProjectedKeys, values: [String: [UInt8]], exists: Bool, kind: String, at path: String) throws(BuildError) -> [ProjectedFiles.File] {
        guard exists else { return [] }
        func mode(_ m: Int32) -> UInt32 { UInt32(clamping: m) & 0o777 }
        var files: [String: ProjectedFiles.File] = [:]
        if keys.items.isEmpty {
            for (k, bytes) in values { files[k] = ProjectedFiles.File(path: k, bytes: bytes, mode: mode(keys.defaultMode)) }
        } else {
            for (i, item) in keys.items.enumerated() {
                guard let bytes = values[item.key] else {
                    if keys.optional { continue }
                    throw BuildError(path: "\(path).items[\(i)].key", message: "\(kind) \"\(keys.name)\" has no key \"\(item.key)\"")
                }
                files[item.path] = ProjectedFiles.File(path: item.path, bytes: bytes, mode: mode(item.mode ?? keys.defaultMode))
            }
        }
        return files.keys.sorted().map { files[$0]! }
    }

    /// The container's mounts: every `volumeMount`, then the pod's `/etc/hosts` and
    /// `/etc/resolv.conf` unless the container mounts something there itself.
    ///
    /// - configMap and secret volumes are always read-only, as kubelet mounts them (and so
    ///   is any volume `PreparedVolume.readOnly` says);
    /// - a `subPath` is checked again (relative, no `..`) and resolved inside the prepared
    ///   volume through `lookup`, symlinks included: one that leads out of the volume is an
    ///   error (kubelet: "not within volume path"); the mount's source is the resolved
    ///   path, and `isFile` says what is there. A subPath that does not exist yet is
    ///   returned in `subPathDirectories`, for the host to create as a directory
    ///   (kubelet's `SafeMakeDir`), and mounted as one;
    /// - `/etc/hosts` is read-write (kubelet); `/etc/resolv.conf` is read-only when the root
    ///   filesystem is (containerd).
    static func mounts(_ c: Manifest.Container, at path: String, input: PodBuildInput, readOnlyRoot: Bool,
                       subPathDirectories: inout [SubPathDirectory]) throws(BuildError) -> [MountSpec] {
        var out: [MountSpec] = []
        for (j, m) in c.volumeMounts.enumerated() {
            let mp = "\(path).volumeMounts[\(j)]"
            guard let volume = input.pod.spec.volumes.first(where: { $0.name == m.name }) else {
                throw BuildError(path: mp + ".name", message: "no volume named \"\(m.name)\" in spec.volumes")
            }
            guard let prepared = input.preparedVolumes?[m.name] else {
                throw BuildError(path: mp + ".name", message: "volume \"\(m.name)\" was not prepared")
            }
            var source = prepared.path
            var isFile = prepared.isFile
            var beneath: String?
            if let sub = m.subPath, !sub.isEmpty {
                if sub.hasPrefix("/") { throw BuildError(path: mp + ".subPath", message: "must be a relative path") }
                if sub.split(separator: "/").contains("..") { throw BuildError(path: mp + ".subPath", message: "must not contain '..'") }
                if prepared.isFile {
                    throw BuildError(path: mp + ".subPath", message: "volume \"\(m.name)\" is a file; a subPath needs a directory")
                }
                let r = try resolveSubPath(sub, in: prepared.path, lookup: input.files, at: mp + ".subPath")
                source = PathResolver.join(r.volume, r.below)
                isFile = r.isFile
                // The part below the volume is opened again at each start, without symlinks
                // (`MountSpec.beneath`); a subPath of `.` is the volume itself.
                if !r.below.isEmpty {
                    beneath = r.volume
                    let made = SubPathDirectory(volume: r.volume, path: r.below.joined(separator: "/"))
                    if r.create, !subPathDirectories.contains(made) { subPathDirectories.append(made) }
                }
            }
            var readOnly = m.readOnly || prepared.readOnly
            switch volume.source {
            case .configMap, .secret, .downwardAPI, .projected: readOnly = true
            default: break
            }
            out.append(MountSpec(source: source, target: m.mountPath, readOnly: readOnly, isFile: isFile, beneath: beneath))
        }
        let targets = Set(c.volumeMounts.map { cleanPath($0.mountPath) })
        if !targets.contains("/etc/hosts") {
            out.append(MountSpec(source: input.layout.hostsFile, target: "/etc/hosts", readOnly: false, isFile: true))
        }
        if !targets.contains("/etc/resolv.conf") {
            out.append(MountSpec(source: input.layout.resolvConfFile, target: "/etc/resolv.conf", readOnly: readOnlyRoot, isFile: true))
        }
        return out
    }

    /// `sub` inside `volume` on the host, resolved and kept inside: the volume's path with
    /// its symlinks resolved, the subPath's components below it (none for the volume
    /// itself), whether that is a file, and whether it is still to be made.
    static func resolveSubPath(_ sub: String, in volume: String, lookup: FileLookup, at path: String) throws(BuildError)
        -> (volume: String, below: [String], isFile: Bool, create: Bool) {
        let host = PathResolver { lookup.entry("/" + $0.joined(separator: "/")) }
        let components = sub.split(separator: "/").map(String.init)
        let base: [String]
        switch host.resolve(volume) {
        case .found(let resolved, .directory):
            base = resolved
        case .missing(let prefix, let rest) where !rest.contains(".."):
            // A volume not made yet (the emptyDir of a pod that `diff` or `apply` is about to
            // create): it will be empty, so the subPath is to be made, and nothing in it can
            // lead outside.
            return (PathResolver.join("", prefix + rest), components, false, true)
        default:
            throw BuildError(path: path, message: "volume path \(volume) is not a directory")
        }
        let outcome = host.resolve(PathResolver.join(volume, components))
        let escaped = BuildError(path: path, message: "\"\(sub)\" leads outside the volume (through a symlink)")
        switch outcome {
        case .found(let comps, let entry):
            guard comps.starts(with: base) else { throw escaped }
            return (PathResolver.join("", base), Array(comps.dropFirst(base.count)), entry != .directory, false)
        case .missing(let prefix, let rest):
            guard prefix.starts(with: base), !rest.contains("..") else { throw escaped }
            return (PathResolver.join("", base), Array((prefix + rest).dropFirst(base.count)), false, true)
        case .failed:
            throw BuildError(path: path, message: "\"\(sub)\" cannot be resolved in the volume (a symlink loop, or a path through a file)")
        }
    }

    static func cleanPath(_ p: String) -> String {
        "/" + p.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }
}
