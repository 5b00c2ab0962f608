import Glibc
import ImageModel
import ImagePull
import Synchronization

/// `image pull`'s output. On a terminal (stderr), one summary line redrawn in place:
/// layers done of all, bytes of the total. Otherwise nothing while it runs, and at the end
/// exactly one line on stdout per image:
/// `pulled REF sha256:… (N layers, X MB downloaded, Y already present)`.
final class PullProgressRenderer: Sendable {
    private struct State {
        var layers = 0
        var total: Int64 = 0
        var received: Int64 = 0
        var done = 0
        var present = 0
        var downloaded: Int64 = 0
        var lastDraw: Int64 = 0
    }

    private let state = Mutex(State())
    let live: Bool
    let quiet: Bool

    init(quiet: Bool) {
        self.quiet = quiet
        self.live = !quiet && isatty(2) == 1
    }

    var sink: PullProgress {
        PullProgress { [self] event in self.handle(event) }
    }

    private func handle(_ event: PullEvent) {
        let line: String? = state.withLock { s in
            switch event {
            case .resolved(_, let layers, let total, _):
                s.layers = layers
                s.total = total
            case .layerBytes(_, let bytes, _):
                s.received += bytes
            case .layerDone(_, let size):
                s.done += 1
                s.downloaded += size
            case .layerPresent(_, let size):
                s.present += 1
                s.received += size
            case .done(_, let downloaded):
                s.downloaded = downloaded
            }
            guard live else { return nil }
            // Redraw at most ten times a second, and always when a layer finishes.
            let now = Self.milliseconds()
            if case .layerBytes = event, now - s.lastDraw < 100 { return nil }
            s.lastDraw = now
            return "layers \(s.done + s.present)/\(s.layers), \(Self.megabytes(min(s.received, s.total))) of \(Self.megabytes(s.total))"
        }
        if let line { Self.toTerminal("\r\u{1b}[K" + line) }
    }

    /// The closing line (stdout), after the live line is cleared.
    func finish(_ ref: ImageReference, manifest: Digest?) {
        if live { Self.toTerminal("\r\u{1b}[K") }
        guard !quiet else { return }
        let s = state.withLock { $0 }
        let layers = s.layers == 1 ? "1 layer" : "\(s.layers) layers"
        print("pulled \(ref) \(manifest?.description ?? "") (\(layers), \(Self.megabytes(s.downloaded)) downloaded, \(s.present) already present)")
    }

    /// Clears the live line before an error is printed.
    func abandon() {
        if live { Self.toTerminal("\r\u{1b}[K") }
    }

    static func toTerminal(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }

    /// `3.4 MB`; under 0.1 MB in kB (`12 kB`), so a small pull does not read as nothing.
    static func megabytes(_ bytes: Int64) -> String {
        if bytes > 0 && bytes < 100_000 { return "\((bytes + 999) / 1000) kB" }
        let tenths = (bytes * 10 + 500_000) / 1_000_000
        return "\(tenths / 10).\(tenths % 10) MB"
    }

    static func milliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
