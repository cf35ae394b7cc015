import AerosolModels
import Foundation
import SQLKit

/// Access and refresh tokens. The database keeps each token's SHA-256 (for lookup) and an
/// AES-GCM copy sealed under the server secret (for `GET /v1/access_tokens`); never the token.
public struct TokenStore: Sendable {
    let database: Database
    let secret: ServerSecret

    /// A store on `database`, sealing with `secret`.
    public init(database: Database, secret: ServerSecret) {
        self.database = database
        self.secret = secret
    }

    /// A token as the owner may see it.
    public struct Listed: Sendable, Hashable {
        /// The token itself (unsealed).
        public var token: String
        /// When it expires; `nil` for never.
        public var expiresAt: Date?
        /// The OAuth client it was issued to.
        public var client: String
    }

    /// What a token grants, once looked up.
    public struct Grant: Sendable, Hashable {
        /// The SHA-256 of the token (safe to log and to key caches by).
        public var tokenHash: String
        /// Whose token it is.
        public var userID: String
        /// The OAuth client it was issued to.
        public var client: String
        /// When it expires; `nil` for never.
        public var expiresAt: Date?
    }

    /// A newly issued pair.
    public struct Issued: Sendable {
        /// The access token (40 hex).
        public var accessToken: String
        /// The refresh token (40 hex).
        public var refreshToken: String
        /// When the access token expires; `nil` for never.
        public var expiresAt: Date?
    }

    /// How long refresh tokens live: 14 days, as the original's.
    public static let refreshLifetime: TimeInterval = 1_209_600

    /// Issues an access token (and a refresh token) for `userID`.
    /// - Parameter expiresIn: seconds of validity; `nil` means never expires.
    public func issue(userID: String, client: String, expiresIn: TimeInterval?, now: Date = Date()) async throws
        -> Issued
    {
        let access = TokenHasher.generate()
        let refresh = TokenHasher.generate()
        let expiresAt = expiresIn.map { now.addingTimeInterval($0) }
        let sealed = try secret.seal(access)
        let created = Timestamp.milliseconds(now)
        let expires = expiresAt.map(Timestamp.milliseconds)
        let refreshExpires = Timestamp.milliseconds(now.addingTimeInterval(Self.refreshLifetime))
        try await database.transaction { sql in
            try await sql.raw(
                """
                INSERT INTO access_tokens (token_hash, user_id, client, sealed, expires_at, created_at)
                VALUES (\(bind: TokenHasher.hash(access)), \(bind: userID), \(bind: client), \(bind: sealed), \(bind: expires), \(bind: created))
                """
            ).run()
            try await sql.raw(
                """
                INSERT INTO refresh_tokens (token_hash, user_id, client, expires_at, created_at)
                VALUES (\(bind: TokenHasher.hash(refresh)), \(bind: userID), \(bind: client), \(bind: refreshExpires), \(bind: created))
                """
            ).run()
        }
        return Issued(accessToken: access, refreshToken: refresh, expiresAt: expiresAt)
    }

    /// What `token` grants, or `nil` if no such token exists (expired ones are returned; the
    /// caller tells expired from unknown).
    public func lookup(_ token: String) async throws -> Grant? {
        let hash = TokenHasher.hash(token)
        guard
            let row = try await database.sql.raw(
                "SELECT user_id, client, expires_at FROM access_tokens WHERE token_hash = \(bind: hash)"
            ).first()
        else { return nil }
        return Grant(
            tokenHash: hash,
            userID: try row.decode(column: "user_id", as: String.self),
            client: try row.decode(column: "client", as: String.self),
            expiresAt: try row.decode(column: "expires_at", as: Int64?.self).map(Timestamp.date(milliseconds:))
        )
    }

    /// The outcome of a refresh-token lookup.
    public enum RefreshLookup: Sendable {
        case valid(userID: String, client: String)
        case unknown
        case expired
    }

    /// Checks a refresh token issued to `client`, consuming it when valid (one use each).
    public func redeem(refreshToken: String, client: String, now: Date = Date()) async throws -> RefreshLookup {
        let hash = TokenHasher.hash(refreshToken)
        return try await database.transaction { sql in
            guard
                let row = try await sql.raw(
                    "SELECT user_id, client, expires_at FROM refresh_tokens WHERE token_hash = \(bind: hash)"
                ).first(),
                try row.decode(column: "client", as: String.self) == client
            else { return .unknown }
            let expires = try row.decode(column: "expires_at", as: Int64.self)
            if expires <= Timestamp.milliseconds(now) { return .expired }
            try await sql.raw("DELETE FROM refresh_tokens WHERE token_hash = \(bind: hash)").run()
            return .valid(userID: try row.decode(column: "user_id", as: String.self), client: client)
        }
    }

    /// The user's access tokens with their values (unsealed), newest first.
    public func list(userID: String) async throws -> [Listed] {
        let rows = try await database.sql.raw(
            "SELECT sealed, client, expires_at FROM access_tokens WHERE user_id = \(bind: userID) ORDER BY created_at DESC"
        ).all()
        return try rows.map { row in
            Listed(
                token: try secret.open(try row.decode(column: "sealed", as: String.self)),
                expiresAt: try row.decode(column: "expires_at", as: Int64?.self).map(Timestamp.date(milliseconds:)),
                client: try row.decode(column: "client", as: String.self)
            )
        }
    }

    /// Revokes one token (only if it is `userID`'s, when given); returns whether it existed.
    @discardableResult
    public func revoke(tokenHash: String, userID: String? = nil) async throws -> Bool {
        guard
            let row = try await database.sql.raw(
                "SELECT user_id FROM access_tokens WHERE token_hash = \(bind: tokenHash)"
            ).first()
        else { return false }
        if let userID, try row.decode(column: "user_id", as: String.self) != userID { return false }
        let existed = true
        try await database.write { sql in
            try await sql.raw("DELETE FROM access_tokens WHERE token_hash = \(bind: tokenHash)").run()
        }
        return existed
    }

    /// Revokes every access and refresh token of `userID`; returns the revoked access tokens' hashes.
    public func revokeAll(userID: String) async throws -> [String] {
        try await database.transaction { sql in
            let hashes = try await sql.raw("SELECT token_hash FROM access_tokens WHERE user_id = \(bind: userID)")
                .all(decodingColumn: "token_hash", as: String.self)
            try await sql.raw("DELETE FROM access_tokens WHERE user_id = \(bind: userID)").run()
            try await sql.raw("DELETE FROM refresh_tokens WHERE user_id = \(bind: userID)").run()
            return hashes
        }
    }
}
