import AerosolModels

/// What `POST /oauth/token` grants.
public struct TokenGrant: Sendable, Equatable {
    /// The access token.
    public var accessToken: String
    /// The refresh token, if one was issued.
    public var refreshToken: String?
    /// Seconds until the access token expires; `nil` for never.
    public var expiresIn: Int?

    init(_ json: JSONValue) throws {
        guard let access = json["access_token"]?.stringValue else {
            throw ClientError.unexpected("no access_token in the token response", status: 200)
        }
        accessToken = access
        refreshToken = json["refresh_token"]?.stringValue
        expiresIn = json["expires_in"]?.intValue.map(Int.init)
    }
}
