import AerosolModels
import Foundation
import SQLKit

/// The webhook outbox: deliveries waiting to be made, the delivery log, and the dispatcher's
/// cursor into the event log, all in the same database as the events.
///
/// The dispatcher moves its cursor in the same transaction that enqueues the deliveries of the
/// events it read, so an event is matched exactly once however the process stops. A delivery
/// row lives until the delivery succeeds or is given up; the log keeps every attempt.
public struct DeliveryStore: Sendable {
    let database: Database

    /// A store on `database`.
    public init(database: Database) {
        self.database = database
    }

    /// A delivery to enqueue.
    public struct NewDelivery: Sendable, Hashable {
        /// The webhook to call.
        public var webhookID: String
        /// The triggering event.
        public var event: Event
        /// When the first attempt is due.
        public var dueAt: Date

        /// Creates a delivery to enqueue.
        public init(webhookID: String, event: Event, dueAt: Date) {
            self.webhookID = webhookID
            self.event = event
            self.dueAt = dueAt
        }
    }

    /// What becomes of a delivery after an attempt.
    public enum Disposition: Sendable, Hashable {
        /// Delivered or given up: the outbox row goes.
        case finished
        /// Tried again at this time; `attempts` attempts made so far.
        case retry(at: Date, attempts: Int)
    }

    /// The number of waiting deliveries of a webhook and when the earliest is due.
    public struct Backlog: Sendable, Hashable {
        /// The webhook.
        public var webhookID: String
        /// How many deliveries wait.
        public var count: Int
        /// When the earliest is due.
        public var earliest: Date
    }

    /// The id of the last event the dispatcher has matched.
    public func cursor() async throws -> Int64 {
        try await database.sql.raw("SELECT event_id FROM webhook_cursor WHERE name = 'dispatcher'").first()?
            .decode(column: "event_id", as: Int64.self) ?? 0
    }

    /// Up to `limit` events of every scope with ids above `id`, oldest first.
    public func events(after id: Int64, limit: Int) async throws -> [Event] {
        try await database.sql.raw("SELECT * FROM events WHERE id > \(bind: id) ORDER BY id LIMIT \(bind: limit)")
            .all().map(EventLog.event)
    }

    /// In one transaction: queues `deliveries`, logs `dropped` events, and moves the
    /// dispatcher's cursor to `cursor` (`nil`: it stays, for a backfill behind it).
    public func enqueue(_ deliveries: [NewDelivery], dropped: [DeliveryAttempt], cursor: Int64?, now: Date) async throws
    {
        try await database.transaction { sql in
            var start = 0
            while start < deliveries.count {
                let end = min(start + 400, deliveries.count)
                try await sql.raw(Self.insert(deliveries[start..<end], now: now)).run()
                start = end
            }
            if !dropped.isEmpty { try await Self.insert(dropped, on: sql) }
            if let cursor {
                try await sql.raw("UPDATE webhook_cursor SET event_id = \(bind: cursor) WHERE name = 'dispatcher'")
                    .run()
            }
        }
    }

    /// Moves the dispatcher's cursor on its own (a single statement): for events that
    /// matched no webhook, whose cursor need not move in the same transaction as anything.
    public func saveCursor(_ cursor: Int64) async throws {
        try await database.write { sql in
            try await sql.raw(
                "UPDATE webhook_cursor SET event_id = \(bind: cursor) WHERE name = 'dispatcher' AND event_id < \(bind: cursor)"
            ).run()
        }
    }

    /// Queues one delivery outside the dispatcher (a test event); returns its id.
    public func enqueue(_ delivery: NewDelivery, now: Date) async throws -> Int64 {
        var query = Self.insert([delivery][...], now: now)
        query.appendLiteral(" RETURNING id")
        let insert = query
        let row = try await database.write { sql in try await sql.raw(insert).first() }
        guard let id = try row?.decode(column: "id", as: Int64.self) else {
            throw StoreError.unavailable("the database returned no delivery id")
        }
        return id
    }

    /// A webhook's waiting deliveries in due order (due or not; the caller decides), leaving
    /// out `excluded` ones (those in flight).
    public func waiting(webhookID: String, excluding excluded: some Collection<Int64>, limit: Int) async throws
        -> [PendingDelivery]
    {
        var query: SQLQueryString = "SELECT * FROM webhook_deliveries WHERE webhook_id = \(bind: webhookID)"
        if !excluded.isEmpty {
            query.appendLiteral(" AND id NOT IN (")
            query.appendInterpolation(unsafeRaw: excluded.map { String($0) }.joined(separator: ", "))
            query.appendLiteral(")")
        }
        query.appendInterpolation(" ORDER BY next_attempt_at, id LIMIT \(bind: limit)" as SQLQueryString)
        return try await database.sql.raw(query).all().map(Self.delivery)
    }

    /// Every webhook with waiting deliveries (read once at start).
    public func backlog() async throws -> [Backlog] {
        try await database.sql.raw(
            """
            SELECT webhook_id, COUNT(*) AS n, MIN(next_attempt_at) AS earliest FROM webhook_deliveries
            GROUP BY webhook_id
            """
        ).all().map { row in
            Backlog(
                webhookID: try row.decode(column: "webhook_id", as: String.self),
                count: try row.decode(column: "n", as: Int.self),
                earliest: Timestamp.date(milliseconds: try row.decode(column: "earliest", as: Int64.self))
            )
        }
    }

    /// How many deliveries of a webhook wait.
    public func waitingCount(webhookID: String) async throws -> Int {
        try await database.sql.raw(
            "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE webhook_id = \(bind: webhookID)"
        ).first()?.decode(column: "n", as: Int.self) ?? 0
    }

    /// Applies attempts' dispositions to the outbox (finished rows go, retried rows get their
    /// new due time) and logs the attempts, in one transaction of at most three statements.
    public func record(_ results: [(attempt: DeliveryAttempt, disposition: Disposition)]) async throws {
        guard !results.isEmpty else { return }
        var finished: [Int64] = []
        var retried: [(id: Int64, at: Int64, attempts: Int)] = []
        for (attempt, disposition) in results {
            switch disposition {
            case .finished: finished.append(attempt.deliveryID)
            case .retry(let at, let attempts):
                retried.append((attempt.deliveryID, Timestamp.milliseconds(at), attempts))
            }
        }
        try await database.transaction { sql in
            try await Self.apply(finished: finished, retried: retried, on: sql)
            try await Self.insert(results.map(\.attempt), on: sql)
        }
    }

    private static func apply(
        finished: [Int64],
        retried: [(id: Int64, at: Int64, attempts: Int)],
        on sql: any SQLDatabase
    ) async throws {
        if !finished.isEmpty {
            try await sql.raw(
                "DELETE FROM webhook_deliveries WHERE id IN (\(unsafeRaw: finished.map { String($0) }.joined(separator: ", ")))"
            ).run()
        }
        if !retried.isEmpty {
            var dueCases: SQLQueryString = "CASE id"
            var attemptCases: SQLQueryString = "CASE id"
            for row in retried {
                dueCases.appendInterpolation(" WHEN \(bind: row.id) THEN \(bind: row.at)" as SQLQueryString)
                attemptCases.appendInterpolation(" WHEN \(bind: row.id) THEN \(bind: row.attempts)" as SQLQueryString)
            }
            dueCases.appendLiteral(" END")
            attemptCases.appendLiteral(" END")
            let ids = retried.map { String($0.id) }.joined(separator: ", ")
            try await sql.raw(
                "UPDATE webhook_deliveries SET next_attempt_at = \(dueCases), attempts = \(attemptCases) WHERE id IN (\(unsafeRaw: ids))"
            ).run()
        }
    }

    /// A webhook's most recent log lines, newest first.
    public func attempts(webhookID: String, limit: Int) async throws -> [DeliveryAttempt] {
        try await database.sql.raw(
            "SELECT * FROM webhook_attempts WHERE webhook_id = \(bind: webhookID) ORDER BY id DESC LIMIT \(bind: limit)"
        ).all().map(Self.attempt)
    }

    /// Keeps the newest `keep` log lines of each webhook and removes rows whose webhook is
    /// gone; returns how many rows went.
    @discardableResult
    public func prune(keepPerWebhook keep: Int) async throws -> Int {
        let hooks = try await database.sql.raw("SELECT DISTINCT webhook_id FROM webhook_attempts").all(
            decodingColumn: "webhook_id",
            as: String.self
        )
        return try await database.write { sql in
            try await Self.prune(hooks, keep: keep, on: sql)
        }
    }

    private static func prune(_ hooks: [String], keep: Int, on sql: any SQLDatabase) async throws -> Int {
        var removed = 0
        for hook in hooks {
            let rows = try await sql.raw(
                """
                DELETE FROM webhook_attempts WHERE webhook_id = \(bind: hook) AND id <= (
                    SELECT id FROM webhook_attempts WHERE webhook_id = \(bind: hook) ORDER BY id DESC LIMIT 1 OFFSET \(bind: keep)
                ) RETURNING id
                """
            ).all()
            removed += rows.count
        }
        removed += try await sql.raw(
            "DELETE FROM webhook_attempts WHERE webhook_id NOT IN (SELECT id FROM webhooks) RETURNING id"
        ).all().count
        removed += try await sql.raw(
            "DELETE FROM webhook_deliveries WHERE webhook_id NOT IN (SELECT id FROM webhooks) RETURNING id"
        ).all().count
        return removed
    }

    private static func insert(_ deliveries: ArraySlice<NewDelivery>, now: Date) -> SQLQueryString {
        var query: SQLQueryString = """
            INSERT INTO webhook_deliveries (webhook_id, event_id, event_name, event_data, event_ttl, published_at, core_id,
                user_id, product_id, product_version, attempts, next_attempt_at, created_at) VALUES 
            """
        let created = Timestamp.milliseconds(now)
        var first = true
        for delivery in deliveries {
            if !first { query.appendLiteral(", ") }
            first = false
            let event = delivery.event
            query.appendInterpolation(
                """
                (\(bind: delivery.webhookID), \(bind: event.id), \(bind: event.name), \(bind: event.data), \(bind: event.ttl),
                \(bind: Timestamp.milliseconds(event.publishedAt)), \(bind: event.coreID), \(bind: event.userID),
                \(bind: event.productID), \(bind: event.productVersion), 0, \(bind: Timestamp.milliseconds(delivery.dueAt)),
                \(bind: created))
                """ as SQLQueryString
            )
        }
        return query
    }

    private static func insert(_ attempts: [DeliveryAttempt], on sql: any SQLDatabase) async throws {
        var start = 0
        while start < attempts.count {
            let end = min(start + 400, attempts.count)
            var query: SQLQueryString = """
                INSERT INTO webhook_attempts (webhook_id, delivery_id, event_id, event_name, attempt, attempted_at,
                    duration_ms, status, error, outcome, next_attempt_at) VALUES 
                """
            for (index, attempt) in attempts[start..<end].enumerated() {
                if index > 0 { query.appendLiteral(", ") }
                query.appendInterpolation(
                    """
                    (\(bind: attempt.webhookID), \(bind: attempt.deliveryID), \(bind: attempt.eventID), \(bind: attempt.eventName),
                    \(bind: attempt.attempt), \(bind: Timestamp.milliseconds(attempt.attemptedAt)),
                    \(bind: attempt.durationMilliseconds), \(bind: attempt.status), \(bind: attempt.error),
                    \(bind: attempt.outcome.rawValue), \(bind: attempt.nextAttemptAt.map(Timestamp.milliseconds)))
                    """ as SQLQueryString
                )
            }
            try await sql.raw(query).run()
            start = end
        }
    }

    static func delivery(_ row: any SQLRow) throws -> PendingDelivery {
        PendingDelivery(
            id: try row.decode(column: "id", as: Int64.self),
            webhookID: try row.decode(column: "webhook_id", as: String.self),
            event: Event(
                id: try row.decode(column: "event_id", as: Int64.self),
                name: try row.decode(column: "event_name", as: String.self),
                data: try row.decode(column: "event_data", as: String?.self),
                ttl: try row.decode(column: "event_ttl", as: Int.self),
                publishedAt: Timestamp.date(milliseconds: try row.decode(column: "published_at", as: Int64.self)),
                coreID: try row.decode(column: "core_id", as: String.self),
                userID: try row.decode(column: "user_id", as: String?.self),
                productID: try row.decode(column: "product_id", as: Int?.self),
                productVersion: try row.decode(column: "product_version", as: Int?.self)
            ),
            attempts: try row.decode(column: "attempts", as: Int.self),
            nextAttemptAt: Timestamp.date(milliseconds: try row.decode(column: "next_attempt_at", as: Int64.self))
        )
    }

    static func attempt(_ row: any SQLRow) throws -> DeliveryAttempt {
        let outcome = try row.decode(column: "outcome", as: String.self)
        return DeliveryAttempt(
            id: try row.decode(column: "id", as: Int64.self),
            webhookID: try row.decode(column: "webhook_id", as: String.self),
            deliveryID: try row.decode(column: "delivery_id", as: Int64.self),
            eventID: try row.decode(column: "event_id", as: Int64.self),
            eventName: try row.decode(column: "event_name", as: String.self),
            attempt: try row.decode(column: "attempt", as: Int.self),
            attemptedAt: Timestamp.date(milliseconds: try row.decode(column: "attempted_at", as: Int64.self)),
            durationMilliseconds: try row.decode(column: "duration_ms", as: Int.self),
            status: try row.decode(column: "status", as: Int?.self),
            error: try row.decode(column: "error", as: String?.self),
            outcome: DeliveryAttempt.Outcome(rawValue: outcome) ?? .failed,
            nextAttemptAt: try row.decode(column: "next_attempt_at", as: Int64?.self).map(Timestamp.date(milliseconds:))
        )
    }
}
