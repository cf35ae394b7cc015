import AerosolClient
import ArgumentParser

/// `aerosol token list|create|revoke`.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "List, create and revoke access tokens.",
        subcommands: [List.self, Create.self, Revoke.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the account's tokens (needs the password).",
            discussion: "Example:\n  aerosol token list --username me@example.com --password-stdin"
        )
        @OptionGroup var client: ClientOptions
        @Option(help: "The account's email address. (default: the saved login's)") var username: String?
        @OptionGroup var password: PasswordOptions

        func run() async throws {
            try await runReportingErrors {
                let config = try ClientConfig.load()
                guard let user = username ?? config.username else { throw CLIError("give --username") }
                let tokens = try await client.client(requireToken: false)
                    .listTokens(username: user, password: try password.read())
                for token in tokens {
                    printLine("\(token.token)  expires \(token.expiresAt ?? "never")  client \(token.client)")
                }
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new token (printed on stdout; not saved).",
            discussion: "Example:\n  aerosol token create --username me@example.com --password-stdin --expires-in 3600"
        )
        @OptionGroup var client: ClientOptions
        @Option(help: "The account's email address. (default: the saved login's)") var username: String?
        @OptionGroup var password: PasswordOptions
        @Option(help: "Lifetime in seconds; 0 for never. (default: the server's, 90 days)") var expiresIn: Int?

        func run() async throws {
            try await runReportingErrors {
                let config = try ClientConfig.load()
                guard let user = username ?? config.username else { throw CLIError("give --username") }
                let grant = try await client.client(requireToken: false)
                    .login(username: user, password: try password.read(), expiresIn: expiresIn)
                printLine(grant.accessToken)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke tokens.",
            discussion: "Example:\n  aerosol token revoke 254406f79c1999af65a7df4388971354f85cfee9"
        )
        @OptionGroup var client: ClientOptions
        @Argument(help: "The tokens to revoke.") var tokens: [String]

        func validate() throws {
            if tokens.isEmpty { throw ValidationError("give at least one token") }
        }

        func run() async throws {
            try await runReportingErrors {
                let api = try client.client(requireToken: false)
                for token in tokens { try await api.revokeToken(token) }
                printLine("Revoked \(tokens.count) token\(tokens.count == 1 ? "" : "s")")
            }
        }
    }
}
