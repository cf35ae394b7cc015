import AerosolModels
import Foundation
import SQLKit

/// Devices: claims by users, membership of products, names and notes.
public struct DeviceStore: Sendable {
    let database: Database

    /// A store on `database`.
    public init(database: Database) {
        self.database = database
    }

    /// The device with this id, if known.
    public func find(id: String) async throws -> Device? {
        try await database.sql.raw("\(unsafeRaw: Self.selectDevices) WHERE id = \(bind: id)").first().map(Self.device)
    }

    /// The device of `ownerID` with this id or name, if any.
    public func find(idOrName: String, ownerID: String) async throws -> Device? {
        try await database.sql.raw(
            """
            \(unsafeRaw: Self.selectDevices) WHERE owner_id = \(bind: ownerID) AND (id = \(bind: idOrName) OR name = \(bind: idOrName))
            ORDER BY CASE WHEN id = \(bind: idOrName) THEN 0 ELSE 1 END LIMIT 1
            """
        ).first().map(Self.device)
    }

    /// The devices `ownerID` has claimed, most recently heard first.
    public func list(ownerID: String) async throws -> [Device] {
        try await database.sql.raw(
            """
            \(unsafeRaw: Self.selectDevices) WHERE owner_id = \(bind: ownerID)
            ORDER BY COALESCE(last_handshake_at, 0) DESC, created_at DESC, id
            """
        ).all().map(Self.device)
    }

    /// The outcome of a claim.
    public enum ClaimResult: Sendable, Equatable {
        /// The device is now (or already was) the caller's.
        case claimed
        /// Another user owns it.
        case ownedByAnother
        /// It belongs to a product the caller is not a member of: only the product's members
        /// may claim its devices.
        case inOthersProduct
    }

    /// Claims `id` for `userID`, registering the device if the cloud has not seen it. A device
    /// another user owns, or one in a product `userID` is not a member of, is refused.
    public func claim(id: String, userID: String) async throws -> ClaimResult {
        try await database.transaction { sql in
            if let row = try await sql.raw("SELECT owner_id, product_id FROM devices WHERE id = \(bind: id)").first() {
                let owner = try row.decode(column: "owner_id", as: String?.self)
                if let owner { return owner == userID ? .claimed : .ownedByAnother }
                if let productID = try row.decode(column: "product_id", as: Int?.self),
                    try await !ProductStore.isMember(sql, productID: productID, userID: userID)
                {
                    return .inOthersProduct
                }
                try await sql.raw(
                    "UPDATE devices SET owner_id = \(bind: userID), name = NULL WHERE id = \(bind: id)"
                ).run()
                return .claimed
            }
            let now = Timestamp.milliseconds(Date())
            try await sql.raw(
                "INSERT INTO devices (id, owner_id, created_at) VALUES (\(bind: id), \(bind: userID), \(bind: now))"
            ).run()
            return .claimed
        }
    }

    /// Releases a claimed device (its name goes with the claim). A device that no product holds
    /// either forgets its key too: the key went with the claim, so the next owner provisions
    /// the device again and nobody's old key rides under a new claim.
    public func unclaim(id: String) async throws {
        try await database.transaction { sql in
            try await sql.raw("UPDATE devices SET owner_id = NULL, name = NULL WHERE id = \(bind: id)").run()
            try await Self.forgetKeyIfUnheld(sql, id: id)
        }
    }

    /// Renames a device. Throws `conflict` if the owner has another device of that name,
    /// `invalid` for a name that is empty, too long, 24 hex characters or has spaces.
    public func rename(id: String, to name: String) async throws {
        guard Self.isValidName(name) else {
            throw StoreError.invalid(
                "device names have 1 to 64 characters among letters, digits, _ and -, and may not look like a device id"
            )
        }
        do {
            try await database.write { sql in
                try await sql.raw("UPDATE devices SET name = \(bind: name) WHERE id = \(bind: id)").run()
            }
        } catch  where Database.isUniqueViolation(error) {
            throw StoreError.conflict("you already have a device named \(name)")
        }
    }

    /// Sets (or, with `nil`, clears) a device's notes.
    public func setNotes(id: String, notes: String?) async throws {
        try await database.write { sql in
            try await sql.raw("UPDATE devices SET notes = \(bind: notes) WHERE id = \(bind: id)").run()
        }
    }

    /// The outcome of adding devices to a product, in the shape of the API's response.
    public struct ImportResult: Sendable, Equatable {
        /// Devices added by this call.
        public var updated: [String] = []
        /// Devices that were already in this product.
        public var existing: [String] = []
        /// Devices that belong to another product or are claimed by another user, left as they were.
        public var nonmember: [String] = []
        /// Ids that are not device ids.
        public var invalid: [String] = []
    }

    /// Adds devices to a product on behalf of `userID` (a member of it), registering ids the
    /// cloud has not seen. A device another user has claimed stays out: its owner adds it.
    public func add(ids: [String], toProduct productID: Int, by userID: String) async throws -> ImportResult {
        var result = ImportResult()
        let now = Timestamp.milliseconds(Date())
        try await database.transaction { sql in
            for id in ids {
                guard Device.isValidID(id) else {
                    result.invalid.append(id)
                    continue
                }
                if let row = try await sql.raw("SELECT product_id, owner_id FROM devices WHERE id = \(bind: id)")
                    .first()
                {
                    let owner = try row.decode(column: "owner_id", as: String?.self)
                    switch try row.decode(column: "product_id", as: Int?.self) {
                    case productID?: result.existing.append(id)
                    case .some: result.nonmember.append(id)
                    case nil where owner != nil && owner != userID: result.nonmember.append(id)
                    case nil:
                        try await sql.raw("UPDATE devices SET product_id = \(bind: productID) WHERE id = \(bind: id)")
                            .run()
                        result.updated.append(id)
                    }
                } else {
                    try await sql.raw(
                        "INSERT INTO devices (id, product_id, created_at) VALUES (\(bind: id), \(bind: productID), \(bind: now))"
                    ).run()
                    result.updated.append(id)
                }
            }
        }
        return result
    }

    /// Removes a device from its product (a device nobody has claimed forgets its key, as in
    /// ``unclaim(id:)``).
    public func remove(id: String, fromProduct productID: Int) async throws {
        try await database.transaction { sql in
            try await sql.raw(
                "UPDATE devices SET product_id = NULL WHERE id = \(bind: id) AND product_id = \(bind: productID)"
            ).run()
            try await Self.forgetKeyIfUnheld(sql, id: id)
        }
    }

    /// Deletes the key of a device that neither a user nor a product holds.
    static func forgetKeyIfUnheld(_ sql: any SQLDatabase, id: String) async throws {
        try await sql.raw(
            """
            DELETE FROM device_keys WHERE device_id = \(bind: id) AND EXISTS
            (SELECT 1 FROM devices WHERE id = \(bind: id) AND owner_id IS NULL AND product_id IS NULL)
            """
        ).run()
    }

    /// One page of a product's devices, with the total count; filters are optional.
    public func list(
        productID: Int,
        page: Int,
        perPage: Int,
        deviceID: String? = nil,
        nameContains: String? = nil
    ) async throws -> (devices: [Device], total: Int) {
        var conditions: [SQLQueryString] = ["product_id = \(bind: productID)"]
        if let deviceID { conditions.append("id = \(bind: deviceID)") }
        if let nameContains {
            let like = database.engine.caseInsensitiveLike
            conditions.append("name \(unsafeRaw: like) \(bind: "%" + nameContains + "%")")
        }
        let condition = conditions.joined(separator: " AND ")
        let total =
            try await database.sql.raw("SELECT COUNT(*) AS n FROM devices WHERE \(condition)").first()?
            .decode(column: "n", as: Int.self) ?? 0
        let devices = try await database.sql.raw(
            "\(unsafeRaw: Self.selectDevices) WHERE \(condition) ORDER BY id LIMIT \(bind: perPage) OFFSET \(bind: (page - 1) * perPage)"
        ).all().map(Self.device)
        return (devices, total)
    }

    static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && !Device.isValidID(name)
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-" }
    }

    /// Devices with their firmware target (lock, development mode) and their product's default
    /// release: `SELECT` this, then `WHERE …` on the `devices` columns.
    static let selectDevices = """
        SELECT devices.*, t.desired_version AS desired_firmware_version,
            COALESCE(t.development, 0) AS development,
            (SELECT f.version FROM product_firmware f
                WHERE f.product_id = devices.product_id AND f.product_default = 1) AS default_firmware_version
        FROM devices LEFT JOIN device_firmware_targets t ON t.device_id = devices.id
        """

    static func device(_ row: any SQLRow) throws -> Device {
        var device = try plainDevice(row)
        func optional<T: Decodable>(_ column: String, as type: T.Type) throws -> T? {
            row.contains(column: column) ? try row.decode(column: column, as: T?.self) : nil
        }
        device.firmwareVersion = try optional("firmware_version", as: Int.self)
        device.firmwareUpdatesEnabled = try optional("firmware_updates_enabled", as: Int.self).map { $0 != 0 }
        device.firmwareUpdatesForced = try optional("firmware_updates_forced", as: Int.self).map { $0 != 0 }
        device.desiredFirmwareVersion = try optional("desired_firmware_version", as: Int.self)
        device.development = try optional("development", as: Int.self).map { $0 != 0 } ?? false
        device.defaultFirmwareVersion = try optional("default_firmware_version", as: Int.self)
        return device
    }

    private static func plainDevice(_ row: any SQLRow) throws -> Device {
        Device(
            id: try row.decode(column: "id", as: String.self),
            name: try row.decode(column: "name", as: String?.self),
            ownerID: try row.decode(column: "owner_id", as: String?.self),
            productID: try row.decode(column: "product_id", as: Int?.self),
            notes: try row.decode(column: "notes", as: String?.self),
            platformID: try row.decode(column: "platform_id", as: Int?.self),
            online: try row.decode(column: "online", as: Int.self) != 0,
            lastHeard: try row.decode(column: "last_heard", as: Int64?.self).map(Timestamp.date(milliseconds:)),
            lastHandshakeAt: try row.decode(column: "last_handshake_at", as: Int64?.self).map(
                Timestamp.date(milliseconds:)
            ),
            lastIPAddress: try row.decode(column: "last_ip_address", as: String?.self),
            systemFirmwareVersion: try row.decode(column: "system_firmware_version", as: String?.self),
            functions: try functions(row.decode(column: "functions", as: String?.self)),
            variables: try variables(row.decode(column: "variables", as: String?.self)),
            createdAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self))
        )
    }

    private static func functions(_ text: String?) throws -> [String] {
        guard let text else { return [] }
        return try JSONValue.parse(Array(text.utf8)).arrayValue?.compactMap(\.stringValue) ?? []
    }

    private static func variables(_ text: String?) throws -> [String: String] {
        guard let text, case .object(let members) = try JSONValue.parse(Array(text.utf8)) else { return [:] }
        var variables: [String: String] = [:]
        for (name, type) in members { variables[name] = type.stringValue }
        return variables
    }
}
