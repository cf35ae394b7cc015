/// Why the server ended an event stream; all but `cancelled` are written as `:closed <reason>`
/// before the stream closes.
enum StreamEndReason: String, Sendable, Equatable {
    /// The client read too slowly (its stream, or its event loop, fell too far behind).
    case overflow
    /// The server is shutting down.
    case shutdown
    /// The token that opened the stream was revoked.
    case revoked
    /// The token that opened the stream expired.
    case expired
    /// The client went away.
    case cancelled
}
