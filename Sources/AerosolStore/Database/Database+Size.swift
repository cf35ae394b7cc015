import Foundation
import SQLKit

extension Database {
    /// How many bytes the database takes: SQLite's file and write-ahead log, or PostgreSQL's
    /// `pg_database_size` (`nil` when PostgreSQL cannot be asked).
    public func sizeInBytes() async -> Int? {
        switch engine {
        case .sqlite:
            return [path, path + "-wal"].reduce(0) { total, file in
                let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue
                return total + (size ?? 0)
            }
        case .postgres:
            let row = try? await sql.raw("SELECT pg_database_size(current_database()) AS size").first()
            return try? row?.decode(column: "size", as: Int.self)
        }
    }
}
