import Foundation

/// Decides what follows an attempt, from its result, its number and the retry policy.
///
/// 2xx delivers. Connection errors, timeouts, 5xx and 429 are retried with backoff until the
/// policy's last attempt; anything else (3xx, other 4xx, a refused address) fails at once, as
/// retrying cannot help.
public enum DeliveryDecision: Sendable, Equatable {
    /// Delivered.
    case delivered
    /// Try again after `delay`.
    case retry(after: Duration, reason: String)
    /// Stop: failed for good.
    case giveUp(reason: String)

    /// How the attempt bears on the target's health.
    public enum Signal: Sendable, Equatable {
        /// It worked.
        case success
        /// It failed in a way that says the target is unwell.
        case failure(String)
        /// It says nothing about the target.
        case neutral
    }

    /// The decision for `result` of attempt number `attempt` (1-based); `jitter` in [0, 1).
    public static func decide(_ result: AttemptResult, attempt: Int, policy: RetryPolicy, jitter: Double)
        -> DeliveryDecision
    {
        let reason: String
        let retryAfter: Duration?
        switch result {
        case .response(let status, _) where (200...299).contains(status): return .delivered
        case .response(let status, let after) where isRetryable(status: status):
            reason = "status \(status)"
            retryAfter = after
        case .response(let status, _): return .giveUp(reason: "status \(status)")
        case .failure(let why, true):
            reason = why
            retryAfter = nil
        case .failure(let why, false): return .giveUp(reason: why)
        }
        guard policy.allowsRetry(afterAttempt: attempt) else { return .giveUp(reason: reason) }
        return .retry(
            after: policy.delay(afterAttempt: attempt, jitter: jitter, retryAfter: retryAfter),
            reason: reason
        )
    }

    /// The health signal of `result`.
    public static func signal(_ result: AttemptResult) -> Signal {
        switch result {
        case .response(let status, _) where (200...299).contains(status): .success
        case .response(let status, _) where isRetryable(status: status): .failure("status \(status)")
        case .response: .neutral
        case .failure(let reason, true): .failure(reason)
        case .failure(_, false): .neutral
        }
    }

    /// 5xx and 429 are worth retrying.
    public static func isRetryable(status: Int) -> Bool {
        status == 429 || (500...599).contains(status)
    }
}
