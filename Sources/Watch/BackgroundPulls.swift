import Dispatch
import Glibc
import ImageModel
import Kernel
import PodModel
import Reconciler
import Synchronization

/// The watcher's pulls, off its loop: a pass starts them and never waits for one, so a slow
/// pull of one pod holds neither the reconcile lock nor any other pod's changes. A pull that
/// ends writes a byte to `wake`, which the loop polls; `finished` hands over the outcomes.
///
/// A failed image is tried again after a back-off that doubles from 10 s to 5 min, as
/// kubelet's ImagePullBackOff; until then its pods fail their builds with its message.
final class BackgroundPulls: Sendable {
    struct Outcome: Sendable {
        var pull: PendingPull
        var result: Result<String, PullFailure>
    }

    struct PullFailure: Error, Sendable {
        var message: String
    }

    struct Failed: Sendable {
        var message: String
        var pods: [PodKey]
        var retryAt: Int64
        var backoff: Int64
    }

    static let firstBackoff: Int64 = 10_000_000_000
    static let maxBackoff: Int64 = 300_000_000_000

    let fetcher: any ImageFetcher
    /// The loop polls `wake.read`; a pull's end writes to `wake.write`.
    let wake: (read: Int32, write: Int32)

    private struct State: Sendable {
        var inFlight: Set<ImageReference> = []
        var finished: [Outcome] = []
    }
    private let state = Mutex(State())

    init(fetcher: any ImageFetcher) throws(KernelError) {
        self.fetcher = fetcher
        wake = try Sys.pipe(nonBlockingRead: true)
    }

    deinit {
        Sys.close(wake.read)
        Sys.close(wake.write)
    }

    /// Starts `pull` unless it is in flight already. Returns whether it started.
    func start(_ pull: PendingPull) -> Bool {
        let started = state.withLock { $0.inFlight.insert(pull.reference).inserted }
        guard started else { return false }
        let fetcher = self.fetcher
        Task.detached { [self] in
            let result: Result<String, PullFailure>
            do { result = .success(try await fetcher.fetch(pull)) } catch { result = .failure(PullFailure(message: "\(error)")) }
            state.withLock {
                $0.inFlight.remove(pull.reference)
                $0.finished.append(Outcome(pull: pull, result: result))
            }
            _ = try? Sys.writeAll(wake.write, [1])
        }
        return true
    }

    /// Shuts the fetcher down (a pull still running fails), and waits for that.
    func shutdown() {
        let done = DispatchSemaphore(value: 0)
        let fetcher = self.fetcher
        Task.detached {
            await fetcher.shutdown()
            done.signal()
        }
        done.wait()
    }

    func isInFlight(_ ref: ImageReference) -> Bool { state.withLock { $0.inFlight.contains(ref) } }

    /// The pulls that ended since the last call; drains `wake`.
    func finished() -> [Outcome] {
        var buffer = [UInt8](repeating: 0, count: 64)
        while buffer.withUnsafeMutableBytes({ Glibc.read(wake.read, $0.baseAddress, $0.count) }) > 0 {}
        return state.withLock {
            let out = $0.finished
            $0.finished = []
            return out
        }
    }
}
