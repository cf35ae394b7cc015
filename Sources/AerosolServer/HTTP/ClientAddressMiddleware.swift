import Foundation
import HTTPTypes
import Hummingbird

/// Settles the client's address of every request: the connection's peer, or, when that peer is
/// one of the configured trusted proxies, the address that proxy says the request came from
/// (`X-Forwarded-For`, read from the right, skipping the trusted proxies in the chain).
///
/// Behind nginx every connection comes from the proxy; without this, the sign-in lockout
/// (counted per account and client address) would count every client as the proxy, and 50
/// failures from anyone would lock everyone out. A header from a peer that is not trusted is
/// ignored: anyone can send `X-Forwarded-For`.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = CloudRequestContext

    /// The proxies' addresses, as `SocketAddress.ipAddress` writes them (`127.0.0.1`, `::1`).
    let trustedProxies: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard !trustedProxies.isEmpty, let peer = context.clientAddress, trustedProxies.contains(peer) else {
            return try await next(request, context)
        }
        var context = context
        context.clientAddress = Self.client(
            forwardedFor: request.headers[values: .xForwardedFor],
            peer: peer,
            trusted: trustedProxies
        )
        return try await next(request, context)
    }

    /// The rightmost address of the `X-Forwarded-For` chain that is not a trusted proxy, or the
    /// peer when the chain is empty or all trusted.
    static func client(forwardedFor values: [String], peer: String, trusted: Set<String>) -> String {
        let chain = values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for address in chain.reversed() where !address.isEmpty {
            if !trusted.contains(address) { return address }
        }
        return peer
    }
}
