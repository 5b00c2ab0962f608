import NIOCore

/// A call's failure before any answer: the probe's deadline, or its connection's error.
enum CallFailure: Error {
    case deadline
    case connection(any Error)
}

extension EventLoopPromise where Value: Sendable {
    /// Blocks (the helper's main thread, never an event loop) until the promise completes or
    /// `deadline` (monotonic nanoseconds, `Dial.now`) passes, which fails it: one bound for
    /// the connection, the TLS handshake and the answer together, as a Go client's timeout.
    func wait(until deadline: Int64) -> Result<Value, CallFailure> {
        let timer = futureResult.eventLoop.scheduleTask(in: .nanoseconds(max(deadline - Dial.now(), 0))) {
            self.fail(CallFailure.deadline)
        }
        defer { timer.cancel() }
        do {
            return .success(try futureResult.wait())
        } catch let failure as CallFailure {
            return .failure(failure)
        } catch {
            return .failure(.connection(error))
        }
    }
}
