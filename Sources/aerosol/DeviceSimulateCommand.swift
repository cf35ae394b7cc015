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
            The device connects, completes the handshake and Hello, describes its --variable and
            --function declarations, subscribes to each --subscribe prefix (printing every event
            delivered), publishes each --publish event (again every --interval seconds if given)
            and stays connected, answering pings, variable reads and function calls, until
            interrupted.

            Example:
              aerosol device simulate --id 0123456789abcdef01234567 --key device_key.der \\
                --server-key server_key.der --port 5683 --publish temp=21.5 --interval 5 \\
                --variable temp=double:21.5 --function led=1 --subscribe alarm
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

    @Option(help: "A variable, as NAME=TYPE:VALUE with TYPE int32, double, bool or string; repeat for several.")
    var variable: [String] = []

    @Option(help: "A function, as NAME or NAME=RESULT (an int32; default: the argument's length); repeat for several.")
    var function: [String] = []

    @Option(help: "An event-name prefix to subscribe to; delivered events are printed. Repeat for several.")
    var subscribe: [String] = []

    func validate() throws {
        guard DeviceID(hex: id) != nil else { throw ValidationError("\(id) is not a device id (24 hex characters)") }
        if let interval, interval <= 0 { throw ValidationError("--interval must be positive") }
        for item in publish where !item.contains("=") || item.hasPrefix("=") {
            throw ValidationError("--publish takes NAME=DATA, not \(item)")
        }
        _ = try makeApplication()
    }

    /// The declared variables and functions.
    func makeApplication() throws -> SimulatedApplication {
        var application = SimulatedApplication()
        for item in variable {
            let parts = item.split(separator: "=", maxSplits: 1)
            let typed = parts.count == 2 ? parts[1].split(separator: ":", maxSplits: 1) : []
            guard parts.count == 2, typed.count == 2, !parts[0].isEmpty else {
                throw ValidationError("--variable takes NAME=TYPE:VALUE (e.g. temp=double:21.5), not \(item)")
            }
            let text = String(typed[1])
            let value: VariableValue? =
                switch typed[0] {
                case "int32": Int32(text).map { .int32($0) }
                case "double": Double(text).map { .double($0) }
                case "bool": Bool(text).map { .bool($0) }
                case "string": .string(text)
                default: nil
                }
            guard let value else {
                throw ValidationError(
                    "--variable \(item): \(typed[0]) is not int32, double, bool or string, or \(text) is not one"
                )
            }
            application.variables[String(parts[0])] = value
        }
        for item in function {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard let name = parts.first, !name.isEmpty else { throw ValidationError("--function takes NAME[=RESULT]") }
            if parts.count == 2 {
                guard let result = Int32(parts[1]) else {
                    throw ValidationError("--function \(item): the result must be an int32")
                }
                application.functions[String(name)] = { _ in result }
            } else {
                application.functions[String(name)] = { argument in Int32(clamping: argument.utf8.count) }
            }
        }
        return application
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
                serverPublicKeyDER: try DeviceKeyFile.serverPublicKeyDER(atPath: serverKey),
                application: try makeApplication()
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
        let prefixes = subscribe
        try await simulator.run(host: host, port: port) { device in
            printLine("device \(device.deviceID) connected")
            for prefix in prefixes {
                let code = try await device.subscribe(prefix)
                printLine("subscribed to \(prefix)" + (code == .empty ? "" : " (server answered \(code))"))
            }
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    // Ends when the connection does.
                    for await event in device.events { printLine("received \(event.name)=\(event.data ?? "")") }
                }
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
}
