import AerosolModels

/// A device as the API describes it (`GET /v1/devices`, `GET /v1/devices/:id`).
public struct DeviceInfo: Sendable, Equatable {
    /// 24 hex characters.
    public var id: String
    /// The display name, if set.
    public var name: String?
    /// Whether the device is connected now.
    public var online: Bool
    /// When it was last heard from (ISO-8601).
    public var lastHeard: String?
    /// Its product, if any (for a non-product device, its platform).
    public var productID: Int?
    /// Its platform, once known.
    public var platformID: Int?
    /// Free-form notes.
    public var notes: String?
    /// The functions it exposes.
    public var functions: [String]
    /// Its variables and their types (`int32`, `double`, `string`, `bool`).
    public var variables: [String: String]
    /// The whole object as received, for fields not modelled here.
    public var json: JSONValue

    init(_ json: JSONValue) {
        self.json = json
        id = json["id"]?.stringValue ?? ""
        name = json["name"]?.stringValue
        online = json["online"]?.boolValue ?? json["connected"]?.boolValue ?? false
        lastHeard = json["last_heard"]?.stringValue
        productID = json["product_id"]?.intValue.map(Int.init)
        platformID = json["platform_id"]?.intValue.map(Int.init)
        notes = json["notes"]?.stringValue
        functions = json["functions"]?.arrayValue?.compactMap(\.stringValue) ?? []
        var variables: [String: String] = [:]
        if case .object(let members)? = json["variables"] {
            for (name, type) in members { variables[name] = type.stringValue ?? "" }
        }
        self.variables = variables
    }
}
