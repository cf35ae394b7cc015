import AerosolModels
import AerosolServer
import AerosolStore
import AerosolTesting
import CoAP
import DeviceGateway
import DeviceProtocol
import Foundation
import Testing

@Suite("Device gateway, live over TCP", .timeLimit(.minutes(1)))
struct GatewayLiveTests {
    static func fast(_ configuration: inout Configuration) {
        configuration.gateway.helloTimeout = .seconds(15)
    }

    /// Claims and provisions `device` for the user behind `token`.
    static func provision(_ device: TestDeviceIdentity, on server: TestServer, token: String) async throws {
        let claim = try await server.form(.POST, "/v1/devices", token: token, [("id", device.hex)])
        #expect(claim.status == 200)
        try await provisionKey(device, on: server, token: token)
    }

    /// Provisions the device's public key (`POST /v1/provisioning/:id`), expecting success.
    static func provisionKey(_ device: TestDeviceIdentity, on server: TestServer, token: String) async throws {
        let provision = try await server.form(
            .POST,
            "/v1/provisioning/\(device.hex)",
            token: token,
            [("publicKey", device.publicKey.pemRepresentation)]
        )
        #expect(provision.status == 200, "\(provision.text)")
        #expect(provision.text == #"{"ok":true,"deviceID":"\#(device.hex)"}"#)
    }

    @Test func aDeviceComesOnlinePublishesAndGoesOffline() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await Self.provision(device, on: server, token: token)
            let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })

            try await device.simulator(dataDirectory: server.dataDirectory).run(
                host: "127.0.0.1",
                port: server.devicePort
            ) { simulated in
                let online = try await stream.read(until: { $0.contains("event: spark/status\n") })
                #expect(online.contains(#"data: {"data":"online","ttl":60,"published_at":""#))
                #expect(online.contains(#""coreid":"\#(device.hex)"}"#))
                let detail = try await server.get("/v1/devices/\(device.hex)", token: token)
                #expect(detail.text.contains(#""online":true,"connected":true"#), "\(detail.text)")
                #expect(detail.text.contains(#""platform_id":3"#))
                #expect(detail.text.contains(#""last_ip_address":"127.0.0.1""#))

                let code = try await simulated.publish("temp", data: "21.5")
                #expect(code == .empty)
                try await simulated.publish("nested/name", data: "x", confirmable: false)
                let events = try await stream.read(until: { $0.contains("event: nested/name\n") })
                #expect(events.contains(#"event: temp\#ndata: {"data":"21.5","ttl":60,"published_at":""#))
                #expect(events.contains(#""coreid":"\#(device.hex)"}"#))
                try await simulated.ping()
            }

            let offline = try await stream.read(until: { $0.contains(#"{"data":"offline""#) })
            #expect(offline.contains(#"event: spark/status\#ndata: {"data":"offline""#))
            let detail = try await server.get("/v1/devices/\(device.hex)", token: token)
            #expect(detail.text.contains(#""online":false,"connected":false"#), "\(detail.text)")
            await stream.close()
        }
    }

    @Test func anUnprovisionedDeviceIsRefused() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let device = try TestDeviceIdentity()
            await #expect(throws: GatewayError.self) {
                try await device.simulator(dataDirectory: server.dataDirectory).run(
                    host: "127.0.0.1",
                    port: server.devicePort
                ) { _ in }
            }
        }
    }

    @Test func aDeviceWithAnotherKeyIsRefused() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await Self.provision(device, on: server, token: token)
            let impostor = try TestDeviceIdentity()
            let simulator = try DeviceSimulator(
                deviceID: device.id,
                privateKey: Data(impostor.privateKeyPEM.utf8),
                serverPublicKeyDER: try ServerKeyFile.load(at: server.dataDirectory + "/server-key.pem").publicKeyDER
            )
            await #expect(throws: GatewayError.self) {
                try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in }
            }
        }
    }

    @Test func publishesOverTheRateLimitGetTheSlowdownReply() async throws {
        try await TestServer.with(configure: {
            Self.fast(&$0)
            $0.gateway.publishRate = 0.01
            $0.gateway.publishBurst = 2
        }) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await Self.provision(device, on: server, token: token)
            try await device.simulator(dataDirectory: server.dataDirectory).run(
                host: "127.0.0.1",
                port: server.devicePort
            ) { simulated in
                #expect(try await simulated.publish("a", data: "1") == .empty)
                #expect(try await simulated.publish("a", data: "2") == .empty)
                #expect(try await simulated.publish("a", data: "3") == .badRequest)
                // The connection survives the slowdown.
                try await simulated.ping()
            }
        }
    }

    @Test func aSilentDeviceIsTakenOfflineAfterTheIdleTimeout() async throws {
        try await TestServer.with(configure: {
            Self.fast(&$0)
            $0.gateway.idleTimeout = .seconds(1)
        }) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await Self.provision(device, on: server, token: token)
            let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            do {
                try await device.simulator(dataDirectory: server.dataDirectory).run(
                    host: "127.0.0.1",
                    port: server.devicePort
                ) { _ in
                    // The device says nothing more: the server must give up on it by itself.
                    _ = try await stream.read(until: { $0.contains(#"{"data":"offline""#) })
                }
            } catch {
                // The server may close the silent connection before the body has read the
                // offline event; the simulator then reports the closed connection.
            }
            try await stream.read(until: { $0.contains(#"{"data":"online""#) && $0.contains(#"{"data":"offline""#) })
            let detail = try await server.get("/v1/devices/\(device.hex)", token: token)
            #expect(detail.text.contains(#""online":false"#))
            await stream.close()
        }
    }

    @Test func theServerKeyIsCreatedPrivate() async throws {
        try await TestServer.with { server in
            let path = server.dataDirectory + "/server-key.pem"
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let key = try ServerKeyFile.load(at: path)
            let blob = try key.deviceBlob(address: ServerAddress("127.0.0.1"))
            #expect(blob.count == 512)
            #expect(Array(blob[384..<390]) == [0x00, 4, 127, 0, 0, 1])
        }
    }

    @Test func provisioningChecksItsInput() async throws {
        try await TestServer.with { server in
            let ada = try await server.user("ada@example.com")
            let bob = try await server.user("bob@example.com")
            let device = try TestDeviceIdentity()
            let bad = try await server.form(.POST, "/v1/provisioning/\(device.hex)", token: ada, [("publicKey", "x")])
            #expect(bad.status == 400)
            let anonymous = try await server.form(
                .POST,
                "/v1/provisioning/\(device.hex)",
                token: nil,
                [("publicKey", device.publicKey.pemRepresentation)]
            )
            #expect(anonymous.status == 400 || anonymous.status == 401)
            try await Self.provision(device, on: server, token: ada)
            // Another user may not replace the key of Ada's device.
            let other = try TestDeviceIdentity()
            let takeover = try await server.form(
                .POST,
                "/v1/provisioning/\(device.hex)",
                token: bob,
                [("publicKey", other.publicKey.pemRepresentation)]
            )
            #expect(takeover.status == 403)
        }
    }
}

/// A server killed with its devices connected never reported them offline; the next start must.
@Suite("Device status after a crash", .timeLimit(.minutes(1)))
struct GhostDeviceTests {
    @Test func devicesLeftOnlineByACrashedRunAreReportedOfflineAtStart() async throws {
        let directory = TestServer.makeDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let device = "0123456789abcdef01234567"
        let token = try await TestServer.with(dataDirectory: directory) { server in
            let token = try await server.user("ada@example.com")
            #expect(try await server.form(.POST, "/v1/devices", token: token, [("id", device)]).status == 200)
            return token
        }
        // What a run killed mid-connection leaves behind: the device recorded online.
        let database = try await TestDatabases.open(dataDirectory: directory, logger: TestServer.logger)
        _ = try await DeviceStore(database: database).connected(
            id: device,
            at: Date(),
            ipAddress: "192.0.2.1",
            platformID: 6,
            systemFirmwareVersion: nil
        )
        await database.close()

        try await TestServer.with(dataDirectory: directory) { server in
            let detail = try await server.get("/v1/devices/\(device)", token: token)
            #expect(detail.text.contains(#""connected":false"#), "\(detail.text)")
            let stream = try await EventStreamReader.open(
                server,
                "/v1/devices/events/spark?last_event_id=0",
                token: token
            )
            let text = try await stream.read(until: { $0.contains("event: spark/status\n") })
            #expect(text.contains(#""data":"offline""#))
            #expect(text.contains(#""coreid":"\#(device)""#))
            await stream.close()
        }
    }
}
