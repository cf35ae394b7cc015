import AerosolModels
import Foundation
import Logging
import SQLKit
import ServiceLifecycle

/// Trims the event log to its retention: events older than `maxAge`, and all but the newest
/// `maxCount`, are deleted every `interval`, in chunks so the writer is never held up for long.
/// The newest event is always kept, so ids stay monotonic across restarts.
public struct RetentionService: Service {
    let database: Database
    /// Events older than this are deleted (default 24 hours).
    public let maxAge: Duration
    /// At most this many events are kept (default 1,000,000).
    public let maxCount: Int
    /// How often the log is trimmed (default 60 s).
    public let interval: Duration
    let logger: Logger

    /// A service trimming `database`'s event log.
    public init(
        database: Database,
        maxAge: Duration = .seconds(86_400),
        maxCount: Int = 1_000_000,
        interval: Duration = .seconds(60),
        logger: Logger
    ) {
        self.database = database
        self.maxAge = maxAge
        self.maxCount = maxCount
        self.interval = interval
        self.logger = logger
    }

    /// Trims every `interval` until graceful shutdown.
    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let deleted = try await trim(now: Date())
                if deleted > 0 { logger.info("trimmed event log", metadata: ["event.count": "\(deleted)"]) }
            } catch {
                logger.warning("event log trim failed; will retry", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// Deletes what is past retention now; returns how many events went.
    @discardableResult
    public func trim(now: Date) async throws -> Int {
        let sql = database.sql
        guard
            let newest = try await sql.raw("SELECT MAX(id) AS id FROM events").first()?
                .decode(column: "id", as: Int64?.self)
        else { return 0 }
        let seconds = Double(maxAge.components.seconds) + Double(maxAge.components.attoseconds) / 1e18
        let cutoff = Timestamp.milliseconds(now.addingTimeInterval(-seconds))
        let keepFrom = newest - Int64(maxCount) + 1
        var total = 0
        while true {
            let ids = try await sql.raw(
                """
                SELECT id FROM events WHERE id < \(bind: newest) AND (published_at < \(bind: cutoff) OR id < \(bind: keepFrom))
                ORDER BY id LIMIT 5000
                """
            ).all(decodingColumn: "id", as: Int64.self)
            guard let last = ids.last else { break }
            // Chunks keep each delete short, so the log's commits wait for the writer only briefly.
            try await database.write { writer in
                try await writer.raw(
                    "DELETE FROM events WHERE id <= \(bind: last) AND id < \(bind: newest) AND (published_at < \(bind: cutoff) OR id < \(bind: keepFrom))"
                ).run()
            }
            total += ids.count
            if ids.count < 5000 { break }
        }
        return total
    }
}
