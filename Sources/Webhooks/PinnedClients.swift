import AsyncHTTPClient
import Synchronization

/// HTTPS clients pinned to checked addresses.
///
/// TLS needs the host name (for SNI and to verify the certificate), so an `https` request
/// cannot simply go to an IP literal as plain `http` does; left to itself the HTTP client
/// would resolve the name again, and a DNS answer changed since the check (rebinding) could
/// send it to a private address. AsyncHTTPClient's `dnsOverride` connects to a given address
/// while TLS still names the host, but it belongs to a client's configuration, not to a
/// request. So there is one client per (host, checked address, verification), kept so that
/// its connections are reused. A lease never waits; it closes the clients that have been idle
/// longer than ``idleLifetime``, and the least recently used idle ones beyond ``capacity`` (a
/// client in use is never closed). ``shutdown()`` closes all.
final class PinnedClients: Sendable {
    /// What a client is pinned to.
    struct Key: Hashable, Sendable {
        var host: String
        var address: String
        var verifyTLS: Bool
    }

    private struct Entry {
        var client: HTTPClient
        var leases: Int
        var lastUsed: ContinuousClock.Instant
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var closed = false
    }

    private let state = Mutex(State())
    private let makeConfiguration: @Sendable (_ verifyTLS: Bool) -> HTTPClient.Configuration
    /// Idle clients kept at most (busy ones are never closed).
    let capacity: Int
    /// How long an unused client is kept (its connections' idle timeout is no longer).
    let idleLifetime: Duration

    /// Clients made from `makeConfiguration`, which is given whether TLS must be verified.
    init(
        capacity: Int = 64,
        idleLifetime: Duration = .seconds(60),
        makeConfiguration: @escaping @Sendable (_ verifyTLS: Bool) -> HTTPClient.Configuration
    ) {
        self.capacity = capacity
        self.idleLifetime = idleLifetime
        self.makeConfiguration = makeConfiguration
    }

    /// The clients currently kept (for tests).
    var count: Int { state.withLock { $0.entries.count } }

    /// Runs `body` with the client that connects to `key.address` for `key.host`.
    func withClient<T>(_ key: Key, _ body: (HTTPClient) async throws -> T) async throws -> T {
        let (client, retired) = try lease(key)
        for old in retired { try? await old.shutdown() }
        defer { release(key) }
        return try await body(client)
    }

    /// Closes every client; later leases fail.
    func shutdown() async {
        let clients = state.withLock { state in
            state.closed = true
            defer { state.entries.removeAll() }
            return state.entries.values.map(\.client)
        }
        for client in clients { try? await client.shutdown() }
    }

    private func lease(_ key: Key) throws -> (HTTPClient, retired: [HTTPClient]) {
        let now = ContinuousClock.now
        return try state.withLock { state in
            guard !state.closed else { throw WebhookError.unavailable("the webhook sender is shut down") }
            var retired: [HTTPClient] = []
            // Idle too long, or too many idle: close the least recently used.
            let idle = state.entries.filter { $0.key != key && $0.value.leases == 0 }
                .sorted { $0.value.lastUsed < $1.value.lastUsed }
            let adding = state.entries[key] == nil ? 1 : 0
            var excess = max(0, state.entries.count + adding - capacity)
            for (idleKey, entry) in idle where excess > 0 || now - entry.lastUsed > idleLifetime {
                retired.append(entry.client)
                state.entries[idleKey] = nil
                excess -= 1
            }
            if state.entries[key] == nil {
                var configuration = makeConfiguration(key.verifyTLS)
                configuration.dnsOverride = [key.host: key.address]
                state.entries[key] = Entry(
                    client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration),
                    leases: 0,
                    lastUsed: now
                )
            }
            state.entries[key]!.leases += 1
            state.entries[key]!.lastUsed = now
            return (state.entries[key]!.client, retired)
        }
    }

    private func release(_ key: Key) {
        state.withLock { state in
            guard state.entries[key] != nil else { return }
            state.entries[key]!.leases -= 1
            state.entries[key]!.lastUsed = .now
        }
    }
}
