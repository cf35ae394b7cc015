/// Exponential backoff with full jitter for reconnects: the n-th consecutive failure waits a
/// random time between half and all of `initial · 2^(n-1)`, capped at `maximum`. A value type
/// with no clock and no I/O, so it is tested on its own.
public struct ReconnectBackoff: Sendable {
    /// The first delay.
    public let initial: Duration
    /// The cap.
    public let maximum: Duration
    /// Consecutive failures so far.
    public private(set) var attempt = 0

    /// Backoff starting at `initial`, capped at `maximum`.
    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// Records a failure and returns how long to wait before the next try.
    public mutating func nextDelay(using generator: inout some RandomNumberGenerator) -> Duration {
        attempt += 1
        var ceiling = initial
        for _ in 1..<min(attempt, 32) where ceiling < maximum { ceiling *= 2 }
        ceiling = min(ceiling, maximum)
        let fraction = Double.random(in: 0.5...1.0, using: &generator)
        return ceiling * fraction
    }

    /// Records a success: the next failure starts from `initial` again.
    public mutating func reset() {
        attempt = 0
    }
}
