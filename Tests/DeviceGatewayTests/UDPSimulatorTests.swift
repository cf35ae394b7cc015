import AerosolServer
import AerosolTesting
import Crypto
import DeviceGateway
import DeviceProtocol
import Foundation
import Testing

/// The UDP device simulator against a live server: handshake, Hello, Describe, publish,
/// requests, and a resume from a new socket without a handshake.
@Suite("Device simulator over UDP/DTLS, live", .timeLimit(.minutes(1)))
struct UDPSimulatorTests {
    @Test func aSimulatedUDPDeviceConnectsIsReadAndResumesFromANewPort() async throws {
        try await TestServer.with(configure: UDPGatewayLiveTests.fast) { server in
            let token = try await server.user("ada@example.com")
            let key = P256.Signing.PrivateKey()
            let deviceID = try #require(DeviceID(hex: "e00fce68ece1d3d21a73dcc9"))
            let provision = try await server.form(
                .POST,
                "/v1/provisioning/\(deviceID.hexString)",
                token: token,
                [("publicKey", key.publicKey.pemRepresentation), ("algorithm", "ecc")]
            )
            #expect(provision.status == 200, "\(provision.text)")
            let serverKey = try ECServerKeyFile.load(at: DataDirectory(path: server.dataDirectory).udpServerKeyPath)
            let simulator = try DatagramSimulator(
                deviceID: deviceID,
                privateKeyFile: key.derRepresentation,
                serverKeyFile: try serverKey.deviceBlob(address: ServerAddress("127.0.0.1")),
                application: SimulatedApplication(variables: ["temp": .double(21.5)], functions: ["led": { _ in 7 }])
            )
            let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: token)
            try await stream.read(until: { $0.hasPrefix(":ok") })

            #expect(!simulator.canResume)
            try await simulator.run(host: "127.0.0.1", port: server.udpDevicePort) { device in
                #expect(try await device.publish("temp", data: "21.5") == .empty)
                _ = try await stream.read(until: { $0.contains("event: temp\n") })
                let variable = try await server.get("/v1/devices/\(deviceID.hexString)/temp", token: token)
                #expect(variable.text.contains(#""result":21.5"#), "\(variable.text)")
            }
            #expect(simulator.canResume)
            try await simulator.run(host: "127.0.0.1", port: server.udpDevicePort) { device in
                #expect(try await device.publish("again", data: "resumed") == .empty)
                _ = try await stream.read(until: { $0.contains("event: again\n") })
                let call = try await server.form(
                    .POST,
                    "/v1/devices/\(deviceID.hexString)/led",
                    token: token,
                    [("arg", "x")]
                )
                #expect(call.text.contains(#""return_value":7"#), "\(call.text)")
            }
            #expect(simulator.canResume)
        }
    }

    /// A finished handshake lingers to answer a repeated final flight; it must not count as one
    /// in progress, or a server that allows N at once would refuse every device after the Nth.
    @Test func finishedHandshakesDoNotHoldTheCapOnHandshakesInProgress() async throws {
        try await TestServer.with(configure: { configuration in
            UDPGatewayLiveTests.fast(&configuration)
            configuration.gateway.udpMaxHandshakes = 2
        }) { server in
            let token = try await server.user("ada@example.com")
            let serverKey = try ECServerKeyFile.load(at: DataDirectory(path: server.dataDirectory).udpServerKeyPath)
            for index in 0..<5 {
                let key = P256.Signing.PrivateKey()
                let deviceID = try #require(DeviceID(hex: String(format: "e00fce68ece1d3d21a73dd%02x", index)))
                let provision = try await server.form(
                    .POST,
                    "/v1/provisioning/\(deviceID.hexString)",
                    token: token,
                    [("publicKey", key.publicKey.pemRepresentation), ("algorithm", "ecc")]
                )
                #expect(provision.status == 200, "\(provision.text)")
                let simulator = try DatagramSimulator(
                    deviceID: deviceID,
                    privateKeyFile: key.derRepresentation,
                    serverKeyFile: try serverKey.deviceBlob(address: ServerAddress("127.0.0.1")),
                    application: SimulatedApplication(variables: [:], functions: [:])
                )
                try await simulator.run(host: "127.0.0.1", port: server.udpDevicePort) { device in
                    let code = try await device.publish("hello", data: "\(index)")
                    #expect(code == .empty)
                }
            }
        }
    }
}
