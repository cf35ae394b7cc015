import AerosolModels
import AerosolServer
import AerosolTesting
import DeviceGateway
import Firmware
import Foundation
import Testing
import WireClient

/// What follows a transfer: a device that never comes back with the new firmware gets
/// `failed`, and automatic updates that found every slot taken start when one frees.
@Suite("Firmware over the air, live: after the transfer, and queued automatic updates", .timeLimit(.minutes(1)))
struct FirmwareAfterTransferLiveTests {
    @Test func aDeviceThatDoesNotComeBackInTimeGetsFailedAndMayBeUpdatedAgain() async throws {
        try await TestServer.with(configure: { configuration in
            FirmwareLiveTests.fast(&configuration)
            configuration.gateway.firmwareRestartTimeout = .milliseconds(500)
        }) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)
            let stream = try await EventStreamReader.open(server, "/v1/devices/\(device.hex)/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            var simulator = try device.simulator(dataDirectory: server.dataDirectory)
            let firmware = SimulatedFirmware(otaProtocol: .legacy, platformID: 3)
            simulator.firmware = firmware
            let binary = TestFirmware.application(size: 8_000)

            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let reply = try await FirmwareLiveTests.flash(binary, device: device.hex, on: server, token: token)
                #expect(reply.status == 200, "\(reply.text)")
                _ = await FirmwareLiveTests.next(firmware) {
                    if case .restart = $0 { return true } else { return false }
                }
            }
            // The device stays away: the update fails once the restart timeout is over.
            let events = try await stream.read(until: { $0.contains(#""data":"failed "#) })
            #expect(
                events.contains(#""data":"failed the device did not come back with the new firmware within"#),
                "\(events)"
            )
            #expect(!events.contains(#""data":"success ""#), "\(events)")
            // Its slot is free: the next update starts (no 409).
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let again = try await FirmwareLiveTests.flash(binary, device: device.hex, on: server, token: token)
                #expect(again.status == 200, "\(again.text)")
                _ = await FirmwareLiveTests.next(firmware) {
                    if case .restart = $0 { return true } else { return false }
                }
            }
            await stream.close()
        }
    }

    @Test func withOneSlotASecondProductDeviceWaitsAndIsUpdatedWhenTheFirstIsDone() async throws {
        try await TestServer.with(configure: { configuration in
            FirmwareLiveTests.fast(&configuration)
            configuration.gateway.otaConcurrency = 1
        }) { server in
            let token = try await server.user("ada@example.com")
            let created = try await server.form(.POST, "/v1/products", token: token, [("name", "Lamps")])
            let productID = try #require(try JSONValue(created)["product"]?["id"]?.intValue)
            var devices: [TestDeviceIdentity] = []
            for _ in 0..<2 {
                let device = try TestDeviceIdentity()
                let added = try await server.form(
                    .POST,
                    "/v1/products/lamps/devices",
                    token: token,
                    [("id", device.hex)]
                )
                #expect(added.status == 200, "\(added.text)")
                try await GatewayLiveTests.provision(device, on: server, token: token)
                devices.append(device)
            }
            // A larger file, so that the first transfer is still running when the second
            // device asks.
            let binary = TestFirmware.application(size: 60_000, productVersion: 3)
            try await ProductFirmwareTests.release(
                binary,
                version: 3,
                title: "Blink",
                product: "lamps",
                on: server,
                token: token
            )

            // Both connect on version 1 and stay connected until their update restarts them:
            // the one that found the slot taken must be started from the queue.
            var hello = DeviceSimulator.defaultHello
            hello.productID = UInt16(productID)
            hello.productFirmwareVersion = 1
            var simulators: [DeviceSimulator] = []
            for device in devices {
                var simulator = try device.simulator(dataDirectory: server.dataDirectory, hello: hello)
                simulator.firmware = SimulatedFirmware(otaProtocol: .legacy, platformID: 3)
                simulators.append(simulator)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for simulator in simulators {
                    group.addTask {
                        try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                            let firmware = try #require(simulator.firmware)
                            _ = await FirmwareLiveTests.next(firmware) {
                                if case .restart = $0 { return true } else { return false }
                            }
                        }
                        // It comes back and describes the new module, as a real device does: a
                        // transfer whose last answer the restart cut off is confirmed only then
                        // (until then it holds its slot).
                        try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in }
                    }
                }
                try await group.waitForAll()
            }
            for simulator in simulators {
                #expect(simulator.firmware?.productVersion == 3)
            }
        }
    }
}
