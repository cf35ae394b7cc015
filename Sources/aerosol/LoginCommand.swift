import AerosolClient
import ArgumentParser

/// `aerosol login`: gets a token with the password grant and saves it.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in and save the access token for the other commands.",
        discussion: """
            The token and API URL are saved in $XDG_CONFIG_HOME/aerosol/config.json (mode 0600).

            Example:
              printf '%s\\n' "$PW" | aerosol login --username me@example.com \\
                  --password-stdin --api-url http://127.0.0.1:8080
            """
    )

    @OptionGroup var client: ClientOptions
    @Option(help: "The account's email address.") var username: String
    @OptionGroup var password: PasswordOptions
    @Option(help: "Token lifetime in seconds; 0 for a token that never expires. (default: the server's, 90 days)")
    var expiresIn: Int?

    func run() async throws {
        try await runReportingErrors {
            var config = try ClientConfig.load()
            let url = client.resolvedURL(config)
            let grant = try await AerosolClient(baseURL: url).login(
                username: username,
                password: try password.read(),
                expiresIn: expiresIn
            )
            config.apiURL = url
            config.token = grant.accessToken
            config.username = username
            try config.save()
            printLine("Logged in to \(url) as \(username); token saved in \(ClientConfig.path)")
        }
    }
}

/// `aerosol logout`: revokes the saved token and forgets it.
struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Revoke the saved access token and forget it.",
        discussion: "Example:\n  aerosol logout"
    )

    @OptionGroup var client: ClientOptions

    func run() async throws {
        try await runReportingErrors {
            var config = try ClientConfig.load()
            let api = try client.client()
            do {
                try await api.revokeCurrentToken()
            } catch let error as ClientError where error.status == 401 {
                // Already invalid on the server: forgetting it is all that is left to do.
            }
            config.token = nil
            try config.save()
            printLine("Logged out")
        }
    }
}
