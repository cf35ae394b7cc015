import AsyncHTTPClient
import Foundation
import NIOSSL
import Synchronization
import Testing

@testable import Webhooks

/// DNS rebinding: a name that resolves to a public address when the sender checks it and to a
/// private one afterwards must not reach the private one — the connection goes to the address
/// that was checked, for `http` and for `https` (where TLS must still name the host).
@Suite("Pinned targets: no DNS rebinding", .timeLimit(.minutes(1)))
struct PinningTests {
    /// A name server that answers 127.0.0.2 the first time and 127.0.0.1 after that.
    final class RebindingNameServer: Sendable {
        let asked = Atomic<Int>(0)

        func lookUp(_ host: String) async throws -> [TargetResolver.Address] {
            let first = asked.wrappingAdd(1, ordering: .relaxed).oldValue == 0
            let bytes: [UInt8] = first ? [127, 0, 0, 2] : [127, 0, 0, 1]
            return [TargetResolver.Address(bytes: bytes, text: bytes.map(String.init).joined(separator: "."))]
        }
    }

    /// A test cannot listen on a public address, so 127.0.0.2 stands for one; every other
    /// address is judged by the real policy (127.0.0.1 stays a refused loopback address).
    static func policy(_ bytes: [UInt8]) -> String? {
        bytes == [127, 0, 0, 2] ? nil : AddressPolicy.restriction(of: bytes)
    }

    static func sender(
        _ names: RebindingNameServer,
        trusting identity: Receiver.Identity?
    ) -> DeliverySender {
        let resolver = TargetResolver(allowPrivate: false, restriction: Self.policy, lookUp: names.lookUp)
        let certificate = identity?.certificate
        return DeliverySender(resolver: resolver, timeout: .seconds(10), connectionsPerHost: 1) { configuration in
            guard let certificate else { return }
            var tls = configuration.tlsConfiguration ?? .makeClientConfiguration()
            tls.trustRoots = .certificates([certificate])
            configuration.tlsConfiguration = tls
        }
    }

    static func request(_ url: String) throws -> RenderedRequest {
        let target = try TargetURL.parse(url)
        return RenderedRequest(method: "POST", url: target, headers: [.init("host", target.hostHeader)], body: "x")
    }

    @Test(arguments: ["http", "https"])
    func theConnectionGoesToTheCheckedAddress(scheme: String) async throws {
        let identity = scheme == "https" ? try Receiver.Identity(dnsName: "localhost") : nil
        // "localhost" is what the system resolves again: 127.0.0.1, where the private receiver
        // listens on the same port as the checked one.
        let checked = try await Receiver.start(host: "127.0.0.2", identity: identity)
        let rebound = try await Receiver.start(host: "127.0.0.1", port: checked.port, identity: identity)
        let names = RebindingNameServer()
        let sender = Self.sender(names, trusting: identity)

        let first = await sender.send(
            try Self.request("\(scheme)://localhost:\(checked.port)/hook"),
            secret: nil,
            eventID: 1,
            verifyTLS: true
        )
        let second = await sender.send(
            try Self.request("\(scheme)://localhost:\(checked.port)/hook"),
            secret: nil,
            eventID: 2,
            verifyTLS: true
        )
        await sender.shutdown()
        await checked.stop()
        await rebound.stop()

        #expect(first.result == .response(status: 200, retryAfter: nil))
        #expect(second.result == .response(status: 200, retryAfter: nil))
        #expect(checked.requests == 2)
        #expect(rebound.requests == 0)
        if identity != nil {
            // TLS named the host, not the address: SNI, and the certificate (issued for
            // "localhost" only) was verified against it.
            #expect(!checked.serverNames.isEmpty)
            #expect(checked.serverNames.allSatisfy { $0 == "localhost" })
        }
    }

    @Test func aPinnedHTTPSConnectionStillVerifiesTheCertificateAgainstTheHostName() async throws {
        let identity = try Receiver.Identity(dnsName: "other.example")
        let checked = try await Receiver.start(host: "127.0.0.2", identity: identity)
        let sender = Self.sender(RebindingNameServer(), trusting: identity)
        let verified = await sender.send(
            try Self.request("https://localhost:\(checked.port)/hook"),
            secret: nil,
            eventID: 1,
            verifyTLS: true
        )
        let unverified = await sender.send(
            try Self.request("https://localhost:\(checked.port)/hook"),
            secret: nil,
            eventID: 2,
            verifyTLS: false
        )
        await sender.shutdown()
        await checked.stop()

        guard case .failure(_, let retryable) = verified.result else {
            Issue.record("a certificate for another name was accepted: \(verified.result)")
            return
        }
        #expect(retryable)
        #expect(unverified.result == .response(status: 200, retryAfter: nil))
        #expect(checked.requests == 1)
    }

    @Test func pinnedClientsAreReusedAndIdleOnesClosed() async throws {
        let clients = PinnedClients(capacity: 2, idleLifetime: .seconds(3600)) { _ in HTTPClient.Configuration() }
        let a = PinnedClients.Key(host: "a.example", address: "192.0.2.1", verifyTLS: true)
        let b = PinnedClients.Key(host: "b.example", address: "192.0.2.2", verifyTLS: true)
        let c = PinnedClients.Key(host: "c.example", address: "192.0.2.3", verifyTLS: true)
        let first = try await clients.withClient(a) { ObjectIdentifier($0) }
        let again = try await clients.withClient(a) { ObjectIdentifier($0) }
        #expect(first == again)
        _ = try await clients.withClient(b) { _ in () }
        // A third idle client is one too many: the least recently used goes, busy ones stay.
        try await clients.withClient(c) { _ in
            #expect(clients.count == 2)
            try await clients.withClient(a) { _ in #expect(clients.count == 2) }
        }
        await clients.shutdown()
        #expect(clients.count == 0)
        await #expect(throws: (any Error).self) { try await clients.withClient(a) { _ in () } }
    }
}
