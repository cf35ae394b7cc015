import AerosolServer
import AerosolStore
import ArgumentParser
import Foundation
import Logging

/// `aerosol user …`: account administration, straight on the data directory.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage accounts (works whether or not a server is running on the data directory).",
        subcommands: [Create.self]
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

        @Option(help: "The password (at least 8 characters). Prefer --password-stdin: arguments show in ps.")
        var password: String?

        @Flag(help: "Read the password from standard input (one line).")
        var passwordStdin = false

        @Option(help: "The server's data directory. [env: AEROSOL_DATA_DIR] (default: ./aerosol-data)")
        var dataDir: String?

        func validate() throws {
            if (password == nil) == !passwordStdin {
                throw ValidationError("give exactly one of --password and --password-stdin")
            }
        }

        func run() async throws {
            let secret: String
            if let password {
                secret = password
            } else {
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    throw ValidationError("no password on standard input")
                }
                secret = line
            }
            var logger = Logger(label: "aerosol")
            logger.logLevel = .warning
            let directory = try DataDirectory(
                path: try EnvironmentOption.resolve(dataDir, "AEROSOL_DATA_DIR", default: "./aerosol-data")
            )
            // The secret lets a migration seal what an older version stored in the clear.
            let database = try await Database.open(
                path: directory.databasePath,
                readers: 1,
                secret: try ServerSecret.loadOrCreate(at: directory.secretPath),
                logger: logger
            )
            do {
                let user = try await UserStore(database: database).create(email: email, password: secret)
                await database.close()
                print("created account \(user.email) (id \(user.id))")
            } catch let error as StoreError {
                await database.close()
                throw ValidationError(error.message)
            }
        }
    }
}
