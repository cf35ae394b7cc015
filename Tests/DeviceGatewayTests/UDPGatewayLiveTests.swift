import AerosolServer
import AerosolTesting
import DeviceGateway
import DeviceProtocol
import Foundation
import Testing

/// The UDP/DTLS gateway against an independent device (the Python peer, written from the
/// protocol notes) over a real UDP socket on 127.0.0.1.
@Suite(
    "Device gateway, live over UDP/DTLS with the independent peer device",
    .enabled(if: PeerDevice.isAvailable, "needs the peer's venv: run Tests/Peers/run-tests.sh"),
    .timeLimit(.minutes(2))
)
struct UDPGatewayLiveTests {
    static func fast(_ configuration: inout Configuration) {
        configuration.gateway.helloTimeout = .seconds(15)
        configuration.gateway.udpRetransmissionTimeout = .milliseconds(300)
        configuration.gateway.publishBurst = 50
    }

    /// Writes the server's 320-byte UDP key blob for 127.0.0.1 and returns its path.
    static func serverBlob(_ server: TestServer) throws -> String {
        let key = try ECServerKeyFile.load(at: DataDirectory(path: server.dataDirectory).udpServerKeyPath)
        let path = server.dataDirectory + "/server_key_udp.der"
        try Data(try key.deviceBlob(address: ServerAddress("127.0.0.1"))).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Starts a peer device for `server` and provisions its key for the user behind `token`.
    static func peer(
        _ server: TestServer,
        token: String,
        extra: [String] = []
    ) async throws -> (PeerDevice, String) {
        let keyPath = server.dataDirectory + "/device-\(UUID().uuidString).der"
        let peer = try PeerDevice(
            [
                "--server", "127.0.0.1:\(server.udpDevicePort)", "--server-key", try serverBlob(server),
                "--device-key", keyPath, "--short-timers", "--keepalive", "0",
                "--variable", "temp:double:21.5", "--function", "led:len", "--subscribe", "srv/",
            ] + extra
        )
        let ready = try await peer.observe("ready")
        let id = try #require(ready["device_id"] as? String)
        let pem = try #require(ready["public_key_pem"] as? String)
        let provision = try await server.form(.POST, "/v1/provisioning/\(id)", token: token, [("publicKey", pem)])
        #expect(provision.status == 200, "\(provision.text)")
        return (peer, id)
    }

    @Test func aDeviceHandshakesPublishesIsReadAndCalledResumesAndSaysGoodbye() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            #expect(server.udpDevicePort > 0)
            let token = try await server.user("ada@example.com")
            let (peer, id) = try await Self.peer(server, token: token)
            defer { peer.stop() }
            let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })

            // Full handshake, Hello, online.
            let connected = try await peer.run(["cmd": "connect"])
            #expect(connected["resumed"] as? Bool == false)
            let online = try await stream.read(until: { $0.contains(#"{"data":"online""#) })
            #expect(online.contains(#""coreid":"\#(id)"}"#))
            let detail = try await server.get("/v1/devices/\(id)", token: token)
            #expect(detail.text.contains(#""online":true"#), "\(detail.text)")

            // Publish reaches the event stream.
            try await peer.run(["cmd": "publish", "name": "temp", "data": "21.5"])
            let events = try await stream.read(until: { $0.contains("event: temp\n") })
            #expect(events.contains(#"event: temp\#ndata: {"data":"21.5","ttl":60,"published_at":""#))

            // Variables, functions and subscriptions, through the REST API.
            let variable = try await server.get("/v1/devices/\(id)/temp", token: token)
            #expect(variable.status == 200, "\(variable.text)")
            #expect(variable.text.contains(#""result":21.5"#), "\(variable.text)")
            let call = try await server.form(.POST, "/v1/devices/\(id)/led", token: token, [("arg", "four")])
            #expect(call.status == 200, "\(call.text)")
            #expect(call.text.contains(#""return_value":4"#), "\(call.text)")
            try await server.publish("srv/hello", "there", token: token)
            let delivered = try await peer.next {
                $0["type"] as? String == "event" && $0["name"] as? String == "srv/hello"
            }
            #expect(delivered["data"] as? String == "there")

            // A server CON the device never sees is sent again.
            try await peer.run(["cmd": "set", "ignore_server_cons": 1])
            let again = try await server.get("/v1/devices/\(id)/temp", token: token)
            #expect(again.text.contains(#""result":21.5"#), "\(again.text)")

            // Resume from a new source port: no handshake, the same session.
            let resumed = try await peer.run(["cmd": "reconnect"])
            #expect(resumed["resumed"] as? Bool == true)
            #expect(resumed["local_port"] as? Int != connected["local_port"] as? Int)
            try await peer.run(["cmd": "publish", "name": "after", "data": "resume"])
            _ = try await stream.read(until: { $0.contains("event: after\n") })
            let afterResume = try await server.get("/v1/devices/\(id)/temp", token: token)
            #expect(afterResume.text.contains(#""result":21.5"#), "\(afterResume.text)")

            // Goodbye: offline at once, the session kept; the device comes back without a handshake.
            try await peer.run(["cmd": "goodbye", "cloud_reason": 6, "sleep": 600, "disconnect": true])
            _ = try await stream.read(until: { $0.contains(#"{"data":"offline""#) })
            let back = try await peer.run(["cmd": "connect"])
            #expect(back["resumed"] as? Bool == true)
            let onlineAgain = try await stream.read(until: { $0.occurrences(of: #"{"data":"online""#) == 2 })
            #expect(onlineAgain.contains(#""coreid":"\#(id)"}"#))
            try await server.publish("srv/again", token: token)
            try await peer.next { $0["type"] as? String == "event" && $0["name"] as? String == "srv/again" }

            #expect(peer.violations.isEmpty, "\(peer.violations)")
        }
    }

    @Test func aSilentDeviceGoesOfflineAndComesBackOnlineWithItsNextRecord() async throws {
        try await TestServer.with(configure: { configuration in
            Self.fast(&configuration)
            configuration.gateway.udpOfflineAfter = .seconds(1)
        }) { server in
            let token = try await server.user("ada@example.com")
            let (peer, id) = try await Self.peer(server, token: token)
            defer { peer.stop() }
            let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            try await peer.run(["cmd": "connect"])
            _ = try await stream.read(until: { $0.contains(#"{"data":"online""#) })
            // No keep-alive (--keepalive 0): silent past the offline limit, reported offline.
            let offline = try await stream.read(until: { $0.contains(#"{"data":"offline""#) })
            #expect(offline.contains(#""coreid":"\#(id)"}"#))
            let detail = try await server.get("/v1/devices/\(id)", token: token)
            #expect(detail.text.contains(#""online":false"#), "\(detail.text)")
            // Its session is kept: the next record brings it back, without a handshake.
            try await peer.run(["cmd": "ping"])
            _ = try await stream.read(until: { $0.occurrences(of: #"{"data":"online""#) == 2 })
            #expect(peer.violations.isEmpty, "\(peer.violations)")
        }
    }

    @Test func aDeviceWithAnotherKeyOrNoneIsRefused() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            // Provisioned with the key of another device: the handshake completes, the Hello is refused.
            let (other, _) = try await Self.peer(server, token: token)
            other.stop()
            let keyPath = server.dataDirectory + "/stranger.der"
            let stranger = try PeerDevice([
                "--server", "127.0.0.1:\(server.udpDevicePort)", "--server-key", try Self.serverBlob(server),
                "--device-key", keyPath, "--short-timers", "--keepalive", "0",
            ])
            defer { stranger.stop() }
            try await stranger.observe("ready")
            try stranger.post(["cmd": "connect", "fallback": false])
            try await stranger.observe("rst")
            try await stranger.observe("session_discarded")
            let detail = try await server.get("/v1/devices", token: token)
            #expect(!detail.text.contains(#""online":true"#), "\(detail.text)")
        }
    }
}
