import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization

/// The embedded SQLite database, in WAL mode, with one writer and a few readers.
///
/// Every write of this process goes through the single writer connection, one at a time (FIFO),
/// whether it is the event log's group commit, a transaction or a single statement; so writers
/// of this process never wait on SQLite's lock. Readers never wait for the writer (WAL).
/// Another process (`aerosol user create`) may still write; `busy_timeout` covers that.
///
/// SQLite calls block a thread, so the connections run on a thread pool of their own with a
/// thread per connection: a connection waiting for a lock can never starve the one holding it,
/// and slow work elsewhere (bcrypt on the shared pool) never delays a commit.
public final class Database: Sendable {
    private let writer: SQLiteConnection
    /// The single writer's queue. Bounded: beyond 4,096 waiting writes the database is answered
    /// as overloaded (`503` with `Retry-After`) instead of queueing without end.
    private let writeLock = KeyedLock<Int>(maxWaiters: 4096)
    /// Group commit for device writes (``batchedWrite(_:)``).
    let batcher = WriteBatcher()
    private let readers: [SQLiteConnection]
    private let next = Atomic<Int>(0)
    private let threadPool: NIOThreadPool
    /// Where the database file lives.
    public let path: String

    private init(path: String, writer: SQLiteConnection, readers: [SQLiteConnection], threadPool: NIOThreadPool) {
        self.path = path
        self.writer = writer
        self.readers = readers
        self.threadPool = threadPool
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
                to: Database(path: path, writer: writer, readers: [writer], threadPool: threadPool),
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
            return Database(path: path, writer: writer, readers: readers, threadPool: threadPool)
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

    /// A connection for reads (round robin). Writes belong in ``write(_:)`` or
    /// ``transaction(_:)``.
    public var sql: any SQLDatabase {
        readers[next.wrappingAdd(1, ordering: .relaxed).oldValue % readers.count].sql()
    }

    /// Runs `body` with the writer connection, alone (statements commit one by one).
    public func write<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await write(bounded: true, body)
    }

    /// ``write(_:)``; unbounded, it waits behind any number of writes (the ``WriteBatcher``'s
    /// one commit at a time must never be refused).
    func write<T: Sendable>(bounded: Bool, _ body: (any SQLDatabase) async throws -> T) async throws -> T {
        do {
            return try await writeLock.withLock(0, bounded: bounded) { try await body(writer.sql()) }
        } catch KeyedLockError.overloaded {
            throw StoreError.unavailable("the database has too many writes waiting; try again shortly")
        }
    }

    /// Runs `body` in a transaction (`BEGIN IMMEDIATE` … `COMMIT`) on the writer connection;
    /// any error rolls back and is rethrown.
    public func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await transaction(bounded: true, body)
    }

    /// ``transaction(_:)``, bounded or not as ``write(bounded:_:)``.
    func transaction<T: Sendable>(bounded: Bool, _ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await write(bounded: bounded) { sql in
            try await Self.begin(sql)
            do {
                let result = try await body(sql)
                try await sql.raw("COMMIT").run()
                return result
            } catch {
                try? await sql.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    /// `BEGIN IMMEDIATE`. If a failed `ROLLBACK` (a connection error, an interrupted statement)
    /// left the writer inside a transaction, every later `BEGIN` would fail and the single
    /// writer would be stuck: so that case is rolled back here and begun again.
    static func begin(_ sql: any SQLDatabase) async throws {
        do {
            try await sql.raw("BEGIN IMMEDIATE").run()
        } catch  where "\(error)".contains("within a transaction") {
            try await sql.raw("ROLLBACK").run()
            try await sql.raw("BEGIN IMMEDIATE").run()
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
                try await writeLock.withLock(0) { try? await writer.close() }
            } catch {
                try? await writer.close()
            }
            for reader in readers { try? await reader.close() }
            try? await threadPool.shutdownGracefully()
        }.value
    }

    /// How commits reach the disk.
    public enum Synchronous: String, Sendable, CaseIterable {
        /// fsync at every commit: an acknowledged event survives a power loss.
        case full = "FULL"
        /// WAL default: an acknowledged event survives a crash of the process, not of the machine.
        case normal = "NORMAL"
    }
}
