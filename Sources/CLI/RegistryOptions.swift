import ArgumentParser
import ImageModel
import ImagePull
import Images

/// The registry flags of every command that may pull (`image pull`, and `apply` and
/// `watch` through `@OptionGroup`; `diff` pulls nothing): each overrides its environment
/// variable, which overrides podrec's default (`RegistryOptions.fromEnvironment`).
struct RegistryFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Pull for this platform from a multi-platform image. Default: linux/<this machine's architecture>.",
                               valueName: "os/arch[/variant]"))
    var platform: String?

    @Option(help: ArgumentHelp("Credentials for the registry; tried before pull secrets and auth files. Never printed.",
                               valueName: "user:password"))
    var creds: String?

    @Option(help: ArgumentHelp("The auth file (Docker's config.json format).",
                               discussion: "Default: $REGISTRY_AUTH_FILE, else /etc/podrec/auth.json; then $DOCKER_CONFIG/config.json (else ~/.docker/config.json).",
                               valueName: "file"))
    var authfile: String?

    @Option(name: .customLong("cert-dir"), help: ArgumentHelp("Registry CAs: DIR/HOST[:PORT]/*.crt, added to the system's.",
                                                             discussion: "Default: $PODREC_CERT_DIR, else /etc/podrec/certs.d.", valueName: "dir"))
    var certDir: String?

    @Option(name: .customLong("registries-conf"), help: ArgumentHelp("Registry mirrors, locations, insecure and blocked registries (containers-registries.conf v2 subset).",
                                                                     discussion: "Default: $PODREC_REGISTRIES_CONF, else /etc/podrec/registries.conf (if present).", valueName: "file"))
    var registriesConf: String?

    @Option(name: .customLong("insecure-registry"), help: ArgumentHelp("Allow plain HTTP and unverified TLS for this registry; repeat for more. Loopback registries may use plain HTTP without it.",
                                                                       valueName: "host[:port]"))
    var insecureRegistries: [String] = []

    /// The options, or a `ValidationError` naming the bad flag.
    func options() throws -> RegistryOptions {
        var platform = ImageStore.hostPlatform()
        if let text = self.platform {
            do throws(ImageSpecError) { platform = try Platform(parsing: text) } catch { throw ValidationError("--platform: \(error)") }
        }
        var credentials: RegistryCredentials?
        if let creds {
            do throws(ImageSpecError) { credentials = try RegistryCredentials(parsing: creds) } catch {
                throw ValidationError("--creds: expected USER:PASSWORD")  // never echo the value
            }
        }
        return RegistryOptions.fromEnvironment(authFile: authfile, certDirectory: certDir, registriesConf: registriesConf,
                                               insecureRegistries: insecureRegistries, credentials: credentials, platform: platform)
    }
}
