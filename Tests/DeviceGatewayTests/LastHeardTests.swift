import AerosolModels
import AerosolServer
import AerosolTesting
import Foundation
import Testing

/// `last_heard` follows a device's traffic, written behind it (a few seconds at most, and at
/// once when the device disconnects), not left at the time it connected.
@Suite("Last heard, live over TCP", .timeLimit(.minutes(1)))
struct LastHeardTests {
    static func lastHeard(_ server: TestServer, _ device: TestDeviceIdentity, token: String) async throws -> String {
        let detail = try await server.get("/v1/devices/\(device.hex)", token: token)
        #expect(detail.status == 200, "\(detail.text)")
        return try #require(try JSONValue(detail)["last_heard"]?.stringValue, "\(detail.text)")
    }

    @Test func lastHeardFollowsTheDevicesMessagesWhileItIsConnected() async throws {
        try await TestServer.with(configure: {
            GatewayLiveTests.fast(&$0)
            $0.gateway.lastHeardWriteInterval = .milliseconds(50)
        }) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)
            try await device.simulator(dataDirectory: server.dataDirectory).run(
                host: "127.0.0.1",
                port: server.devicePort
            ) { simulated in
                try await simulated.ping()
                let connected = try await Self.lastHeard(server, device, token: token)
                // The device keeps talking; its last_heard moves past the connect time.
                let deadline = ContinuousClock.now + .seconds(20)
                var latest = connected
                while latest == connected, ContinuousClock.now < deadline {
                    #expect(try await simulated.publish("temp", data: "21.5") == .empty)
                    try await Task.sleep(for: .milliseconds(100))
                    latest = try await Self.lastHeard(server, device, token: token)
                }
                #expect(latest > connected, "last_heard stayed at \(connected)")
                #expect(
                    try await JSONValue(server.get("/v1/devices/\(device.hex)", token: token))["online"] == .bool(true)
                )
            }
        }
    }

    @Test func aDisconnectWritesTheLastTimeAtOnce() async throws {
        try await TestServer.with(configure: {
            GatewayLiveTests.fast(&$0)
            // Never written behind during the test: only the disconnect can move it.
            $0.gateway.lastHeardWriteInterval = .seconds(3600)
        }) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)
            let connected = try await device.simulator(dataDirectory: server.dataDirectory).run(
                host: "127.0.0.1",
                port: server.devicePort
            ) { simulated in
                try await simulated.ping()
                let connected = try await Self.lastHeard(server, device, token: token)
                // A millisecond later than the connect time at least, so that the difference shows.
                try await Task.sleep(for: .milliseconds(5))
                #expect(try await simulated.publish("temp", data: "21.5") == .empty)
                return connected
            }
            // The offline report is written after the connection closed: wait for it.
            let deadline = ContinuousClock.now + .seconds(20)
            var detail = try JSONValue(try await server.get("/v1/devices/\(device.hex)", token: token))
            while detail["online"] == .bool(true), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                detail = try JSONValue(try await server.get("/v1/devices/\(device.hex)", token: token))
            }
            #expect(detail["online"] == .bool(false))
            let last = try #require(detail["last_heard"]?.stringValue)
            #expect(last > connected, "last_heard \(last) is not later than the connect time \(connected)")
        }
    }
}
