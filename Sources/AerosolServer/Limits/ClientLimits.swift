/// The limits that protect the server from one client address: Particle's rate limits as
/// defaults, a cap on open event streams and one on open connections. Every default is
/// documented in the README ("Limits per client address").
///
/// The client address is the connection's peer, or the address a trusted proxy names in
/// `X-Forwarded-For` (``Configuration/trustedProxies``). A limit of 0 turns that limit off.
public struct ClientLimits: Sendable {
    /// Whether any of these limits applies (default `true`; `aerosol serve --rate-limits off`
    /// turns every one off, for benchmarks and load tests). The sign-in lockout is not one of
    /// them: it stays on.
    public var enabled = true
    /// The window the request limits count in (default 5 minutes, as Particle's).
    public var window: Duration = .seconds(300)
    /// Requests per window per address, any route (default 10,000, as Particle's).
    public var requests = 10_000
    /// Requests per window per address to the token endpoints: `POST /oauth/token`,
    /// `GET /v1/access_tokens`, and `DELETE /v1/access_tokens/…`
    /// (default 100, as Particle's).
    public var tokenRequests = 100
    /// Event stream opens (`GET …/events…`) per window per address (default 100, as Particle's).
    public var streamOpens = 100
    /// Event streams open at once per address (default 100, as Particle's).
    public var openStreams = 100
    /// Connections open at once per peer address (default 256). Counted on the connection's
    /// peer: connections from a trusted proxy are not counted (the proxy carries every client).
    public var connections = 256
    /// The most addresses each request limit remembers (default 100,000). Windows that ended are
    /// forgotten; when the table is full of live windows, requests from addresses it does not
    /// hold are refused with 429 until windows end (a flood of new addresses cannot grow memory,
    /// and the addresses already counted keep working).
    public var maxAddresses = 100_000

    /// Particle's limits.
    public init() {}

    /// No limit at all (`--rate-limits off`).
    public static var off: ClientLimits {
        var limits = ClientLimits()
        limits.enabled = false
        return limits
    }
}
