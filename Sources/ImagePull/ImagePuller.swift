import AsyncHTTPClient
import Dispatch
import Glibc
import ImageModel
import Images
import Kernel
import NIOCore
import NIOPosix
import Synchronization

/// Pulls images from OCI distribution registries into the image store.
///
/// The store is synchronous (flocks, file writes, unpacking) and AsyncHTTPClient is async;
/// the two meet here. Whatever may block for long (a flock another process holds, a
/// blob's fsync, unpacking a layer) runs on this puller's own `NIOThreadPool`, never on an
/// event loop nor on the cooperative pool, which on a 2-core host has two threads. Writing
/// a received chunk to its temp file is a page-cache write and stays on the task.
///
/// A pull: resolve the manifest (an index → the `platform` manifest), fetch the config,
/// download the layer blobs that are not there yet, `parallelDownloads` at a time, each
/// under its blob lock (so two pulls, in one process or two, fetch a blob once), then the
/// store's own import driver (`importManifest`) checks the diff ids, unpacks each layer once
/// and names the image. All of it inside the store's writer lease, so `prune` waits.
public final class ImagePuller: Sendable {
    public let store: ImageStore
    public let options: RegistryOptions
    let registries: RegistriesConf
    let http: HTTPClient
    /// The puller's own event loop (one thread: a pull is I/O-bound), so that `shutdown`
    /// leaves no thread or fd behind in a long-lived process (the watcher) or a test.
    let events: MultiThreadedEventLoopGroup
    let pool: NIOThreadPool
    private let closed = Mutex(false)

    public static let manifestAccept = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerManifestList, MediaType.dockerManifest]

    public init(store: ImageStore, options: RegistryOptions) throws(PullError) {
        self.store = store
        self.options = options
        var registries = RegistriesConf()
        if let path = options.registriesConf {
            do {
                let bytes = try Sys.readFile(path)
                guard let text = String(validating: bytes, as: UTF8.self) else { throw PullError(.configuration, "\(path): not UTF-8 text") }
                do { registries = try RegistriesConf(parsing: text, path: path) } catch { throw PullError(error) }
            } catch let e as PullError {
                throw e
            } catch let e as KernelError {
                if e.errno.rawValue != ENOENT || options.registriesConfRequired { throw PullError(.configuration, "registries config: \(e)") }
            } catch {
                throw PullError(.configuration, "\(path): \(error)")
            }
        }
        self.registries = registries
        // A connection that cannot be made is an answer, not something to retry until the
        // deadline: a TLS error must reach the user at once, and the plain-HTTP fallback of
        // a loopback registry must not wait 30 s for it.
        var connections = HTTPClient.Configuration.ConnectionPool()
        connections.retryConnectionEstablishment = false
        let configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,  // RegistrySession follows them, minding Authorization
            timeout: .init(connect: .seconds(30), read: .seconds(120)),
            connectionPool: connections,
            decompression: .disabled)  // the digests are over the bytes as sent
        self.events = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.http = HTTPClient(eventLoopGroup: events, configuration: configuration)
        self.pool = NIOThreadPool(numberOfThreads: max(2, options.parallelDownloads + 1))
        pool.start()
    }

    /// Closes the HTTP client's connections and stops the store threads. Call it once, when
    /// no pull runs.
    public func shutdown() async {
        guard closed.withLock({ let was = $0; $0 = true; return !was }) else { return }
        try? await http.shutdown()
        try? await pool.shutdownGracefully()
        try? await events.shutdownGracefully()
    }

    /// Pulls `ref` (tag or digest) into the store; returns the stored image. `pullSecrets`:
    /// raw .dockerconfigjson bytes of the pod's imagePullSecrets, tried before the auth files.
    public func pull(_ ref: ImageReference, pullSecrets: [[UInt8]] = [], progress: PullProgress? = nil) async throws(PullError) -> StoredImage {
        let endpoints: [RegistryEndpoint]
        do {
            endpoints = try registries.endpoints(for: ref, insecureHosts: Set(options.insecureRegistries.map { $0.lowercased() }))
        } catch { throw PullError(error).about("pull \(ref)") }
        var secrets: [DockerAuthConfig] = []
        for (i, bytes) in pullSecrets.enumerated() {
            do { secrets.append(try DockerAuthConfig(parsing: bytes, what: "pull secret \(i + 1)")) } catch {
                throw PullError(error).about("pull \(ref)")
            }
        }
        let lease = try await blocking { [store] () throws(ImageError) in try store.writerLease() }
        defer { lease.release() }
        store.collectTemporaries()
        var failures: [String] = []
        for (i, endpoint) in endpoints.enumerated() {
            do throws(PullError) {
                let session = try RegistrySession(endpoint: endpoint, http: http, certDirectory: options.certDirectory,
                                                  credentials: try credentials(for: endpoint.host, secrets: secrets))
                return try await pull(ref, from: session, progress: progress)
            } catch {
                // A mirror that fails is passed over; the registry itself is the last word.
                if i == endpoints.count - 1 || error.kind == .verification || error.kind == .store || error.kind == .configuration {
                    var message = error.message
                    if !failures.isEmpty { message += " (after the mirrors: " + failures.joined(separator: "; ") + ")" }
                    throw PullError(error.kind, message).about("pull \(ref)")
                }
                failures.append("\(endpoint.host): \(error.message)")
            }
        }
        throw PullError(.configuration, "pull \(ref): no registry to pull from")
    }

    // MARK: One endpoint

    private func pull(_ ref: ImageReference, from session: RegistrySession, progress: PullProgress?) async throws(PullError) -> StoredImage {
        let top = try await fetchManifest(session, reference: ref.digest?.description ?? ref.tag ?? ImageReference.defaultTag, expected: ref.digest)
        let manifest: ImageManifest
        let manifestDigest: Digest
        switch top.document {
        case .manifest(let m):
            manifest = m
            manifestDigest = top.digest
        case .index(let index):
            guard let chosen = index.select(options.platform) else {
                let have = index.manifests.compactMap { $0.platform?.description }.joined(separator: ", ")
                throw PullError(.store, "index \(top.digest) has no image for \(options.platform) (it has: \(have))")
            }
            let picked = try await fetchManifest(session, reference: chosen.digest.description, expected: chosen.digest)
            guard case .manifest(let m) = picked.document else {
                throw PullError(.registry, "index \(top.digest): \(chosen.digest) is an index, not an image manifest")
            }
            guard Int64(picked.size) == chosen.size else {
                throw PullError(.verification, "manifest \(chosen.digest): \(picked.size) bytes, but index \(top.digest) says \(chosen.size)")
            }
            manifest = m
            manifestDigest = chosen.digest
        }
        let total = manifest.layers.reduce(Int64(0)) { $0 + $1.size }
        progress?.report(.resolved(manifest: manifestDigest, layers: manifest.layers.count, totalBytes: total, endpoint: session.endpoint.description))

        var downloaded = try await fetchBlob(session, manifest.config, progress: nil)
        let config: OCIImageConfig
        do {
            let configDigest = manifest.config.digest
            let bytes = try await blocking { [store] () throws(ImageError) in try store.readBlob(configDigest) }
            config = try OCIImageConfig(parsing: bytes, what: "config \(manifest.config.digest)")
        } catch let e as PullError { throw e } catch let e as ImageSpecError { throw PullError(.registry, e.description) } catch {
            throw PullError(.store, "\(error)")
        }
        guard config.diffIDs.count == manifest.layers.count else {
            throw PullError(.registry, "manifest \(manifestDigest): \(manifest.layers.count) layers, but its config lists \(config.diffIDs.count) diff ids")
        }
        // The layers to download: not unpacked yet. The rest are reported present.
        var wanted: [Descriptor] = []
        for (layer, diffID) in zip(manifest.layers, config.diffIDs) {
            if store.hasLayer(diffID) || wanted.contains(where: { $0.digest == layer.digest }) {
                if store.hasLayer(diffID) { progress?.report(.layerPresent(layer: layer.digest, size: layer.size)) }
                continue
            }
            wanted.append(layer)
        }
        downloaded += try await fetchBlobs(session, wanted, progress: progress)

        // Every blob is in the store now: the import driver only checks that.
        let descriptor = Descriptor(mediaType: top.mediaType, digest: top.digest, size: Int64(top.size))
        var name = ref
        name.digest = nil
        let names = [name]
        let platform = options.platform
        let image = try await blocking { [store] () throws(ImageError) -> StoredImage in
            try store.importManifest(descriptor, names: names, platform: platform) { (d: Digest, _: Int64, kind: String) throws(ImageError) in
                guard store.hasBlob(d) else { throw ImageError.badDocument("\(kind) \(d) was not downloaded") }
            }
        }
        progress?.report(.done(manifest: manifestDigest, downloaded: downloaded))
        return image
    }

    struct FetchedManifest {
        var digest: Digest
        var size: Int
        var mediaType: String
        var document: ManifestDocument
    }

    /// GET a manifest by tag or digest; hashes its exact bytes (4 MiB at most), checks them
    /// against `expected` (a digest reference) and `Docker-Content-Digest`, stores them.
    private func fetchManifest(_ session: RegistrySession, reference: String, expected: Digest?) async throws(PullError) -> FetchedManifest {
        let (response, url) = try await session.get(session.repositoryPath + "/manifests/" + reference, accept: Self.manifestAccept)
        guard response.status == .ok else { throw await session.failure(response, url: url) }
        let bytes: [UInt8]
        do {
            bytes = Array(try await response.body.collect(upTo: Int(ImageStore.maxDocumentBytes)).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw PullError(.registry, "GET \(url.withoutQuery): the manifest is over \(ImageStore.maxDocumentBytes) bytes; refused")
        } catch {
            throw RegistrySession.transportError(error, url: url, certDirectory: options.certDirectory)
        }
        let digest = Digest.sha256(of: bytes)
        if let expected, digest != expected {
            throw PullError(.verification, "GET \(url.withoutQuery): the manifest's digest is \(digest), not the \(expected) asked for")
        }
        if let header = response.headers.first(name: "Docker-Content-Digest"), let said = try? Digest(parsing: header), said != digest {
            throw PullError(.verification, "GET \(url.withoutQuery): the manifest's digest is \(digest), but Docker-Content-Digest says \(said)")
        }
        let contentType = response.headers.first(name: "Content-Type").map { String($0.prefix { $0 != ";" }).trimmingCharacters(in: " ") }
        let declared = contentType.flatMap { Self.manifestAccept.contains($0) ? $0 : nil }
        let document: ManifestDocument
        do { document = try ManifestDocument(parsing: bytes, what: "manifest \(digest) from \(url.withoutQuery)", declared: declared) } catch {
            throw PullError(.registry, error.description)
        }
        let mediaType: String
        switch document {
        case .index(let i): mediaType = i.mediaType
        case .manifest(let m): mediaType = m.mediaType
        }
        let what = "manifest from \(url.withoutQuery)"
        _ = try await blocking { [store] () throws(ImageError) in try store.putBlob(bytes, expected: digest, what: what) }
        return FetchedManifest(digest: digest, size: bytes.count, mediaType: mediaType, document: document)
    }

    /// Downloads `blobs`, `parallelDownloads` at a time; returns the bytes downloaded.
    private func fetchBlobs(_ session: RegistrySession, _ blobs: [Descriptor], progress: PullProgress?) async throws(PullError) -> Int64 {
        let width = max(1, options.parallelDownloads)
        do {
            return try await withThrowingTaskGroup(of: Int64.self) { group in
                var next = 0
                var total: Int64 = 0
                while next < min(width, blobs.count) {
                    let blob = blobs[next]
                    group.addTask { try await self.fetchBlob(session, blob, progress: progress) }
                    next += 1
                }
                while let n = try await group.next() {
                    total += n
                    if next < blobs.count {
                        let blob = blobs[next]
                        group.addTask { try await self.fetchBlob(session, blob, progress: progress) }
                        next += 1
                    }
                }
                return total
            }
        } catch let e as PullError {
            throw e
        } catch {
            throw PullError(.network, "\(error)")
        }
    }

    /// One blob into the store, unless it is there: under its blob lock, re-checked inside,
    /// streamed through a `BlobWriter` (size and SHA-256 checked as it comes; a mismatch
    /// leaves nothing). Returns the bytes downloaded (0 when it was there).
    func fetchBlob(_ session: RegistrySession, _ blob: Descriptor, progress: PullProgress?) async throws(PullError) -> Int64 {
        if store.hasBlob(blob.digest) {
            progress?.report(.layerPresent(layer: blob.digest, size: blob.size))
            return 0
        }
        let lock = try await blocking { [store] () throws(ImageError) in try store.blobLock(blob.digest) }
        defer { lock.release() }
        if store.hasBlob(blob.digest) {  // another pull fetched it while we waited
            progress?.report(.layerPresent(layer: blob.digest, size: blob.size))
            return 0
        }
        let (response, url) = try await session.get(session.repositoryPath + "/blobs/" + blob.digest.description)
        guard response.status == .ok else { throw await session.failure(response, url: url) }
        let writer: BlobWriter
        do { writer = try store.blobWriter(expected: blob.digest, size: blob.size, what: "from \(url.withoutQuery)") } catch { throw PullError(error) }
        do {
            for try await chunk in response.body {
                var failure: ImageError?
                chunk.withUnsafeReadableBytes { bytes in
                    do throws(ImageError) { try writer.write(bytes) } catch { failure = error }
                }
                if let failure { throw PullError(failure) }
                progress?.report(.layerBytes(layer: blob.digest, bytes: Int64(chunk.readableBytes), size: blob.size))
            }
        } catch let e as PullError {
            writer.abort()
            throw e
        } catch {
            writer.abort()
            throw RegistrySession.transportError(error, url: url, certDirectory: options.certDirectory)
        }
        let unchecked = UncheckedBox(writer)
        _ = try await blocking { () throws(ImageError) in try unchecked.value.commit() }  // fsync: off the task
        progress?.report(.layerDone(layer: blob.digest, size: blob.size))
        return blob.size
    }

    // MARK: Credentials

    /// The first that has credentials for `host`: --creds, the pull secrets in order, the
    /// auth files in order. A file that is missing is skipped; one that does not parse is an
    /// error (a typo must not silently pull anonymously).
    func credentials(for host: String, secrets: [DockerAuthConfig]) throws(PullError) -> (RegistryCredentials, source: String)? {
        if let c = options.credentials { return (c, "--creds") }
        for (i, s) in secrets.enumerated() {
            if let c = s.credentials(for: host) { return (c, "pull secret \(i + 1)") }
        }
        for path in options.authFiles {
            let bytes: [UInt8]
            do { bytes = try Sys.readFile(path) } catch {
                if error.errno.rawValue == ENOENT || error.errno.rawValue == ENOTDIR { continue }
                throw PullError(.configuration, "auth file: \(error)")
            }
            do {
                if let c = try DockerAuthConfig(parsing: bytes, what: path).credentials(for: host) { return (c, path) }
            } catch { throw PullError(error) }
        }
        return nil
    }

    // MARK: Threads

    /// Runs store work on the puller's thread pool.
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws(ImageError) -> T) async throws(PullError) -> T {
        do {
            return try await pool.runIfActive { () throws -> T in try body() }
        } catch let e as ImageError {
            throw PullError(e)
        } catch {
            throw PullError(.store, "the store's threads: \(error)")
        }
    }

    /// Runs `body` to its end from synchronous code (a CLI command): the calling thread
    /// waits, outside Swift's cooperative pool, for the task.
    public static func wait<T: Sendable>(_ body: @escaping @Sendable () async throws(PullError) -> T) throws(PullError) -> T {
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox<T>()
        Task {
            do throws(PullError) { result.value = .success(try await body()) } catch { result.value = .failure(error) }
            done.signal()  // the semaphore orders the write before the read below
        }
        done.wait()
        return try result.value!.get()
    }
}

/// `wait`'s result, written by the task before it signals and read after the wait.
final class ResultBox<T>: @unchecked Sendable {
    var value: Result<T, PullError>?
}

/// A value moved to another thread that only that thread then uses (a BlobWriter for its
/// commit): the compiler cannot see the hand-over, so we say it.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}
