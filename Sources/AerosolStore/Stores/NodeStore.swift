import Foundation
import SQLKit

/// The nodes of one database and when each last said it was alive, on the database's clock
/// (nodes on separate machines need not agree on the time). Each node renews its row well
/// within its lease; a node whose row is older than the lease is taken as dead by the first
/// other node to notice, which removes the row, once, and takes its devices offline.
public struct NodeStore: Sendable {
    private let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Records `node` alive now. Returns `false` when it had no row: it is new, or another node
    /// took it as dead (it lost the database for longer than its lease) and took its devices
    /// offline, which the node then has to put right.
    public func renew(_ node: String) async throws -> Bool {
        let now = database.engine.nowMilliseconds
        return try await database.write { sql in
            let renewed = try await sql.raw(
                "UPDATE nodes SET seen_at = \(unsafeRaw: now) WHERE id = \(bind: node) RETURNING id"
            ).first()
            if renewed != nil { return true }
            try await sql.raw(
                """
                INSERT INTO nodes (id, seen_at) VALUES (\(bind: node), \(unsafeRaw: now))
                ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at
                """
            ).run()
            return false
        }
    }

    /// Removes and returns the nodes other than `node` not renewed for `lease`. Each dead node is
    /// returned to one caller only (its row is deleted by the statement that finds it).
    public func expire(after lease: Duration, except node: String) async throws -> [String] {
        let cutoff = "\(database.engine.nowMilliseconds) - \(lease.components.seconds * 1000)"
        return try await database.write { sql in
            try await sql.raw(
                "DELETE FROM nodes WHERE seen_at < \(unsafeRaw: cutoff) AND id <> \(bind: node) RETURNING id"
            ).all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    /// Removes `node`'s row: it stops, and its devices were reported offline by itself.
    public func leave(_ node: String) async throws {
        try await database.write { sql in
            try await sql.raw("DELETE FROM nodes WHERE id = \(bind: node)").run()
        }
    }
}
