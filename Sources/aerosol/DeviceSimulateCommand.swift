import ArgumentParser
import DeviceGateway
import DeviceProtocol
import Firmware
import Foundation

/// `aerosol device simulate`: one virtual device over the real TCP protocol, or many with
/// generated, auto-provisioned ids and keys (`--count`) for load tests.
struct DeviceSimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run virtual devices that connect over the device protocol and publish events.",
        discussion: """
            One device (--id and --key): it connects, completes the handshake and Hello, describes \
            its --variable and --function declarations, subscribes to each --subscribe prefix \
            (printing every event delivered), publishes each --publish event (again every \
            --interval seconds if given) and stays connected, answering variable reads and \
            function calls and pinging every 25 s as Device OS does, until interrupted. It takes \
            firmware updates by the legacy protocol (or OTA v3 with --ota-protocol v3), checks \
            their CRC-32 and SHA-256, "restarts" (reconnects) and describes the new module; the \
            --ota-* options make it misbehave.

            Many devices (--count N): ids and RSA-1024 keys are generated (or reused from --keys), \
            each public key is provisioned over the API (POST /v1/provisioning/:id, with --api-url \
            and --token, or the saved login) and each device is claimed for the token's account \
            (or added to --product instead); then all of them connect, at most --concurrency \
            handshaking at once, and behave like the single device. A status line is printed \
            every 5 s.

            Examples:
              aerosol device simulate --id 0123456789abcdef01234567 \\
                --key ~/.aerosol/device_key.pem --server-key ~/.aerosol/server_key.der \\
                --port 5683 --publish temp=21.5 --interval 5 \\
                --variable temp=double:21.5 --function led=1 --subscribe alarm
              aerosol device simulate --count 1000 --server-key ~/.aerosol/server_key.der \\
                --api-url http://127.0.0.1:8080 --token $TOKEN --product my-product \\
                --keys ~/.aerosol/fleet-keys.txt --publish temp=21.5 --interval 10
            """
    )

    @Option(help: "The device id (24 hex characters), for one device.")
    var id: String?

    @Option(help: "The device's RSA private key (PEM or DER), for one device.")
    var key: String?

    @Option(help: "Simulate this many devices with generated, auto-provisioned ids and keys.")
    var count: Int?

    @Option(help: "The server key blob from `aerosol keys server` (or the server's PEM public key).")
    var serverKey: String

    @Option(help: "The server's address.")
    var host = "127.0.0.1"

    @Option(
        help:
            "The server's device port. [env: AEROSOL_DEVICE_PORT, or AEROSOL_UDP_DEVICE_PORT with --protocol udp, as for serve] (default: 5683, or 5684 with --protocol udp)"
    )
    var port: Int?

    /// The UDP device port: `--port`, else `AEROSOL_UDP_DEVICE_PORT`, else 5684.
    var udpDevicePort: Int {
        get throws {
            try EnvironmentOption.resolve(
                port,
                "AEROSOL_UDP_DEVICE_PORT",
                default: 5684,
                where: (1...65535).contains,
                "1 to 65535"
            )
        }
    }

    /// The device port: `--port`, else `AEROSOL_DEVICE_PORT`, else 5683.
    var devicePort: Int {
        get throws {
            try EnvironmentOption.resolve(
                port,
                "AEROSOL_DEVICE_PORT",
                default: 5683,
                where: (1...65535).contains,
                "1 to 65535"
            )
        }
    }

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

    /// With --count: where to provision and claim the devices.
    @OptionGroup var client: ClientOptions

    @Option(help: "With --count: add the devices to this product (id or slug) instead of claiming them.")
    var product: String?

    @Option(
        help:
            "With --count: a file of device ids and keys to reuse, extended with any generated ones (mode 0600). (default: new devices every run, keys not kept)"
    )
    var keys: String?

    @Option(help: "With --count: devices handshaking at once.")
    var concurrency = 32

    @Option(
        help:
            "tcp (RSA key) or udp (EC key, DTLS; --port then defaults to 5684). (default: tcp)"
    )
    var `protocol` = "tcp"

    @Option(
        help:
            "With --protocol udp: every this many seconds, close the socket and resume the DTLS session from a new port without a handshake, as a sleeping device does. (default: never)"
    )
    var resumeAfter: Double?

    @Option(help: "The OTA protocol the device speaks: legacy or v3 (Hello flag 0x80). (default: legacy)")
    var otaProtocol = "legacy"

    @Option(help: "Misbehave: lose this chunk (by number from 0) every time it arrives; repeat for several.")
    var otaDrop: [Int] = []

    @Option(help: "Misbehave: drop the connection after this many chunks, once.")
    var otaDisconnectAfter: Int?

    @Flag(help: "Misbehave: refuse updates (as System.disableUpdates() does).")
    var otaRefuse = false

    func validate() throws {
        if let count {
            guard id == nil, key == nil else {
                throw ValidationError("--count generates ids and keys: drop --id and --key")
            }
            guard (1...50_000).contains(count) else { throw ValidationError("--count must be 1 to 50000") }
            guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be 1 to 256") }
        } else {
            guard let id, key != nil else { throw ValidationError("give --id and --key for one device, or --count") }
            guard DeviceID(hex: id) != nil else {
                throw ValidationError("\(id) is not a device id (24 hex characters)")
            }
            guard product == nil, keys == nil else { throw ValidationError("--product and --keys go with --count") }
        }
        if let interval, interval <= 0 { throw ValidationError("--interval must be positive") }
        guard ["tcp", "udp"].contains(self.protocol) else { throw ValidationError("--protocol must be tcp or udp") }
        if self.protocol == "udp", count != nil, keys != nil {
            throw ValidationError("--keys is not supported with --protocol udp yet: UDP fleets get new keys every run")
        }
        if let resumeAfter, self.protocol != "udp" || resumeAfter <= 0 {
            throw ValidationError("--resume-after takes positive seconds, with --protocol udp")
        }
        guard ["legacy", "v3"].contains(otaProtocol) else { throw ValidationError("--ota-protocol is legacy or v3") }
        for item in publish where !item.contains("=") || item.hasPrefix("=") {
            throw ValidationError("--publish takes NAME=DATA, not \(item)")
        }
        _ = try makeApplication()
    }

    func run() async throws {
        if self.protocol == "udp" {
            if let count {
                try await runDatagramFleet(count: count)
            } else {
                try await runDatagram()
            }
            return
        }
        let serverPublicKeyDER: [UInt8]
        do {
            serverPublicKeyDER = try DeviceKeyFile.serverPublicKeyDER(atPath: serverKey)
        } catch let error as GatewayError {
            throw ValidationError(error.message)
        }
        if let count {
            try await runFleet(count: count, serverPublicKeyDER: serverPublicKeyDER)
            return
        }
        guard let id, let deviceID = DeviceID(hex: id), let key else { throw ValidationError("bad device id") }
        guard let privateKey = FileManager.default.contents(atPath: key) else {
            throw ValidationError("cannot read \(key)")
        }
        var simulator: DeviceSimulator
        do {
            simulator = try DeviceSimulator(
                deviceID: deviceID,
                privateKey: privateKey,
                serverPublicKeyDER: serverPublicKeyDER,
                application: try makeApplication()
            )
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(key) is not an RSA private key (PEM or DER)")
        }
        let events = self.events
        let interval = self.interval
        let prefixes = subscribe
        let firmware = makeFirmware(hello: &simulator.hello, transport: .tcp)
        simulator.firmware = firmware
        // The device runs until interrupted; an update's restart (or a misbehaving drop) is a
        // reconnect, as a real device's.
        while true {
            do {
                try await connection(
                    simulator,
                    firmware: firmware,
                    events: events,
                    interval: interval,
                    prefixes: prefixes
                )
                return
            } catch let restart as SimulatedRestart {
                printLine("reconnecting (\(restart.reason))")
            }
        }
    }

    private func connection(
        _ simulator: DeviceSimulator,
        firmware: SimulatedFirmware,
        events: [(String, String)],
        interval: Double?,
        prefixes: [String]
    ) async throws {
        let restart = SimulatedRestart.Latch()
        do {
            try await simulator.run(host: host, port: try devicePort) { device in
                try await self.connected(
                    device,
                    firmware: firmware,
                    restart: restart,
                    events: events,
                    interval: interval,
                    prefixes: prefixes
                )
            }
        } catch {
            if let reason = restart.reason { throw SimulatedRestart(reason: reason) }
            throw error
        }
        if let reason = restart.reason { throw SimulatedRestart(reason: reason) }
    }

    private func connected(
        _ device: SimulatedDevice,
        firmware: SimulatedFirmware,
        restart: SimulatedRestart.Latch,
        events: [(String, String)],
        interval: Double?,
        prefixes: [String]
    ) async throws {
        printLine("device \(device.deviceID) connected")
        do {
            for prefix in prefixes {
                let code = try await device.subscribe(prefix)
                printLine("subscribed to \(prefix)" + (code == .empty ? "" : " (server answered \(code))"))
            }
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    // Ends when the connection does.
                    for await event in device.events { printLine("received \(event.name)=\(event.data ?? "")") }
                }
                group.addTask { try await Self.follow(firmware, restart: restart) }
                group.addTask {
                    // Publishes and pings until cancelled (a restart ends the connection).
                    try await Self.session(device, events: events, interval: interval) { name, data, code in
                        let answer = code == .empty ? "" : " (server answered \(code.map { "\($0)" } ?? "-"))"
                        printLine("published \(name)=\(data)" + answer)
                    }
                }
            }
        }
    }

    /// The `--publish` events as (name, data).
    var events: [(String, String)] {
        publish.map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
    }
}
