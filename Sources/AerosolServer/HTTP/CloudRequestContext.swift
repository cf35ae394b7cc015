import Hummingbird
import NIOCore

/// The request context of every route: who is asking, settled once by
/// ``AuthenticationMiddleware`` on the routes that need a caller, and the body's fields, read
/// once with the size limit.
struct CloudRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The caller, on authenticated routes (set by ``AuthenticationMiddleware``).
    var identity: Caller?
    /// The request body's fields, on authenticated routes (read by ``AuthenticationMiddleware``,
    /// which must see a body token).
    var fields: RequestFields = .empty
    /// The address of the client, for per-client limits and log lines.
    let remoteAddress: SocketAddress?
    /// The connection (an event stream takes it over).
    let channel: any Channel
    /// Set on a connection's first request that may open an event stream: the stream is then
    /// handed to the connection instead of being written by the request's task.
    var streamHandoff: StreamHandoff?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.clientAddress = source.channel.remoteAddress?.ipAddress
        self.channel = source.channel
    }

    /// The caller of an authenticated route.
    var caller: Caller {
        get throws {
            // Only a route registered without authentication could get here without one: a
            // programming error, answered as a missing token rather than trusted.
            guard let identity else { throw APIError.tokenNotFound }
            return identity
        }
    }

    /// The client's IP address as text (`nil` for a Unix socket or when unknown): the peer's,
    /// or the one a trusted proxy forwarded (``ClientAddressMiddleware``).
    var clientAddress: String?
}
