import Foundation

/// An event accepted for publishing but not yet appended to the log (it has no id yet).
public struct EventDraft: Sendable, Hashable {
    /// The event name.
    public var name: String
    /// The payload, if any.
    public var data: String?
    /// Time to live in seconds.
    public var ttl: Int
    /// When the cloud received it.
    public var publishedAt: Date
    /// Device id, `"api"` or `"particle-internal"`.
    public var coreID: String
    /// The owning user, if any.
    public var userID: String?
    /// The product, if any.
    public var productID: Int?
    /// The product firmware version, if known.
    public var productVersion: Int?

    /// Creates a draft.
    public init(
        name: String,
        data: String?,
        ttl: Int = Event.defaultTTL,
        publishedAt: Date = Date(),
        coreID: String,
        userID: String?,
        productID: Int?,
        productVersion: Int? = nil
    ) {
        self.name = name
        self.data = data
        self.ttl = ttl
        self.publishedAt = publishedAt
        self.coreID = coreID
        self.userID = userID
        self.productID = productID
        self.productVersion = productVersion
    }

    /// The event this draft becomes once the log gives it `id`.
    public func event(id: Int64) -> Event {
        Event(
            id: id,
            name: name,
            data: data,
            ttl: ttl,
            publishedAt: publishedAt,
            coreID: coreID,
            userID: userID,
            productID: productID,
            productVersion: productVersion
        )
    }
}
