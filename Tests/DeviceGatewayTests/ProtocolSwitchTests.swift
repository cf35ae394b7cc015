import AerosolTesting
import Foundation
import Testing

/// One device, two protocols: the online registry, the status events and the device record are
/// shared by the TCP and UDP gateways, and the key decides which protocol the device may use.
@Suite(
    "A device that switches between UDP and TCP",
    .enabled(if: PeerDevice.isAvailable, "needs the peer's venv: run Tests/Peers/run-tests.sh"),
    .timeLimit(.minutes(2))
)
struct ProtocolSwitchTests {
    @Test func aUDPDeviceGivenAnRSAKeyLeavesUDPAndComesBackOverTCP() async throws {
        try await TestServer.with(configure: UDPGatewayLiveTests.fast) { server in
            let token = try await server.user("ada@example.com")
            let identity = try TestDeviceIdentity()
            let (peer, id) = try await UDPGatewayLiveTests.peer(
                server,
                token: token,
                extra: ["--device-id", identity.hex]
            )
            defer { peer.stop() }
            #expect(id == identity.hex)
            let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            try await peer.run(["cmd": "connect"])
            _ = try await stream.read(until: { $0.contains(#"{"data":"online""#) })

            // Its key becomes an RSA key: the UDP session ends at once (close_notify) and the
            // device is offline; it may come back only over TCP.
            let rekey = try await server.form(
                .POST,
                "/v1/provisioning/\(id)",
                token: token,
                [("publicKey", identity.publicKey.pemRepresentation)]
            )
            #expect(rekey.status == 200, "\(rekey.text)")
            try await peer.observe("session_discarded")
            _ = try await stream.read(until: { $0.contains(#"{"data":"offline""#) })

            try await identity.simulator(dataDirectory: server.dataDirectory).run(
                host: "127.0.0.1",
                port: server.devicePort
            ) { simulated in
                let online = try await stream.read(until: { $0.occurrences(of: #"{"data":"online""#) == 2 })
                #expect(online.contains(#""coreid":"\#(id)"}"#))
                #expect(try await simulated.publish("over", data: "tcp") == .empty)
                _ = try await stream.read(until: { $0.contains("event: over\n") })
            }
            // Nor can it handshake over UDP again: its EC key is no longer the provisioned one.
            try peer.post(["cmd": "connect", "fallback": false])
            try await peer.observe("rst")
            let detail = try await server.get("/v1/devices/\(id)", token: token)
            #expect(detail.text.contains(#""online":false"#), "\(detail.text)")
        }
    }
}
