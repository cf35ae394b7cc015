import AerosolServer
import AerosolTesting
import Crypto
import DeviceGateway
import DeviceProtocol
import Firmware
import Foundation
import Testing
import WireClient

/// Firmware over the air to a UDP/DTLS device: the same transfer as over TCP, through the UDP
/// session's CoAP reliability, against the UDP device simulator.
@Suite("Firmware over the air, live over UDP/DTLS", .timeLimit(.minutes(1)))
struct UDPFirmwareLiveTests {
    static func fast(_ configuration: inout Configuration) {
        UDPGatewayLiveTests.fast(&configuration)
        configuration.maxFirmwareBytes = 64 * 1024
    }

    /// Provisions a new EC device and returns a simulator for it with `firmware`.
    static func simulator(
        _ server: TestServer,
        token: String,
        otaProtocol: OTAProtocol,
        firmware: SimulatedFirmware
    ) async throws -> DatagramSimulator {
        let key = P256.Signing.PrivateKey()
        var generator = SystemRandomNumberGenerator()
        let deviceID = try #require(DeviceID(bytes: (0..<12).map { _ in UInt8.random(in: 0...255, using: &generator) }))
        let provision = try await server.form(
            .POST,
            "/v1/provisioning/\(deviceID.hexString)",
            token: token,
            [("publicKey", key.publicKey.pemRepresentation), ("algorithm", "ecc")]
        )
        #expect(provision.status == 200, "\(provision.text)")
        let serverKey = try ECServerKeyFile.load(at: DataDirectory(path: server.dataDirectory).udpServerKeyPath)
        var hello = DatagramSimulator.defaultHello(deviceID: deviceID)
        if otaProtocol == .v3 { hello.flags.insert(.otaProtocolV3) }
        return try DatagramSimulator(
            deviceID: deviceID,
            privateKeyFile: key.derRepresentation,
            serverKeyFile: try serverKey.deviceBlob(address: ServerAddress("127.0.0.1")),
            hello: hello,
            application: SimulatedApplication(variables: [:], functions: [:]),
            firmware: firmware
        )
    }

    @Test(arguments: [OTAProtocol.legacy, .v3])
    func aFileIsFlashedOverUDPAndSucceedsOnceTheDeviceDescribesIt(_ otaProtocol: OTAProtocol) async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            let firmware = SimulatedFirmware(otaProtocol: otaProtocol, platformID: 12, transport: .udp)
            let simulator = try await Self.simulator(server, token: token, otaProtocol: otaProtocol, firmware: firmware)
            let device = simulator.deviceID.hexString
            let stream = try await EventStreamReader.open(server, "/v1/devices/\(device)/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })
            let binary = TestFirmware.application(size: 30_000, platformID: 12)

            try await simulator.run(host: "127.0.0.1", port: server.udpDevicePort) { _ in
                let reply = try await FirmwareLiveTests.flash(binary, device: device, on: server, token: token)
                #expect(reply.status == 200, "\(reply.text)")
                #expect(reply.text == #"{"ok":true,"id":"\#(device)","status":"Update started"}"#)
                guard await FirmwareLiveTests.applied(firmware, size: binary.count) else { return }
                _ = await FirmwareLiveTests.next(firmware) {
                    if case .restart = $0 { return true } else { return false }
                }
                let started = try await stream.read(until: { $0.contains(#""data":"started ""#) })
                #expect(started.contains("event: spark/flash/status\n"))
                #expect(!started.contains(#""data":"success ""#))
            }
            // The restarted device handshakes again and describes the module it now runs.
            #expect(!simulator.canResume)
            #expect(firmware.installedModule?.function == .userPart)
            try await simulator.run(host: "127.0.0.1", port: server.udpDevicePort) { _ in
                let events = try await stream.read(until: { $0.contains(#""data":"success ""#) })
                #expect(!events.contains(#""data":"failed"#), "\(events)")
            }
            await stream.close()
        }
    }

    @Test func aBadFileForAUDPDeviceIsRefusedBeforeAByteGoesToIt() async throws {
        try await TestServer.with(configure: Self.fast) { server in
            let token = try await server.user("ada@example.com")
            let firmware = SimulatedFirmware(otaProtocol: .v3, platformID: 12, transport: .udp)
            let simulator = try await Self.simulator(server, token: token, otaProtocol: .v3, firmware: firmware)
            let device = simulator.deviceID.hexString
            try await simulator.run(host: "127.0.0.1", port: server.udpDevicePort) { _ in
                // Built for platform 3, the device is an Argon (12).
                let wrong = TestFirmware.application(size: 4_000, platformID: 3)
                let reply = try await FirmwareLiveTests.flash(wrong, device: device, on: server, token: token)
                #expect(reply.status == 400, "\(reply.text)")
                #expect(reply.text.lowercased().contains("platform"), "\(reply.text)")
                var corrupt = TestFirmware.application(size: 4_000, platformID: 12)
                corrupt[1_000] ^= 0xFF
                let badCRC = try await FirmwareLiveTests.flash(corrupt, device: device, on: server, token: token)
                #expect(badCRC.status == 400, "\(badCRC.text)")
                #expect(badCRC.text.contains("CRC"), "\(badCRC.text)")
            }
        }
    }
}
