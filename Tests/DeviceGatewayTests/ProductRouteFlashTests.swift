import AerosolModels
import AerosolServer
import AerosolTesting
import DeviceGateway
import Firmware
import Foundation
import Testing
import WireClient

/// `PUT /v1/products/:p/devices/:id` with a multipart `file` flashes the device, as the sandbox
/// route does (product routes mirror the sandbox ones, the device by ID only).
@Suite("Flashing through the product route, live", .timeLimit(.minutes(1)))
struct ProductRouteFlashTests {
    @Test func aProductDeviceIsFlashedThroughTheProductRoute() async throws {
        try await TestServer.with(configure: FirmwareLiveTests.fast) { server in
            let token = try await server.user("ada@example.com")
            _ = try await server.form(.POST, "/v1/products", token: token, [("name", "Lamps")])
            let device = try TestDeviceIdentity()
            let added = try await server.form(.POST, "/v1/products/lamps/devices", token: token, [("id", device.hex)])
            #expect(added.status == 200, "\(added.text)")
            try await GatewayLiveTests.provision(device, on: server, token: token)
            let path = "/v1/products/lamps/devices/\(device.hex)"
            let binary = TestFirmware.application(size: 9_000)

            // Offline: the sandbox route's answer.
            let offline = try await FirmwareLiveTests.flash(binary, path: path, on: server, token: token)
            #expect(offline.status == 404, "\(offline.text)")
            #expect(offline.text == #"{"ok":false,"error":"Device is not connected"}"#)

            var simulator = try device.simulator(dataDirectory: server.dataDirectory)
            let firmware = SimulatedFirmware(otaProtocol: .legacy, platformID: 3)
            simulator.firmware = firmware
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let wrong = try await FirmwareLiveTests.flash(
                    TestFirmware.application(size: 4_000, platformID: 12),
                    path: path,
                    on: server,
                    token: token
                )
                #expect(wrong.status == 400, "\(wrong.text)")
                let reply = try await FirmwareLiveTests.flash(binary, path: path, on: server, token: token)
                #expect(reply.status == 200, "\(reply.text)")
                #expect(reply.text == #"{"ok":true,"id":"\#(device.hex)","status":"Update started"}"#)
                guard await FirmwareLiveTests.applied(firmware, size: binary.count) else { return }
            }
            // A device of another product (or none) is not reachable through this product.
            let other = try TestDeviceIdentity()
            let missing = try await FirmwareLiveTests.flash(
                binary,
                path: "/v1/products/lamps/devices/\(other.hex)",
                on: server,
                token: token
            )
            #expect(missing.status == 404, "\(missing.text)")
        }
    }
}
