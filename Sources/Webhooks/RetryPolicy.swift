/// When a failed delivery is tried again: exponential backoff with jitter, up to a number of
/// attempts.
///
/// After the n-th failed attempt the delay is `baseDelay × 2^(n−1)`, capped at `maxDelay`,
/// then scaled by a random factor in [0.5, 1) so that deliveries failing together do not
/// retry together. A `Retry-After` from a 429 or 503 is honoured when it is longer (still
/// capped). With the defaults (30 s base, 1 h cap, 10 attempts) a delivery is retried for
/// about 3 hours before it is given up.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included (at least 1; default 10).
    public var maxAttempts: Int
    /// The delay after the first failure (default 30 s, as the original's first retry).
    public var baseDelay: Duration
    /// The longest delay (default 1 hour).
    public var maxDelay: Duration

    /// Creates a policy.
    public init(maxAttempts: Int = 10, baseDelay: Duration = .seconds(30), maxDelay: Duration = .seconds(3600)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The delay after failed attempt number `attempt` (1-based); `jitter` is a random number
    /// in [0, 1); `retryAfter` is the target's own request, if any.
    public func delay(afterAttempt attempt: Int, jitter: Double, retryAfter: Duration? = nil) -> Duration {
        let base = seconds(baseDelay)
        let cap = seconds(maxDelay)
        let exponential = min(cap, base * pow2(max(0, attempt - 1)))
        var delay = exponential * (0.5 + 0.5 * min(max(jitter, 0), 1))
        if let retryAfter { delay = max(delay, min(cap, seconds(retryAfter))) }
        return .milliseconds(Int64((delay * 1000).rounded()))
    }

    /// Whether another attempt is allowed after attempt number `attempt`.
    public func allowsRetry(afterAttempt attempt: Int) -> Bool {
        attempt < maxAttempts
    }

    private func pow2(_ exponent: Int) -> Double {
        exponent >= 62 ? Double.greatestFiniteMagnitude : Double(1 << exponent)
    }
}
