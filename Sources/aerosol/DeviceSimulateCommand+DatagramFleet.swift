import AerosolClient
import ArgumentParser
import DeviceGateway
import Foundation

/// `aerosol device simulate --protocol udp --count N`: N UDP devices with new EC keys,
/// provisioned and claimed (or added to `--product`) over the API, each connecting, publishing
/// and, with `--resume-after`, resuming its session from new ports.
extension DeviceSimulateCommand {
    func runDatagramFleet(count: Int) async throws {
        guard let serverKeyFile = FileManager.default.contents(atPath: serverKey) else {
            throw ValidationError("cannot read \(serverKey)")
        }
        let api = try client.client()
        let application = try makeApplication()
        var devices: [DatagramSimulator] = []
        for _ in 0..<count {
            let (simulator, publicKey) = try DatagramSimulator.generated(
                serverKeyFile: serverKeyFile,
                application: application
            )
            try await api.provisionDevice(simulator.deviceID.hexString, publicKeyPEM: publicKey)
            devices.append(simulator)
        }
        if let product {
            let result = try await api.addDevices(devices.map(\.deviceID.hexString), toProduct: product)
            if !result.invalid.isEmpty { throw CLIError("the product refused \(result.invalid.count) device ids") }
            printLine("provisioned \(count) UDP devices and added them to \(product)")
        } else {
            for device in devices { try await api.claimDevice(device.deviceID.hexString) }
            printLine("provisioned and claimed \(count) UDP devices")
        }
        let tally = DatagramFleetTally()
        let events = self.events
        let interval = self.interval
        let round = resumeAfter.map { Duration.milliseconds(Int64($0 * 1000)) }
        let host = self.host
        let port = try udpDevicePort
        try await withThrowingTaskGroup(of: Void.self) { group in
            for simulator in devices {
                group.addTask {
                    do {
                        repeat {
                            let resumed = simulator.canResume
                            try await simulator.run(host: host, port: port) { device in
                                tally.connected(resumed: resumed)
                                try await Self.datagramRound(device, events: events, interval: interval, round: round) {
                                    tally.published()
                                }
                            }
                        } while round != nil
                    } catch {
                        tally.failed()
                    }
                }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: .seconds(5))
                    let now = tally.snapshot
                    printLine(
                        "handshakes \(now.handshakes)/\(count), resumes \(now.resumes), published \(now.published), failed \(now.failed)"
                    )
                    if now.failed >= count { return }
                }
            }
            // Devices end only by failing; the status line ends once all have.
            try await group.waitForAll()
        }
        throw CLIError("every simulated device has failed")
    }

    /// One device's time awake: the session of the TCP simulator, for `round` if given.
    static func datagramRound(
        _ device: SimulatedDevice,
        events: [(String, String)],
        interval: Double?,
        round: Duration?,
        published: @escaping @Sendable () -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Self.session(device, events: events, interval: interval) { _, _, _ in published() }
            }
            if let round {
                group.addTask { try await Task.sleep(for: round) }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
