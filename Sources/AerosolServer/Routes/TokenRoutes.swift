import AerosolModels
import AerosolStore
import Foundation
import Hummingbird

/// `POST /oauth/token` and `/v1/access_tokens…`.
struct TokenRoutes {
    let cloud: Cloud

    /// The OAuth clients every Particle tool uses; their secret is their id.
    static let publicClients: Set<String> = ["particle", "particle-api", "particle-cli", "aerosol"]

    func register(_ routes: RouteRegistrar) {
        routes.on(.post, "/oauth/token", .anyone) { request, context in try await token(request, context) }
        routes.on(.get, "/v1/access_tokens", .password) { request, context in try await list(request, context) }
        routes.on(.delete, "/v1/access_tokens", .caller) { request, context in
            let caller = try context.caller
            let hashes = try await cloud.tokens.revokeAll(userID: caller.userID)
            forget(hashes)
            return .ok
        }
        routes.on(.get, "/v1/access_tokens/current", .caller) { request, context in
            let caller = try context.caller
            return .json(
                .object([
                    ("expires_at", .timestamp(caller.expiresAt)),
                    ("client", .string(caller.client)),
                    ("client_id", .string(caller.client)),
                    ("scopes", .array([])),
                    ("orgs", .array([])),
                ])
            )
        }
        routes.on(.delete, "/v1/access_tokens/current", .caller) { request, context in
            let caller = try context.caller
            try await cloud.tokens.revoke(tokenHash: caller.tokenHash)
            forget([caller.tokenHash])
            return .ok
        }
        // No authentication: holding the token is the right to revoke it.
        routes.on(.delete, "/v1/access_tokens/:token", .anyone) { _, context in
            let hash = TokenHasher.hash(try context.parameters.decoded("token"))
            try await cloud.tokens.revoke(tokenHash: hash)
            forget([hash])
            return .ok
        }
    }

    private func forget(_ hashes: [String]) {
        cloud.forget(tokenHashes: hashes)
    }

    private func token(_ request: Request, _ context: CloudRequestContext) async throws -> Response {
        var request = request
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw APIError.oauth(
                .badRequest,
                "invalid_request",
                "Method must be POST with application/x-www-form-urlencoded encoding"
            )
        }
        let fields = try await cloud.fields(&request)
        guard let grantType = fields.string("grant_type"), ["password", "refresh_token"].contains(grantType) else {
            throw APIError.oauth(.badRequest, "invalid_request", "Invalid or missing grant_type parameter")
        }
        let client = try clientID(request, fields)
        let lifetime = try tokenLifetime(fields)
        let userID: String
        switch grantType {
        case "password":
            guard let username = fields.string("username"), let password = fields.string("password") else {
                throw APIError.oauth(
                    .badRequest,
                    "invalid_client",
                    "Missing parameters. \"username\" and \"password\" are required"
                )
            }
            guard let user = try await cloud.signIn(email: username, password: password, context: context) else {
                throw APIError.oauth(.badRequest, "invalid_grant", "User credentials are invalid")
            }
            userID = user.id
        default:
            guard let refresh = fields.string("refresh_token") else {
                throw APIError.oauth(.badRequest, "invalid_request", "No \"refresh_token\" parameter")
            }
            switch try await cloud.tokens.redeem(refreshToken: refresh, client: client) {
            case .valid(let owner, _): userID = owner
            case .unknown: throw APIError.oauth(.badRequest, "invalid_grant", "Invalid refresh token")
            case .expired: throw APIError.oauth(.badRequest, "invalid_grant", "Refresh token has expired")
            }
        }
        let issued = try await cloud.tokens.issue(userID: userID, client: client, expiresIn: lifetime)
        var members: [(String, JSONValue)] = [
            ("token_type", .string("bearer")),
            ("access_token", .string(issued.accessToken)),
        ]
        if let lifetime { members.append(("expires_in", .int(Int64(lifetime)))) }
        members.append(("refresh_token", .string(issued.refreshToken)))
        var response = Response.json(.object(members))
        response.headers[.cacheControl] = "no-store"
        response.headers[.pragma] = "no-cache"
        return response
    }

    /// The client, from HTTP Basic or the body; only the public clients are known.
    private func clientID(_ request: Request, _ fields: RequestFields) throws -> String {
        let id: String?
        let secret: String?
        if let basic = request.headers[.authorization].flatMap(Self.basicCredentials) {
            (id, secret) = (basic.0, basic.1)
        } else {
            (id, secret) = (fields.string("client_id"), fields.string("client_secret"))
        }
        let invalidClient = { (description: String) in
            APIError.oauth(.badRequest, "invalid_client", description).with(.wwwAuthenticate, "Basic realm=\"Service\"")
        }
        guard let id, Self.isValidClientID(id) else { throw invalidClient("Invalid or missing client_id parameter") }
        guard let secret else { throw invalidClient("Missing client_secret parameter") }
        guard Self.publicClients.contains(id), secret == id else {
            throw invalidClient("Client credentials are invalid")
        }
        return id
    }

    /// The longest `expires_in`: 100 years. Far longer ones would overflow the expiry's time in
    /// milliseconds (a crash); `0` is how a token never expires.
    static let maximumLifetime = 3_153_600_000

    /// `expires_in` seconds (0 = never) or `expires_at`; the configured default otherwise.
    private func tokenLifetime(_ fields: RequestFields) throws -> TimeInterval? {
        if fields.has("expires_in") {
            guard let seconds = try? fields.int("expires_in"), (0...Self.maximumLifetime).contains(seconds) else {
                throw APIError.oauth(
                    .badRequest,
                    "invalid_request",
                    "expires_in must be a whole number of seconds up to \(Self.maximumLifetime) (100 years), 0 for never"
                )
            }
            return seconds == 0 ? nil : TimeInterval(seconds)
        }
        if let text = fields.string("expires_at") {
            guard let date = Timestamp.parse(text), date > Date(),
                date.timeIntervalSinceNow <= TimeInterval(Self.maximumLifetime)
            else {
                throw APIError.oauth(
                    .badRequest,
                    "invalid_request",
                    "expires_at must be an ISO-8601 time in the future, at most 100 years away"
                )
            }
            return date.timeIntervalSinceNow.rounded(.up)
        }
        return TimeInterval(cloud.configuration.defaultTokenLifetime)
    }

    private func list(_ request: Request, _ context: CloudRequestContext) async throws -> Response {
        guard let header = request.headers[.authorization], let (email, password) = Self.basicCredentials(header) else {
            throw APIError.oauth(
                .unauthorized,
                "invalid_request",
                "Listing tokens requires HTTP Basic authentication with your username and password"
            ).with(.wwwAuthenticate, "Basic realm=\"Aerosol\"")
        }
        guard let user = try await cloud.signIn(email: email, password: password, context: context) else {
            throw APIError.oauth(.badRequest, "invalid_grant", "User credentials are invalid")
        }
        let tokens = try await cloud.tokens.list(userID: user.id)
        return .json(
            .array(
                tokens.map { token in
                    .object([
                        ("token", .string(token.token)),
                        ("expires_at", .timestamp(token.expiresAt)),
                        ("client", .string(token.client)),
                    ])
                }
            )
        )
    }

    static func basicCredentials(_ header: String) -> (String, String)? {
        guard header.hasPrefix("Basic ") else { return nil }
        let encoded = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard let data = Data(base64Encoded: encoded) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let user = String(text[..<colon])
        return (user, String(text[text.index(after: colon)...]))
    }

    static func isValidClientID(_ id: String) -> Bool {
        (3...40).contains(id.count)
            && id.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" }
    }
}
