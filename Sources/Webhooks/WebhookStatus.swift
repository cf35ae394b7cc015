import AerosolModels
import Foundation

/// How a webhook's deliveries stand, for listings and the delivery log.
public struct WebhookStatus: Sendable, Hashable {
    /// `active`, `paused`, `probing` (a pause just ended; one delivery decides) or `disabled`.
    public var state: String
    /// Why it is paused (the last failure), if it is or just was.
    public var reason: String?
    /// When the pause ends.
    public var pausedUntil: Date?
    /// Deliveries waiting in the outbox.
    public var waiting: Int
    /// Failures in a row.
    public var consecutiveFailures: Int

    /// The JSON object listings show as `status`.
    public var json: JSONValue {
        .object([
            ("state", .string(state)),
            ("reason", .string(reason)),
            ("paused_until", .timestamp(pausedUntil)),
            ("waiting", .int(waiting)),
            ("consecutive_failures", .int(consecutiveFailures)),
        ])
    }
}
