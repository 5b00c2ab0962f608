import ImageModel
import Testing

/// The pure image documents: digests, manifests, indexes, configs, docker-archive metadata.
@Suite struct DocumentTests {
    static let h1 = String(repeating: "1", count: 64)
    static let h2 = String(repeating: "2", count: 64)
    static let h3 = String(repeating: "3", count: 64)

    @Test func digestsParseAndRefuse() throws {
        let d = try Digest(parsing: "sha256:" + Self.h1)
        #expect(d.hex == Self.h1 && d.description == "sha256:" + Self.h1 && d.short == "111111111111")
        #expect(Digest(bytes: [UInt8](repeating: 0xab, count: 32)).hex == String(repeating: "ab", count: 32))
        for bad in ["", "sha256:", "sha256:abc", "sha512:" + Self.h1, "sha256:" + String(repeating: "A", count: 64), Self.h1, "sha256:" + String(repeating: "g", count: 64)] {
            #expect(throws: ImageSpecError.self) { try Digest(parsing: bad) }
        }
    }

    @Test func ociManifest() throws {
        let json = """
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:\(Self.h1)", "size": 7023},
         "layers": [
           {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:\(Self.h2)", "size": 32654},
           {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": "sha256:\(Self.h3)", "size": 16724,
            "annotations": {"a": "b"}}]}
        """
        guard case .manifest(let m) = try ManifestDocument(parsing: Array(json.utf8), what: "m") else { Issue.record("not a manifest"); return }
        #expect(m.config.digest.hex == Self.h1 && m.config.size == 7023)
        #expect(m.layers.map(\.digest.hex) == [Self.h2, Self.h3])
        #expect(m.layers.map { MediaType.layerCompression($0.mediaType) } == [.gzip, .zstd])
        #expect(m.layers[1].annotations == ["a": "b"])
        // Round trip through podrec's own writer.
        guard case .manifest(let back) = try ManifestDocument(parsing: Array(m.json.serialized().utf8), what: "m") else { Issue.record("not a manifest"); return }
        #expect(back == m)
    }

    @Test func dockerManifestWithoutOwnMediaTypeUsesTheDeclaredOne() throws {
        let json = """
        {"schemaVersion": 2, "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": "sha256:\(Self.h1)", "size": 1},
         "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": "sha256:\(Self.h2)", "size": 2}]}
        """
        guard case .manifest(let m) = try ManifestDocument(parsing: Array(json.utf8), what: "m", declared: MediaType.dockerManifest) else { Issue.record("not a manifest"); return }
        #expect(m.mediaType == MediaType.dockerManifest)
        #expect(throws: ImageSpecError.self) {
            try ManifestDocument(parsing: Array(#"{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}"#.utf8), what: "m", declared: MediaType.dockerManifest)
        }
    }

    @Test func refusals() {
        let cases: [(String, String)] = [
            (#"{"schemaVersion": 1, "layers": []}"#, "schema 1"),
            (#"{"schemaVersion": 2, "layers": []}"#, "without \"config\""),
            (#"{"schemaVersion": 2, "mediaType": "text/plain"}"#, "not an image manifest"),
            ("[1]", "not a JSON object"),
            (#"{"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:1", "size": 1}}"#, "64 hex digits"),
            (#"{"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:\#(Self.h1)", "size": -1}}"#, "negative"),
            (#"{"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:\#(Self.h1)", "size": 1}, "layers": [{"mediaType": "application/x-bzip2", "digest": "sha256:\#(Self.h1)", "size": 1}]}"#, "does not unpack"),
        ]
        for (json, why) in cases {
            #expect {
                try ManifestDocument(parsing: Array(json.utf8), what: "doc")
            } throws: { error in
                "\(error)".contains(why) && "\(error)".hasPrefix("doc")
            }
        }
    }

    @Test func indexPlatformSelection() throws {
        func entry(_ h: String, _ arch: String, _ variant: String? = nil, os: String = "linux", type: String = MediaType.ociManifest) -> String {
            let v = variant.map { #", "variant": "\#($0)""# } ?? ""
            return #"{"mediaType": "\#(type)", "digest": "sha256:\#(h)", "size": 1, "platform": {"os": "\#(os)", "architecture": "\#(arch)"\#(v)}}"#
        }
        let h4 = String(repeating: "4", count: 64), h5 = String(repeating: "5", count: 64)
        let json = #"{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json", "manifests": ["#
            + [entry(Self.h1, "unknown", os: "unknown"), entry(Self.h2, "amd64"), entry(Self.h3, "arm", "v6"), entry(h4, "arm", "v7"),
               entry(h5, "arm64", "v8"), entry(Self.h1, "amd64", os: "windows")].joined(separator: ",") + "]}"
        guard case .index(let i) = try ManifestDocument(parsing: Array(json.utf8), what: "i") else { Issue.record("not an index"); return }
        #expect(i.manifests.count == 6)
        #expect(i.select(Platform(architecture: "amd64"))?.digest.hex == Self.h2)
        #expect(i.select(Platform(architecture: "arm", variant: "v7"))?.digest.hex == h4)
        #expect(i.select(Platform(architecture: "arm"))?.digest.hex == Self.h3)
        #expect(i.select(Platform(architecture: "arm64"))?.digest.hex == h5)
        #expect(i.select(Platform(architecture: "arm64", variant: "v8"))?.digest.hex == h5)
        #expect(i.select(Platform(architecture: "s390x")) == nil)
        #expect(i.select(Platform(os: "windows", architecture: "amd64"))?.digest.hex == Self.h1)
        #expect(try Platform(parsing: "linux/arm/v7") == Platform(architecture: "arm", variant: "v7"))
        #expect(throws: ImageSpecError.self) { try Platform(parsing: "linux") }
        #expect(Platform.goArchitecture(machine: "x86_64") == "amd64")
        #expect(Platform.goArchitecture(machine: "aarch64") == "arm64")
    }

    @Test func imageConfig() throws {
        let json = """
        {"created": "2024-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
         "config": {"User": "nginx:www", "Env": ["PATH=/usr/bin", "A=b"], "Entrypoint": ["/docker-entrypoint.sh"],
                    "Cmd": ["nginx", "-g", "daemon off;"], "WorkingDir": "/srv", "StopSignal": "SIGQUIT",
                    "ExposedPorts": {"80/tcp": {}}, "Labels": null},
         "rootfs": {"type": "layers", "diff_ids": ["sha256:\(Self.h1)", "sha256:\(Self.h2)"]},
         "history": [{"created_by": "x"}]}
        """
        let c = try OCIImageConfig(parsing: Array(json.utf8), what: "config")
        #expect(c.diffIDs.map(\.hex) == [Self.h1, Self.h2])
        #expect(c.user == "nginx:www" && c.stopSignal == "SIGQUIT" && c.workingDir == "/srv")
        let run = c.runDefaults
        #expect(run.entrypoint == ["/docker-entrypoint.sh"] && run.cmd == ["nginx", "-g", "daemon off;"] && run.env == ["PATH=/usr/bin", "A=b"])
        #expect(run.user == "nginx:www" && run.stopSignal == "SIGQUIT" && run.workdir == "/srv")
        #expect(try OCIImageConfig(parsing: Array(c.json.serialized().utf8), what: "c") == c)
        #expect(throws: ImageSpecError.self) { try OCIImageConfig(parsing: Array(#"{"rootfs": {"type": "x"}}"#.utf8), what: "c") }
        // A config without config section (scratch images) has empty defaults.
        let bare = try OCIImageConfig(parsing: Array(#"{"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}"#.utf8), what: "c")
        #expect(bare.entrypoint.isEmpty && bare.diffIDs.isEmpty)
    }

    @Test func dockerArchiveManifest() throws {
        let json = #"[{"Config": "abc.json", "RepoTags": ["localhost/x:1"], "Layers": ["l1/layer.tar", "blobs/sha256/\#(Self.h2)"]}]"#
        let e = try DockerArchiveEntry.parse(Array(json.utf8), what: "manifest.json")
        #expect(e == [DockerArchiveEntry(config: "abc.json", repoTags: ["localhost/x:1"], layers: ["l1/layer.tar", "blobs/sha256/\(Self.h2)"])])
        #expect(LayerCompression.sniff([0x1f, 0x8b, 8]) == .gzip)
        #expect(LayerCompression.sniff([0x28, 0xb5, 0x2f, 0xfd, 0]) == .zstd)
        #expect(LayerCompression.sniff(Array("usr/".utf8)) == LayerCompression.none)
    }
}
