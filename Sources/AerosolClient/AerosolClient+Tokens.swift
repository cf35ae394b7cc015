import AerosolModels
import Foundation

extension AerosolClient {
    /// Logs in with the password grant (client `particle:particle` unless told otherwise).
    /// - Parameter expiresIn: seconds of validity; `0` for a token that never expires; `nil`
    ///   for the server's default (90 days).
    public func login(
        username: String,
        password: String,
        expiresIn: Int? = nil,
        client: String = "particle"
    ) async throws -> TokenGrant {
        var fields = [("grant_type", "password"), ("username", username), ("password", password)]
        if let expiresIn { fields.append(("expires_in", String(expiresIn))) }
        return try await tokenRequest(fields, client: client)
    }

    /// Exchanges a refresh token for a new access token.
    public func refresh(_ refreshToken: String, client: String = "particle") async throws -> TokenGrant {
        try await tokenRequest([("grant_type", "refresh_token"), ("refresh_token", refreshToken)], client: client)
    }

    private func tokenRequest(_ fields: [(String, String)], client: String) async throws -> TokenGrant {
        let basic = "Basic " + Data("\(client):\(client)".utf8).base64EncodedString()
        let json = try await send(
            .POST,
            "/oauth/token",
            body: .form(fields),
            headers: [("Authorization", basic)],
            authenticated: false
        )
        return try TokenGrant(json)
    }

    /// The account's tokens (`GET /v1/access_tokens`, HTTP Basic with the account's password).
    public func listTokens(username: String, password: String) async throws -> [AccessTokenInfo] {
        let basic = "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        let json = try await send(.GET, "/v1/access_tokens", headers: [("Authorization", basic)], authenticated: false)
        return (json.arrayValue ?? []).map(AccessTokenInfo.init)
    }

    /// Revokes a token (it need not be this client's own).
    public func revokeToken(_ token: String) async throws {
        try await send(.DELETE, "/v1/access_tokens/\(Self.segment(token))", authenticated: false)
    }

    /// Revokes this client's own token (`particle logout`).
    public func revokeCurrentToken() async throws {
        try await send(.DELETE, "/v1/access_tokens/current")
    }

    /// What the server knows of this client's token: its expiry (`nil` for never) and client.
    public func currentToken() async throws -> (expiresAt: String?, client: String) {
        let json = try await send(.GET, "/v1/access_tokens/current")
        return (json["expires_at"]?.stringValue, json["client"]?.stringValue ?? json["client_id"]?.stringValue ?? "")
    }
}
