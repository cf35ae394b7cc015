import AerosolModels
import AerosolServer
import AerosolTesting
import DeviceGateway
import Firmware
import Foundation
import Testing
import WireClient

/// The device JSON's firmware fields, live: what the device reported (its Hello's product
/// version, its published update flags) and what its product targets (lock, release,
/// development).
@Suite("Device JSON firmware fields, live", .timeLimit(.minutes(1)))
struct DeviceFirmwareFieldsLiveTests {
    @Test func theDeviceJSONShowsTheReportedVersionFlagsAndTheTarget() async throws {
        try await TestServer.with(configure: FirmwareLiveTests.fast) { server in
            let token = try await server.user("ada@example.com")
            let created = try await server.form(.POST, "/v1/products", token: token, [("name", "Lamps")])
            let productID = try #require(try JSONValue(created)["product"]?["id"]?.intValue)
            let device = try TestDeviceIdentity()
            _ = try await server.form(.POST, "/v1/products/lamps/devices", token: token, [("id", device.hex)])
            try await GatewayLiveTests.provision(device, on: server, token: token)

            // Nothing known yet.
            let before = try await server.get("/v1/products/lamps/devices/\(device.hex)", token: token).text
            #expect(
                before.contains(
                    #""firmware_version":null,"desired_firmware_version":null,"targeted_firmware_release_version":null,"development":false,"#
                ),
                "\(before)"
            )

            // Release 3, and keep the device a development device (not updated automatically).
            let three = TestFirmware.application(size: 7_000, productVersion: 3)
            try await ProductFirmwareTests.release(
                three,
                version: 3,
                title: "v3",
                product: "lamps",
                on: server,
                token: token
            )
            let development = try await server.request(
                .PUT,
                "/v1/products/lamps/devices/\(device.hex)",
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                body: #"{"development":true}"#
            )
            #expect(development.status == 200, "\(development.text)")

            var hello = DeviceSimulator.defaultHello
            hello.productID = UInt16(productID)
            hello.productFirmwareVersion = 1
            let simulator = try device.simulator(dataDirectory: server.dataDirectory, hello: hello)
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { connected in
                // As Device OS does at every connect (device-ota.md §6.2).
                #expect(try await connected.publish("particle/device/updates/enabled", data: "false") == .empty)
                #expect(try await connected.publish("particle/device/updates/forced", data: "true") == .empty)
                let product = try await server.get("/v1/products/lamps/devices/\(device.hex)", token: token).text
                #expect(
                    product.contains(
                        #""firmware_updates_enabled":false,"firmware_updates_forced":true,"firmware_product_id":\#(productID),"groups":[],"firmware_version":1,"desired_firmware_version":null,"targeted_firmware_release_version":3,"development":true,"quarantined":false,"denied":false}"#
                    ),
                    "\(product)"
                )
                let listing = try await server.get("/v1/products/lamps/devices", token: token).text
                #expect(listing.contains(#""firmware_version":1,"#), "\(listing)")
            }

            // Locked to 3 (any uploaded version): the lock is the target.
            let lock = try await server.request(
                .PUT,
                "/v1/products/lamps/devices/\(device.hex)",
                headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
                body: #"{"desired_firmware_version":3}"#
            )
            #expect(lock.status == 200, "\(lock.text)")
            let locked = try await server.get("/v1/products/lamps/devices/\(device.hex)", token: token).text
            #expect(
                locked.contains(#""desired_firmware_version":3,"targeted_firmware_release_version":3,"#),
                "\(locked)"
            )
        }
    }
}
