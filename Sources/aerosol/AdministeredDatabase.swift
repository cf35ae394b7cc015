import AerosolServer
import AerosolStore
import Foundation
import Logging

/// The server's database opened straight from its data directory, for the commands that
/// administer it (`user …`, `device provision`), whether or not a server runs on it.
enum AdministeredDatabase {
    /// Runs `body` on the database in `dataDir` (or `AEROSOL_DATA_DIR`, or `./aerosol-data`), or
    /// on the PostgreSQL database at `url` (the data directory still holds the server secret),
    /// then closes it. A directory that is missing (when `create` is false), not a directory or
    /// not writable is a ``StoreError`` with one line naming it.
    static func with<T: Sendable>(
        dataDir: String?,
        url: String? = nil,
        create: Bool,
        _ body: (Database) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "aerosol")
        logger.logLevel = .warning
        let directory = try DataDirectory(
            path: try EnvironmentOption.resolve(dataDir, "AEROSOL_DATA_DIR", default: "./aerosol-data"),
            create: create
        )
        // The secret lets a migration seal what an older version stored in the clear.
        let secret = try ServerSecret.loadOrCreate(at: directory.secretPath)
        let database =
            if let url {
                try await Database.open(postgresURL: url, connections: 2, secret: secret, logger: logger)
            } else {
                try await Database.open(path: directory.databasePath, readers: 1, secret: secret, logger: logger)
            }
        do {
            let result = try await body(database)
            await database.close()
            return result
        } catch {
            await database.close()
            throw error
        }
    }
}
