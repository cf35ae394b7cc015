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
        let scope = Self.condition(filter.scope)
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

    /// The id to replay after (`Last-Event-ID`) to receive the newest `count` events of
    /// `filter`'s scope (prefix not applied): 0 when the scope has fewer.
    public func replayStart(forNewest count: Int, of filter: EventFilter) async throws -> Int64 {
        let scope = Self.condition(filter.scope)
        let row = try await databaseForReads.raw(
            "SELECT id FROM events WHERE \(scope) ORDER BY id DESC LIMIT 1 OFFSET \(bind: max(0, count - 1))"
        ).first()
        return try row.map { try $0.decode(column: "id", as: Int64.self) - 1 } ?? 0
    }

    /// The id of the oldest event still kept, or `nil` when the log is empty.
    public func oldestID() async throws -> Int64? {
        try await databaseForReads.raw("SELECT MIN(id) AS id FROM events").first()?.decode(
            column: "id",
            as: Int64?.self
        )
    }

    /// The SQL condition selecting a scope's events (each has an index).
    private static func condition(_ scope: EventFilter.Scope) -> SQLQueryString {
        switch scope {
        case .user(let user): "user_id = \(bind: user)"
        case .device(let device): "core_id = \(bind: device)"
        case .product(let product): "product_id = \(bind: product)"
        case .productDevice(let product, let device): "product_id = \(bind: product) AND core_id = \(bind: device)"
        }
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
