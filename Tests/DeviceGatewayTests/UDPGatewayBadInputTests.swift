import AerosolTesting
import Foundation
import NIOCore
import NIOPosix
import Testing

/// Datagrams no device would send, at a live UDP gateway: each is dropped (and its reason logged
/// once), none crashes the server or costs it lasting memory, and a real device still gets
/// through afterwards.
@Suite(
    "Device gateway over UDP: bad input",
    .enabled(if: PeerDevice.isAvailable, "needs the peer's venv: run Tests/Peers/run-tests.sh"),
    .timeLimit(.minutes(2))
)
struct UDPGatewayBadInputTests {
    /// A ClientHello as Device OS sends it (without cookie), with a given random.
    static func clientHello(random: [UInt8], sequence: UInt64) -> [UInt8] {
        var body: [UInt8] = [0xfe, 0xfd] + random + [0x00, 0x00]
        body += [0x00, 0x04, 0xc0, 0xae, 0x00, 0xff, 0x01, 0x00]
        body += [0x00, 0x2d]
        body += [0x00, 0x0d, 0x00, 0x0a, 0x00, 0x08, 0x04, 0x03, 0x04, 0x01, 0x03, 0x03, 0x03, 0x01]
        body += [0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17]
        body += [0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]
        body += [0x00, 0xfe, 0x00, 0x01, 0x00]
        body += [0x00, 0x13, 0x00, 0x02, 0x01, 0x02]
        body += [0x00, 0x14, 0x00, 0x02, 0x01, 0x02]
        let length = [UInt8(body.count >> 16), UInt8(body.count >> 8 & 0xFF), UInt8(body.count & 0xFF)]
        let handshake: [UInt8] = [0x01] + length + [0x00, 0x00, 0x00, 0x00, 0x00] + length + body
        var record: [UInt8] = [0x16, 0xfe, 0xfd, 0x00, 0x00]
        record += (0..<6).map { UInt8(truncatingIfNeeded: sequence >> (40 - 8 * $0)) }
        record += [UInt8(handshake.count >> 8), UInt8(handshake.count & 0xFF)]
        return record + handshake
    }

    @Test func garbageFloodsAndForgeriesAreDroppedAndARealDeviceStillConnects() async throws {
        try await TestServer.with(configure: UDPGatewayLiveTests.fast) { server in
            let token = try await server.user("ada@example.com")
            let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0)
                .get()
            let target = try SocketAddress(ipAddress: "127.0.0.1", port: server.udpDevicePort)
            var generator = SplitMix64(seed: 0x5EED)
            var datagrams: [[UInt8]] = [
                [], [0x00], [0x16], [0x19, 0xfe, 0xfd], Array(repeating: 0xFF, count: 1500),
                // A CID record for a session that does not exist, and a truncated one.
                [0x19, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 5] + Array(repeating: 7, count: 8) + [0, 24]
                    + Array(repeating: 0, count: 24),
                [0xfd, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2, 3],
                // Pre-3.1 resumption and plain application data: not supported, dropped.
                [0xfe, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4] + Array(repeating: 9, count: 12) + [12],
                [0x17, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4],
            ]
            for _ in 0..<300 {
                let first = [0x14, 0x15, 0x16, 0x17, 0x19, 0xfd, 0xfe, 0x42][Int.random(in: 0..<8, using: &generator)]
                let count = Int.random(in: 1..<200, using: &generator)
                datagrams.append([UInt8(first)] + (1..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
            }
            // A ClientHello flood (as from spoofed sources): each gets a stateless HelloVerifyRequest.
            for sequence in 0..<2000 {
                let random = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
                datagrams.append(Self.clientHello(random: random, sequence: UInt64(sequence)))
            }
            for datagram in datagrams {
                let envelope = AddressedEnvelope(remoteAddress: target, data: ByteBuffer(bytes: datagram))
                try await channel.writeAndFlush(envelope).get()
            }
            try await channel.close()

            let (peer, id) = try await UDPGatewayLiveTests.peer(server, token: token)
            defer { peer.stop() }
            try await peer.run(["cmd": "connect"])
            try await peer.run(["cmd": "publish", "name": "still", "data": "here"])
            let detail = try await server.get("/v1/devices/\(id)", token: token)
            #expect(detail.text.contains(#""online":true"#), "\(detail.text)")
            #expect(peer.violations.isEmpty, "\(peer.violations)")
        }
    }
}
