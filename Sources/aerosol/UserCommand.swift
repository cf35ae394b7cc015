import AerosolModels
import AerosolStore
import ArgumentParser

/// `aerosol user create|list|password`: account administration, straight on the data directory.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage accounts (works whether or not a server is running on the data directory).",
        subcommands: [Create.self, List.self, Password.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an account.",
            discussion: """
                Examples:
                  aerosol user create me@example.com --password 'correct horse battery'
                  printf '%s' "$PW" | aerosol user create me@example.com --password-stdin
                """
        )

        @Argument(help: "The account's email address (its login name).")
        var email: String

        @OptionGroup var password: NewPasswordOptions

        @Option(
            help: "The server's data directory, created if missing. [env: AEROSOL_DATA_DIR] (default: ./aerosol-data)"
        )
        var dataDir: String?

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await runReportingErrors {
                let secret = try password.read()
                let user = try await AdministeredDatabase.with(dataDir: dataDir, url: database.resolve(), create: true)
                { store in
                    try await UserStore(database: store).create(email: email, password: secret)
                }
                printLine("created account \(user.email) (id \(user.id))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the accounts: email, id and creation time, one a line.",
            discussion: "Example:\n  aerosol user list --data-dir ./aerosol-data"
        )

        @Option(help: "The server's data directory. [env: AEROSOL_DATA_DIR] (default: ./aerosol-data)")
        var dataDir: String?

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await runReportingErrors {
                let users = try await AdministeredDatabase.with(
                    dataDir: dataDir,
                    url: database.resolve(),
                    create: false
                ) { store in
                    try await UserStore(database: store).all()
                }
                if users.isEmpty { printLine("No accounts.") }
                for user in users {
                    printLine("\(user.email)  id \(user.id)  created \(Timestamp.format(user.createdAt))")
                }
            }
        }
    }

    struct Password: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set an account's password (its tokens stay valid; revoke them with `aerosol token revoke`).",
            discussion: """
                Examples:
                  aerosol user password me@example.com --password-stdin
                  aerosol user password me@example.com --password 'a new passphrase'
                """
        )

        @Argument(help: "The account's email address.")
        var email: String

        @OptionGroup var password: NewPasswordOptions

        @Option(help: "The server's data directory. [env: AEROSOL_DATA_DIR] (default: ./aerosol-data)")
        var dataDir: String?

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await runReportingErrors {
                let secret = try password.read()
                let user = try await AdministeredDatabase.with(dataDir: dataDir, url: database.resolve(), create: false)
                { store in
                    try await UserStore(database: store).setPassword(email: email, password: secret)
                }
                printLine("changed the password of \(user.email)")
            }
        }
    }
}
