import Logging
import NIOCore

/// The cap on connections open at once per peer address (``ClientLimits/connections``), checked
/// as each connection is set up: one over the cap is closed before it is read, with a warning
/// the first time an address hits the cap (then at debug level until it drops below, so that a
/// flood does not flood the log too).
///
/// Counted on the peer, not on `X-Forwarded-For` (no request has been read yet): connections from
/// trusted proxies are not counted, since every client behind a proxy comes through its
/// connections; cap those at the proxy (nginx's `limit_conn`).
final class ConnectionCap: Sendable {
    private let open: AddressGauge
    private let exempt: Set<String>

    /// A cap of `limit` (at least 1) connections per address, except from `exempt` addresses.
    init(limit: Int, exempt: Set<String>) {
        self.open = AddressGauge(limit: limit)
        self.exempt = exempt
    }

    /// Counts `channel` against its peer's address until it closes; `false` if the address has
    /// as many open as the cap allows (the caller closes the channel).
    func admit(_ channel: any Channel, logger: Logger) -> Bool {
        guard let address = channel.remoteAddress?.ipAddress, !exempt.contains(address) else { return true }
        switch open.acquire(address) {
        case .admitted:
            let lease = GaugeLease(gauge: open, address: address)
            channel.closeFuture.whenComplete { _ in lease.release() }
            return true
        case .refused(let first):
            logger.log(
                level: first ? .warning : .debug,
                "closing a connection: the client address has too many open",
                metadata: ["client.address": "\(address)", "connection.limit": "\(open.limit)"]
            )
            return false
        }
    }
}
