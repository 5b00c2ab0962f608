import ImageModel
import ImagePull
import Images
import Reconciler

/// The registry client that `apply` and `watch` hand to the reconciler's pulls: the
/// reconciler decides what to pull and never links async-http-client; this process does.
struct RegistryFetcher: ImageFetcher {
    let puller: ImagePuller

    /// `sha256:… (N layers, X MB downloaded, Y already present)`.
    func fetch(_ pull: PendingPull) async throws -> String {
        let renderer = PullProgressRenderer(quiet: true)
        let image = try await puller.pull(pull.reference, pullSecrets: pull.pullSecrets.map(\.dockerConfigJSON), progress: renderer.sink)
        return renderer.summary(manifest: image.manifestDigest)
    }

    func shutdown() async { await puller.shutdown() }
}

extension RegistryFlags {
    /// The fetcher over the store under `dataRoot`, with these flags' registry settings.
    func fetcher(dataRoot: String) throws -> any ImageFetcher {
        let options = try options()
        do { return RegistryFetcher(puller: try ImagePuller(store: ImageStore(dataRoot: dataRoot), options: options)) } catch {
            throw CLIError("\(error)")
        }
    }
}
