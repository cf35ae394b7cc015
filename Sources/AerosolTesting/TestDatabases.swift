import AerosolServer
import AerosolStore
import Crypto
import Foundation
import Logging
import NIOPosix
import PostgresKit
import PostgresNIO
import Synchronization

/// Which engine the tests' stores run on. With `AEROSOL_TEST_POSTGRES_URL` set (a PostgreSQL
/// server the tests may create and drop databases on, as `.ci/postgres start` prints), every
/// test server and store fixture gets a database of its own there instead of a SQLite file; CI
/// runs the store and server suites both ways.
public enum TestDatabases {
    /// The PostgreSQL server the tests run on, or `nil` for SQLite.
    public static let postgresURL: String? = {
        let url = ProcessInfo.processInfo.environment["AEROSOL_TEST_POSTGRES_URL"] ?? ""
        return url.isEmpty ? nil : url
    }()

    /// The data directories whose server keeps its data on PostgreSQL (the commands that
    /// administer such a directory must be told where; a server the test starts as a separate
    /// process with only `--data-dir` stays on SQLite).
    private static let onPostgres = Mutex<Set<String>>([])

    /// The database URL of `dataDirectory`, when a test server put it on PostgreSQL.
    public static func serverURL(for dataDirectory: String) async throws -> String? {
        guard onPostgres.withLock({ $0.contains(dataDirectory) }) else { return nil }
        return try await url(for: dataDirectory)
    }

    /// The engine of this test run.
    public static var engine: DatabaseEngine { postgresURL == nil ? .sqlite : .postgres }

    /// The PostgreSQL database belonging to `dataDirectory` (one per directory, so a restarted
    /// server finds its data), created if missing; `nil` when the tests run on SQLite.
    public static func url(for dataDirectory: String) async throws -> String? {
        guard let server = postgresURL else { return nil }
        let name = databaseName(for: dataDirectory)
        if onPostgres.withLock({ $0.contains(dataDirectory) }) { return replacingDatabase(in: server, with: name) }
        try await onServer(server) { connection in
            for attempt in 1... {
                do {
                    try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
                    return
                } catch let error as PSQLError {
                    switch error.serverInfo?[.sqlState] {
                    case "42P04"?:
                        // Exists already: a restart of the same data directory.
                        return
                    case "55006"? where attempt < 50:
                        // Another test is creating its database from template1 right now.
                        try await Task.sleep(for: .milliseconds(20 * attempt))
                    default:
                        throw TestFailure(
                            "CREATE DATABASE \(name): \(error.serverInfo?[.message] ?? String(reflecting: error))"
                        )
                    }
                }
            }
        }
        onPostgres.withLock { _ = $0.insert(dataDirectory) }
        return replacingDatabase(in: server, with: name)
    }

    /// Drops the database of `dataDirectory` (closing any connection still on it).
    public static func drop(for dataDirectory: String) async {
        guard let server = postgresURL else { return }
        let name = databaseName(for: dataDirectory)
        onPostgres.withLock { _ = $0.remove(dataDirectory) }
        try? await onServer(server) { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"),
                logger: logger
            )
        }
    }

    /// Opens the store database of `dataDirectory` on this run's engine.
    public static func open(
        dataDirectory: String,
        readers: Int = 1,
        secret: ServerSecret? = nil,
        logger: Logger
    ) async throws -> Database {
        if let url = try await url(for: dataDirectory) {
            return try await Database.open(postgresURL: url, connections: 3, secret: secret, logger: logger)
        }
        return try await Database.open(
            path: DataDirectory(path: dataDirectory).databasePath,
            readers: readers,
            synchronous: .normal,
            secret: secret,
            logger: logger
        )
    }

    private static let logger: Logger = {
        var logger = Logger(label: "aerosol-test-databases")
        logger.logLevel = .error
        return logger
    }()

    private static func databaseName(for dataDirectory: String) -> String {
        let digest = SHA256.hash(data: Data(dataDirectory.utf8))
        return "t_" + digest.prefix(10).map { String(format: "%02x", $0) }.joined()
    }

    private static func replacingDatabase(in url: String, with name: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + name
        return components.string ?? url
    }

    private static func onServer(_ url: String, _ body: (PostgresConnection) async throws -> Void) async throws {
        let configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
        let connection = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.any(),
            configuration: configuration,
            id: 1,
            logger: logger
        )
        do {
            try await body(connection)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
