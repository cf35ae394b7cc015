import AerosolStore
import ArgumentParser
import Foundation
import Logging

/// `aerosol backup`: the whole data directory in one file, while the server runs.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy a data directory into one file, consistently, while the server runs.",
        discussion: """
            The file (a tar archive) holds a snapshot of the database with every event acknowledged \
            before the backup started, and the data directory's other files: the server secret and \
            the server keys. It is written 0600 and holds those secrets: keep it like the data \
            directory. Restore it with `aerosol restore`.

            Example:
              aerosol backup --data-dir /var/lib/aerosol --output /var/backups/aerosol-$(date +%F).tar
            """
    )

    @Option(help: "The data directory to back up. [env: AEROSOL_DATA_DIR] (default: ./aerosol-data)")
    var dataDir: String?

    @Option(help: "The backup file to write (it must not exist).")
    var output: String

    func run() async throws {
        try await runReportingErrors {
            let directory = try EnvironmentOption.resolve(dataDir, "AEROSOL_DATA_DIR", default: "./aerosol-data")
            var logger = Logger(label: "aerosol")
            logger.logLevel = .warning
            let started = ContinuousClock.now
            let names = try await DataBackup.backup(directory: directory, to: output, logger: logger)
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
            printLine(
                "backed up \(directory) to \(output): \(names.count) files, \(size) bytes, in \(started.duration(to: .now).formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))"
            )
        }
    }
}
