import AerosolTesting
import Foundation
import Testing
import _CryptoExtras

@Suite("The simulator, get and call on the command line, end to end", .timeLimit(.minutes(2)))
struct DeviceCommandLineTests {
    @Test func aSimulatedDeviceIsReadAndCalledFromTheCommandLine() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let token = try await server.login("ada@example.com")
            let cli = CommandLineTests.cli(server)
            let login = try await cli.run(
                ["login", "--username", "ada@example.com", "--password-stdin"],
                input: "correct-horse\n"
            )
            #expect(login.status == 0, "\(login.stderr)")

            // A device key as `openssl genrsa 1024` makes it, the server's key blob, provisioning.
            let directory = NSTemporaryDirectory() + "aerosol-device-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let keyPath = directory + "/device_key.pem"
            let key = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
            try key.pemRepresentation.write(toFile: keyPath, atomically: true, encoding: .utf8)
            let id = "0123456789abcdef0123abcd"
            let blob = try await cli.run([
                "keys", "server", "--address", "127.0.0.1", "--output", directory + "/server_key.der",
                "--data-dir", server.dataDirectory,
            ])
            #expect(blob.status == 0, "\(blob.stderr)")
            let provision = try await cli.run([
                "device", "provision", id, "--key", keyPath, "--data-dir", server.dataDirectory,
            ])
            #expect(provision.status == 0, "\(provision.stderr)")
            #expect(try await cli.run(["device", "claim", id]).status == 0)

            // A bad declaration is refused before anything connects.
            let bad = try await cli.run([
                "device", "simulate", "--id", id, "--key", keyPath, "--server-key", directory + "/server_key.der",
                "--variable", "temp=float:1",
            ])
            #expect(bad.status != 0)
            #expect(bad.stderr.contains("--variable temp=float:1"), "\(bad.stderr)")

            let simulator = ChildProcess()
            simulator.executableURL = CommandLine.executable
            simulator.arguments = [
                "device", "simulate", "--id", id, "--key", keyPath, "--server-key", directory + "/server_key.der",
                "--port", String(server.devicePort), "--variable", "temp=double:21.5", "--variable",
                "name=string:kitchen", "--function", "led=7", "--function", "echo",
            ]
            simulator.standardOutput = FileHandle.nullDevice
            simulator.standardError = FileHandle.nullDevice
            try simulator.run()
            defer {
                simulator.terminate()
                simulator.waitUntilExit()
            }
            var described = false
            for _ in 0..<200 where !described {
                described = try await server.get("/v1/devices/\(id)", token: token).text.contains(#""echo","led""#)
                if !described { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(described)

            let temp = try await cli.run(["get", id, "temp"])
            #expect(temp.status == 0, "\(temp.stderr)")
            #expect(temp.stdout == "21.5\n")
            #expect(try await cli.run(["get", id, "name"]).stdout == "kitchen\n")
            #expect(try await cli.run(["call", id, "led", "on"]).stdout == "7\n")
            #expect(try await cli.run(["call", id, "echo", "four"]).stdout == "4\n")
            let unknown = try await cli.run(["get", id, "nope"])
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("Variable not found"), "\(unknown.stderr)")
        }
    }

    @Test func aFleetOfUDPDevicesHandshakesPublishesAndResumes() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let token = try await server.login("ada@example.com")
            let cli = CommandLineTests.cli(server)
            let login = try await cli.run(
                ["login", "--username", "ada@example.com", "--password-stdin"],
                input: "correct-horse\n"
            )
            #expect(login.status == 0, "\(login.stderr)")
            let blobPath = NSTemporaryDirectory() + "aerosol-udp-blob-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: blobPath) }
            let blob = try await cli.run([
                "keys", "server", "--protocol", "udp", "--address", "127.0.0.1", "--output", blobPath,
                "--data-dir", server.dataDirectory,
            ])
            #expect(blob.status == 0, "\(blob.stderr)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: blobPath)).count == 320)

            let simulator = ChildProcess()
            simulator.executableURL = CommandLine.executable
            simulator.arguments = [
                "device", "simulate", "--protocol", "udp", "--count", "3", "--server-key", blobPath,
                "--port", String(server.udpDevicePort), "--api-url", "http://127.0.0.1:\(server.port)",
                "--token", token, "--publish", "fleet=1", "--resume-after", "1",
            ]
            simulator.standardOutput = FileHandle.nullDevice
            simulator.standardError = FileHandle.nullDevice
            try simulator.run()
            defer {
                simulator.terminate()
                simulator.waitUntilExit()
            }
            // Three devices online, each publishing once per wake-up (a full handshake, then resumes).
            let stream = try await EventStreamReader.open(server, "/v1/devices/events/fleet", token: token)
            let events = try await stream.read(
                until: { $0.components(separatedBy: "event: fleet\n").count > 7 },
                timeout: .seconds(30)
            )
            let devices = Set(
                events.components(separatedBy: #""coreid":""#).dropFirst().map { String($0.prefix(24)) }
            )
            #expect(devices.count == 3, "\(devices)")
            let list = try await server.get("/v1/devices", token: token)
            #expect(list.text.components(separatedBy: #""online":true"#).count - 1 == 3, "\(list.text)")
        }
    }

    @Test func aServerThatIsDownIsReportedAtOnce() async throws {
        let port = try await TestServer.freePort()
        let cli = CommandLine(configHome: NSTemporaryDirectory() + "aerosol-cli-" + UUID().uuidString, apiURL: "")
        let answer = try await cli.run(["list", "--api-url", "http://127.0.0.1:\(port)", "--token", "x"])
        #expect(answer.status == 1)
        // "Refused", not a timeout: the CLI did not sit out its 30 s request deadline retrying.
        #expect(
            answer.stderr
                == "aerosol: cannot reach http://127.0.0.1:\(port): connection refused (is the server running there?)\n"
        )
    }
}
