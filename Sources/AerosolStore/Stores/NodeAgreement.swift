import AerosolModels
import Foundation
import SQLKit

/// What every node on one database must share, checked at start: the first node records a
/// fingerprint of each (the server secret, the device keys); a node whose own differs is refused
/// with one line saying which file to copy, instead of starting and then failing to open what
/// the others sealed or being refused by every device.
public struct NodeAgreement: Sendable {
    private let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Records `fingerprint` under `name` unless a node did already, and throws
    /// ``StoreError/invalid(_:)`` with `mismatch` when the recorded one differs.
    public func agree(on name: String, fingerprint: String, mismatch: @autoclosure () -> String) async throws {
        let now = Timestamp.milliseconds(Date())
        let recorded = try await database.write { sql in
            try await sql.raw(
                """
                INSERT INTO node_agreement (name, value, recorded_at) VALUES (\(bind: name), \(bind: fingerprint), \(bind: now))
                ON CONFLICT (name) DO NOTHING
                """
            ).run()
            return try await sql.raw("SELECT value FROM node_agreement WHERE name = \(bind: name)").first()?
                .decode(column: "value", as: String.self)
        }
        guard recorded == fingerprint else { throw StoreError.invalid(mismatch()) }
    }
}
