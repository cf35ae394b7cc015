import ArgumentParser
import DeviceGateway
import DeviceProtocol
import Foundation

/// `aerosol device simulate`: one virtual device over the real TCP protocol.
struct DeviceSimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a virtual device that connects over the device protocol and publishes events.",
        discussion: """
            The device connects, completes the handshake and Hello, publishes each --publish event
            (again every --interval seconds if given) and stays connected, answering pings, until
            interrupted.

            Example:
              aerosol device simulate --id 0123456789abcdef01234567 --key device_key.der \\
                --server-key server_key.der --port 5683 --publish temp=21.5 --interval 5
            """
    )

    @Option(help: "The device id (24 hex characters).")
    var id: String

    @Option(help: "The device's RSA private key (PEM or DER).")
    var key: String

    @Option(help: "The server key blob from `aerosol keys server` (or the server's PEM public key).")
    var serverKey: String

    @Option(help: "The server's address. (default: 127.0.0.1)")
    var host = "127.0.0.1"

    @Option(help: "The server's device port. (default: 5683)")
    var port = 5683

    @Option(help: "An event to publish, as NAME=DATA; repeat for several.")
    var publish: [String] = []

    @Option(help: "Seconds between rounds of publishes. (default: publish once)")
    var interval: Double?

    func validate() throws {
        guard DeviceID(hex: id) != nil else { throw ValidationError("\(id) is not a device id (24 hex characters)") }
        if let interval, interval <= 0 { throw ValidationError("--interval must be positive") }
        for item in publish where !item.contains("=") || item.hasPrefix("=") {
            throw ValidationError("--publish takes NAME=DATA, not \(item)")
        }
    }

    func run() async throws {
        guard let deviceID = DeviceID(hex: id) else { throw ValidationError("bad device id") }
        guard let privateKey = FileManager.default.contents(atPath: key) else {
            throw ValidationError("cannot read \(key)")
        }
        let simulator: DeviceSimulator
        do {
            simulator = try DeviceSimulator(
                deviceID: deviceID,
                privateKey: privateKey,
                serverPublicKeyDER: try DeviceKeyFile.serverPublicKeyDER(atPath: serverKey)
            )
        } catch let error as GatewayError {
            throw ValidationError(error.message)
        } catch {
            throw ValidationError("\(key) is not an RSA private key (PEM or DER)")
        }
        let events = publish.map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        let interval = self.interval
        try await simulator.run(host: host, port: port) { device in
            printLine("device \(device.deviceID) connected")
            var round = 0
            while true {
                if round == 0 || interval != nil {
                    for (name, data) in events {
                        let code = try await device.publish(name, data: data)
                        let answer = code == .empty ? "" : " (server answered \(code.map { "\($0)" } ?? "-"))"
                        printLine("published \(name)=\(data)" + answer)
                    }
                }
                round += 1
                try await Task.sleep(for: .milliseconds(Int64((interval ?? 3_600) * 1000)))
            }
        }
    }
}
