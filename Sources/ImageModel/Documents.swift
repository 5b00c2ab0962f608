import YAML

/// `os/architecture[/variant]`, as an index lists it and `--platform` spells it.
public struct Platform: Sendable, Hashable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?

    public init(os: String = "linux", architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// `linux/arm64/v8`; GOARCH names (amd64, arm64, arm, 386, ppc64le, s390x, riscv64).
    public init(parsing text: String) throws(ImageSpecError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw .badConfig("platform \"\(text)\": expected OS/ARCH[/VARIANT], e.g. linux/amd64")
        }
        self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }

    /// The GOARCH name of a `uname -m` machine (the caller reads uname; this stays pure).
    public static func goArchitecture(machine: String) -> String {
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64", "arm64": return "arm64"
        case "i386", "i486", "i586", "i686": return "386"
        case let m where m.hasPrefix("armv"): return "arm"
        default: return machine  // ppc64le, s390x, riscv64 are spelled alike
        }
    }

    public var description: String { "\(os)/\(architecture)" + (variant.map { "/" + $0 } ?? "") }

    /// A variant the spec gives a default to: arm64 without variant is v8.
    var normalizedVariant: String? {
        if architecture == "arm64" && (variant == nil || variant == "v8") { return "v8" }
        return variant
    }

    init(_ o: JSONObject) throws(ImageSpecError) {
        self.init(os: try o.requiredString("os"), architecture: try o.requiredString("architecture"), variant: try o.string("variant"))
    }
}

/// What a manifest or index points to.
public struct Descriptor: Sendable, Hashable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var platform: Platform?
    public var annotations: [String: String]

    public init(mediaType: String, digest: Digest, size: Int64, platform: Platform? = nil, annotations: [String: String] = [:]) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.annotations = annotations
    }

    /// The tag an OCI layout's index.json gives a manifest.
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"

    public init(_ o: JSONObject) throws(ImageSpecError) {
        mediaType = try o.requiredString("mediaType")
        do { digest = try Digest(parsing: try o.requiredString("digest")) } catch { throw o.bad("a descriptor's \"digest\": \(error)") }
        guard let size = try o.int("size"), size >= 0 else { throw o.bad("descriptor \(digest): \"size\" is missing or negative") }
        self.size = size
        platform = try o.object("platform").map { (p: JSONObject) throws(ImageSpecError) in try Platform(p) }
        annotations = try o.stringMap("annotations")
    }

    public var json: JSONValue {
        var m = [JSONMember("mediaType", .string(mediaType)), JSONMember("digest", .string(digest.description)), JSONMember("size", .int(size))]
        if let platform {
            var p = [JSONMember("architecture", .string(platform.architecture)), JSONMember("os", .string(platform.os))]
            if let v = platform.variant { p.append(JSONMember("variant", .string(v))) }
            m.append(JSONMember("platform", .object(p)))
        }
        if !annotations.isEmpty {
            m.append(JSONMember("annotations", .object(annotations.sorted { $0.key < $1.key }.map { JSONMember($0.key, .string($0.value)) })))
        }
        return .object(m)
    }
}

/// An image manifest, OCI or Docker schema 2: one config and the layers, base first.
public struct ImageManifest: Sendable, Hashable {
    public var mediaType: String
    public var config: Descriptor
    public var layers: [Descriptor]

    public init(mediaType: String = MediaType.ociManifest, config: Descriptor, layers: [Descriptor]) {
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
    }

    public init(_ o: JSONObject, mediaType: String) throws(ImageSpecError) {
        guard try o.int("schemaVersion") == 2 else { throw o.bad("\"schemaVersion\" is not 2 (schema 1 manifests are not supported)") }
        self.mediaType = mediaType
        guard let c = try o.object("config") else { throw o.bad("a manifest without \"config\"") }
        config = try Descriptor(c)
        var layers: [Descriptor] = []
        for l in try o.objects("layers") ?? [] {
            let d = try Descriptor(l)
            guard MediaType.layerCompression(d.mediaType) != nil else {
                throw o.bad("layer \(d.digest) has the media type \"\(d.mediaType)\", which podrec does not unpack")
            }
            layers.append(d)
        }
        self.layers = layers
    }

    /// The manifest as podrec writes it (for imports of a plain rootfs): OCI, keys in a
    /// fixed order, so the same image gives the same bytes and digest.
    public var json: JSONValue {
        .object([
            JSONMember("schemaVersion", .int(2)),
            JSONMember("mediaType", .string(mediaType)),
            JSONMember("config", config.json),
            JSONMember("layers", .array(layers.map(\.json))),
        ])
    }
}

/// An OCI index or a Docker manifest list: manifests for several platforms.
public struct ImageIndex: Sendable, Hashable {
    public var mediaType: String
    public var manifests: [Descriptor]

    public init(mediaType: String = MediaType.ociIndex, manifests: [Descriptor]) {
        self.mediaType = mediaType
        self.manifests = manifests
    }

    public init(_ o: JSONObject, mediaType: String) throws(ImageSpecError) {
        guard try o.int("schemaVersion") == 2 else { throw o.bad("\"schemaVersion\" is not 2") }
        self.mediaType = mediaType
        guard let ms = try o.objects("manifests") else { throw o.bad("an index without \"manifests\"") }
        var out: [Descriptor] = []
        for m in ms { out.append(try Descriptor(m)) }
        manifests = out
    }

    /// The manifest for `platform`: same os and architecture, and the variant when one is
    /// asked for (arm64 with none is v8). Without a variant asked, the first match wins, as
    /// containerd's default matcher orders them. nil: none fits. Entries that are not image
    /// manifests (attestations, `unknown/unknown`) never match.
    public func select(_ platform: Platform) -> Descriptor? {
        let candidates = manifests.filter {
            MediaType.isManifest($0.mediaType) && $0.platform?.os == platform.os && $0.platform?.architecture == platform.architecture
        }
        if platform.variant != nil {
            return candidates.first { $0.platform?.normalizedVariant == platform.normalizedVariant }
        }
        return candidates.first
    }

    public var json: JSONValue {
        .object([
            JSONMember("schemaVersion", .int(2)),
            JSONMember("mediaType", .string(mediaType)),
            JSONMember("manifests", .array(manifests.map(\.json))),
        ])
    }
}

/// A manifest-or-index document, told apart by its `mediaType` (or, for the older
/// documents without one, by which list it has).
public enum ManifestDocument: Sendable, Hashable {
    case manifest(ImageManifest)
    case index(ImageIndex)

    /// `declared` is the media type the transport said (a descriptor, a Content-Type); the
    /// document's own `mediaType` field must agree when both are present.
    public init(parsing bytes: [UInt8], what: String, declared: String? = nil) throws(ImageSpecError) {
        let o = try JSONObject(parsing: bytes, what: what)
        let own = try o.string("mediaType")
        if let own, let declared, own != declared {
            throw o.bad("declared as \"\(declared)\" but its mediaType is \"\(own)\"")
        }
        let type = own ?? declared ?? (o["manifests"] != nil ? MediaType.ociIndex : MediaType.ociManifest)
        if MediaType.isIndex(type) {
            self = .index(try ImageIndex(o, mediaType: type))
        } else if MediaType.isManifest(type) {
            self = .manifest(try ImageManifest(o, mediaType: type))
        } else {
            throw o.bad("the media type \"\(type)\" is not an image manifest or index")
        }
    }
}

/// The image config blob (`application/vnd.oci.image.config.v1+json`, Docker's alike):
/// the run defaults and the layers' uncompressed digests.
public struct OCIImageConfig: Sendable, Hashable {
    public var architecture: String
    public var os: String
    public var variant: String?
    public var created: String?
    public var entrypoint: [String]
    public var cmd: [String]
    public var env: [String]
    public var workingDir: String
    public var user: String
    public var stopSignal: String?
    /// `rootfs.diff_ids`: each layer's uncompressed tar SHA-256, base first.
    public var diffIDs: [Digest]

    public init(architecture: String, os: String = "linux", variant: String? = nil, created: String? = nil,
                entrypoint: [String] = [], cmd: [String] = [], env: [String] = [], workingDir: String = "",
                user: String = "", stopSignal: String? = nil, diffIDs: [Digest]) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
        self.created = created
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.env = env
        self.workingDir = workingDir
        self.user = user
        self.stopSignal = stopSignal
        self.diffIDs = diffIDs
    }

    public init(parsing bytes: [UInt8], what: String) throws(ImageSpecError) {
        let o = try JSONObject(parsing: bytes, what: what)
        architecture = try o.string("architecture") ?? ""
        os = try o.string("os") ?? ""
        variant = try o.string("variant")
        created = try o.string("created")
        let c = try o.object("config")
        entrypoint = try c?.strings("Entrypoint") ?? []
        cmd = try c?.strings("Cmd") ?? []
        env = try c?.strings("Env") ?? []
        workingDir = try c?.string("WorkingDir") ?? ""
        user = try c?.string("User") ?? ""
        stopSignal = try c?.string("StopSignal")
        guard let rootfs = try o.object("rootfs") else { throw o.bad("no \"rootfs\"") }
        guard try rootfs.string("type") == "layers" else { throw o.bad("\"rootfs.type\" is not \"layers\"") }
        var ids: [Digest] = []
        for s in try rootfs.strings("diff_ids") ?? [] { ids.append(try Digest(parsing: s)) }
        diffIDs = ids
    }

    /// The run defaults as the builder takes them.
    public var runDefaults: ImageConfig {
        ImageConfig(entrypoint: entrypoint, cmd: cmd, env: env, workdir: workingDir, created: created ?? "",
                    user: user, stopSignal: stopSignal ?? "")
    }

    public var json: JSONValue {
        var config: [JSONMember] = []
        if !user.isEmpty { config.append(JSONMember("User", .string(user))) }
        if !env.isEmpty { config.append(JSONMember("Env", .array(env.map { .string($0) }))) }
        if !entrypoint.isEmpty { config.append(JSONMember("Entrypoint", .array(entrypoint.map { .string($0) }))) }
        if !cmd.isEmpty { config.append(JSONMember("Cmd", .array(cmd.map { .string($0) }))) }
        if !workingDir.isEmpty { config.append(JSONMember("WorkingDir", .string(workingDir))) }
        if let stopSignal { config.append(JSONMember("StopSignal", .string(stopSignal))) }
        var m: [JSONMember] = []
        if let created { m.append(JSONMember("created", .string(created))) }
        m.append(JSONMember("architecture", .string(architecture)))
        m.append(JSONMember("os", .string(os)))
        if let variant { m.append(JSONMember("variant", .string(variant))) }
        m.append(JSONMember("config", .object(config)))
        m.append(JSONMember("rootfs", .object([
            JSONMember("type", .string("layers")),
            JSONMember("diff_ids", .array(diffIDs.map { .string($0.description) })),
        ])))
        return .object(m)
    }
}

/// One image of a docker-archive's `manifest.json` (`docker save`, `podman save`).
public struct DockerArchiveEntry: Sendable, Hashable {
    /// The config file's path in the archive (`<hex>.json`, or `blobs/sha256/<hex>`).
    public var config: String
    public var repoTags: [String]
    /// The layer tar paths, base first.
    public var layers: [String]

    public init(config: String, repoTags: [String], layers: [String]) {
        self.config = config
        self.repoTags = repoTags
        self.layers = layers
    }

    public static func parse(_ bytes: [UInt8], what: String) throws(ImageSpecError) -> [DockerArchiveEntry] {
        var out: [DockerArchiveEntry] = []
        for o in try parseJSONArray(bytes, what: what) {
            out.append(DockerArchiveEntry(config: try o.requiredString("Config"), repoTags: try o.strings("RepoTags") ?? [],
                                          layers: try o.strings("Layers") ?? []))
        }
        return out
    }
}
