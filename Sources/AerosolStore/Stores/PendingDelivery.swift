import AerosolModels
import Foundation

/// A delivery waiting in the outbox: one event for one webhook, until it is delivered or given up.
public struct PendingDelivery: Sendable, Hashable {
    /// The outbox row id (increases with every enqueue).
    public var id: Int64
    /// The webhook to call.
    public var webhookID: String
    /// The triggering event, as it was when matched (the log may have trimmed it since).
    /// Test deliveries carry a synthetic event with id 0.
    public var event: Event
    /// Attempts made so far.
    public var attempts: Int
    /// When the next attempt is due.
    public var nextAttemptAt: Date

    /// Creates a delivery value.
    public init(id: Int64, webhookID: String, event: Event, attempts: Int, nextAttemptAt: Date) {
        self.id = id
        self.webhookID = webhookID
        self.event = event
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
    }
}
