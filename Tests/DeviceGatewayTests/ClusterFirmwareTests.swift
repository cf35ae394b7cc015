import AerosolModels
import AerosolServer
import AerosolStore
import AerosolTesting
import DeviceGateway
import DeviceProtocol
import Firmware
import Foundation
import Logging
import Testing

/// Firmware updates through a node that does not hold the device's connection (several nodes on
/// one PostgreSQL database; run when the tests run on PostgreSQL).
@Suite(
    "Firmware updates across nodes",
    .timeLimit(.minutes(1)),
    .enabled(if: TestDatabases.engine == .postgres)
)
struct ClusterFirmwareTests {
    @Test func aFileFlashedThroughOneNodeReachesTheDeviceOnAnother() async throws {
        try await TestCluster.with(nodes: 2, configure: FirmwareLiveTests.fast) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let token = try await a.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: a, token: token)
            let stream = try await EventStreamReader.open(a, "/v1/devices/\(device.hex)/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            var simulator = try device.simulator(dataDirectory: b.dataDirectory)
            let firmware = SimulatedFirmware(otaProtocol: .legacy, platformID: 3)
            simulator.firmware = firmware
            let binary = TestFirmware.application(size: 12_000)
            try await simulator.run(host: "127.0.0.1", port: b.devicePort) { _ in
                try await stream.read(until: { $0.contains(#""data":"online""#) })
                // B checks the file against the device; its verdict comes back through A.
                let wrong = try await FirmwareLiveTests.flash(
                    TestFirmware.application(size: 4_000, platformID: 12),
                    device: device.hex,
                    on: a,
                    token: token
                )
                #expect(wrong.status == 400, "\(wrong.text)")
                #expect(wrong.text.hasPrefix(#"{"ok":false,"error":"Platform mismatch"#), "\(wrong.text)")
                // Asked through A, B answers that it has no update to cancel.
                let cancel = try await a.request(
                    .DELETE,
                    "/v1/devices/\(device.hex)/update",
                    headers: [("Authorization", "Bearer \(token)")]
                )
                #expect(cancel.status == 404)
                #expect(cancel.text == #"{"ok":false,"error":"No update to this device is in progress"}"#)
                let reply = try await FirmwareLiveTests.flash(binary, device: device.hex, on: a, token: token)
                #expect(reply.status == 200, "\(reply.text)")
                #expect(reply.text == #"{"ok":true,"id":"\#(device.hex)","status":"Update started"}"#)
                guard await FirmwareLiveTests.applied(firmware, size: binary.count) else { return }
                let started = try await stream.read(until: { $0.contains(#""data":"started ""#) })
                #expect(started.contains("event: spark/flash/status\n"))
                _ = await FirmwareLiveTests.next(firmware) {
                    if case .restart = $0 { return true } else { return false }
                }
            }
            #expect(firmware.installedModule?.function == .userPart)
            // The file stays in the database for an hour (other devices may get it too), then goes.
            let database = try await TestDatabases.open(dataDirectory: a.dataDirectory, logger: Logger(label: "test"))
            let files = FirmwareFileStore(database: database, directory: a.dataDirectory + "/firmware")
            let sha256 = FirmwareFileStore.digest(binary)
            #expect(try await files.bytes(sha256).count == binary.count)
            try await files.sweep(olderThan: .zero)
            await #expect(throws: StoreError.self) { try await files.bytes(sha256) }
            await database.close()
        }
    }

    @Test func aReleaseUploadedThroughOneNodeUpdatesADeviceOnAnother() async throws {
        try await TestCluster.with(nodes: 2, configure: FirmwareLiveTests.fast) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            let token = try await a.user("ada@example.com")
            let (productID, device) = try await ProductFirmwareTests.lampsDevice(on: a, token: token)
            let binary = TestFirmware.application(size: 8_000, productVersion: 3)
            try await ProductFirmwareTests.release(
                binary,
                version: 3,
                title: "Blink",
                product: "lamps",
                on: a,
                token: token
            )
            // B has no file of it: it reads it from the database when the device connects.
            let sha256 = FirmwareFileStore.digest(binary)
            #expect(!FileManager.default.fileExists(atPath: b.dataDirectory + "/firmware/\(sha256).bin"))

            var hello = DeviceSimulator.defaultHello
            hello.productID = UInt16(productID)
            hello.productFirmwareVersion = 1
            var simulator = try device.simulator(dataDirectory: b.dataDirectory, hello: hello)
            let firmware = SimulatedFirmware(otaProtocol: .legacy, platformID: 3)
            simulator.firmware = firmware
            try await simulator.run(host: "127.0.0.1", port: b.devicePort) { _ in
                _ = await FirmwareLiveTests.next(firmware) {
                    if case .restart = $0 { return true } else { return false }
                }
            }
            #expect(firmware.productVersion == 3)
            #expect(FileManager.default.fileExists(atPath: b.dataDirectory + "/firmware/\(sha256).bin"))
        }
    }
}
