import Dispatch
import Reconciler
import YAML

/// `apply`'s pulls: every image of a pass at once (the store downloads a blob that two of
/// them share once), outside the reconcile lock, each with its own outcome.
enum PullRunner {
    struct Result: Sendable {
        var pull: PendingPull
        /// What the fetcher said of a pull done (the digest, what it downloaded).
        var line: String?
        var error: String?

        var json: JSONValue {
            var members = [JSONMember("op", .string("+")), JSONMember("what", .string("image \(pull.reference)")),
                           JSONMember("reason", .string(DiffText.reason(pull))), JSONMember("pods", .array(pull.pods.map { .string($0.description) })),
                           JSONMember("result", .string(error == nil ? "ok" : "error"))]
            if let line { members.append(JSONMember("pulled", .string(line))) }
            if let error { members.append(JSONMember("error", .string(error))) }
            return .object(members)
        }
    }

    /// Runs `pulls` concurrently, then shuts `fetcher` down; with `progress`, prints each
    /// pull's line as it ends.
    static func run(_ pulls: [PendingPull], with fetcher: any ImageFetcher, progress: Bool) -> [Result] {
        let results = blocking {
            await withTaskGroup(of: (Int, Result).self) { group in
                for (i, pull) in pulls.enumerated() {
                    group.addTask {
                        do {
                            let line = try await fetcher.fetch(pull)
                            if progress { print("\(DiffText.line(pull)): \(line)") }
                            return (i, Result(pull: pull, line: line))
                        } catch {
                            return (i, Result(pull: pull, error: message(error, pull)))
                        }
                    }
                }
                var out: [(Int, Result)] = []
                for await r in group { out.append(r) }
                await fetcher.shutdown()
                return out.sorted { $0.0 < $1.0 }.map(\.1)
            }
        }
        return results
    }

    /// The registry's message, and the pull secrets a pod named that the input lacks: the
    /// likely cause of an authentication error.
    static func message(_ error: any Error, _ pull: PendingPull) -> String {
        var text = "\(error)"
        if !pull.missingSecrets.isEmpty {
            text += " (imagePullSecrets not in the input, or not of type kubernetes.io/dockerconfigjson: \(pull.missingSecrets.joined(separator: ", ")))"
        }
        return text
    }
}

/// Runs `body` on the concurrency runtime and waits for it: the CLI's commands are
/// synchronous, the registry client is not.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = BlockingBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// `blocking`'s result, written by the task before the semaphore is signalled.
private final class BlockingBox<T>: @unchecked Sendable {
    var value: T?
}
