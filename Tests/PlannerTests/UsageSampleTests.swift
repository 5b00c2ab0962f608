import PodModel
import Testing

/// The supervisor's CPU samples for `top`: the file's form, and which sample a window
/// starts at.
@Suite struct UsageSampleTests {
    @Test func samplesRoundTripAndAWindowIsAtLeastASecond() throws {
        let a = UsageSample(time: WallTime(1_000_000_000_000), cpu: ["": 500, "app": 300, "side car": 200])
        let b = UsageSample(time: WallTime(1_010_000_000_000), cpu: ["": 900, "app": 600, "side car": 300])
        let text = UsageSample.encode([a, b])
        #expect(text.hasPrefix("podrec-usage 1\nsample 1000000000000\ncpu 500 \ncpu 300 app\n"))
        #expect(UsageSample.decode(text) == [a, b])
        #expect(UsageSample.decode("podrec-status 1\n") == nil, "not a usage file")
        // The newest sample at least a second old starts the window.
        #expect(UsageSample.start(of: [a, b], now: b.time.nanoseconds + 2_000_000_000) == b)
        #expect(UsageSample.start(of: [a, b], now: b.time.nanoseconds + 500_000_000) == a, "b is too recent")
        #expect(UsageSample.start(of: [b], now: b.time.nanoseconds + 500_000_000) == nil, "no window yet")
    }
}
