/// How an event stream behaves; every default is the documented one.
public struct StreamOptions: Sendable {
    /// Silence (no byte at all, keepalives included) after which the connection is taken for
    /// dead and replaced (default 15 s, the official client's value; Aerosol sends a keepalive
    /// at least every 9 s).
    public var idleTimeout: Duration = .seconds(15)
    /// How long connecting may take (default 15 s).
    public var connectTimeout: Duration = .seconds(15)
    /// The first reconnect delay (default 1 s); it doubles per failed attempt, with jitter.
    public var initialBackoff: Duration = .seconds(1)
    /// The longest reconnect delay (default 30 s).
    public var maxBackoff: Duration = .seconds(30)
    /// Resume after this event id on the first connection (later ones use the last id seen).
    public var lastEventID: String?

    /// The defaults.
    public init() {}
}
