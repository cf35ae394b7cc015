import AerosolServer
import AerosolTesting
import Foundation
import Testing

/// The device gateway's metrics: a device online counted by protocol, its handshake, and a
/// request to it timed by kind; its ID never written.
@Suite("Device gateway metrics", .timeLimit(.minutes(1)))
struct GatewayMetricsTests {
    @Test func aConnectedDeviceItsHandshakeAndAPingAreCounted() async throws {
        try await TestServer.with(configure: GatewayLiveTests.fast) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)
            let before = try await MetricsScrape.read(server)
            let stream = try await EventStreamReader.open(server, "/v1/devices/events/spark", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })

            try await device.simulator(dataDirectory: server.dataDirectory).run(
                host: "127.0.0.1",
                port: server.devicePort
            ) { _ in
                try await stream.read(until: { $0.contains(#"{"data":"online""#) })
                let ping = try await server.request(
                    .PUT,
                    "/v1/devices/\(device.hex)/ping",
                    headers: [("Authorization", "Bearer \(token)")]
                )
                #expect(ping.status == 200, "\(ping.text)")

                let after = try await MetricsScrape.read(server)
                func delta(_ series: String) -> Double { after.value(series) - before.value(series) }
                #expect(after.value(#"aerosol_devices_connected{protocol="tcp"}"#) == 1)
                #expect(after.value(#"aerosol_devices_connected{protocol="udp"}"#) == 0)
                #expect(delta(#"aerosol_device_handshakes_total{protocol="tcp",outcome="completed"}"#) >= 1)
                #expect(delta(#"aerosol_device_request_duration_seconds_count{kind="ping"}"#) >= 1)
                #expect(delta(#"aerosol_events_published_total{source="cloud"}"#) >= 1)
                #expect(!after.text.contains(device.hex))
                #expect(!after.text.contains(device.hex.uppercased()))
            }
            await stream.close()
        }
    }
}
