import AerosolServer
import AerosolTesting
import Foundation
import Testing

/// UDP sessions outlive the server: a device resumes after Aerosol restarted, without a
/// handshake, and is served with the Hello, Describe and subscriptions it gave before.
@Suite(
    "Device gateway over UDP: sessions across a restart of the server",
    .enabled(if: PeerDevice.isAvailable, "needs the peer's venv: run Tests/Peers/run-tests.sh"),
    .timeLimit(.minutes(2))
)
struct UDPSessionRestartTests {
    @Test func aDeviceResumesAfterARestartAndIsRefusedOnceReKeyed() async throws {
        let directory = TestServer.makeDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The device dials the same address and port after the restart, as a real one does.
        let udpPort = try await TestServer.freePort()
        let configure: @Sendable (inout Configuration) -> Void = { configuration in
            UDPGatewayLiveTests.fast(&configuration)
            configuration.udpDevicePort = udpPort
        }
        let started = try await TestServer.with(dataDirectory: directory, configure: configure) { server in
            let token = try await server.user("ada@example.com")
            let (peer, id) = try await UDPGatewayLiveTests.peer(server, token: token)
            let connected = try await peer.run(["cmd": "connect"])
            #expect(connected["resumed"] as? Bool == false)
            try await peer.run(["cmd": "publish", "name": "before", "data": "restart"])
            // The device goes quiet (no Goodbye) and keeps its session while the server restarts.
            try await peer.run(["cmd": "disconnect", "keep_session": true])
            return (peer, id)
        }
        let (peer, id) = started
        defer { peer.stop() }

        try await TestServer.with(dataDirectory: directory, configure: configure) { server in
            let token = try await server.login("ada@example.com")
            let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })

            let resumed = try await peer.run(["cmd": "connect", "fallback": false])
            #expect(resumed["resumed"] as? Bool == true)
            #expect(resumed["hello_sent"] as? Bool == false)
            let online = try await stream.read(until: { $0.contains(#"{"data":"online""#) })
            #expect(online.contains(#""coreid":"\#(id)"}"#))
            try await peer.run(["cmd": "publish", "name": "after", "data": "restart"])
            _ = try await stream.read(until: { $0.contains("event: after\n") })

            // What the device declared before the restart still serves the API.
            let variable = try await server.get("/v1/devices/\(id)/temp", token: token)
            #expect(variable.text.contains(#""result":21.5"#), "\(variable.text)")
            let call = try await server.form(.POST, "/v1/devices/\(id)/led", token: token, [("arg", "abc")])
            #expect(call.text.contains(#""return_value":3"#), "\(call.text)")
            try await server.publish("srv/restarted", "yes", token: token)
            try await peer.next { $0["type"] as? String == "event" && $0["name"] as? String == "srv/restarted" }
            #expect(peer.violations.isEmpty, "\(peer.violations)")

            // A new key for the device ends its session: it must handshake again.
            let other = try await UDPGatewayLiveTests.peer(server, token: token)
            other.0.stop()
            let rekey = try await server.form(
                .POST,
                "/v1/provisioning/\(id)",
                token: token,
                [("publicKey", try #require(other.0.transcript.first.flatMap(Self.publicKeyPEM)))]
            )
            #expect(rekey.status == 200, "\(rekey.text)")
            try await peer.observe("session_discarded")
        }
    }

    static func publicKeyPEM(_ line: String) -> String? {
        guard let data = line.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["public_key_pem"] as? String
    }
}
