import Logging
import NIOCore
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit
import Synchronization

/// The PostgreSQL side of ``Database``: PostgresNIO's connection pool, run by a task of its own.
/// The pool opens connections as they are needed and opens new ones when the server comes back
/// after an outage, so a node recovers by itself.
final class PostgresConnections: Sendable {
    let client: PostgresClient
    private let runner: Task<Void, Never>
    let logger: Logger
    /// How to open a connection outside the pool (``LeaderLock``).
    let configuration: PostgresConnection.Configuration
    /// Where the database is, without the password (for log lines and errors).
    let description: String

    /// A pool for `url` (`postgres://user:password@host:port/database?sslmode=…`) of at most
    /// `maxConnections` connections.
    init(url: String, maxConnections: Int, logger: Logger) throws {
        let parsed: SQLPostgresConfiguration
        do {
            parsed = try SQLPostgresConfiguration(url: url)
        } catch {
            throw StoreError.invalid(
                "the database URL is not a PostgreSQL URL (postgres://user:password@host:port/database)"
            )
        }
        let core = parsed.coreConfiguration
        self.configuration = core
        let tls: PostgresClient.Configuration.TLS =
            core.tls.isEnforced
            ? .require(.makeClientConfiguration())
            : core.tls.isAllowed ? .prefer(.makeClientConfiguration()) : .disable
        var configuration: PostgresClient.Configuration
        if let host = core.host {
            configuration = .init(
                host: host,
                port: core.port ?? 5432,
                username: core.username,
                password: core.password,
                database: core.database,
                tls: tls
            )
            description = "postgres://\(core.username)@\(host):\(core.port ?? 5432)/\(core.database ?? core.username)"
        } else if let socket = core.unixSocketPath {
            configuration = .init(
                unixSocketPath: socket,
                username: core.username,
                password: core.password,
                database: core.database
            )
            description = "postgres+uds://\(core.username)@\(socket)"
        } else {
            throw StoreError.invalid("the database URL names no host")
        }
        configuration.options.maximumConnections = max(3, maxConnections)
        configuration.options.connectTimeout = .seconds(5)
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .info)
        let client = PostgresClient(configuration: configuration, backgroundLogger: poolLogger)
        self.client = client
        self.logger = poolLogger
        self.runner = Task { await client.run() }
    }

    /// Reads: each statement on whichever pooled connection is free.
    var sql: any SQLDatabase { PooledPostgresDatabase(connections: self) }

    /// How long a request waits for a connection before it is answered as unavailable. The
    /// pool itself would wait as long as the database is away (its circuit breaker trips after
    /// 60 s), holding every API request open: with the database gone, a client gets `503` in a
    /// few seconds instead, and `/readyz` says why.
    static let leaseTimeout: Duration = .seconds(5)

    /// Runs `body` on one connection, leased for its whole duration (transactions need that).
    func withConnection<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await leased { connection in
            try await body(ReadableErrors(base: connection.sql(queryLogLevel: nil)))
        }
    }

    /// `client.withConnection`, failing with ``StoreError/unavailable(_:)`` when no connection is
    /// granted within ``leaseTimeout`` (the wait for a connection is bounded, `body` is not).
    func leased<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withoutActuallyEscaping(body) { body in
            // Runs only inside the task group below, which ends before this scope does.
            nonisolated(unsafe) let body = body
            let granted = Granted()
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await self.client.withConnection { connection in
                        granted.set()
                        return try await body(connection)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: Self.leaseTimeout)
                    guard granted.isSet else {
                        throw StoreError.unavailable(
                            "the database (\(self.description)) is not answering; try again shortly"
                        )
                    }
                    return nil
                }
                while let outcome = try await group.next() {
                    if let result = outcome {
                        group.cancelAll()
                        return result
                    }
                }
                throw CancellationError()
            }
        }
    }

    /// Runs `body` in a transaction on one connection; any error rolls back and is rethrown as
    /// it was. A connection whose `ROLLBACK` failed is closed rather than returned to the pool:
    /// PostgreSQL only warns about a `BEGIN` inside a transaction, so the next user would
    /// silently run inside the broken one.
    func withTransaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await leased { connection in
            let sql = ReadableErrors(base: connection.sql(queryLogLevel: nil))
            try await sql.raw(SQLQueryString(DatabaseEngine.postgres.beginTransaction)).run()
            do {
                let result = try await body(sql)
                try await sql.raw("COMMIT").run()
                return result
            } catch {
                do {
                    try await sql.raw("ROLLBACK").run()
                } catch {
                    try? await connection.close()
                }
                throw error
            }
        }
    }

    /// Holds one connection listening on `channel` and calls `notified` with each notification's
    /// payload (and once with `nil` when listening starts); returns or throws when the
    /// connection ends.
    func listen(on channel: String, _ notified: @Sendable (String?) -> Void) async throws {
        try await client.withConnection { connection in
            try await connection.listen(on: channel) { notifications in
                notified(nil)
                for try await notification in notifications { notified(notification.payload) }
            }
        }
    }

    /// Stops the pool and closes its connections.
    func close() async {
        runner.cancel()
        await runner.value
    }
}

/// Whether a connection was granted (``PostgresConnections/leased(_:)``).
private final class Granted: Sendable {
    private let flag = Atomic(false)
    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}

/// An `SQLDatabase` over the pool: every statement leases a connection for itself.
private struct PooledPostgresDatabase: SQLDatabase {
    let connections: PostgresConnections

    var logger: Logger { connections.logger }

    var eventLoop: any EventLoop { PostgresClient.defaultEventLoopGroup.any() }
    var dialect: any SQLDialect { PostgresDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<
        Void
    > {
        let promise = eventLoop.makePromise(of: Void.self)
        promise.completeWithTask { try await execute(sql: query, onRow) }
        return promise.futureResult
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try await connections.leased { connection in
            try await ReadableErrors(base: connection.sql(queryLogLevel: nil)).execute(sql: query, onRow)
        }
    }
}

/// A connection's `SQLDatabase` whose failures are ``PostgresFailure``s: PostgresNIO's errors
/// print a fixed text instead of the server's message in release builds, which would leave a
/// log line at 3 a.m. saying nothing.
private struct ReadableErrors: SQLDatabase {
    let base: any SQLDatabase

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<
        Void
    > {
        base.execute(sql: query, onRow).flatMapErrorThrowing { throw PostgresFailure($0) }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        do {
            try await base.execute(sql: query, onRow)
        } catch {
            throw PostgresFailure(error)
        }
    }
}
