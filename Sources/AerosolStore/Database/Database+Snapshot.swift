import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO

extension Database {
    /// Writes a consistent copy of the database at `path` to `target` (which must not exist),
    /// while a server may be running on it and writing: `VACUUM INTO` reads one snapshot (a
    /// read transaction of the WAL), so the copy holds exactly the transactions committed before
    /// it began — every acknowledged event up to that moment — and nothing half-written. The
    /// copy is a plain, compacted database without a WAL, created 0600.
    public static func snapshot(of path: String, to target: String, logger: Logger) async throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError.invalid("\(path) does not exist: no database to back up")
        }
        guard !FileManager.default.fileExists(atPath: target) else {
            throw StoreError.invalid("\(target) exists already")
        }
        var sqlLogger = logger
        sqlLogger.logLevel = max(logger.logLevel, .info)
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        defer { threadPool.shutdownGracefully { _ in } }
        let connection = try await SQLiteConnection.open(
            storage: .file(path: path),
            threadPool: threadPool,
            logger: sqlLogger,
            on: MultiThreadedEventLoopGroup.singleton.any()
        )
        do {
            _ = try await connection.query("PRAGMA busy_timeout=10000", [])
            // Created 0600: it holds the same secrets as the original.
            let mask = umask(0o077)
            defer { umask(mask) }
            _ = try await connection.query("VACUUM INTO ?", [.text(target)])
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
