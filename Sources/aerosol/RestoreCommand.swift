import AerosolStore
import ArgumentParser
import Foundation

/// `aerosol restore`: a backup back into a data directory.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Unpack a backup made by `aerosol backup` into a data directory.",
        discussion: """
            The directory must be new or empty, unless --force is given: then what it holds is \
            removed first. Stop the server that uses it before restoring into it. Then start \
            `aerosol serve --data-dir` on it: it serves what the backup held.

            Example:
              aerosol restore /var/backups/aerosol-2026-12-07.tar --data-dir /var/lib/aerosol
            """
    )

    @Argument(help: "The backup file.")
    var backup: String

    @Option(help: "The data directory to restore into. [env: AEROSOL_DATA_DIR] (default: ./aerosol-data)")
    var dataDir: String?

    @Flag(help: "Replace what the data directory holds.")
    var force = false

    func run() async throws {
        try await runReportingErrors {
            let directory = try EnvironmentOption.resolve(dataDir, "AEROSOL_DATA_DIR", default: "./aerosol-data")
            let names = try DataBackup.restore(from: backup, into: directory, replacing: force)
            printLine("restored \(names.count) files from \(backup) into \(directory)")
        }
    }
}
