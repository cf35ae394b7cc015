import AerosolTesting
import Foundation
import Testing

/// The command line says no when the answer is no: exact stderr lines and exit codes.
@Suite("The aerosol command line says no when it should", .timeLimit(.minutes(2)))
struct CommandLineAnswerTests {
    @Test func revokingATokenTheServerDoesNotKnowFails() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let token = try await server.login("ada@example.com")
            let cli = CommandLineTests.cli(server)
            let garbage = try await cli.run(["token", "revoke", "garbage"])
            #expect(garbage.status == 1)
            #expect(
                garbage.stderr
                    == "aerosol: no such token: garbage (never issued, or already revoked); nothing revoked\n"
            )
            #expect(garbage.stdout.isEmpty)

            // One unknown token among known ones: nothing is revoked.
            let mixed = try await cli.run(["token", "revoke", token, String(repeating: "ab", count: 20)])
            #expect(mixed.status == 1)
            #expect(
                mixed.stderr
                    == "aerosol: no such token: abababab… (never issued, or already revoked); nothing revoked\n"
            )
            #expect(try await server.get("/v1/devices", token: token).status == 200)

            let revoked = try await cli.run(["token", "revoke", token])
            #expect(revoked.status == 0)
            #expect(revoked.stdout == "Revoked 1 token\n")
            let again = try await cli.run(["token", "revoke", token])
            #expect(again.status == 1)
            #expect(again.stderr.hasPrefix("aerosol: no such token: \(token.prefix(8))…"))
        }
    }

    @Test func anUnknownDeviceIsNamedWithoutParticlesURL() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let cli = CommandLineTests.cli(server)
            let token = try await server.login("ada@example.com")
            let rename = try await cli.run(
                ["device", "rename", "0123456789abcdef01234567", "weatherman"],
                environment: ["AEROSOL_TOKEN": token]
            )
            #expect(rename.status == 1)
            #expect(rename.stderr == "aerosol: HTTP 403: Permission Denied: no device of yours has that ID or name\n")
        }
    }

    @Test func claimingADeviceWithoutAKeyWarns() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let cli = CommandLineTests.cli(server)
            let token = try await server.login("ada@example.com")
            let id = "0123456789abcdef01234567"
            let claim = try await cli.run(["device", "claim", id], environment: ["AEROSOL_TOKEN": token])
            #expect(claim.status == 0)
            #expect(claim.stdout == "Claimed \(id)\n")
            #expect(
                claim.stderr
                    == "aerosol: warning: the server has no public key for \(id), so it cannot connect; "
                    + "store its key with `aerosol device provision \(id) --key FILE`\n"
            )
        }
    }

    @Test func aWebhookDefinitionThatCannotBeUsedIsNamed() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let cli = CommandLineTests.cli(server)
            let token = try await server.login("ada@example.com")
            let directory = TestServer.makeDataDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let create = ["webhook", "create", "temp", "https://example.com/hook", "--definition"]
            let environment = ["AEROSOL_TOKEN": token]

            let missing = try await cli.run(create + [directory + "/nope.json"], environment: environment)
            #expect(missing.status == 1)
            #expect(missing.stderr == "aerosol: --definition \(directory)/nope.json: no such file\n")

            let malformed = directory + "/bad.json"
            try #"{"json": {"a": 1,}}"#.write(toFile: malformed, atomically: true, encoding: .utf8)
            let bad = try await cli.run(create + [malformed], environment: environment)
            #expect(bad.status == 1)
            #expect(bad.stderr == "aerosol: --definition \(malformed) is not JSON: expected a key at byte 17\n")

            let array = directory + "/array.json"
            try "[1, 2]".write(toFile: array, atomically: true, encoding: .utf8)
            let notObject = try await cli.run(create + [array], environment: environment)
            #expect(notObject.stderr == "aerosol: --definition \(array) holds JSON but not an object ({…})\n")
        }
    }
}
