/// What one attempt gave.
public enum AttemptResult: Sendable, Equatable {
    /// The target answered with this status (and maybe a `Retry-After`).
    case response(status: Int, retryAfter: Duration?)
    /// No answer: a connection error or a timeout (retryable), or a request that could not be
    /// made at all: a refused address, an unusable rendered URL (not retryable).
    case failure(reason: String, retryable: Bool)
}
