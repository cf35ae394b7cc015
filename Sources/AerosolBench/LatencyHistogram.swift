/// A log-linear histogram of durations in nanoseconds, in the manner of HdrHistogram: values
/// below 256 have their own bucket, larger ones fall into 128 equal buckets per power of two,
/// so every reported percentile is within 1/128 (0.8 %) of the true value. Memory is fixed
/// (7,424 counters) whatever the number of samples.
struct LatencyHistogram: Sendable {
    private static let subBits = 7
    private static let subCount = 1 << subBits
    private static let bucketCount = (64 - subBits) * subCount

    private var counts = [UInt64](repeating: 0, count: LatencyHistogram.bucketCount)
    /// How many values were recorded.
    private(set) var count: UInt64 = 0
    /// The largest value recorded (exact).
    private(set) var max: UInt64 = 0

    /// Records one duration.
    mutating func record(_ nanoseconds: UInt64) {
        counts[Self.index(of: nanoseconds)] += 1
        count += 1
        if nanoseconds > max { max = nanoseconds }
    }

    /// Adds another histogram's values.
    mutating func add(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        for index in counts.indices { counts[index] += other.counts[index] }
        count += other.count
        if other.max > max { max = other.max }
    }

    /// The value at `fraction` (0…1) of the recorded values, in nanoseconds; 0 when empty.
    func percentile(_ fraction: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = Swift.max(1, UInt64((fraction * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for (index, bucketCount) in counts.enumerated() where bucketCount > 0 {
            seen += bucketCount
            if seen >= rank { return Swift.min(Self.middle(of: index), max) }
        }
        return max
    }

    static func index(of value: UInt64) -> Int {
        if value < UInt64(2 * subCount) { return Int(value) }
        let shift = (63 - value.leadingZeroBitCount) - subBits
        return shift * subCount + Int(value >> UInt64(shift))
    }

    static func middle(of index: Int) -> UInt64 {
        if index < 2 * subCount { return UInt64(index) }
        let shift = index / subCount - 1
        let sub = UInt64(index - shift * subCount)
        return (sub << UInt64(shift)) + (UInt64(1) << UInt64(shift)) / 2
    }
}
