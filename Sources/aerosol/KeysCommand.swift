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
                With --protocol tcp (the default), reads the server's RSA key from the data directory
                (creating it if this is the first use) and writes the 512-byte blob Device OS expects on
                TCP: the public key DER padded to 384 bytes, then the address devices dial.

                With --protocol udp (Gen3 and Gen4 devices), reads the server's EC P-256 key
                (server-key-ec.pem, created if missing) and writes the 320-byte UDP blob: the public
                key DER padded to 192 bytes, then the address. UDP devices always dial port 5684.

                The file's directory is created (mode 0700) if missing. Keep key files out of
                source trees, for example in ~/.aerosol.

                Example:
                  aerosol keys server --address 192.168.1.10 --output ~/.aerosol/server_key.der
                  aerosol keys server --protocol udp --address 192.168.1.10 \\
                      --output ~/.aerosol/server_key_udp.der
                """
        )

        @Option(help: "tcp (RSA, 512-byte blob) or udp (EC P-256, 320-byte blob). (default: tcp)")
        var `protocol`: String = "tcp"

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
            let blob: [UInt8]
            do {
                switch self.protocol.lowercased() {
                case "tcp":
                    let key = try ServerKeyFile.loadOrCreate(at: directory.serverKeyPath)
                    blob = try key.deviceBlob(address: ServerAddress(address), port: port)
                case "udp":
                    let key = try ECServerKeyFile.loadOrCreate(at: directory.udpServerKeyPath)
                    blob = try key.deviceBlob(address: ServerAddress(address), port: port)
                default:
                    throw ValidationError("--protocol must be tcp or udp")
                }
            } catch let error as ValidationError {
                throw error
            } catch let error as GatewayError {
                throw ValidationError(error.message)
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
            printLine("wrote the \(self.protocol.lowercased()) server key blob for \(address) to \(output)")
        }
    }
}
