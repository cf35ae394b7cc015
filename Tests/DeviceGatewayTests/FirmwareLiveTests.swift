import AerosolServer
import AerosolTesting
import DeviceGateway
import DeviceProtocol
import Firmware
import Foundation
import Testing
import WireClient

@Suite("Firmware over the air, live: REST upload, TCP transfer, simulated device", .timeLimit(.minutes(1)))
struct FirmwareLiveTests {
    static func fast(_ configuration: inout Configuration) {
        configuration.gateway.helloTimeout = .seconds(15)
        configuration.maxFirmwareBytes = 64 * 1024
    }

    /// `PUT /v1/devices/:id` with `file` as a multipart upload.
    static func flash(_ file: [UInt8], device: String, on server: TestServer, token: String) async throws
        -> WireResponse
    {
        try await flash(file, path: "/v1/devices/\(device)", on: server, token: token)
    }

    /// `PUT path` (a device route of the user or of a product) with `file` as a multipart upload.
    static func flash(_ file: [UInt8], path: String, on server: TestServer, token: String) async throws
        -> WireResponse
    {
        let (contentType, body) = TestFirmware.multipart(file, fields: [("file_type", "binary")])
        let connection = try await server.connect()
        do {
            let response = try await connection.request(
                .PUT,
                path,
                headers: [("Content-Type", contentType), ("Authorization", "Bearer \(token)")],
                bytes: body
            )
            await connection.close()
            return response
        } catch {
            await connection.close()
            throw error
        }
    }

    /// The next update outcome of `firmware` that `matches`.
    static func next(
        _ firmware: SimulatedFirmware,
        where matches: (SimulatedFirmware.Update) -> Bool
    ) async -> SimulatedFirmware.Update? {
        for await update in firmware.updates where matches(update) { return update }
        return nil
    }

    /// Waits for the simulated device to apply an update of `size` bytes (or refuse one);
    /// records an issue and answers `false` unless it applied that.
    static func applied(_ firmware: SimulatedFirmware, size: Int) async -> Bool {
        let outcome = await next(firmware) {
            if case .applied = $0 { return true }
            if case .rejected = $0 { return true }
            return false
        }
        guard case .applied(let sent)? = outcome else {
            Issue.record("the device did not apply the update: \(String(describing: outcome))")
            return false
        }
        #expect(sent.size == size)
        return sent.size == size
    }

    @Test(arguments: [OTAProtocol.legacy, .v3])
    func aFileIsFlashedAndSucceedsOnceTheDeviceDescribesIt(_ otaProtocol: OTAProtocol) async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)
            let stream = try await EventStreamReader.open(server, "/v1/devices/\(device.hex)/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })

            var hello = DeviceSimulator.defaultHello
            if otaProtocol == .v3 { hello.flags.insert(.otaProtocolV3) }
            var simulator = try device.simulator(dataDirectory: server.dataDirectory, hello: hello)
            let firmware = SimulatedFirmware(otaProtocol: otaProtocol, platformID: 3)
            simulator.firmware = firmware
            let binary = TestFirmware.application(size: 20_000)

            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let reply = try await Self.flash(binary, device: device.hex, on: server, token: token)
                #expect(reply.status == 200, "\(reply.text)")
                #expect(reply.text == #"{"ok":true,"id":"\#(device.hex)","status":"Update started"}"#)
                guard await FirmwareLiveTests.applied(firmware, size: binary.count) else { return }
                _ = await Self.next(firmware) { if case .restart = $0 { return true } else { return false } }
                let started = try await stream.read(until: { $0.contains(#""data":"started ""#) })
                #expect(started.contains("event: spark/flash/status\n"))
                #expect(!started.contains(#""data":"success ""#))
            }
            // The device restarts and describes the module it now runs: only then success.
            #expect(firmware.installedModule?.function == .userPart)
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let events = try await stream.read(until: { $0.contains(#""data":"success ""#) })
                #expect(!events.contains(#""data":"failed"#), "\(events)")
            }
            await stream.close()
        }
    }

    @Test func badFilesAreRefusedBeforeAByteGoesToTheDevice() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)

            // Offline: nothing to send it to.
            let good = TestFirmware.application(size: 4_000)
            let offline = try await Self.flash(good, device: device.hex, on: server, token: token)
            #expect(offline.status == 404, "\(offline.text)")
            #expect(offline.text == #"{"ok":false,"error":"Device is not connected"}"#)

            var simulator = try device.simulator(dataDirectory: server.dataDirectory)
            let firmware = SimulatedFirmware(otaProtocol: .legacy, platformID: 3)
            simulator.firmware = firmware
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                func refused(_ file: [UInt8], _ status: Int = 400) async throws -> String {
                    let reply = try await Self.flash(file, device: device.hex, on: server, token: token)
                    #expect(reply.status == status, "\(reply.text)")
                    #expect(reply.text.hasPrefix(#"{"ok":false,"error":""#), "\(reply.text)")
                    return reply.text
                }
                let empty = try await refused([])
                #expect(empty.contains("0 bytes") || empty.lowercased().contains("short"), "\(empty)")
                let notModule = try await refused((0..<4_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
                #expect(notModule.lowercased().contains("prefix"), "\(notModule)")
                let wrongPlatform = try await refused(TestFirmware.application(size: 4_000, platformID: 12))
                #expect(wrongPlatform.lowercased().contains("platform"), "\(wrongPlatform)")
                let truncated = try await refused(Array(good.prefix(3_000)))
                #expect(truncated.lowercased().contains("truncated") || truncated.contains("declares"), "\(truncated)")
                var corrupt = good
                corrupt[1_000] ^= 0xFF
                let badCRC = try await refused(corrupt)
                #expect(badCRC.contains("CRC"), "\(badCRC)")
                let tooLarge = try await refused(TestFirmware.application(size: 70_000), 413)
                #expect(tooLarge.contains("65536"), "\(tooLarge)")

                // Nothing reached the device.
                let text = try await server.get("/v1/devices/\(device.hex)", token: token).text
                #expect(text.contains(#""online":true"#), "\(text)")
            }
        }
    }

    @Test func aSecondUpdateWhileOneRunsIsRefused() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)
            var simulator = try device.simulator(dataDirectory: server.dataDirectory)
            // A device that never acknowledges: the first update stays in progress.
            var misbehaviour = ReceiverMisbehaviour()
            misbehaviour.dropAlways = Set(0..<200)
            simulator.firmware = SimulatedFirmware(otaProtocol: .legacy, platformID: 3, misbehaviour: misbehaviour)
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let binary = TestFirmware.application(size: 40_000)
                let first = try await Self.flash(binary, device: device.hex, on: server, token: token)
                #expect(first.status == 200, "\(first.text)")
                let second = try await Self.flash(binary, device: device.hex, on: server, token: token)
                #expect(second.status == 409, "\(second.text)")
                #expect(second.text == #"{"ok":false,"error":"An update to this device is already in progress"}"#)
            }
        }
    }

    @Test func aV3TransferResumesAfterTheDeviceDropsItsConnection() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)
            let stream = try await EventStreamReader.open(server, "/v1/devices/\(device.hex)/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            var hello = DeviceSimulator.defaultHello
            hello.flags.insert(.otaProtocolV3)
            var simulator = try device.simulator(dataDirectory: server.dataDirectory, hello: hello)
            var misbehaviour = ReceiverMisbehaviour()
            misbehaviour.disconnectAfterChunks = 20
            let firmware = SimulatedFirmware(otaProtocol: .v3, platformID: 3, misbehaviour: misbehaviour)
            simulator.firmware = firmware
            let binary = TestFirmware.application(size: 40_000)

            _ = try? await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let reply = try await Self.flash(binary, device: device.hex, on: server, token: token)
                #expect(reply.status == 200, "\(reply.text)")
                _ = await Self.next(firmware) { if case .disconnect = $0 { return true } else { return false } }
            }
            try await stream.read(until: { $0.contains(#""data":"offline""#) })
            // Back online: the transfer goes on from what the device kept, to the end.
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let outcome = await Self.next(firmware) {
                    switch $0 {
                    case .applied, .rejected: true
                    default: false
                    }
                }
                guard case .applied? = outcome else {
                    Issue.record("the resumed update was not applied: \(String(describing: outcome))")
                    return
                }
                _ = await Self.next(firmware) { if case .restart = $0 { return true } else { return false } }
            }
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let events = try await stream.read(until: { $0.contains(#""data":"success ""#) })
                #expect(!events.contains(#""data":"failed"#), "\(events)")
            }
            await stream.close()
        }
    }

    @Test func anUpdateIsCancelledAndAnotherMayFollow() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)
            let stream = try await EventStreamReader.open(server, "/v1/devices/\(device.hex)/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            var simulator = try device.simulator(dataDirectory: server.dataDirectory)
            var misbehaviour = ReceiverMisbehaviour()
            misbehaviour.dropAlways = Set(0..<200)
            simulator.firmware = SimulatedFirmware(otaProtocol: .legacy, platformID: 3, misbehaviour: misbehaviour)
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let none = try await server.request(
                    .DELETE,
                    "/v1/devices/\(device.hex)/update",
                    headers: [("Authorization", "Bearer \(token)")]
                )
                #expect(none.status == 404, "\(none.text)")
                let binary = TestFirmware.application(size: 40_000)
                let first = try await Self.flash(binary, device: device.hex, on: server, token: token)
                #expect(first.status == 200, "\(first.text)")
                let cancel = try await server.request(
                    .DELETE,
                    "/v1/devices/\(device.hex)/update",
                    headers: [("Authorization", "Bearer \(token)")]
                )
                #expect(cancel.status == 200, "\(cancel.text)")
                #expect(cancel.text == #"{"ok":true,"id":"\#(device.hex)","status":"Update cancelled"}"#)
                let events = try await stream.read(until: { $0.contains(#""data":"failed "#) })
                #expect(events.contains("cancelled"), "\(events)")
                // The device is free for the next update.
                let again = try await Self.flash(binary, device: device.hex, on: server, token: token)
                #expect(again.status == 200, "\(again.text)")
            }
            await stream.close()
        }
    }

    @Test func aDeviceThatAsksForAChunkForeverEndsInFailedAndIsFreeAgain() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            let device = try TestDeviceIdentity()
            try await GatewayLiveTests.provision(device, on: server, token: token)
            let stream = try await EventStreamReader.open(server, "/v1/devices/\(device.hex)/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            var simulator = try device.simulator(dataDirectory: server.dataDirectory)
            var misbehaviour = ReceiverMisbehaviour()
            misbehaviour.dropAlways = [3]
            simulator.firmware = SimulatedFirmware(otaProtocol: .legacy, platformID: 3, misbehaviour: misbehaviour)
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let binary = TestFirmware.application(size: 20_000)
                let first = try await Self.flash(binary, device: device.hex, on: server, token: token)
                #expect(first.status == 200, "\(first.text)")
                let events = try await stream.read(until: { $0.contains(#""data":"failed "#) })
                #expect(!events.contains(#""data":"success ""#), "\(events)")
                // Nothing is left behind: the device takes the next update at once.
                let again = try await Self.flash(binary, device: device.hex, on: server, token: token)
                #expect(again.status == 200, "\(again.text)")
            }
            await stream.close()
        }
    }
}
