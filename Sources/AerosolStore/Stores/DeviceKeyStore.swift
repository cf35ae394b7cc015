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

    /// The outcome of provisioning a key.
    public enum ProvisionResult: Sendable, Equatable {
        /// The key is stored; `claimed` when the device was nobody's and is now the caller's,
        /// `replaced` when it had another key before.
        case provisioned(claimed: Bool, replaced: Bool)
        /// The caller may not set this device's key.
        case refused
    }

    /// Stores (or replaces) the key of `deviceID` on behalf of `userID`, registering the device
    /// if the cloud has not seen it. The caller validates the key; who may set it is decided
    /// here, atomically with the write:
    ///
    /// - a device someone owns: only its owner;
    /// - a device in a product that nobody owns: only members of the product;
    /// - a device that neither a user nor a product holds: anyone signed in, if it has no key
    ///   yet (or the same key), and the device is then claimed for them. Whoever sets a key
    ///   owns the device, so no key can be planted under somebody else's later claim.
    ///
    /// `equivalent` compares a stored key with the new one (PEM spellings of one key differ).
    public func provision(
        deviceID: String,
        publicKeyPEM: String,
        by userID: String,
        equivalent: @Sendable (_ stored: String) -> Bool
    ) async throws -> ProvisionResult {
        let now = Timestamp.milliseconds(Date())
        return try await database.transaction { sql in
            let row = try await sql.raw("SELECT owner_id, product_id FROM devices WHERE id = \(bind: deviceID)")
                .first()
            let owner = try row?.decode(column: "owner_id", as: String?.self)
            let productID = try row?.decode(column: "product_id", as: Int?.self)
            let existing = try await sql.raw("SELECT public_key FROM device_keys WHERE device_id = \(bind: deviceID)")
                .first()?.decode(column: "public_key", as: String.self)
            let replaces = existing.map { !equivalent($0) } ?? false
            var claims = false
            if let owner {
                guard owner == userID else { return .refused }
            } else if let productID {
                guard try await ProductStore.isMember(sql, productID: productID, userID: userID) else {
                    return .refused
                }
            } else {
                guard !replaces else { return .refused }
                claims = true
            }
            try await Self.store(sql, deviceID: deviceID, publicKeyPEM: publicKeyPEM, now: now)
            if row == nil {
                try await sql.raw(
                    "INSERT INTO devices (id, owner_id, created_at) VALUES (\(bind: deviceID), \(bind: userID), \(bind: now))"
                ).run()
            } else if claims {
                try await sql.raw(
                    "UPDATE devices SET owner_id = \(bind: userID), name = NULL WHERE id = \(bind: deviceID)"
                ).run()
            }
            return .provisioned(claimed: claims, replaced: replaces)
        }
    }

    /// Stores (or replaces) the key of `deviceID` with no questions asked (the `aerosol device
    /// provision --data-dir` path and tests), registering the device if the cloud has not seen it.
    public func provision(deviceID: String, publicKeyPEM: String) async throws {
        let now = Timestamp.milliseconds(Date())
        try await database.transaction { sql in
            try await Self.store(sql, deviceID: deviceID, publicKeyPEM: publicKeyPEM, now: now)
            try await sql.raw(
                "INSERT INTO devices (id, created_at) VALUES (\(bind: deviceID), \(bind: now)) ON CONFLICT (id) DO NOTHING"
            ).run()
        }
    }

    private static func store(_ sql: any SQLDatabase, deviceID: String, publicKeyPEM: String, now: Int64) async throws {
        try await sql.raw(
            """
            INSERT INTO device_keys (device_id, public_key, created_at, updated_at)
            VALUES (\(bind: deviceID), \(bind: publicKeyPEM), \(bind: now), \(bind: now))
            ON CONFLICT (device_id) DO UPDATE SET public_key = excluded.public_key, updated_at = excluded.updated_at
            """
        ).run()
    }
}
