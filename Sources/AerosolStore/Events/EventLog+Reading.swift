import AerosolModels
import SQLKit

extension EventLog {
    /// Up to `limit` events of `filter`'s scope with ids above `afterID`, oldest first, already
    /// filtered by prefix. An empty result means there is nothing more to replay.
    ///
    /// Pages by scope index, so replaying a narrow stream does not scan the whole log.
    public func read(_ filter: EventFilter, after afterID: Int64, limit: Int = 500) async throws -> (
        events: [Event], lastScannedID: Int64
    ) {
        let scope: SQLQueryString
        switch filter.scope {
        case .user(let user): scope = "user_id = \(bind: user)"
        case .device(let device): scope = "core_id = \(bind: device)"
        case .product(let product): scope = "product_id = \(bind: product)"
        case .productDevice(let product, let device):
            scope = "product_id = \(bind: product) AND core_id = \(bind: device)"
        }
        let rows = try await databaseForReads.raw(
            "SELECT * FROM events WHERE \(scope) AND id > \(bind: afterID) ORDER BY id LIMIT \(bind: limit)"
        ).all()
        var events: [Event] = []
        var last = afterID
        for row in rows {
            let event = try Self.event(row)
            last = event.id
            if filter.matches(event) { events.append(event) }
        }
        return (events, last)
    }

    /// The id of the oldest event still kept, or `nil` when the log is empty.
    public func oldestID() async throws -> Int64? {
        try await databaseForReads.raw("SELECT MIN(id) AS id FROM events").first()?.decode(
            column: "id",
            as: Int64?.self
        )
    }

    static func event(_ row: any SQLRow) throws -> Event {
        Event(
            id: try row.decode(column: "id", as: Int64.self),
            name: try row.decode(column: "name", as: String.self),
            data: try row.decode(column: "data", as: String?.self),
            ttl: try row.decode(column: "ttl", as: Int.self),
            publishedAt: Timestamp.date(milliseconds: try row.decode(column: "published_at", as: Int64.self)),
            coreID: try row.decode(column: "core_id", as: String.self),
            userID: try row.decode(column: "user_id", as: String?.self),
            productID: try row.decode(column: "product_id", as: Int?.self),
            productVersion: try row.decode(column: "product_version", as: Int?.self)
        )
    }
}
