import AerosolServer
import ArgumentParser
import DeviceGateway
import DeviceProtocol
import Foundation

/// `aerosol keys server`: the server key blob a device stores.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the keys devices use to connect.",
        subcommands: [Server.self]
    )

    struct Server: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the server key blob a device stores (server_key.der).",
            discussion: """
                Reads the server's RSA key from the data directory (creating it if this is the first
                use) and writes the 512-byte blob Device OS expects: the public key DER padded to 384
                bytes, then the address devices dial.

                The file's directory is created (mode 0700) if missing. Keep key files out of
                source trees, for example in ~/.aerosol.

                Example:
                  aerosol keys server --address 192.168.1.10 --output ~/.aerosol/server_key.der
                """
        )

        @Option(help: "The IPv4 address or host name devices dial.")
        var address: String

        @Option(help: "Where to write the blob.")
        var output: String

        @Option(help: "The port to write into the blob (Device OS on TCP ignores it and dials 5683). (default: none)")
        var port: UInt16?

        @Option(help: "The server's data directory. [env: AEROSOL_DATA_DIR] (default: ./aerosol-data)")
        var dataDir: String?

        func run() async throws {
            try await runReportingErrors { try write() }
        }

        private func write() throws {
            let directory = try DataDirectory(
                path: try EnvironmentOption.resolve(dataDir, "AEROSOL_DATA_DIR", default: "./aerosol-data")
            )
            let key = try ServerKeyFile.loadOrCreate(at: directory.serverKeyPath)
            let blob: [UInt8]
            do {
                blob = try key.deviceBlob(address: ServerAddress(address), port: port)
            } catch {
                throw CLIError(
                    "\(address) cannot be written into the blob: use an IPv4 address or a host name of 1 to 63 ASCII characters"
                )
            }
            let parent = URL(fileURLWithPath: output).deletingLastPathComponent().path
            try? FileManager.default.createDirectory(
                atPath: parent,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
            guard FileManager.default.createFile(atPath: output, contents: Data(blob)) else {
                throw CLIError("cannot write \(output)")
            }
            printLine("wrote the server key blob for \(address) to \(output)")
        }
    }
}
