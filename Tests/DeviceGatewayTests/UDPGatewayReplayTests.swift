import AerosolTesting
import Foundation
import NIOCore
import Testing

/// Records of a real session replayed, altered, truncated or moved to another epoch by someone
/// on the path: the gateway drops them all, handles nothing twice, and the device goes on.
@Suite(
    "Device gateway over UDP: replayed and forged records of a live session",
    .enabled(if: PeerDevice.isAvailable, "needs the peer's venv: run Tests/Peers/run-tests.sh"),
    .timeLimit(.minutes(2))
)
struct UDPGatewayReplayTests {
    @Test func replaysWrongMACsTruncationsAndOtherEpochsAreDropped() async throws {
        try await TestServer.with(configure: UDPGatewayLiveTests.fast) { server in
            let token = try await server.user("ada@example.com")
            let relay = try await DatagramRelay(
                to: try SocketAddress(ipAddress: "127.0.0.1", port: server.udpDevicePort)
            )
            let (peer, id) = try await UDPGatewayLiveTests.peer(
                server,
                token: token,
                extra: ["--server", "127.0.0.1:\(relay.port)"]
            )
            defer { peer.stop() }
            let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            try await peer.run(["cmd": "connect"])
            try await peer.run(["cmd": "publish", "name": "once", "data": "1"])
            _ = try await stream.read(until: { $0.contains("event: once\n") })

            let records = relay.captured
            #expect(!records.isEmpty)
            for record in records {
                try await relay.inject(record)  // a replay
                var flipped = record
                flipped[flipped.count - 1] ^= 0x01  // a wrong MAC
                try await relay.inject(flipped)
                try await relay.inject(Array(record.prefix(record.count / 2)))  // truncated
                var epoch = record
                epoch[4] ^= 0x02  // another epoch
                try await relay.inject(epoch)
            }
            try await peer.run(["cmd": "publish", "name": "twice", "data": "2"])
            let text = try await stream.read(until: { $0.contains("event: twice\n") })
            #expect(text.occurrences(of: "event: once\n") == 1, "the replayed event was published again")
            let variable = try await server.get("/v1/devices/\(id)/temp", token: token)
            #expect(variable.text.contains(#""result":21.5"#), "\(variable.text)")
            #expect(peer.violations.isEmpty, "\(peer.violations)")
            await relay.close()
        }
    }
}
