import AerosolModels
import AerosolStore
import Foundation
import Hummingbird
import Synchronization

/// Finds the access token of a request (spec §2.1: exactly one of header, query or form body)
/// and resolves it to a ``Caller``, with a short-lived cache so hot paths (publishing,
/// streaming) do not hit the database for every request.
final class Authenticator: Sendable {
    private struct Cached {
        var grant: TokenStore.Grant
        var cachedAt: ContinuousClock.Instant
    }

    private let tokens: TokenStore
    private let cache = Mutex<[String: Cached]>([:])
    /// How long a looked-up token is trusted without asking the database again. Revocations
    /// on this server evict at once; this bounds how late another process's revocation is seen.
    let cacheLifetime: Duration
    private let maxCached = 10_000

    init(tokens: TokenStore, cacheLifetime: Duration = .seconds(5)) {
        self.tokens = tokens
        self.cacheLifetime = cacheLifetime
    }

    /// The token of a request, by the spec's rules; throws the spec's 400 errors.
    static func locateToken(in request: Request, fields: RequestFields) throws -> String {
        var found: [String] = []
        if let header = request.headers[.authorization] {
            // node-oauth2-server's `Bearer\s(\S+)`, case-sensitive, anywhere in the header.
            guard let token = bearerToken(header) else { throw APIError.malformedAuthHeader }
            found.append(token)
        }
        if let query = request.uri.queryParameters.get("access_token") {
            found.append(query)
        }
        if fields.has("access_token") {
            if request.method == .get { throw APIError.bodyTokenOnGET }
            guard fields.encoding == .form else { throw APIError.bodyTokenNotForm }
            found.append(fields.string("access_token") ?? "")
        }
        guard found.count <= 1 else { throw APIError.severalTokens }
        guard let token = found.first, !token.isEmpty else { throw APIError.tokenNotFound }
        return token
    }

    static func bearerToken(_ header: String) -> String? {
        guard let range = header.range(of: "Bearer") else { return nil }
        var rest = header[range.upperBound...]
        guard let space = rest.first, space.isWhitespace, space != "\u{85}" else { return nil }
        rest = rest.dropFirst()
        let token = rest.prefix { !$0.isWhitespace }
        return token.isEmpty ? nil : String(token)
    }

    /// The caller behind the request's token; 400 when there is no usable token, 401 when it is
    /// unknown or expired.
    func authenticate(_ request: Request, fields: RequestFields = .empty) async throws -> Caller {
        let token = try Self.locateToken(in: request, fields: fields)
        return try await caller(token: token)
    }

    /// The caller behind `token`.
    func caller(token: String) async throws -> Caller {
        // Tokens are 40 hex characters; anything else cannot exist, so skip the lookup.
        guard token.utf8.count <= 128 else { throw APIError.invalidToken }
        let hash = TokenHasher.hash(token)
        let now = ContinuousClock.now
        let cached = cache.withLock { cache -> TokenStore.Grant? in
            guard let entry = cache[hash], entry.cachedAt.duration(to: now) < cacheLifetime else { return nil }
            return entry.grant
        }
        let grant: TokenStore.Grant
        if let cached {
            grant = cached
        } else {
            guard let found = try await tokens.lookup(token) else { throw APIError.invalidToken }
            grant = found
            cache.withLock { cache in
                if cache.count >= maxCached { cache.removeAll(keepingCapacity: true) }
                cache[hash] = Cached(grant: found, cachedAt: now)
            }
        }
        if let expiresAt = grant.expiresAt, expiresAt <= Date() { throw APIError.expiredToken }
        return Caller(
            userID: grant.userID,
            tokenHash: grant.tokenHash,
            client: grant.client,
            expiresAt: grant.expiresAt
        )
    }

    /// Forgets cached lookups of these tokens (after revocation).
    func evict(tokenHashes: some Sequence<String>) {
        cache.withLock { cache in
            for hash in tokenHashes { cache[hash] = nil }
        }
    }
}
