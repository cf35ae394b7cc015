import AerosolStore
import Metrics

/// What webhook delivery reports through swift-metrics: attempts by outcome, how long an
/// attempt's request took, and how long after its event a delivery succeeded. The queue depth is
/// read when the metrics are read (``WebhookEngine/queuedDeliveries``).
struct WebhookMetrics: Sendable {
    private let attempts: [DeliveryAttempt.Outcome: Counter]
    private let attemptDuration: Timer
    private let deliveryLatency: Timer

    init() {
        var attempts: [DeliveryAttempt.Outcome: Counter] = [:]
        for outcome in [DeliveryAttempt.Outcome.delivered, .retrying, .failed, .dropped] {
            attempts[outcome] = Counter(
                label: "aerosol_webhook_attempts_total",
                dimensions: [("outcome", outcome.rawValue)]
            )
        }
        self.attempts = attempts
        attemptDuration = Timer(label: "aerosol_webhook_attempt_duration_seconds")
        deliveryLatency = Timer(label: "aerosol_webhook_delivery_latency_seconds")
    }

    /// Counts an attempt (or, `dropped`, events not queued because the webhook's queue was full).
    func attempt(_ outcome: DeliveryAttempt.Outcome, count: Int = 1) {
        attempts[outcome]?.increment(by: count)
    }

    /// Records the request time of an attempt.
    func attempt(took duration: Duration) {
        attemptDuration.record(duration: duration)
    }

    /// Records the time from an event's publication to its successful delivery.
    func delivered(after seconds: Double) {
        deliveryLatency.record(max(seconds, 0))
    }
}
