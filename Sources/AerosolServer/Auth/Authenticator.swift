import AerosolModels
import AerosolStore
import Foundation
import Hummingbird
import Synchronization

/// Finds the access token of a request (exactly one of header, query or form body)
/// and resolves it to a ``Caller``, with a short-lived cache so hot paths (publishing,
/// streaming) do not hit the database for every request.
///
/// A request with none of those may carry the web console's session cookie instead (an access
/// token of client `console`, HttpOnly); then every method but GET and HEAD must also send the
/// session's CSRF token in `X-CSRF-Token`, so another site cannot act with the cookie.
final class Authenticator: Sendable {
    private struct Cached {
        var grant: TokenStore.Grant
        var cachedAt: Date
    }

    private let tokens: TokenStore
    private let secret: ServerSecret
    private let clock: any CloudClock
    private let cache = Mutex<[String: Cached]>([:])
    /// How long a looked-up token is trusted without asking the database again. Revocations
    /// on this server evict at once; this bounds how late another process's revocation is seen.
    let cacheLifetime: Duration
    private let maxCached = 10_000

    /// The console's session cookie.
    static let sessionCookie = "aerosol_session"

    init(tokens: TokenStore, secret: ServerSecret, clock: any CloudClock, cacheLifetime: Duration = .seconds(5)) {
        self.tokens = tokens
        self.secret = secret
        self.clock = clock
        self.cacheLifetime = cacheLifetime
    }

    /// The token of a request, by the spec's rules, or `nil` if it has none; throws the spec's
    /// 400 errors.
    static func locateToken(in request: Request, fields: RequestFields) throws -> String? {
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
        guard let token = found.first else { return nil }
        guard !token.isEmpty else { throw APIError.tokenNotFound }
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
        if let token = try Self.locateToken(in: request, fields: fields) {
            return try await caller(token: token)
        }
        guard let session = request.cookies[Self.sessionCookie]?.value, !session.isEmpty else {
            throw APIError.tokenNotFound
        }
        let caller = try await caller(token: session)
        // Only a console session rides in the cookie; any other token must be sent as one.
        guard caller.client == "console" else { throw APIError.invalidToken }
        if request.method != .get, request.method != .head {
            let sent = request.headers[.csrfToken] ?? ""
            guard Self.constantTimeEqual(sent, csrfToken(for: caller)) else { throw APIError.csrfRefused }
        }
        return caller
    }

    /// The CSRF token of a console session: an HMAC of its token's hash under the server secret,
    /// so nothing more is stored and it ends with the session.
    func csrfToken(for caller: Caller) -> String {
        secret.authenticationCode(for: caller.tokenHash, purpose: "console csrf")
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The caller behind `token`.
    func caller(token: String) async throws -> Caller {
        // Tokens are 40 hex characters; anything else cannot exist, so skip the lookup.
        guard token.utf8.count <= 128 else { throw APIError.invalidToken }
        let hash = TokenHasher.hash(token)
        let now = clock.now
        let cached = cache.withLock { cache -> TokenStore.Grant? in
            guard let entry = cache[hash], now.timeIntervalSince(entry.cachedAt) < cacheLifetime.timeInterval else {
                return nil
            }
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
        if let expiresAt = grant.expiresAt, expiresAt <= now { throw APIError.expiredToken }
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
