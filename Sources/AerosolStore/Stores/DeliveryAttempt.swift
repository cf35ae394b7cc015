import Foundation

/// One line of a webhook's delivery log: an attempt and what came of it.
public struct DeliveryAttempt: Sendable, Hashable {
    /// What an attempt led to.
    public enum Outcome: String, Sendable, Hashable {
        /// The target answered 2xx; the delivery is done.
        case delivered
        /// It failed and will be tried again at `nextAttemptAt`.
        case retrying
        /// It failed for good (a permanent error, or the last allowed attempt).
        case failed
        /// The event was never queued: the webhook's queue was full.
        case dropped
    }

    /// The log line's id (0 until stored).
    public var id: Int64
    /// The webhook.
    public var webhookID: String
    /// The outbox row (gone once the delivery is finished).
    public var deliveryID: Int64
    /// The triggering event's log id (0 for a test event).
    public var eventID: Int64
    /// The triggering event's name.
    public var eventName: String
    /// 1 for the first attempt (0 for a dropped event).
    public var attempt: Int
    /// When the request started.
    public var attemptedAt: Date
    /// How long it took, in milliseconds.
    public var durationMilliseconds: Int
    /// The response status, if a response came.
    public var status: Int?
    /// What went wrong, if anything (never holds a secret).
    public var error: String?
    /// What the attempt led to.
    public var outcome: Outcome
    /// When the next attempt is due, for `retrying`.
    public var nextAttemptAt: Date?

    /// Creates a log line.
    public init(
        id: Int64 = 0,
        webhookID: String,
        deliveryID: Int64,
        eventID: Int64,
        eventName: String,
        attempt: Int,
        attemptedAt: Date,
        durationMilliseconds: Int,
        status: Int?,
        error: String?,
        outcome: Outcome,
        nextAttemptAt: Date?
    ) {
        self.id = id
        self.webhookID = webhookID
        self.deliveryID = deliveryID
        self.eventID = eventID
        self.eventName = eventName
        self.attempt = attempt
        self.attemptedAt = attemptedAt
        self.durationMilliseconds = durationMilliseconds
        self.status = status
        self.error = error
        self.outcome = outcome
        self.nextAttemptAt = nextAttemptAt
    }
}
