import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO
import Synchronization

/// The embedded SQLite database: one connection reserved for the event log's group commits,
/// and a few more for everything else (reads, and the rare account and device writes).
///
/// The file runs in WAL mode, so readers never wait for the writer and another process
/// (`aerosol user create`) can write while the server runs; `busy_timeout` covers the short
/// moments when two writers meet.
public final class Database: Sendable {
    /// The connection the event log commits on.
    let logConnection: SQLiteConnection
    private let connections: [SQLiteConnection]
    private let next = Atomic<Int>(0)
    /// The connection multi-statement transactions run on, one at a time.
    private let transactionConnection: SQLiteConnection
    private let transactionLock = AsyncLock()
    /// Where the database file lives.
    public let path: String

    private init(path: String, logConnection: SQLiteConnection, connections: [SQLiteConnection]) {
        self.path = path
        self.logConnection = logConnection
        self.transactionConnection = connections[0]
        self.connections = connections.count > 1 ? Array(connections.dropFirst()) : connections
    }

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    ///
    /// - Parameters:
    ///   - path: the SQLite file.
    ///   - connections: connections besides the log's (default 3).
    ///   - synchronous: `FULL` (default: every commit reaches the disk before it is acknowledged)
    ///     or `NORMAL` (survives a process crash, not a power loss).
    public static func open(
        path: String,
        connections: Int = 3,
        synchronous: Synchronous = .full,
        logger: Logger
    ) async throws -> Database {
        var sqlLogger = logger
        sqlLogger.logLevel = max(logger.logLevel, .info)
        let storage = SQLiteConnection.Storage.file(path: path)
        let log = try await SQLiteConnection.open(storage: storage, logger: sqlLogger)
        do {
            // WAL must be switched on before anything else touches the file.
            _ = try await log.query("PRAGMA journal_mode=WAL", [])
            try await configure(log, synchronous: synchronous)
            var others: [SQLiteConnection] = []
            for _ in 0..<max(2, connections + 1) {
                let connection = try await SQLiteConnection.open(storage: storage, logger: sqlLogger)
                try await configure(connection, synchronous: synchronous)
                others.append(connection)
            }
            let database = Database(path: path, logConnection: log, connections: others)
            try await Migrations.apply(to: database, logger: logger)
            return database
        } catch {
            try? await log.close()
            throw error
        }
    }

    private static func configure(_ connection: SQLiteConnection, synchronous: Synchronous) async throws {
        _ = try await connection.query("PRAGMA busy_timeout=10000", [])
        _ = try await connection.query("PRAGMA synchronous=\(synchronous.rawValue)", [])
        _ = try await connection.query("PRAGMA foreign_keys=ON", [])
    }

    /// A connection for reads and ordinary writes (round robin).
    public var sql: any SQLDatabase {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue % connections.count
        return connections[index].sql()
    }

    /// Runs `body` in a transaction (`BEGIN IMMEDIATE` … `COMMIT`) on a connection that no
    /// other code uses meanwhile; any error rolls back and is rethrown.
    public func transaction<T: Sendable>(_ body: (any SQLDatabase) async throws -> T) async throws -> T {
        try await transactionLock.withLock {
            let sql = transactionConnection.sql()
            try await sql.raw("BEGIN IMMEDIATE").run()
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

    /// Closes every connection.
    public func close() async {
        try? await transactionConnection.close()
        for connection in connections where connection !== transactionConnection { try? await connection.close() }
        try? await logConnection.close()
    }

    /// How commits reach the disk.
    public enum Synchronous: String, Sendable, CaseIterable {
        /// fsync at every commit: an acknowledged event survives a power loss.
        case full = "FULL"
        /// WAL default: an acknowledged event survives a crash of the process, not of the machine.
        case normal = "NORMAL"
    }
}
