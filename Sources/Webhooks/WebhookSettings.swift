/// How webhooks are delivered, server-wide. Every default here is the documented one
/// (docs/webhooks.md).
public struct WebhookSettings: Sendable {
    /// Whether webhooks may call loopback, link-local and private addresses (default `false`;
    /// `--allow-private-webhooks`; tests and local development turn it on).
    public var allowPrivateTargets = false
    /// Calls per minute per webhook unless the webhook sets `rateLimit` (default 12; 0 = unlimited).
    public var defaultRateLimit = 12
    /// The deadline of each request, connection and response body included (default 20 s).
    public var requestTimeout: Duration = .seconds(20)
    /// Attempts per delivery, the first included (default 10).
    public var maxAttempts = 10
    /// The delay after the first failed attempt, doubled after each further one (default 30 s).
    public var retryBaseDelay: Duration = .seconds(30)
    /// The longest delay between attempts (default 1 hour).
    public var retryMaxDelay: Duration = .seconds(3600)
    /// Failures in a row that pause a webhook (default 5; 0 never pauses).
    public var pauseAfterFailures = 5
    /// The first pause of a failing webhook, doubled for each pause in a row (default 30 s).
    public var pauseBase: Duration = .seconds(30)
    /// The longest pause (default 10 minutes).
    public var pauseMax: Duration = .seconds(600)
    /// Deliveries a webhook may have waiting; events beyond are dropped and logged as
    /// `dropped` (default 10,000).
    public var maxQueuedPerWebhook = 10_000
    /// Requests in flight at once, all webhooks together (default 64).
    public var maxConcurrentDeliveries = 64
    /// Requests in flight at once for one webhook (default 16).
    public var maxConcurrentPerWebhook = 16
    /// Attempts kept in each webhook's delivery log (default 1,000).
    public var attemptLogSize = 1000
    /// How often the dispatcher looks for new events in the log (default 5 ms).
    public var pollInterval: Duration = .milliseconds(5)
    /// How long deliveries in flight may run on at shutdown before they are cut off (they are
    /// then made again after the restart; default 5 s).
    public var shutdownGrace: Duration = .seconds(5)
    /// The clock of rate limits, retries and pauses (default the system clock).
    public var clock: any WebhookClock = SystemWebhookClock()

    /// The defaults.
    public init() {}

    var retryPolicy: RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts, baseDelay: retryBaseDelay, maxDelay: retryMaxDelay)
    }

    var healthPolicy: TargetHealth.Policy {
        TargetHealth.Policy(failureThreshold: pauseAfterFailures, basePause: pauseBase, maxPause: pauseMax)
    }
}
