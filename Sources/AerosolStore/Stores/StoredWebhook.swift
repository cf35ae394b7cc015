import Foundation

/// A webhook as the store keeps it: whose it is, its definition as JSON text (sealed at rest,
/// open here), its credentials (sealed at rest, open here), and its pause state.
///
/// The store does not interpret the definition; the `Webhooks` module parses and validates it.
public struct StoredWebhook: Sendable, Hashable {
    /// The secrets of a webhook, sealed together under the server secret in the database.
    public struct Credentials: Sendable, Hashable, Codable {
        /// The HTTP Basic password of `auth`, if any.
        public var password: String?
        /// The HMAC-SHA256 signing secret, if any.
        public var secret: String?

        /// Creates credentials.
        public init(password: String? = nil, secret: String? = nil) {
            self.password = password
            self.secret = secret
        }

        /// Whether there is nothing to keep.
        public var isEmpty: Bool { password == nil && secret == nil }
    }

    /// 24 lower-case hex characters.
    public var id: String
    /// The owning user, for sandbox webhooks.
    public var ownerID: String?
    /// The owning product, for product webhooks.
    public var productID: Int?
    /// The definition as compact JSON text (no password, no secret; the store seals it on
    /// write, as its headers and URL may hold credentials of their own).
    public var definition: String
    /// The secrets, in the clear (the store seals them on write).
    public var credentials: Credentials
    /// Only events with a larger log id trigger the webhook (the log's newest id at creation).
    public var afterEventID: Int64
    /// While set and in the future, deliveries wait: the target kept failing.
    public var pausedUntil: Date?
    /// Why the webhook is (or was last) paused.
    public var pauseReason: String?
    /// When it was created.
    public var createdAt: Date
    /// When its definition last changed.
    public var updatedAt: Date

    /// Creates a record.
    public init(
        id: String,
        ownerID: String?,
        productID: Int?,
        definition: String,
        credentials: Credentials,
        afterEventID: Int64,
        pausedUntil: Date? = nil,
        pauseReason: String? = nil,
        createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.ownerID = ownerID
        self.productID = productID
        self.definition = definition
        self.credentials = credentials
        self.afterEventID = afterEventID
        self.pausedUntil = pausedUntil
        self.pauseReason = pauseReason
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}
