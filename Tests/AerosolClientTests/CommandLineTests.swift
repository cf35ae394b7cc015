import AerosolModels
import AerosolTesting
import Foundation
import Testing

/// Runs the `aerosol` executable that `swift build` put beside the test bundle.
struct CommandLine: Sendable {
    let configHome: String
    let apiURL: String

    static var executable: URL { ServerProcess.executable }

    struct Result: Sendable {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs `aerosol ARGS…` with `input` on stdin. The waiting happens on a thread of its own:
    /// blocking a thread of the concurrency pool would starve the in-process server.
    func run(_ arguments: [String], input: String? = nil, environment extra: [String: String] = [:]) async throws
        -> Result
    {
        var extra = extra
        // The commands that administer a test server's data go where that server keeps it.
        let administers = arguments.first == "user" || arguments.prefix(2) == ["device", "provision"]
        if administers, let flag = arguments.firstIndex(of: "--data-dir"), flag + 1 < arguments.count,
            let url = try await TestDatabases.serverURL(for: arguments[flag + 1])
        {
            extra["AEROSOL_DATABASE_URL"] = extra["AEROSOL_DATABASE_URL"] ?? url
        }
        return try await withCheckedThrowingContinuation { [extra] continuation in
            Thread.detachNewThread {
                continuation.resume(with: Swift.Result { try runBlocking(arguments, input: input, environment: extra) })
            }
        }
    }

    private func runBlocking(_ arguments: [String], input: String?, environment extra: [String: String]) throws
        -> Result
    {
        let process = ChildProcess()
        process.executableURL = Self.executable
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CONFIG_HOME"] = configHome
        environment["AEROSOL_API_URL"] = apiURL
        environment["AEROSOL_TOKEN"] = nil
        for (key, value) in extra { environment[key] = value }
        process.environment = environment
        let out = Pipe()
        let err = Pipe()
        let stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self)
        )
    }
}

@Suite("The aerosol command line, end to end", .timeLimit(.minutes(2)))
struct CommandLineTests {
    static func cli(_ server: TestServer) -> CommandLine {
        CommandLine(
            configHome: NSTemporaryDirectory() + "aerosol-cli-" + UUID().uuidString,
            apiURL: "http://127.0.0.1:\(server.port)"
        )
    }

    @Test func loginListPublishSubscribeAndLogout() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let cli = Self.cli(server)

            let login = try await cli.run(
                ["login", "--username", "ada@example.com", "--password-stdin"],
                input: "correct-horse\n"
            )
            #expect(login.status == 0, "\(login.stderr)")
            let configPath = cli.configHome + "/aerosol/config.json"
            let mode = try FileManager.default.attributesOfItem(atPath: configPath)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            let config = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: configPath))))
            let token = try #require(config["token"]?.stringValue)
            #expect(config["api_url"]?.stringValue == cli.apiURL)

            let product = try await cli.run(["product", "create", "My Fleet"])
            #expect(product.status == 0)
            #expect(product.stdout.contains("slug my-fleet"))
            #expect(try await cli.run(["product", "list"]).stdout.contains("my-fleet"))
            let device = "0123456789abcdef01234567"
            #expect(try await cli.run(["device", "add", "my-fleet", device]).status == 0)
            #expect(try await cli.run(["device", "claim", device]).status == 0)
            #expect(try await cli.run(["device", "rename", device, "weatherman"]).status == 0)
            let list = try await cli.run(["list"])
            #expect(list.stdout == "weatherman [\(device)] (offline)\n")
            let json = try await cli.run(["list", "--json"])
            #expect(try JSONValue.parse(Array(json.stdout.utf8)).arrayValue?.count == 1)
            #expect(try await cli.run(["device", "remove", "weatherman"]).status == 0)

            // Events published before subscribing are replayed from --last-event-id.
            #expect(try await cli.run(["publish", "temp", "21.5"]).status == 0)
            #expect(try await cli.run(["publish", "other", "x"]).status == 0)
            #expect(try await cli.run(["publish", "temp", "22.5"]).status == 0)
            #expect(try await cli.run(["publish", "alarm", "on", "--product", "my-fleet"]).status == 0)
            let subscribe = try await cli.run(["subscribe", "temp", "--last-event-id", "0", "--max", "2"])
            #expect(subscribe.status == 0, "\(subscribe.stderr)")
            let lines = subscribe.stdout.split(separator: "\n").map { try? JSONValue.parse(Array($0.utf8)) }
            #expect(lines.map { $0?["data"]?.stringValue } == ["21.5", "22.5"])
            #expect(lines.first??["name"]?.stringValue == "temp")
            #expect(lines.first??["coreid"]?.stringValue == "api")
            #expect(subscribe.stderr.contains("Connected"))
            let product1 = try await cli.run([
                "subscribe", "--product", "my-fleet", "--last-event-id", "0", "--until", "alarm",
            ])
            #expect(product1.stdout.contains(#""name":"alarm","data":"on""#))

            let logout = try await cli.run(["logout"])
            #expect(logout.status == 0)
            #expect(try await server.get("/v1/devices", token: token).status == 401)
            let after = try await cli.run(["list"])
            #expect(after.status == 1)
            #expect(after.stderr.hasPrefix("aerosol: not logged in"))
        }
    }

    @Test func tokenCommandsAndErrorsGoToStderrWithExitCode1() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let cli = Self.cli(server)
            let created = try await cli.run(
                ["token", "create", "--username", "ada@example.com", "--password-stdin", "--expires-in", "0"],
                input: "correct-horse\n"
            )
            #expect(created.status == 0)
            let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(token.count == 40)
            let listed = try await cli.run(
                ["token", "list", "--username", "ada@example.com", "--password-stdin"],
                input: "correct-horse\n"
            )
            #expect(listed.stdout.contains("\(token)  expires never  client particle"))

            let bad = try await cli.run(["publish", String(repeating: "n", count: 65), "--token", token])
            #expect(bad.status == 1)
            #expect(bad.stderr == "aerosol: HTTP 400: Event name must have 1 to 64 characters (got 65)\n")
            #expect(bad.stdout.isEmpty)

            #expect(try await cli.run(["token", "revoke", token]).status == 0)
            let revoked = try await cli.run(["list"], environment: ["AEROSOL_TOKEN": token])
            #expect(revoked.status == 1)
            #expect(revoked.stderr.contains("HTTP 401: The access token provided is invalid."))

            let wrongPassword = try await cli.run(["login", "--username", "ada@example.com", "--password", "nope-nope"])
            #expect(wrongPassword.status == 1)
            #expect(wrongPassword.stderr == "aerosol: HTTP 400: User credentials are invalid\n")

            let help = try await cli.run(["subscribe", "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("Examples:"))
        }
    }
}

@Suite("The aerosol webhook commands", .timeLimit(.minutes(2)))
struct WebhookCommandLineTests {
    @Test func createTestListDeliveriesAndDelete() async throws {
        try await TestServer.with(configure: { $0.webhooks.allowPrivateTargets = true }) { server in
            try await server.createUser("ada@example.com")
            let cli = CommandLineTests.cli(server)
            let login = try await cli.run(["login", "--username", "ada@example.com", "--password", "correct-horse"])
            #expect(login.status == 0)
            // Nothing listens on the target: each attempt fails and is logged with its reason.
            let target = "http://127.0.0.1:\(try await TestServer.freePort())/hook"
            let created = try await cli.run([
                "webhook", "create", "temp", target, "--secret", String(repeating: "s", count: 20),
            ])
            #expect(created.status == 0, "\(created.stderr)")
            let id = try #require(created.stdout.split(separator: " ").dropFirst(2).first.map { String($0.dropLast()) })
            #expect(created.stdout == "Created webhook \(id): temp -> POST \(target)\n")

            let list = try await cli.run(["webhook", "list"])
            #expect(list.stdout.hasPrefix("\(id)  temp -> POST \(target)  [active"))

            #expect(try await cli.run(["webhook", "test", id, "--data", "hello"]).status == 0)
            var deliveries = try await cli.run(["webhook", "deliveries", id])
            let deadline = ContinuousClock.now + .seconds(20)
            while !deliveries.stdout.contains("#1"), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                deliveries = try await cli.run(["webhook", "deliveries", id])
            }
            #expect(deliveries.stdout.contains("temp #1  retrying"), "\(deliveries.stdout)")
            #expect(deliveries.stdout.contains("next try"))

            let bad = try await cli.run(["webhook", "create", "temp", "ftp://example.com/"])
            #expect(bad.status == 1)
            #expect(bad.stderr.hasPrefix("aerosol: HTTP 400: url must be an http:// or https:// URL"))

            #expect(try await cli.run(["webhook", "delete", id]).status == 0)
            #expect(try await cli.run(["webhook", "list"]).stdout == "No webhooks.\n")
        }
    }
}
