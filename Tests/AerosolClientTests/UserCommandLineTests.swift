import AerosolTesting
import Foundation
import Testing

/// `aerosol user create|list|password`, straight on a live server's data directory.
@Suite("The aerosol user commands", .timeLimit(.minutes(2)))
struct UserCommandLineTests {
    @Test func accountsAreCreatedOnceListedAndGetNewPasswords() async throws {
        try await TestServer.with { server in
            let cli = CommandLineTests.cli(server)
            let directory = server.dataDirectory
            let create = ["user", "create", "ada@example.com", "--password", "correct-horse", "--data-dir", directory]
            let created = try await cli.run(create)
            #expect(created.status == 0, "\(created.stderr)")
            #expect(created.stdout.hasPrefix("created account ada@example.com (id "))
            let duplicate = try await cli.run(create)
            #expect(duplicate.status == 1)
            #expect(duplicate.stderr == "aerosol: an account with the email ada@example.com already exists\n")
            #expect(duplicate.stdout.isEmpty)
            let short = try await cli.run([
                "user", "create", "bob@example.com", "--password", "short", "--data-dir", directory,
            ])
            #expect(short.status == 1)
            #expect(short.stderr == "aerosol: the password must have at least 8 characters\n")

            let list = try await cli.run(["user", "list", "--data-dir", directory])
            #expect(list.status == 0)
            let lines = list.stdout.split(separator: "\n")
            #expect(lines.count == 1)
            #expect(lines.first?.hasPrefix("ada@example.com  id ") == true)

            let changed = try await cli.run(
                ["user", "password", "ada@example.com", "--password-stdin", "--data-dir", directory],
                input: "a new passphrase\n"
            )
            #expect(changed.status == 0, "\(changed.stderr)")
            #expect(changed.stdout == "changed the password of ada@example.com\n")
            _ = try await server.login("ada@example.com", password: "a new passphrase")
            let old = try await cli.run(["login", "--username", "ada@example.com", "--password", "correct-horse"])
            #expect(old.stderr == "aerosol: HTTP 400: User credentials are invalid\n")

            let nobody = try await cli.run(
                ["user", "password", "bob@example.com", "--password", "long-enough", "--data-dir", directory]
            )
            #expect(nobody.status == 1)
            #expect(nobody.stderr == "aerosol: no account with the email bob@example.com\n")
        }
    }
}
