import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization

/// The stores' database: the embedded SQLite file (in WAL mode, one writer and a few readers) or
/// a PostgreSQL server shared by several nodes (``DatabaseEngine``).
///
/// Every write of this process goes through one writer at a time (FIFO), whether it is the
/// event log's group commit, a transaction or a single statement; so writers of this process
/// never wait on SQLite's lock, and a store's read-then-write in a transaction behaves the same
/// on both engines. Readers never wait for the writer (WAL; PostgreSQL's MVCC). Another process
/// (`aerosol user create`, another node) may still write; SQLite's `busy_timeout` and
/// PostgreSQL's row locks cover that.
///
/// SQLite calls block a thread, so its connections run on a thread pool of their own with a
/// thread per connection: a connection waiting for a lock can never starve the one holding it,
/// and slow work elsewhere (bcrypt on the shared pool) never delays a commit.
public final class Database: Sendable {
    /// The connections, by engine.
    enum Connections: Sendable {
        case sqlite(writer: SQLiteConnection, readers: [SQLiteConnection], threadPool: NIOThreadPool)
        case postgres(PostgresConnections)
    }

    let connections: Connections
    /// The single writer's queue. Bounded: beyond 4,096 waiting writes the database is answered
    /// as overloaded (`503` with `Retry-After`) instead of queueing without end.
    private let writeLock = KeyedLock<Int>(maxWaiters: 4096)
    /// Group commit for device writes (``batchedWrite(_:)``).
    let batcher = WriteBatcher()
    private let next = Atomic<Int>(0)
    /// Where the SQLite file lives; for PostgreSQL, the server and database (no password).
    public let path: String
    /// Which engine this is; the SQL that differs between them asks it.
    public let engine: DatabaseEngine

    init(path: String, connections: Connections) {
        self.path = path
        self.connections = connections
        switch connections {
        case .sqlite: engine = .sqlite
        case .postgres: engine = .postgres
        }
    }

    /// Opens (creating if needed) the database at `path` and applies pending migrations. The
    /// database and its WAL and shared-memory files are readable by their owner only (0600).
    ///
    /// - Parameters:
    ///   - path: the SQLite file.
    ///   - readers: read connections (default 3).
    ///   - synchronous: `FULL` (default: every commit reaches the disk before it is acknowledged)
    ///     or `NORMAL` (survives a process crash, not a power loss).
    ///   - secret: the server secret, which a migration needs to seal data stored in the clear
    ///     by an older version (opening such a database without it fails, changing nothing).
    public static func open(
        path: String,
        readers readerCount: Int = 3,
        synchronous: Synchronous = .full,
        secret: ServerSecret? = nil,
        logger: Logger
    ) async throws -> Database {
        try await open(
            path: path,
            readers: readerCount,
            synchronous: synchronous,
            secret: secret,
            through: nil,
            logger: logger
        )
    }

    /// ``open(path:readers:synchronous:secret:logger:)`` with the migrations applied only up to
    /// `lastVersion` (tests make databases as older versions left them).
    static func open(
        path: String,
        readers readerCount: Int,
        synchronous: Synchronous,
        secret: ServerSecret?,
        through lastVersion: Int?,
        logger: Logger
    ) async throws -> Database {
        var sqlLogger = logger
        sqlLogger.logLevel = max(logger.logLevel, .info)
        try restrictPermissions(of: path, logger: logger)
        let storage = SQLiteConnection.Storage.file(path: path)
        let count = max(1, readerCount)
        let threadPool = NIOThreadPool(numberOfThreads: count + 2)
        threadPool.start()
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        var opened: [SQLiteConnection] = []
        do {
            let writer = try await SQLiteConnection.open(
                storage: storage,
                threadPool: threadPool,
                logger: sqlLogger,
                on: eventLoop
            )
            opened.append(writer)
            // WAL must be switched on before anything else touches the file.
            _ = try await writer.query("PRAGMA journal_mode=WAL", [])
            try await configure(writer, synchronous: synchronous)
            // Migrations run on the writer alone, before any reader exists: a connection that
            // read the schema before a migration renamed a column would go on naming the old
            // column in the rows of `SELECT *`.
            try await Migrations.apply(
                to: Database(
                    path: path,
                    connections: .sqlite(writer: writer, readers: [writer], threadPool: threadPool)
                ),
                secret: secret,
                through: lastVersion,
                logger: logger
            )
            var readers: [SQLiteConnection] = []
            for _ in 0..<count {
                let reader = try await SQLiteConnection.open(
                    storage: storage,
                    threadPool: threadPool,
                    logger: sqlLogger,
                    on: eventLoop
                )
                opened.append(reader)
                try await configure(reader, synchronous: synchronous)
                readers.append(reader)
            }
            return Database(
                path: path,
                connections: .sqlite(writer: writer, readers: readers, threadPool: threadPool)
            )
        } catch {
            for connection in opened { try? await connection.close() }
            try? await threadPool.shutdownGracefully()
            throw error
        }
    }

    private static func configure(_ connection: SQLiteConnection, synchronous: Synchronous) async throws {
        _ = try await connection.query("PRAGMA busy_timeout=10000", [])
        _ = try await connection.query("PRAGMA synchronous=\(synchronous.rawValue)", [])
        _ = try await connection.query("PRAGMA foreign_keys=ON", [])
    }

    /// A connection for reads (round robin; on PostgreSQL, any free pooled connection). Writes
    /// belong in ``write(_:)`` or ``transaction(_:)``.
    public var sql: any SQLDatabase {
        switch connections {
        case .sqlite(_, let readers, _):
            readers[next.wrappingAdd(1, ordering: .relaxed).oldValue % readers.count].sql()
        case .postgres(let pool):
            pool.sql
        }
    }

    /// Runs `body` with the writer connection, alone (statements commit one by one).
    public func write<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await write(bounded: true, body)
    }

    /// ``write(_:)``; unbounded, it waits behind any number of writes (the ``WriteBatcher``'s
    /// one commit at a time must never be refused).
    func write<T: Sendable>(bounded: Bool, _ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await alone(bounded: bounded) {
            switch connections {
            case .sqlite(let writer, _, _): try await body(writer.sql())
            case .postgres(let pool): try await pool.withConnection(body)
            }
        }
    }

    /// Runs `body` in a transaction (`BEGIN IMMEDIATE` … `COMMIT`) on the writer connection;
    /// any error rolls back and is rethrown.
    public func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await transaction(bounded: true, body)
    }

    /// ``transaction(_:)``, bounded or not as ``write(bounded:_:)``.
    func transaction<T: Sendable>(bounded: Bool, _ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await alone(bounded: bounded) {
            switch connections {
            case .sqlite(let writer, _, _):
                let sql = writer.sql()
                try await begin(sql)
                do {
                    let result = try await body(sql)
                    try await sql.raw("COMMIT").run()
                    return result
                } catch {
                    try? await sql.raw("ROLLBACK").run()
                    throw error
                }
            case .postgres(let pool):
                return try await pool.withTransaction(body)
            }
        }
    }

    /// Runs `body` as this process's one writer (FIFO).
    private func alone<T: Sendable>(bounded: Bool, _ body: () async throws -> T) async throws -> T {
        do {
            return try await writeLock.withLock(0, bounded: bounded) { try await body() }
        } catch KeyedLockError.overloaded {
            throw StoreError.unavailable("the database has too many writes waiting; try again shortly")
        }
    }

    /// `BEGIN IMMEDIATE` (``DatabaseEngine/beginTransaction``). If a failed `ROLLBACK` (a
    /// connection error, an interrupted statement) left SQLite's writer inside a transaction,
    /// every later `BEGIN` would fail and the single writer would be stuck: so that case is
    /// rolled back here and begun again. (On PostgreSQL, see
    /// ``PostgresConnections/withTransaction(_:)``.)
    private func begin(_ sql: any SQLDatabase) async throws {
        let begin = SQLQueryString(engine.beginTransaction)
        do {
            try await sql.raw(begin).run()
        } catch  where "\(error)".contains("within a transaction") {
            try await sql.raw("ROLLBACK").run()
            try await sql.raw(begin).run()
        }
    }

    /// Closes every connection and stops their threads.
    public func close() async {
        // Not cancellable: a service group that fails to start cancels its services, and the
        // thread pool refuses work for a cancelled task, which would leave the connections open.
        await Task {
            // The batched writes first: devices reported offline by the shutdown are recorded.
            await batcher.idle()
            batcher.close()
            // Waits for the writes in progress; a close that cannot wait closes anyway.
            do {
                try await writeLock.withLock(0) { await closeConnections() }
            } catch {
                await closeConnections()
            }
        }.value
    }

    private func closeConnections() async {
        switch connections {
        case .sqlite(let writer, let readers, let threadPool):
            try? await writer.close()
            for reader in readers { try? await reader.close() }
            try? await threadPool.shutdownGracefully()
        case .postgres(let pool):
            await pool.close()
        }
    }

    /// How commits reach the disk.
    public enum Synchronous: String, Sendable, CaseIterable {
        /// fsync at every commit: an acknowledged event survives a power loss.
        case full = "FULL"
        /// WAL default: an acknowledged event survives a crash of the process, not of the machine.
        case normal = "NORMAL"
    }
}
