import Foundation

/// A device known to the cloud: claimed by a user, a member of a product, or both.
public struct Device: Sendable, Hashable {
    /// 24 lower-case hex characters.
    public var id: String
    /// The display name; unique per owner when set.
    public var name: String?
    /// The owner's user id, if claimed.
    public var ownerID: String?
    /// The product it belongs to, if any.
    public var productID: Int?
    /// Free-form notes.
    public var notes: String?
    /// The Device OS platform id, once known.
    public var platformID: Int?
    /// Whether a connection to the device is open now.
    public var online: Bool
    /// When the device was last heard from.
    public var lastHeard: Date?
    /// When the device last completed a handshake.
    public var lastHandshakeAt: Date?
    /// The address it last connected from.
    public var lastIPAddress: String?
    /// The Device OS version, once known.
    public var systemFirmwareVersion: String?
    /// The functions the device declared in its last Describe, in its order.
    public var functions: [String]
    /// The variables the device declared in its last Describe: name → API type (`int32`,
    /// `double`, `string`, `bool`).
    public var variables: [String: String]
    /// When it became known to this cloud.
    public var createdAt: Date
    /// The product firmware version in the device's last Hello (`nil` if it reported none).
    public var firmwareVersion: Int?
    /// What the device last published as `particle/device/updates/enabled`, if ever.
    public var firmwareUpdatesEnabled: Bool?
    /// What the device last published as `particle/device/updates/forced`, if ever.
    public var firmwareUpdatesForced: Bool?
    /// The product firmware version the device is locked to, if any.
    public var desiredFirmwareVersion: Int?
    /// Whether it is a development device (never updated automatically).
    public var development = false
    /// The default release of the device's product, if one is released.
    public var defaultFirmwareVersion: Int?

    /// Creates a device value.
    public init(
        id: String,
        name: String? = nil,
        ownerID: String? = nil,
        productID: Int? = nil,
        notes: String? = nil,
        platformID: Int? = nil,
        online: Bool = false,
        lastHeard: Date? = nil,
        lastHandshakeAt: Date? = nil,
        lastIPAddress: String? = nil,
        systemFirmwareVersion: String? = nil,
        functions: [String] = [],
        variables: [String: String] = [:],
        createdAt: Date
    ) {
        self.id = id
        self.name = name
        self.ownerID = ownerID
        self.productID = productID
        self.notes = notes
        self.platformID = platformID
        self.online = online
        self.lastHeard = lastHeard
        self.lastHandshakeAt = lastHandshakeAt
        self.lastIPAddress = lastIPAddress
        self.systemFirmwareVersion = systemFirmwareVersion
        self.functions = functions
        self.variables = variables
        self.createdAt = createdAt
    }

    /// Whether `text` is a device id: exactly 24 lower-case hex characters.
    public static func isValidID(_ text: String) -> Bool {
        text.utf8.count == 24 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

extension Device {
    /// The element of `GET /v1/devices`.
    public var listJSON: JSONValue {
        .object(commonMembers)
    }

    /// `GET /v1/devices/:id`: the list fields plus the detail fields.
    public var detailJSON: JSONValue {
        var members = commonMembers
        members.append(("owner", .string(ownerID)))
        members.append(("firmware_updates_enabled", .bool(firmwareUpdatesEnabled ?? true)))
        members.append(("firmware_updates_forced", .bool(firmwareUpdatesForced ?? false)))
        return .object(members)
    }

    /// A device in a product listing or `GET /v1/products/:p/devices/:id`: the detail fields
    /// plus the product ones.
    public var productJSON: JSONValue {
        var members = commonMembers
        members.append(("owner", .string(ownerID)))
        members.append(("firmware_updates_enabled", .bool(firmwareUpdatesEnabled ?? true)))
        members.append(("firmware_updates_forced", .bool(firmwareUpdatesForced ?? false)))
        members.append(("firmware_product_id", .int(productID)))
        members.append(("groups", .array([])))
        members.append(("firmware_version", .int(firmwareVersion)))
        members.append(("desired_firmware_version", .int(desiredFirmwareVersion)))
        members.append(("targeted_firmware_release_version", .int(targetedFirmwareVersion)))
        members.append(("development", .bool(development)))
        members.append(("quarantined", .bool(false)))
        members.append(("denied", .bool(false)))
        return .object(members)
    }

    /// The version automatic updates bring the device to: the one it is locked to, else its
    /// product's default release.
    public var targetedFirmwareVersion: Int? {
        desiredFirmwareVersion ?? defaultFirmwareVersion
    }

    /// `variables` as the API shows it: an object sorted by name.
    public var variablesJSON: JSONValue { Self.variablesJSON(variables) }

    /// Variables (name → API type) as the API shows them: an object sorted by name.
    public static func variablesJSON(_ variables: [String: String]) -> JSONValue {
        .object(variables.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })
    }

    private var commonMembers: [(String, JSONValue)] {
        [
            ("id", .string(id)),
            ("name", .string(name)),
            ("last_app", .string("")),
            ("last_ip_address", .string(lastIPAddress)),
            ("last_heard", .timestamp(lastHeard)),
            ("last_handshake_at", .timestamp(lastHandshakeAt)),
            // A non-product device reports its platform as its product, as the original does.
            ("product_id", .int(productID ?? platformID)),
            ("platform_id", .int(platformID)),
            ("online", .bool(online)),
            ("connected", .bool(online)),
            ("cellular", .bool(false)),
            ("notes", .string(notes)),
            ("status", .string("normal")),
            ("functions", .array(functions.map { .string($0) })),
            ("variables", variablesJSON),
            ("serial_number", .string("")),
            ("mac_wifi", .string("")),
            ("system_firmware_version", .string(systemFirmwareVersion ?? "")),
        ]
    }
}
