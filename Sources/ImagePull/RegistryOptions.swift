import Glibc
import ImageModel

/// Where a pull finds its credentials, certificates and registry rules. `fromEnvironment`
/// gives the documented defaults; the CLI's flags override them one by one.
public struct RegistryOptions: Sendable {
    /// Auth files, in the order they are tried after `credentials` and a pod's pull secrets:
    /// `--authfile`, else `$REGISTRY_AUTH_FILE`, else `/etc/podrec/auth.json`; then
    /// `$DOCKER_CONFIG/config.json` (else `$HOME/.docker/config.json`). A missing file is
    /// skipped; one that does not parse is an error.
    public var authFiles: [String]
    /// Per-registry CAs: `<certDirectory>/<host[:port]>/*.crt`, added to the system's.
    public var certDirectory: String
    /// registries.conf, or nil for none. `registriesConfRequired`: named explicitly, so it
    /// must exist.
    public var registriesConf: String?
    public var registriesConfRequired: Bool
    /// `HOST[:PORT]` allowed plain HTTP and unverified TLS (`--insecure-registry`).
    public var insecureRegistries: [String]
    /// `--creds USER:PASS`: tried first, for every registry of this pull.
    public var credentials: RegistryCredentials?
    /// The platform to pick from an index: `--platform`, else `linux/<host arch>`.
    public var platform: Platform
    /// Layer blobs downloaded at once.
    public var parallelDownloads: Int

    public init(authFiles: [String] = [], certDirectory: String = "/etc/podrec/certs.d", registriesConf: String? = nil,
                registriesConfRequired: Bool = false, insecureRegistries: [String] = [], credentials: RegistryCredentials? = nil,
                platform: Platform, parallelDownloads: Int = 3) {
        self.authFiles = authFiles
        self.certDirectory = certDirectory
        self.registriesConf = registriesConf
        self.registriesConfRequired = registriesConfRequired
        self.insecureRegistries = insecureRegistries
        self.credentials = credentials
        self.platform = platform
        self.parallelDownloads = parallelDownloads
    }

    public static let defaultAuthFile = "/etc/podrec/auth.json"
    public static let defaultCertDirectory = "/etc/podrec/certs.d"
    public static let defaultRegistriesConf = "/etc/podrec/registries.conf"

    /// The defaults, each explicit argument overriding its environment variable:
    /// `authFile` over `$REGISTRY_AUTH_FILE`, `certDirectory` over `$PODREC_CERT_DIR`,
    /// `registriesConf` over `$PODREC_REGISTRIES_CONF`. `environment` is the process's by
    /// default (a test passes its own).
    public static func fromEnvironment(authFile: String? = nil, certDirectory: String? = nil, registriesConf: String? = nil,
                                       insecureRegistries: [String] = [], credentials: RegistryCredentials? = nil,
                                       platform: Platform, environment: [String: String]? = nil) -> RegistryOptions {
        func env(_ name: String) -> String? {
            let v = environment.map { $0[name] } ?? getenv(name).map { String(cString: $0) }
            return (v?.isEmpty ?? true) ? nil : v
        }
        var files = [authFile ?? env("REGISTRY_AUTH_FILE") ?? defaultAuthFile]
        if let dockerConfig = env("DOCKER_CONFIG") {
            files.append(dockerConfig + "/config.json")
        } else if let home = env("HOME") {
            files.append(home + "/.docker/config.json")
        }
        let conf = registriesConf ?? env("PODREC_REGISTRIES_CONF")
        return RegistryOptions(authFiles: files, certDirectory: certDirectory ?? env("PODREC_CERT_DIR") ?? defaultCertDirectory,
                               registriesConf: conf ?? defaultRegistriesConf, registriesConfRequired: conf != nil,
                               insecureRegistries: insecureRegistries, credentials: credentials, platform: platform)
    }
}
