import AerosolModels
import ServerSentEvents

/// One event from a stream: the `event:` name and the fields of the `data:` JSON.
public struct CloudEvent: Sendable, Equatable {
    /// The event name.
    public var name: String
    /// The payload, or `nil`.
    public var data: String?
    /// Time to live in seconds, as published.
    public var ttl: Int
    /// When the cloud received it (ISO-8601 with milliseconds).
    public var publishedAt: String
    /// The publishing device, `"api"` or `"particle-internal"`.
    public var coreID: String
    /// The stream's event id (Aerosol sends one; the original does not).
    public var id: String?
    /// Product streams only: the product id.
    public var productID: Int?
    /// Product streams only: the owner's user id (or empty).
    public var userID: String?

    /// Creates an event.
    public init(
        name: String,
        data: String?,
        ttl: Int = 60,
        publishedAt: String,
        coreID: String,
        id: String? = nil,
        productID: Int? = nil,
        userID: String? = nil
    ) {
        self.name = name
        self.data = data
        self.ttl = ttl
        self.publishedAt = publishedAt
        self.coreID = coreID
        self.id = id
        self.productID = productID
        self.userID = userID
    }

    /// The event an SSE block describes, or `nil` when it is not a Particle event (no name, or
    /// data that is not a JSON object — particle-api-js drops those too).
    public init?(_ event: ServerSentEvent) {
        guard let name = event.event, !name.isEmpty, let json = try? JSONValue.parse(Array(event.data.utf8)),
            case .object = json
        else { return nil }
        self.name = name
        switch json["data"] {
        case .string(let value)?: data = value
        case nil, .null?: data = nil
        case let other?: data = other.serialized
        }
        ttl = json["ttl"]?.intValue.map(Int.init) ?? Int(json["ttl"]?.stringValue ?? "") ?? 60
        publishedAt = json["published_at"]?.stringValue ?? ""
        coreID = json["coreid"]?.stringValue ?? ""
        id = event.id
        productID = json["productID"]?.intValue.map(Int.init)
        userID = json["userid"]?.stringValue
    }

    /// One line of JSON in the shape the Particle CLI prints (`name` first), plus `id`.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("name", .string(name)),
            ("data", .string(data)),
            ("ttl", .int(Int64(ttl))),
            ("published_at", .string(publishedAt)),
            ("coreid", .string(coreID)),
        ]
        if let productID { members.append(("productID", .int(Int64(productID)))) }
        if let userID { members.append(("userid", .string(userID))) }
        if let id { members.append(("id", .string(id))) }
        return .object(members)
    }
}
