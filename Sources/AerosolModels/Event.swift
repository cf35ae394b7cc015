import Foundation

/// A published event, as stored in the event log.
///
/// `id` is the log's monotonically increasing sequence number; streams send it as the SSE
/// `id:` so that a client can resume with `Last-Event-ID`.
public struct Event: Sendable, Hashable {
    /// The log sequence number (1, 2, 3, …); never reused.
    public var id: Int64
    /// The event name, 1–64 characters.
    public var name: String
    /// The payload as published, or `nil` when none was given.
    public var data: String?
    /// Time to live in seconds, echoed as published (default 60).
    public var ttl: Int
    /// When the cloud received the event.
    public var publishedAt: Date
    /// The publishing device's id, `"api"` for REST publishes, `"particle-internal"` for cloud events.
    public var coreID: String
    /// The owning user's id: the publisher, or the owner of the publishing device; `nil` if unowned.
    public var userID: String?
    /// The product the event belongs to, if any.
    public var productID: Int?
    /// The product firmware version reported by the device, if known.
    public var productVersion: Int?

    /// Creates an event.
    public init(
        id: Int64,
        name: String,
        data: String?,
        ttl: Int = Event.defaultTTL,
        publishedAt: Date,
        coreID: String,
        userID: String?,
        productID: Int?,
        productVersion: Int? = nil
    ) {
        self.id = id
        self.name = name
        self.data = data
        self.ttl = ttl
        self.publishedAt = publishedAt
        self.coreID = coreID
        self.userID = userID
        self.productID = productID
        self.productVersion = productVersion
    }

    /// The default `ttl` (seconds), as the original echoes it.
    public static let defaultTTL = 60
    /// The `coreid` of events published through the REST API.
    public static let apiCoreID = "api"
    /// The `coreid` of events the cloud itself publishes (`hook-*`).
    public static let internalCoreID = "particle-internal"
}

extension Event {
    /// The single-line JSON of the SSE `data:` line on sandbox streams
    /// (`{"data","ttl","published_at","coreid"}`, in the original's order).
    public var sandboxJSON: String {
        var json = JSONWriter()
        json.beginObject()
        writeSandboxFields(to: &json)
        json.endObject()
        return json.output
    }

    /// The single-line JSON of the SSE `data:` line on product streams: the sandbox fields plus
    /// `userid`, `version`, `public` and `productID`.
    public var productJSON: String {
        var json = JSONWriter()
        json.beginObject()
        writeSandboxFields(to: &json)
        json.key("userid")
        json.string(userID ?? "")
        json.key("version")
        json.integer(productVersion ?? 0)
        json.key("public")
        json.bool(false)
        json.key("productID")
        json.integer(productID ?? 0)
        json.endObject()
        return json.output
    }

    private func writeSandboxFields(to json: inout JSONWriter) {
        json.key("data")
        json.stringOrNull(data)
        json.key("ttl")
        json.integer(ttl)
        json.key("published_at")
        json.string(Timestamp.format(publishedAt))
        json.key("coreid")
        json.string(coreID)
    }
}
