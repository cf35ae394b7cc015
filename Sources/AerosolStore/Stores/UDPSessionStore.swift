import Foundation
import SQLKit

/// UDP devices' DTLS sessions, one per connection ID, sealed with the server secret (they hold
/// the session keys). The gateway writes a session behind its changes and reads them all at
/// start, so that devices resume after a restart without a handshake.
public struct UDPSessionStore: Sendable {
    let database: Database
    let secret: ServerSecret

    /// A stored session.
    public struct Record: Sendable, Equatable {
        /// The connection ID, 16 hex digits.
        public var connectionID: String
        /// The device, once its Hello named it.
        public var deviceID: String?
        /// The gateway's serialised session (opaque here).
        public var session: [UInt8]
        /// When it was last written.
        public var updatedAt: Date

        /// Creates a record.
        public init(connectionID: String, deviceID: String?, session: [UInt8], updatedAt: Date = Date()) {
            self.connectionID = connectionID
            self.deviceID = deviceID
            self.session = session
            self.updatedAt = updatedAt
        }
    }

    /// A store on `database`, sealing with `secret`.
    public init(database: Database, secret: ServerSecret) {
        self.database = database
        self.secret = secret
    }

    /// Writes (or replaces) a session, group-committed with the other devices' writes
    /// (``Database/batchedWrite(_:)``).
    public func save(_ record: Record) async throws {
        let sealed = try secret.seal(Data(record.session).base64EncodedString())
        let now = Int64(record.updatedAt.timeIntervalSince1970 * 1000)
        try await database.batchedWrite { sql in
            try await sql.raw(
                """
                INSERT INTO udp_sessions (connection_id, device_id, sealed_session, updated_at)
                VALUES (\(bind: record.connectionID), \(bind: record.deviceID), \(bind: sealed), \(bind: now))
                ON CONFLICT (connection_id) DO UPDATE SET device_id = excluded.device_id,
                    sealed_session = excluded.sealed_session, updated_at = excluded.updated_at
                """
            ).run()
        }
    }

    /// Forgets a session.
    public func delete(connectionID: String) async throws {
        try await database.batchedWrite { sql in
            try await sql.raw("DELETE FROM udp_sessions WHERE connection_id = \(bind: connectionID)").run()
        }
    }

    /// Every session written since `since`, oldest first; sessions that do not open (sealed
    /// under another secret, or damaged) are skipped.
    public func all(since: Date) async throws -> [Record] {
        let cutoff = Int64(since.timeIntervalSince1970 * 1000)
        let rows = try await database.sql.raw(
            """
            SELECT connection_id, device_id, sealed_session, updated_at FROM udp_sessions
            WHERE updated_at >= \(bind: cutoff) ORDER BY updated_at
            """
        ).all()
        return rows.compactMap { row in
            guard let id = try? row.decode(column: "connection_id", as: String.self),
                let sealed = try? row.decode(column: "sealed_session", as: String.self),
                let updated = try? row.decode(column: "updated_at", as: Int64.self),
                let opened = try? secret.open(sealed),
                let bytes = Data(base64Encoded: opened)
            else { return nil }
            return Record(
                connectionID: id,
                deviceID: try? row.decode(column: "device_id", as: String?.self),
                session: Array(bytes),
                updatedAt: Date(timeIntervalSince1970: Double(updated) / 1000)
            )
        }
    }

    /// Forgets the sessions not written since `before`.
    public func deleteExpired(before: Date) async throws {
        let cutoff = Int64(before.timeIntervalSince1970 * 1000)
        try await database.write { sql in
            try await sql.raw("DELETE FROM udp_sessions WHERE updated_at < \(bind: cutoff)").run()
        }
    }
}
