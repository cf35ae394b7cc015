import AerosolModels

/// One access token as `GET /v1/access_tokens` lists it.
public struct AccessTokenInfo: Sendable, Equatable {
    /// The token.
    public var token: String
    /// When it expires (ISO-8601), or `nil` for never.
    public var expiresAt: String?
    /// The OAuth client it was issued to.
    public var client: String

    init(_ json: JSONValue) {
        token = json["token"]?.stringValue ?? ""
        expiresAt = json["expires_at"]?.stringValue
        client = json["client"]?.stringValue ?? json["client_id"]?.stringValue ?? ""
    }
}
