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
            discussion: """
                Example:
                  aerosol token create --username me@example.com --password-stdin \\
                      --expires-in 3600
                """
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
                // The API answers ok for any token (holding one is the right to revoke it), so
                // each is looked up first: a token the server does not know is an error, and
                // then nothing is revoked.
                var unknown: [String] = []
                for token in tokens {
                    if try await !Self.isKnown(token, api) { unknown.append(token) }
                }
                guard unknown.isEmpty else {
                    let list = unknown.map(Self.abbreviated).joined(separator: ", ")
                    throw CLIError(
                        "no such token: \(list) (never issued, or already revoked); nothing revoked"
                    )
                }
                for token in tokens { try await api.revokeToken(token) }
                printLine("Revoked \(tokens.count) token\(tokens.count == 1 ? "" : "s")")
            }
        }

        /// Whether the server knows `token` (valid, or expired but not yet revoked).
        static func isKnown(_ token: String, _ api: AerosolClient) async throws -> Bool {
            do {
                _ = try await api.with(token: token).currentToken()
                return true
            } catch let error as ClientError where error.status == 401 {
                return error.errorDescription?.contains("expired") == true
            }
        }

        /// The first 8 characters of a token and an ellipsis: enough to tell which one.
        static func abbreviated(_ token: String) -> String {
            token.count > 12 ? String(token.prefix(8)) + "…" : token
        }
    }
}
