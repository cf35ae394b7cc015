import AerosolTesting
import DeviceGateway
import DeviceProtocol
import Firmware
import Foundation
import Testing
import _CryptoExtras

@Suite("aerosol flash, end to end against a simulated device", .timeLimit(.minutes(2)))
struct FlashCommandLineTests {
    @Test func aBinaryIsFlashedAndFollowedToSuccess() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let cli = CommandLineTests.cli(server)
            let login = try await cli.run(
                ["login", "--username", "ada@example.com", "--password-stdin"],
                input: "correct-horse\n"
            )
            #expect(login.status == 0, "\(login.stderr)")

            let directory = NSTemporaryDirectory() + "aerosol-flash-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let key = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
            try key.pemRepresentation.write(toFile: directory + "/device_key.pem", atomically: true, encoding: .utf8)
            let id = "0123456789abcdef0123fa5e"
            let provision = try await cli.run([
                "device", "provision", id, "--key", directory + "/device_key.pem", "--data-dir", server.dataDirectory,
            ])
            #expect(provision.status == 0, "\(provision.stderr)")
            #expect(try await cli.run(["device", "claim", id]).status == 0)

            let binary = directory + "/app.bin"
            try Data(TestFirmware.application(size: 12_000)).write(to: URL(fileURLWithPath: binary))
            let junk = directory + "/junk.bin"
            try Data(repeating: 0x42, count: 2_000).write(to: URL(fileURLWithPath: junk))

            let serverKey = try ServerKeyFile.load(at: server.dataDirectory + "/server-key.pem")
            var simulator = try DeviceSimulator(
                deviceID: DeviceID(hex: id)!,
                privateKey: Data(key.pemRepresentation.utf8),
                serverPublicKeyDER: serverKey.publicKeyDER
            )
            let firmware = SimulatedFirmware(otaProtocol: .legacy, platformID: 3)
            simulator.firmware = firmware

            let flashing = try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                // A file that is not a module is refused before anything is sent.
                let refused = try await cli.run(["flash", id, junk, "--wait", "0"])
                #expect(refused.status != 0)
                #expect(refused.stderr.contains("not a Particle firmware module"), "\(refused.stderr)")

                let flashing = Task { try await cli.run(["flash", id, binary, "--wait", "60"]) }
                for await update in firmware.updates {
                    if case .restart = update { break }
                }
                return flashing
            }
            // The device restarts and describes the new module: the command reports success.
            try await simulator.run(host: "127.0.0.1", port: server.devicePort) { _ in
                let result = try await flashing.value
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stderr.contains("Update started: sending 12000 bytes"), "\(result.stderr)")
                #expect(result.stderr.contains("spark/flash/status: started"), "\(result.stderr)")
                #expect(result.stdout.contains("Update succeeded"), "\(result.stdout)")
            }
        }
    }

    @Test(arguments: ["legacy", "v3"])
    func theCommandLineSimulatorTakesAnUpdateAndReconnects(_ otaProtocol: String) async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let cli = CommandLineTests.cli(server)
            let login = try await cli.run(
                ["login", "--username", "ada@example.com", "--password-stdin"],
                input: "correct-horse\n"
            )
            #expect(login.status == 0, "\(login.stderr)")
            let directory = NSTemporaryDirectory() + "aerosol-flash-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let key = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
            try key.pemRepresentation.write(toFile: directory + "/device_key.pem", atomically: true, encoding: .utf8)
            let id = otaProtocol == "v3" ? "0123456789abcdef01230003" : "0123456789abcdef01230001"
            let blob = try await cli.run([
                "keys", "server", "--address", "127.0.0.1", "--output", directory + "/server_key.der",
                "--data-dir", server.dataDirectory,
            ])
            #expect(blob.status == 0, "\(blob.stderr)")
            #expect(
                try await cli.run([
                    "device", "provision", id, "--key", directory + "/device_key.pem", "--data-dir",
                    server.dataDirectory,
                ]).status == 0
            )
            #expect(try await cli.run(["device", "claim", id]).status == 0)
            let binary = directory + "/app.bin"
            try Data(TestFirmware.application(size: 9_000)).write(to: URL(fileURLWithPath: binary))

            let output = directory + "/simulator.log"
            FileManager.default.createFile(atPath: output, contents: nil)
            let simulator = ChildProcess()
            simulator.executableURL = CommandLine.executable
            simulator.arguments = [
                "device", "simulate", "--id", id, "--key", directory + "/device_key.pem", "--server-key",
                directory + "/server_key.der", "--port", String(server.devicePort), "--ota-protocol", otaProtocol,
            ]
            simulator.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            simulator.standardError = FileHandle.nullDevice
            try simulator.run()
            defer {
                simulator.terminate()
                simulator.waitUntilExit()
            }
            var connected = false
            for _ in 0..<200 where !connected {
                let log = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                connected = log.contains("connected")
                if !connected { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(connected)
            let result = try await cli.run(["flash", id, binary, "--wait", "60"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("Update succeeded"), "\(result.stdout)")
            let log = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            #expect(log.contains("firmware update applied: 9000 bytes"), "\(log)")
            #expect(log.contains("reconnecting (update)"), "\(log)")
        }
    }

    @Test func productFirmwareIsUploadedListedAndReleasedFromTheCommandLine() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let cli = CommandLineTests.cli(server)
            let login = try await cli.run(
                ["login", "--username", "ada@example.com", "--password-stdin"],
                input: "correct-horse\n"
            )
            #expect(login.status == 0, "\(login.stderr)")
            #expect(try await cli.run(["product", "create", "Lamps"]).status == 0)
            let directory = NSTemporaryDirectory() + "aerosol-product-firmware-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let binary = directory + "/app.bin"
            try Data(TestFirmware.application(size: 5_000, productVersion: 2)).write(to: URL(fileURLWithPath: binary))

            let wrong = try await cli.run([
                "product", "firmware", "upload", "lamps", binary, "--version", "3", "--title", "Blink",
            ])
            #expect(wrong.status != 0)
            #expect(wrong.stderr.contains("PRODUCT_VERSION is 2"), "\(wrong.stderr)")
            let upload = try await cli.run([
                "product", "firmware", "upload", "lamps", binary, "--version", "2", "--title", "Blink",
            ])
            #expect(upload.status == 0, "\(upload.stderr)")
            #expect(upload.stdout.contains("Uploaded version 2 (5000 bytes)"), "\(upload.stdout)")
            let release = try await cli.run(["product", "firmware", "release", "lamps", "2"])
            #expect(release.status == 0, "\(release.stderr)")
            let list = try await cli.run(["product", "firmware", "list", "lamps"])
            #expect(list.stdout == "2  Blink  5000 bytes  (released: product default)\n", "\(list.stdout)")
        }
    }
}
