import AerosolBench
import AerosolClient
import ArgumentParser
import CoAP
import DeviceGateway
import Foundation

extension DeviceSimulateCommand {
    /// `--count`: generate or reuse identities, provision and claim them (or add them to the
    /// product), connect them all and run each like the single device, until interrupted.
    func runFleet(count: Int, serverPublicKeyDER: [UInt8]) async throws {
        let api = try client.client()
        let loaded = try await DeviceIdentityFile.load(count: count, path: keys)
        if loaded.generated > 0 {
            let seconds = String(format: "%.1f", loaded.generationSeconds)
            printLine(
                "generated \(loaded.generated) device keys in \(seconds) s" + (keys.map { " (kept in \($0))" } ?? "")
            )
        }
        let identities = loaded.identities
        try await Self.forEach(identities, concurrency: 8) { identity in
            try await api.provisionDevice(identity.id.hexString, publicKeyPEM: identity.publicKey.pemRepresentation)
        }
        if let product {
            for start in stride(from: 0, to: identities.count, by: 500) {
                let ids = identities[start..<min(start + 500, identities.count)].map(\.id.hexString)
                let result = try await api.addDevices(ids, toProduct: product)
                if !result.invalid.isEmpty {
                    throw CLIError("the product refused \(result.invalid.count) device ids")
                }
            }
            printLine("provisioned \(count) devices and added them to \(product)")
        } else {
            try await Self.forEach(identities, concurrency: 8) { identity in
                try await api.claimDevice(identity.id.hexString)
            }
            printLine("provisioned and claimed \(count) devices")
        }

        var fleet = DeviceFleet(identities: identities, serverPublicKeyDER: serverPublicKeyDER, port: try devicePort)
        fleet.application = try makeApplication()
        fleet.host = host
        fleet.concurrentHandshakes = concurrency
        let tally = SimulationTally()
        let events = self.events
        let interval = self.interval
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [fleet] in
                await fleet.run { _, device in
                    try await Self.session(device, events: events, interval: interval) { _, _, code in
                        tally.published(refused: code != .empty)
                    }
                }
            }
            group.addTask { [fleet] in
                while true {
                    try await Task.sleep(for: .seconds(5))
                    let progress = fleet.progress.snapshot
                    var line = "connected \(progress.connected - progress.ended)/\(count), failed \(progress.failed)"
                    line += ", dropped \(progress.dropped), published \(tally.published) (refused \(tally.refused))"
                    if let error = progress.firstError { line += "; first error: \(error)" }
                    printLine(line)
                    if progress.failed + progress.ended >= count { return }
                }
            }
            try await group.waitForAll()
        }
        throw CLIError("every simulated device has disconnected")
    }

    /// Runs `body` for every identity, `concurrency` at a time; the first error ends the rest.
    static func forEach(
        _ identities: [DeviceIdentity],
        concurrency: Int,
        _ body: @escaping @Sendable (DeviceIdentity) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            while next < min(concurrency, identities.count) {
                let identity = identities[next]
                group.addTask { try await body(identity) }
                next += 1
            }
            while try await group.next() != nil, next < identities.count {
                let identity = identities[next]
                group.addTask { try await body(identity) }
                next += 1
            }
            try await group.waitForAll()
        }
    }

    /// A connected device's life: publishes `events` at once and then every `interval` seconds
    /// (`published` is told each answer), and pings when it has sent nothing for 25 s, as
    /// Device OS does, so the server's idle timeout never takes it offline. Runs until the
    /// connection fails or the task is cancelled.
    static func session(
        _ device: SimulatedDevice,
        events: [(String, String)],
        interval: Double?,
        published: (String, String, CoAPCode?) -> Void
    ) async throws {
        let keepAlive = Duration.seconds(25)
        var nextPublish: ContinuousClock.Instant? = events.isEmpty ? nil : .now
        while true {
            let now = ContinuousClock.now
            if let due = nextPublish, due <= now {
                for (name, data) in events {
                    published(name, data, try await device.publish(name, data: data))
                }
                nextPublish = interval.map { due + .milliseconds(Int64($0 * 1000)) }
            } else {
                try await device.ping()
            }
            let idle = ContinuousClock.now + keepAlive
            try await Task.sleep(until: min(nextPublish ?? idle, idle), clock: .continuous)
        }
    }
}
