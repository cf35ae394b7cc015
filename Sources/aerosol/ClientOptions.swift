import AerosolClient
import ArgumentParser
import Foundation

/// Options every client command takes: where the API is and which token to use.
struct ClientOptions: ParsableArguments {
    @Option(
        name: .customLong("api-url"),
        help: "The API's base URL. [env: AEROSOL_API_URL] (default: the saved login's, else http://127.0.0.1:8080)"
    )
    var apiURL: String?

    @Option(help: "Access token to use. [env: AEROSOL_TOKEN] (default: the saved login's)")
    var token: String?

    /// The base URL: flag, variable, saved config, default.
    func resolvedURL(_ config: ClientConfig) -> String {
        apiURL ?? environment("AEROSOL_API_URL") ?? config.apiURL ?? "http://127.0.0.1:8080"
    }

    /// A client with the resolved URL and token; fails if a token is needed and there is none.
    func client(requireToken: Bool = true) throws -> AerosolClient {
        let config = try ClientConfig.load()
        let token = token ?? environment("AEROSOL_TOKEN") ?? config.token
        if requireToken, token == nil {
            throw CLIError("not logged in: run `aerosol login`, or pass --token / set AEROSOL_TOKEN")
        }
        return AerosolClient(baseURL: resolvedURL(config), token: token)
    }

    private func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// How a command gets a password: a flag, standard input, or a prompt.
struct PasswordOptions: ParsableArguments {
    @Option(help: "The password. Prefer --password-stdin: arguments show in `ps`.")
    var password: String?

    @Flag(help: "Read the password from standard input (one line).")
    var passwordStdin = false

    func read() throws -> String {
        if let password { return password }
        if !passwordStdin, isatty(STDIN_FILENO) != 0, let typed = getpass("Password: ") {
            return String(cString: typed)
        }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw CLIError("no password given: use --password-stdin or --password")
        }
        return line
    }
}
