import AerosolServer
import AerosolTesting
import DeviceGateway
import Foundation
import Testing

/// An update over UDP/DTLS to the independent peer device (Python, written from the OTA notes,
/// not from our code): OTA v3 (its default Hello flags for Device OS 6.2 include `0x80`), a
/// chunk lost on the way and the connection dropped mid-transfer (the transfer resumes), then
/// the reboot as Device OS does it: Goodbye, the session resumed without a handshake, a full
/// Hello and a system Describe with the new module.
@Suite(
    "Firmware over the air, live over UDP/DTLS with the independent peer device",
    .enabled(if: PeerDevice.isAvailable, "needs the peer's venv: run Tests/Peers/run-tests.sh"),
    .timeLimit(.minutes(2))
)
struct UDPPeerFirmwareLiveTests {
    @Test func aV3UpdateWithALostChunkAndADropReachesThePeerAndSucceedsAfterItsReboot() async throws {
        try await TestServer.with(configure: UDPFirmwareLiveTests.fast) { server in
            let token = try await server.user("ada@example.com")
            let (peer, id) = try await UDPGatewayLiveTests.peer(server, token: token)
            defer { peer.stop() }
            let stream = try await EventStreamReader.open(server, "/v1/devices/\(id)/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            try await peer.run(["cmd": "connect"])
            _ = try await stream.read(until: { $0.contains(#"{"data":"online""#) })
            try await peer.run(["cmd": "ota", "drop_chunk": 5, "disconnect_after_chunk": 20])

            let binary = TestFirmware.application(size: 30_000, platformID: 12)
            let reply = try await FirmwareLiveTests.flash(binary, device: id, on: server, token: token)
            #expect(reply.status == 200, "\(reply.text)")
            try await peer.observe("ota_interrupted", timeout: .seconds(60))
            // The device comes back from a new port (the session resumed): the transfer goes on.
            try await peer.run(["cmd": "connect"])
            let complete = try await peer.observe("ota_complete", timeout: .seconds(60))
            #expect(complete["ok"] as? Bool == true, "\(complete)")
            #expect(complete["protocol"] as? String == "v3")
            try await peer.observe("rebooted", timeout: .seconds(30))
            let events = try await stream.read(until: {
                $0.contains(#""data":"success ""#) || $0.contains(#""data":"failed"#)
            })
            #expect(events.contains(#""data":"started ""#), "\(events)")
            #expect(events.contains(#""data":"success ""#), "\(events)")
            #expect(peer.violations.isEmpty, "\(peer.violations)")
        }
    }
}
