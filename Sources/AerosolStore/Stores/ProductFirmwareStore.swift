import AerosolModels
import Foundation
import SQLKit

/// The firmware versions of products (metadata; the binaries are files named by SHA-256).
public struct ProductFirmwareStore: Sendable {
    let database: Database

    /// A store on `database`.
    public init(database: Database) {
        self.database = database
    }

    /// Records an uploaded version. Throws `conflict` if the product has that version already.
    public func create(_ firmware: ProductFirmware) async throws {
        do {
            try await database.write { sql in
                try await sql.raw(
                    """
                    INSERT INTO product_firmware (product_id, version, title, description, size, file_sha256, uploaded_at)
                    VALUES (\(bind: firmware.productID), \(bind: firmware.version), \(bind: firmware.title),
                            \(bind: firmware.description), \(bind: firmware.size), \(bind: firmware.fileSHA256),
                            \(bind: Timestamp.milliseconds(firmware.uploadedAt)))
                    """
                ).run()
            }
        } catch  where Database.isUniqueViolation(error) {
            throw StoreError.conflict("version \(firmware.version) of this product exists already")
        }
    }

    /// The product's versions, newest first.
    public func list(productID: Int) async throws -> [ProductFirmware] {
        try await database.sql.raw(
            "SELECT * FROM product_firmware WHERE product_id = \(bind: productID) ORDER BY version DESC"
        ).all().map(Self.firmware)
    }

    /// One version, if the product has it.
    public func find(productID: Int, version: Int) async throws -> ProductFirmware? {
        try await database.sql.raw(
            "SELECT * FROM product_firmware WHERE product_id = \(bind: productID) AND version = \(bind: version)"
        ).first().map(Self.firmware)
    }

    /// The product's default release, if it has one.
    public func productDefault(productID: Int) async throws -> ProductFirmware? {
        try await database.sql.raw(
            "SELECT * FROM product_firmware WHERE product_id = \(bind: productID) AND product_default = 1"
        ).first().map(Self.firmware)
    }

    /// Releases a version as the product's default (the previous default stops being it).
    /// Returns `false` if the product has no such version.
    public func release(productID: Int, version: Int, at date: Date) async throws -> Bool {
        try await database.transaction { sql in
            let exists =
                try await sql.raw(
                    "SELECT version FROM product_firmware WHERE product_id = \(bind: productID) AND version = \(bind: version)"
                ).first() != nil
            guard exists else { return false }
            try await sql.raw(
                "UPDATE product_firmware SET product_default = 0 WHERE product_id = \(bind: productID)"
            ).run()
            try await sql.raw(
                """
                UPDATE product_firmware SET product_default = 1, released_at = COALESCE(released_at, \(bind: Timestamp.milliseconds(date)))
                WHERE product_id = \(bind: productID) AND version = \(bind: version)
                """
            ).run()
            return true
        }
    }

    /// Deletes a version that was never released. Returns `false` if there is no such version;
    /// throws `conflict` if it was released.
    public func delete(productID: Int, version: Int) async throws -> Bool {
        try await database.transaction { sql in
            guard
                let row = try await sql.raw(
                    "SELECT released_at FROM product_firmware WHERE product_id = \(bind: productID) AND version = \(bind: version)"
                ).first()
            else { return false }
            guard try row.decodeNil(column: "released_at") else {
                throw StoreError.conflict("version \(version) was released: released firmware cannot be deleted")
            }
            try await sql.raw(
                "DELETE FROM product_firmware WHERE product_id = \(bind: productID) AND version = \(bind: version)"
            ).run()
            return true
        }
    }

    /// The version `deviceID` is locked to (`nil`: the product default) and whether it is a
    /// development device (never updated automatically).
    public func target(deviceID: String) async throws -> (desiredVersion: Int?, development: Bool) {
        guard
            let row = try await database.sql.raw(
                "SELECT desired_version, development FROM device_firmware_targets WHERE device_id = \(bind: deviceID)"
            ).first()
        else { return (nil, false) }
        return (
            try row.decode(column: "desired_version", as: Int?.self),
            try row.decode(column: "development", as: Int.self) != 0
        )
    }

    /// Records the device's lock and development mode.
    public func setTarget(deviceID: String, desiredVersion: Int?, development: Bool) async throws {
        try await database.write { sql in
            try await sql.raw(
                """
                INSERT INTO device_firmware_targets (device_id, desired_version, development)
                VALUES (\(bind: deviceID), \(bind: desiredVersion), \(bind: development ? 1 : 0))
                ON CONFLICT (device_id) DO UPDATE SET desired_version = excluded.desired_version,
                    development = excluded.development
                """
            ).run()
        }
    }

    static func firmware(_ row: any SQLRow) throws -> ProductFirmware {
        let released = try row.decode(column: "released_at", as: Int64?.self)
        return ProductFirmware(
            productID: try row.decode(column: "product_id", as: Int.self),
            version: try row.decode(column: "version", as: Int.self),
            title: try row.decode(column: "title", as: String.self),
            description: try row.decode(column: "description", as: String.self),
            size: try row.decode(column: "size", as: Int.self),
            fileSHA256: try row.decode(column: "file_sha256", as: String.self),
            uploadedAt: Timestamp.date(milliseconds: try row.decode(column: "uploaded_at", as: Int64.self)),
            releasedAt: released.map { Timestamp.date(milliseconds: $0) },
            isProductDefault: try row.decode(column: "product_default", as: Int.self) != 0
        )
    }
}
