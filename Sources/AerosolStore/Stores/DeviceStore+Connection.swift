import AerosolModels
import Foundation
import SQLKit

extension DeviceStore {
    /// Records a device connection after its handshake and Hello: online, heard and handshaken
    /// now, from `ipAddress`, with the platform (and system firmware, when known) it reported,
    /// and the product firmware version of its Hello (`firmwareVersion`; `nil` keeps the one
    /// stored). Registers the device if the cloud has not seen it. Returns the device as stored.
    ///
    /// Group-committed with the other devices' (``Database/batchedWrite(_:)``): durable when it
    /// returns.
    public func connected(
        id: String,
        at date: Date,
        ipAddress: String?,
        platformID: Int?,
        systemFirmwareVersion: String?,
        firmwareVersion: Int? = nil,
        node: String? = nil
    ) async throws -> Device {
        let now = Timestamp.milliseconds(date)
        // One statement (it was an INSERT, an UPDATE and a SELECT on a reader: three trips to
        // SQLite's threads per device coming online).
        let device = try await database.batchedWrite { sql -> Device? in
            try await sql.raw(
                """
                INSERT INTO devices (id, created_at, online, last_heard, last_handshake_at, last_ip_address,
                    platform_id, system_firmware_version, firmware_version, node_id)
                VALUES (\(bind: id), \(bind: now), 1, \(bind: now), \(bind: now), \(bind: ipAddress),
                    \(bind: platformID), \(bind: systemFirmwareVersion), \(bind: firmwareVersion), \(bind: node))
                ON CONFLICT (id) DO UPDATE SET online = 1, last_heard = excluded.last_heard, node_id = excluded.node_id,
                    last_handshake_at = excluded.last_handshake_at, last_ip_address = excluded.last_ip_address,
                    platform_id = COALESCE(excluded.platform_id, devices.platform_id),
                    system_firmware_version = COALESCE(excluded.system_firmware_version, devices.system_firmware_version),
                    firmware_version = COALESCE(excluded.firmware_version, devices.firmware_version)
                RETURNING *
                """
            ).first().map(Self.device)
        }
        guard let device else { throw StoreError.notFound("device \(id)") }
        return device
    }

    /// Marks offline every device recorded online, and returns them (as they were): at start,
    /// no connection of a previous run survives, so a device still marked online lost its
    /// connection in a crash (`kill -9`, power loss) and was never reported offline.
    ///
    /// With `node` (several nodes on one database), only the devices recorded on that node: the
    /// others' devices are still connected to them.
    public func markAllOffline(node: String? = nil) async throws -> [Device] {
        try await markOffline(where: node.map { " AND (node_id IS NULL OR node_id = \(bind: $0))" } ?? "")
    }

    /// Marks offline every device recorded online on `node`, a node taken as dead (its lease
    /// ran out), and returns them (as they were).
    public func markOffline(node: String) async throws -> [Device] {
        try await markOffline(where: " AND node_id = \(bind: node)")
    }

    private func markOffline(where condition: SQLQueryString) async throws -> [Device] {
        try await database.transaction { sql in
            let ghosts = try await sql.raw("\(unsafeRaw: Self.selectDevices) WHERE online = 1\(condition)").all()
                .map(Self.device)
            try await sql.raw("UPDATE devices SET online = 0 WHERE online = 1\(condition)").run()
            return ghosts
        }
    }

    /// Records online on `node` those of `ids` that are recorded offline or on no node (another
    /// node took this one as dead while it had lost the database, and its devices with it), and
    /// returns them as they are now.
    public func reclaim(_ ids: [String], node: String) async throws -> [Device] {
        guard !ids.isEmpty else { return [] }
        return try await database.write { sql in
            try await sql.raw(
                """
                UPDATE devices SET online = 1, node_id = \(bind: node)
                WHERE id IN (\(binds: ids)) AND (online = 0 OR node_id IS NULL) RETURNING *
                """
            ).all().map(Self.device)
        }
    }

    /// Records when devices were last heard from (device id → time), in one transaction. A
    /// time older than the one stored is ignored: `last_heard` never moves backwards.
    public func heard(_ times: [String: Date]) async throws {
        guard !times.isEmpty else { return }
        try await database.transaction { sql in
            for (id, date) in times.sorted(by: { $0.key < $1.key }) {
                try await sql.raw("UPDATE devices SET \(Self.laterHeard(date)) WHERE id = \(bind: id)").run()
            }
        }
    }

    /// Records an update flag the device published (`particle/device/updates/enabled` or
    /// `/forced`).
    public func reportedUpdateFlag(id: String, forced: Bool, value: Bool) async throws {
        let column = forced ? "firmware_updates_forced" : "firmware_updates_enabled"
        try await database.write { sql in
            try await sql.raw(
                "UPDATE devices SET \(unsafeRaw: column) = \(bind: value ? 1 : 0) WHERE id = \(bind: id)"
            ).run()
        }
    }

    /// Records that the device's connection ended; `lastHeard` is when it last sent anything.
    /// Returns the device as stored (`nil`: it no longer exists).
    ///
    /// Group-committed with the other devices' (``Database/batchedWrite(_:)``), never refused
    /// for load: when thousands of devices go offline at once, every one is recorded.
    /// With `node`, only while the device is still recorded on that node: a device that
    /// reconnected to another node meanwhile stays online there (`nil` is returned).
    @discardableResult
    public func disconnected(id: String, lastHeard: Date, node: String? = nil) async throws -> Device? {
        try await database.batchedWrite { sql in
            let onNode: SQLQueryString = node.map { " AND (node_id IS NULL OR node_id = \(bind: $0))" } ?? ""
            return try await sql.raw(
                "UPDATE devices SET online = 0, \(Self.laterHeard(lastHeard)) WHERE id = \(bind: id)\(onNode) RETURNING *"
            ).first().map(Self.device)
        }
    }

    /// The node that holds the device's connection, when it is recorded online on one.
    public func node(of id: String) async throws -> String? {
        try await database.sql.raw("SELECT node_id FROM devices WHERE id = \(bind: id) AND online = 1").first()?
            .decode(column: "node_id", as: String?.self)
    }

    /// `last_heard = date` unless the stored time is later.
    private static func laterHeard(_ date: Date) -> SQLQueryString {
        let heard = Timestamp.milliseconds(date)
        return
            "last_heard = CASE WHEN last_heard IS NULL OR last_heard < \(bind: heard) THEN \(bind: heard) ELSE last_heard END"
    }

    /// Records what the device's application Describe declares: its functions (in order) and
    /// its variables with their API types (group-committed).
    public func described(id: String, functions: [String], variables: [String: String]) async throws {
        let functionsJSON = JSONValue.array(functions.map { .string($0) }).serialized
        let variablesJSON = Device.variablesJSON(variables).serialized
        try await database.batchedWrite { sql in
            try await sql.raw(
                """
                UPDATE devices SET functions = \(bind: functionsJSON), variables = \(bind: variablesJSON)
                WHERE id = \(bind: id)
                """
            ).run()
        }
    }

    /// Records the Device OS version the device reported (Hello or system Describe;
    /// group-committed).
    public func reportedSystemFirmware(id: String, version: String) async throws {
        try await database.batchedWrite { sql in
            try await sql.raw(
                "UPDATE devices SET system_firmware_version = \(bind: version) WHERE id = \(bind: id)"
            ).run()
        }
    }
}
