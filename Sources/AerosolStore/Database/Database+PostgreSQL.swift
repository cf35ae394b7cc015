import Logging
import PostgresNIO
import SQLKit

extension Database {
    /// Connects to the PostgreSQL database at `url` and applies pending migrations (one node at
    /// a time when several start at once).
    ///
    /// - Parameters:
    ///   - url: `postgres://user:password@host:port/database` (`?sslmode=require` for TLS).
    ///   - connections: the most connections this node opens (default 10).
    ///   - secret: the server secret, as for SQLite.
    /// - Throws: ``StoreError/invalid(_:)`` for a URL that is not PostgreSQL's,
    ///   ``StoreError/unavailable(_:)`` naming the server when it cannot be reached.
    public static func open(
        postgresURL url: String,
        connections: Int = 10,
        secret: ServerSecret? = nil,
        logger: Logger
    ) async throws -> Database {
        try await open(postgresURL: url, connections: connections, secret: secret, through: nil, logger: logger)
    }

    /// ``open(postgresURL:connections:secret:logger:)`` with the migrations applied only up to
    /// `lastVersion`.
    static func open(
        postgresURL url: String,
        connections: Int,
        secret: ServerSecret?,
        through lastVersion: Int?,
        logger: Logger
    ) async throws -> Database {
        let pool = try PostgresConnections(url: url, maxConnections: connections, logger: logger)
        let database = Database(path: pool.description, connections: .postgres(pool))
        do {
            try await database.checkReachable()
            try await Migrations.apply(to: database, secret: secret, through: lastVersion, logger: logger)
            return database
        } catch {
            await database.close()
            throw error
        }
    }

    /// Fails with one line naming the server when it does not answer within 10 s.
    private func checkReachable() async throws {
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await self.sql.raw("SELECT 1").all() }
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    throw StoreError.unavailable("no answer within 10 s")
                }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            throw StoreError.unavailable("cannot reach the database at \(path): \(Self.describe(error))")
        }
    }
}

extension Database {
    /// PostgreSQL: listens on `channel` and calls `notified` with each notification's payload
    /// (and once with `nil` when listening starts; see ``PostgresConnections/listen(on:_:)``).
    /// SQLite has no other node to hear from: returns when cancelled.
    public func listen(on channel: String, _ notified: @Sendable (String?) -> Void) async throws {
        switch connections {
        case .postgres(let pool):
            try await pool.listen(on: channel, notified)
        case .sqlite:
            try await Task.sleep(for: .seconds(365 * 86_400))
        }
    }
}

extension Database {
    /// PostgreSQL: sends `payload` (at most 7,999 bytes) to the nodes listening on `channel`.
    public func notify(_ channel: String, payload: String) async throws {
        guard engine == .postgres else { return }
        try await sql.raw("SELECT pg_notify(\(bind: channel), \(bind: payload)) AS sent").run()
    }
}

extension Database {
    /// Runs `body` while this node leads the work named by `key`, and returns whether it kept the
    /// lead to the end (`false`: another node took it, and `body` was cancelled).
    ///
    /// On PostgreSQL the lead is a session advisory lock on a connection of its own, waited for
    /// (tried every second) while another node holds it. It lives as long as that connection: a
    /// node that dies hands the lead to the next within a second or two. When the connection
    /// fails (the database restarts, the network drops), this node keeps working and takes the
    /// lock again as soon as the database answers; only if another node took it meanwhile is
    /// `body` cancelled, so two nodes never lead at once once the database is back. On SQLite,
    /// `body` runs at once.
    public func lead(_ key: DatabaseEngine.LockKey, _ body: @escaping @Sendable () async throws -> Void)
        async throws -> Bool
    {
        guard case .postgres(let pool) = connections else {
            try await body()
            return true
        }
        let lock = LeaderLock(configuration: pool.configuration, key: key.rawValue, logger: pool.logger)
        try await lock.acquire()
        let kept = try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await body()
                return true
            }
            group.addTask {
                await lock.watch()
                return false
            }
            let first = try await group.next() ?? true
            group.cancelAll()
            return first
        }
        await lock.release()
        return kept
    }
}
