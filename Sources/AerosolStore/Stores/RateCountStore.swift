import Foundation
import SQLKit

/// Request counts per client address shared by the nodes of one database: each node writes the
/// count of its current window for each address it served since its last write, and reads what
/// the other nodes wrote since its last read, so that its limits count every node's requests.
/// Times are the database's clock (the nodes' own clocks need not agree).
public struct RateCountStore: Sendable {
    /// One node's count for one address under one limit, until its window ends.
    public struct Count: Sendable, Equatable {
        public var limiter: String
        public var address: String
        public var count: Int
        /// Milliseconds until the window ends (when written); milliseconds of the database's
        /// clock when it ends (when read).
        public var ends: Int64
        /// The node that counted (when read).
        public var node: String

        public init(limiter: String, address: String, count: Int, ends: Int64, node: String = "") {
            self.limiter = limiter
            self.address = address
            self.count = count
            self.ends = ends
            self.node = node
        }
    }

    private let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Records `node`'s counts (``Count/ends`` as milliseconds from now), replacing its earlier
    /// ones for the same addresses.
    public func write(_ counts: [Count], node: String) async throws {
        guard !counts.isEmpty else { return }
        let now = database.engine.nowMilliseconds
        try await database.transaction { sql in
            for count in counts {
                try await sql.raw(
                    """
                    INSERT INTO rate_counts (limiter, address, node, count, expires_at, updated_at)
                    VALUES (\(bind: count.limiter), \(bind: count.address), \(bind: node), \(bind: count.count),
                        \(unsafeRaw: now) + \(bind: count.ends), \(unsafeRaw: now))
                    ON CONFLICT (limiter, address, node) DO UPDATE SET count = excluded.count,
                        expires_at = excluded.expires_at, updated_at = excluded.updated_at
                    """
                ).run()
            }
        }
    }

    /// The live counts of the nodes other than `node` written at or after `since` (database
    /// milliseconds; `nil`: all), and the database's time now (``Count/ends`` is on that clock).
    public func read(since: Int64?, except node: String) async throws -> (now: Int64, counts: [Count]) {
        let now =
            try await database.sql.raw("SELECT \(unsafeRaw: database.engine.nowMilliseconds) AS now").first()?
            .decode(column: "now", as: Int64.self) ?? 0
        let rows = try await database.sql.raw(
            """
            SELECT limiter, address, node, count, expires_at FROM rate_counts
            WHERE node <> \(bind: node) AND updated_at >= \(bind: since ?? 0) AND expires_at > \(bind: now)
            """
        ).all()
        let counts = try rows.map { row in
            Count(
                limiter: try row.decode(column: "limiter", as: String.self),
                address: try row.decode(column: "address", as: String.self),
                count: try row.decode(column: "count", as: Int.self),
                ends: try row.decode(column: "expires_at", as: Int64.self),
                node: try row.decode(column: "node", as: String.self)
            )
        }
        return (now, counts)
    }

    /// Removes the counts whose windows ended.
    public func sweep() async throws {
        try await database.write { sql in
            try await sql.raw(
                "DELETE FROM rate_counts WHERE expires_at < \(unsafeRaw: database.engine.nowMilliseconds)"
            )
            .run()
        }
    }
}
