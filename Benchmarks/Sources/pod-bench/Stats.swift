/// Order statistics of one series of runs, in milliseconds.
struct Summary {
    var runs: Int
    var median: Double
    /// Nearest rank: the ⌈0.9·n⌉-th smallest value. nil when only aggregates are known.
    var p90: Double?
    var min: Double
    var max: Double

    init(runs: Int, median: Double, p90: Double?, min: Double, max: Double) {
        self.runs = runs
        self.median = median
        self.p90 = p90
        self.min = min
        self.max = max
    }

    /// From every run's value. The median of an even count is the mean of the middle two.
    init(_ values: [Double]) {
        precondition(!values.isEmpty)
        let s = values.sorted()
        let n = s.count
        runs = n
        median = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
        p90 = s[Swift.max(0, (9 * n + 9) / 10 - 1)]
        min = s[0]
        max = s[n - 1]
    }
}

/// `value` with `decimals` digits after the point (no Foundation).
func fixed(_ value: Double, _ decimals: Int = 2) -> String {
    if value.isNaN { return "nan" }
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let negative = value < 0
    let scaled = ((negative ? -value : value) * scale).rounded()
    let whole = Int(scaled / scale)
    var text = (negative && scaled != 0 ? "-" : "") + String(whole)
    if decimals > 0 {
        let fraction = String(Int(scaled) - whole * Int(scale))
        text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
    return text
}
