import AerosolModels
import AerosolStore
import ArgumentParser
import DeviceGateway

/// `aerosol device provision`: stores a device's public key, straight on the data directory.
struct DeviceProvisionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision",
        abstract: "Store a device's public key so the gateway accepts it (works on the data directory).",
        discussion: """
            The key file may hold the device's public key (PEM or DER) or its private key (PEM or DER,
            such as device_key.pem), whose public half is stored. An RSA key lets the device connect
            over TCP (port 5683), an EC P-256 key over UDP (port 5684, Gen3 and Gen4 devices).

            Example:
              aerosol device provision 0123456789abcdef01234567 \\
                  --key ~/.aerosol/device.pub.pem --data-dir ./aerosol-data
            """
    )

    @Argument(help: "The device id (24 hex characters).")
    var id: String

    @Option(help: "The device's key file.")
    var key: String

    @Option(help: "The server's data directory. [env: AEROSOL_DATA_DIR] (default: ./aerosol-data)")
    var dataDir: String?

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let deviceID = id.lowercased()
        guard Device.isValidID(deviceID) else { throw ValidationError("\(id) is not a device id (24 hex characters)") }
        try await runReportingErrors {
            let publicKey: String
            let transport: String
            do {
                let deviceKey = try DeviceKeyFile.deviceKey(atPath: key)
                publicKey = deviceKey.pemRepresentation
                transport = deviceKey.transport
            } catch let error as GatewayError {
                throw CLIError("\(key): \(error.message)")
            }
            try await AdministeredDatabase.with(dataDir: dataDir, url: database.resolve(), create: true) { store in
                try await DeviceKeyStore(database: store).provision(deviceID: deviceID, publicKeyPEM: publicKey)
            }
            printLine("provisioned device \(deviceID) (\(transport))")
        }
    }
}
