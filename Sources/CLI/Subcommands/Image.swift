import ImageModel
import ArgumentParser
import ImagePull
import Images
import Kernel
import PodModel
import YAML

extension Podrec {
    struct Image: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "image",
            abstract: "Manage the local image store: import, list, inspect, remove, prune, check.",
            discussion: """
                Images live under DATA-ROOT/images/: blobs by digest (blobs/sha256/), each layer \
                unpacked once (layers/sha256/<diff id>/), names in index.json. A Pod's \
                `image: [REGISTRY/]NAME[:TAG][@sha256:...]` names one (`nginx` is \
                docker.io/library/nginx:latest); `image: host` is reserved for a view of the host.
                """,
            subcommands: [Pull.self, Import.self, List.self, Inspect.self, Remove.self, Prune.self, Check.self]
        )

        /// `--data-root`, shared by every image subcommand.
        struct DataRoot: ParsableArguments {
            @Option(name: .customLong("data-root"), help: ArgumentHelp(
                "Where volumes and images live.",
                discussion: "Default: $PODREC_DATA_ROOT, else /var/lib/podrec.", valueName: "dir"))
            var dataRoot: String?

            var store: ImageStore {
                ImageStore(dataRoot: dataRoot ?? RootOptions.env("PODREC_DATA_ROOT") ?? "/var/lib/podrec")
            }
        }

        /// Prints `error: ...` and exits 1: image errors are the user's to fix, not usage.
        static func fail(_ error: ImageError) -> ExitCode {
            var stderr = StandardError()
            print("error: \(error)", to: &stderr)
            return ExitCode.failure
        }

        static func reference(_ text: String) throws -> ImageReference {
            do throws(ImageSpecError) { return try ImageReference(parsing: text) } catch { throw fail(ImageError(error)) }
        }
    }
}

extension Podrec.Image {
    struct Pull: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pull",
            abstract: "Pull an image from a registry into the store.",
            discussion: """
                REF is [REGISTRY/]NAME[:TAG][@sha256:...]; `nginx` is docker.io/library/nginx:latest, \
                pulled from registry-1.docker.io. A multi-platform image gives the manifest for \
                --platform (default: linux/<this machine's architecture>). Every blob is checked \
                against its digest as it arrives; layers already in the store are not downloaded \
                again, and concurrent pulls download each blob once.

                Credentials, the first that has the registry: --creds, then the auth file \
                (--authfile, else $REGISTRY_AUTH_FILE, else /etc/podrec/auth.json), then \
                $DOCKER_CONFIG/config.json. HTTPS with the system CAs and CERT-DIR/HOST[:PORT]/*.crt; \
                plain HTTP only for loopback registries (after HTTPS fails) and --insecure-registry \
                ones. registries.conf may name mirrors (tried first), other locations, insecure and \
                blocked registries.
                """
        )

        @Argument(help: ArgumentHelp("The image: [REGISTRY/]NAME[:TAG][@sha256:...].", valueName: "ref"))
        var ref: String

        @Flag(name: .shortAndLong, help: "Print nothing but errors.")
        var quiet = false

        @OptionGroup var registry: RegistryFlags
        @OptionGroup var dataRoot: Podrec.Image.DataRoot

        func run() throws {
            let ref = try Podrec.Image.reference(self.ref)
            let options = try registry.options()
            let store = dataRoot.store
            let renderer = PullProgressRenderer(quiet: quiet)
            do throws(PullError) {
                let puller = try ImagePuller(store: store, options: options)
                let sink = renderer.sink
                let image = try ImagePuller.wait { () async throws(PullError) -> StoredImage in
                    do throws(PullError) {
                        let image = try await puller.pull(ref, progress: sink)
                        await puller.shutdown()
                        return image
                    } catch {
                        await puller.shutdown()
                        throw error
                    }
                }
                renderer.finish(ref, manifest: image.manifestDigest)
            } catch {
                renderer.abandon()
                var stderr = StandardError()
                print("error: \(error)", to: &stderr)
                throw ExitCode.failure
            }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import an image archive, an OCI layout, or a root filesystem as NAME[:TAG].",
            discussion: """
                SOURCE is an OCI image layout directory, an oci-archive or docker-archive tar \
                (`skopeo copy`, `docker save`, `podman save`), or a root filesystem: a directory \
                or a tar (plain, gzip or zstd; as `podman export` or `tar -c` write it), or - \
                for a tar on stdin. An archive keeps its own names unless NAME is given; a root \
                filesystem needs NAME and becomes a one-layer image. Every blob is checked \
                against its digest. Owners, modes (setuid bits included), xattrs and symlinks \
                are kept. Refused, naming the entry: '..' paths, symlinks that escape the root, \
                device nodes, FIFOs and sockets, hard links to nothing extracted before. An \
                existing NAME:TAG is replaced atomically.

                --entrypoint and --cmd take either a JSON array, for arguments with spaces:
                  --entrypoint '["/bin/sh", "-c"]' --cmd '["echo hello; sleep 1"]'
                or a string split on spaces:
                  --entrypoint /bin/httpd --cmd "-f -p 8080"
                A Pod's `command` replaces the entrypoint, its `args` replace cmd.
                """
        )

        @Argument(help: ArgumentHelp("[REGISTRY/]NAME[:TAG] (optional for an archive), then SOURCE: a directory, a tar file, or - for a tar on stdin.",
                                     valueName: "name-and-source"))
        var arguments: [String]

        @Option(help: ArgumentHelp("The platform to pick from a multi-platform image.", valueName: "os/arch[/variant]"))
        var platform: String?

        @Option(help: ArgumentHelp("The image's entrypoint: a JSON array or a string split on spaces.", valueName: "command"))
        var entrypoint: String?

        @Option(help: ArgumentHelp("The image's default arguments: a JSON array or a string split on spaces.", valueName: "args"))
        var cmd: String?

        @Option(help: ArgumentHelp("An environment variable; repeat for more.", valueName: "KEY=VALUE"))
        var env: [String] = []

        @Option(help: ArgumentHelp("The working directory: an absolute path.", valueName: "dir"))
        var workdir: String?

        @OptionGroup var dataRoot: Podrec.Image.DataRoot

        func validate() throws {
            guard (1...2).contains(arguments.count) else { throw ValidationError("expected [NAME[:TAG]] SOURCE") }
        }

        func run() throws {
            let ref = arguments.count == 2 ? try Podrec.Image.reference(arguments[0]) : nil
            let source = arguments.last!
            do throws(ImageError) {
                var config = ImageConfig(env: env, workdir: workdir ?? "")
                do throws(ImageSpecError) {
                    if let entrypoint { config.entrypoint = try ImageConfig.parseCommand(entrypoint, option: "--entrypoint") }
                    if let cmd { config.cmd = try ImageConfig.parseCommand(cmd, option: "--cmd") }
                } catch { throw ImageError(error) }
                var chosen = ImageStore.hostPlatform()
                if let platform {
                    do throws(ImageSpecError) { chosen = try Platform(parsing: platform) } catch { throw ImageError(error) }
                }
                let from: ImageStore.Source = source == "-" ? .tarStream(fd: 0, name: "<stdin>") : .path(source)
                for image in try dataRoot.store.importImages(ref, from: from, config: config, platform: chosen) {
                    let layers = image.layerDirectories.count == 1 ? "1 layer" : "\(image.layerDirectories.count) layers"
                    print("imported \(image.reference) (\(Podrec.Image.List.formatSize(image.size)), \(layers), \(image.manifestDigest?.description ?? ""))")
                }
            } catch {
                throw Podrec.Image.fail(error)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List the stored images: repository, tag, digest, size, creation time.",
            aliases: ["list"]
        )

        @Option(name: .shortAndLong, help: "Output format: json.")
        var output: Podrec.Validate.OutputFormat?

        @OptionGroup var dataRoot: Podrec.Image.DataRoot

        func run() throws {
            let images: [StoredImage]
            do throws(ImageError) { images = try dataRoot.store.list() } catch { throw Podrec.Image.fail(error) }
            if output == .json {
                print(JSONValue.array(images.map(Podrec.Image.json)).serialized(indent: 2))
                return
            }
            let rows = [("REPOSITORY", "TAG", "DIGEST", "SIZE", "CREATED")] + images.map {
                ($0.reference.familiarName, $0.reference.tag ?? "<none>", $0.manifestDigest.map { String($0.description.prefix(19)) } ?? "<first store>",
                 Self.formatSize($0.size), $0.created)
            }
            let w0 = rows.map(\.0.count).max()!, w1 = rows.map(\.1.count).max()!, w2 = rows.map(\.2.count).max()!, w3 = rows.map(\.3.count).max()!
            for r in rows {
                func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: w - s.count) }
                print("\(pad(r.0, w0))  \(pad(r.1, w1))  \(pad(r.2, w2))  \(pad(r.3, w3))  \(r.4)")
            }
        }

        /// 1000-based units, as `podman images` prints them.
        static func formatSize(_ bytes: Int64) -> String {
            if bytes < 1000 { return "\(bytes) B" }
            var value = Double(bytes)
            for unit in ["kB", "MB", "GB", "TB"] {
                value /= 1000
                if value < 1000 || unit == "TB" {
                    if value < 10 {
                        let tenths = Int((value * 10).rounded())
                        return "\(tenths / 10).\(tenths % 10) \(unit)"
                    }
                    return "\(Int(value.rounded())) \(unit)"
                }
            }
            return "\(bytes) B"
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "inspect",
            abstract: "Print an image as JSON: names, digest, run defaults, layers."
        )

        @Argument(help: "[REGISTRY/]NAME[:TAG][@sha256:...]")
        var references: [String]

        @OptionGroup var dataRoot: Podrec.Image.DataRoot

        func run() throws {
            var out: [JSONValue] = []
            for text in references {
                let ref = try Podrec.Image.reference(text)
                do throws(ImageError) { out.append(Podrec.Image.json(try dataRoot.store.image(ref))) } catch { throw Podrec.Image.fail(error) }
            }
            print(JSONValue.array(out).serialized(indent: 2))
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove images by NAME[:TAG] or NAME@sha256:..., then prune what nothing uses.",
            aliases: ["remove"]
        )

        @Argument(help: "[REGISTRY/]NAME[:TAG][@sha256:...]")
        var references: [String]

        @OptionGroup var dataRoot: Podrec.Image.DataRoot

        func run() throws {
            var failed = false
            for text in references {
                do {
                    let ref = try ImageReference(parsing: text)
                    try dataRoot.store.remove(ref)
                    print("removed \(ref)")
                } catch {
                    var stderr = StandardError()
                    print("error: \(error)", to: &stderr)
                    failed = true
                }
            }
            if failed { throw ExitCode.failure }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Remove blobs and layers no image names and no pod uses, and what interrupted imports left."
        )

        @OptionGroup var dataRoot: Podrec.Image.DataRoot

        @Option(name: .customLong("root"), help: ArgumentHelp("Pod state, whose launch plans name the layers in use. Default: $PODREC_ROOT, else /run/podrec.", valueName: "dir"))
        var root: String?

        func run() throws {
            do throws(ImageError) {
                let inUse = Podrec.Image.lowerDirectoriesInUse(stateRoot: root ?? RootOptions.env("PODREC_ROOT") ?? "/run/podrec")
                let report = try dataRoot.store.prune(inUse: inUse)
                print("removed \(report.blobs) blobs, \(report.layers) layers, \(report.temporaries) leftovers (\(Podrec.Image.List.formatSize(report.bytes)))")
            } catch {
                throw Podrec.Image.fail(error)
            }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Re-verify every blob against its digest and every layer against its diff id."
        )

        @OptionGroup var dataRoot: Podrec.Image.DataRoot

        func run() throws {
            let problems: [String]
            do throws(ImageError) { problems = try dataRoot.store.check() } catch { throw Podrec.Image.fail(error) }
            var stderr = StandardError()
            for p in problems { print("error: \(p)", to: &stderr) }
            if !problems.isEmpty { throw ExitCode.failure }
            print("ok")
        }
    }
}

extension Podrec.Image {
    static func json(_ image: StoredImage) -> JSONValue {
        var m = [
            JSONMember("repository", .string(image.reference.name)),
            JSONMember("name", .string(image.reference.familiarName)),
            JSONMember("tag", image.reference.tag.map { .string($0) } ?? .null),
            JSONMember("digest", image.manifestDigest.map { .string($0.description) } ?? .null),
            JSONMember("size", .int(image.size)),
            JSONMember("created", .string(image.created)),
            JSONMember("config", .object([
                JSONMember("entrypoint", .array(image.config.entrypoint.map { .string($0) })),
                JSONMember("cmd", .array(image.config.cmd.map { .string($0) })),
                JSONMember("env", .array(image.config.env.map { .string($0) })),
                JSONMember("workdir", .string(image.config.workdir)),
                JSONMember("user", .string(image.config.user)),
                JSONMember("stopSignal", .string(image.config.stopSignal)),
            ])),
            JSONMember("diffIDs", .array(image.diffIDs.map { .string($0.description) })),
            JSONMember("layers", .array(image.layerDirectories.map { .string($0) })),
        ]
        if let legacy = image.legacyDirectory { m.append(JSONMember("firstStoreDirectory", .string(legacy))) }
        return .object(m)
    }

    /// Every lower dir that a launch plan under the state root names: what `prune` keeps,
    /// whatever the index says. Read as text (a plan's lines), so a plan this podrec cannot
    /// decode still protects its layers.
    static func lowerDirectoriesInUse(stateRoot: String) -> Set<String> {
        var out: Set<String> = []
        for name in (try? Sys.listDirectory(PodLayout.pods(stateRoot))) ?? [] {
            let plan = PodStateDirectory(path: PodLayout.pods(stateRoot) + "/" + name).path + "/" + PodStateDirectory.File.plan.rawValue
            guard let bytes = try? Sys.readFile(plan) else { continue }
            for word in String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\t" || $0 == "\n" || $0 == " " || $0 == ":" }) where word.hasPrefix("/") {
                out.insert(String(word))
            }
        }
        return out
    }
}
