import AerosolModels
import Foundation
import SQLKit

/// Device public keys, one per device id, as PEM (`BEGIN PUBLIC KEY`). The gateway refuses a
/// device whose handshake presents another key.
public struct DeviceKeyStore: Sendable {
    let database: Database

    /// A store on `database`.
    public init(database: Database) {
        self.database = database
    }

    /// The PEM public key provisioned for `deviceID`, if any.
    public func publicKey(deviceID: String) async throws -> String? {
        try await database.sql.raw("SELECT public_key FROM device_keys WHERE device_id = \(bind: deviceID)")
            .first()?.decode(column: "public_key", as: String.self)
    }

    /// Stores (or replaces) the key of `deviceID` and registers the device if the cloud has not
    /// seen it. The caller validates the key and decides who may replace it.
    public func provision(deviceID: String, publicKeyPEM: String) async throws {
        let now = Timestamp.milliseconds(Date())
        try await database.transaction { sql in
            try await sql.raw(
                """
                INSERT INTO device_keys (device_id, public_key, created_at, updated_at)
                VALUES (\(bind: deviceID), \(bind: publicKeyPEM), \(bind: now), \(bind: now))
                ON CONFLICT (device_id) DO UPDATE SET public_key = excluded.public_key, updated_at = excluded.updated_at
                """
            ).run()
            try await sql.raw(
                "INSERT INTO devices (id, created_at) VALUES (\(bind: deviceID), \(bind: now)) ON CONFLICT (id) DO NOTHING"
            ).run()
        }
    }
}
