/// A token bucket for one device's publishes: `burst` tokens, refilled at `rate` per second.
public struct PublishRateLimiter: Sendable {
    /// Tokens added per second.
    public let rate: Double
    /// The bucket's size.
    public let burst: Int
    private var tokens: Double
    private var updatedAt: ContinuousClock.Instant?

    /// A full bucket.
    public init(rate: Double, burst: Int) {
        self.rate = max(0, rate)
        self.burst = max(1, burst)
        self.tokens = Double(self.burst)
    }

    /// Takes a token at `now`; `false` when the bucket is empty (the publish is over the limit).
    public mutating func take(at now: ContinuousClock.Instant) -> Bool {
        if let updatedAt {
            let elapsed = updatedAt.duration(to: now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            self.tokens = min(Double(self.burst), self.tokens + max(0, seconds) * self.rate)
        }
        self.updatedAt = now
        guard self.tokens >= 1 else { return false }
        self.tokens -= 1
        return true
    }
}
