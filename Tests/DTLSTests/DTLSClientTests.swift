import DTLS
import Testing

/// The simulator's DTLS client against the server's handshake machine, without sockets.
@Suite("DTLS client")
struct DTLSClientTests {
    /// The server's answer to `datagram` (its first `send`).
    static func answer(_ server: inout DTLSHandshake, _ datagram: [UInt8]) throws -> [UInt8] {
        try #require(server.receive(datagram[...], at: HandshakeHarness.origin).compactMap(\.sent).first)
    }

    @Test func aServerFlightThatAnswersAnotherClientHelloIsIgnored() throws {
        let configuration = HandshakeHarness.configuration(cookies: false)
        var earlier = DTLSHandshake(configuration: configuration, clientAddress: HandshakeHarness.address)
        var current = DTLSHandshake(configuration: configuration, clientAddress: HandshakeHarness.address)
        let key = HandshakeHarness.serverKey.publicKey
        var old = DTLSClient(deviceKey: HandshakeHarness.deviceKey, serverPublicKey: key)
        var client = DTLSClient(deviceKey: HandshakeHarness.deviceKey, serverPublicKey: key)
        let stale = try Self.answer(&earlier, old.clientHello())
        let flight = try Self.answer(&current, client.clientHello())
        // Signed over the earlier attempt's random: dropped, and nothing of it is kept.
        #expect(try client.receive(stale) == nil)
        let final = try #require(try client.receive(flight))
        let finished = try Self.answer(&current, final)
        #expect(current.isCompleted)
        _ = try client.receive(finished)
        #expect(client.isEstablished)
    }
}
