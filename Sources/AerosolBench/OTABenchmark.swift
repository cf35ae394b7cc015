import DeviceGateway
import DeviceProtocol
import Firmware
import Foundation
import WireClient

/// `aerosol bench ota`: firmware over the air at scale, in two parts, each on a server of its
/// own.
///
/// 1. **At once**: ``devices`` simulated TCP devices connect (real RSA handshake, Hello,
///    Describe), then every one is flashed at the same moment with a ``size``-byte application
///    (`PUT /v1/devices/:id`, one keep-alive connection per device). A device's transfer time
///    runs from its PUT to the device applying the file (its CRC-32 and SHA-256 checked).
/// 2. **Release**: ``releaseDevices`` product devices on version 1 connect after version 2 is
///    released as the product default; the server updates them automatically, at most its
///    `--ota-concurrency` at once, the rest queued. A device's time runs from its Hello to
///    applying the file (queueing included); the per-device figure is the release's total time
///    over the devices.
///
/// The server's resident set is sampled every 100 ms during each part (its peak against the
/// steady size before); the file is held once by the server and read in bursts, so the peak
/// must not grow with the size times the devices.
public struct OTABenchmark: Sendable {
    /// Devices flashed at once (default 100).
    public var devices = 100
    /// Product devices of the release (default 1,000; 0 skips it).
    public var releaseDevices = 1_000
    /// The application's size in bytes (default 256 KiB).
    public var size = 256 * 1024
    /// The protocol the devices speak (default OTA v3, as Gen 3 and Gen 4 devices).
    public var otaProtocol: OTAProtocol = .v3
    /// The server's `--ota-concurrency` (`nil`: its default, 20).
    public var concurrency: Int?
    /// The identity file (default ``DeviceIdentityFile/defaultPath``; `nil`: generate every run).
    public var keyFile: String? = DeviceIdentityFile.defaultPath
    /// The server's `--sync` mode (default `full`, the server's own default).
    public var sync = "full"
    /// How long each part may take, in seconds (default 1,800).
    public var timeLimit: Double = 1_800

    /// A benchmark with the defaults.
    public init() {}

    /// The figures of one part.
    public struct Part: Codable, Sendable {
        public var devices: Int
        public var updated: Int
        public var failed: Int
        public var firstError: String?
        public var seconds: Double
        public var p50Ms: Double
        public var p99Ms: Double
        public var bytesPerSecond: Double
        public var rssBeforeKib: Int
        public var rssPeakKib: Int
    }

    /// What it measured.
    public struct Result: BenchmarkResult {
        public var benchmark = "ota"
        public var size: Int
        public var otaProtocol: String
        public var atOnce: Part
        public var release: Part?
        public var releaseConcurrency: Int
        public var keysGenerated: Int
        public var keyGenerationSeconds: Double

        public var report: String {
            var lines: [(String, String)] = [
                (
                    "at once: devices updated",
                    "\(atOnce.updated) of \(atOnce.devices) in \(Format.number(atOnce.seconds, 2)) s"
                ),
                (
                    "at once: transfer p50 / p99",
                    "\(Format.number(atOnce.p50Ms / 1000, 2)) / \(Format.number(atOnce.p99Ms / 1000, 2)) s"
                ),
                ("at once: throughput", "\(Format.number(atOnce.bytesPerSecond / 1_048_576, 2)) MiB/s"),
                ("at once: server RSS before / peak", "\(atOnce.rssBeforeKib) / \(atOnce.rssPeakKib) KiB"),
                ("at once: failed", "\(atOnce.failed)" + (atOnce.firstError.map { " (first: \($0))" } ?? "")),
            ]
            if let release {
                lines += [
                    (
                        "release: devices updated",
                        "\(release.updated) of \(release.devices) in \(Format.number(release.seconds, 2)) s, "
                            + "\(Format.number(1000 * release.seconds / Double(max(1, release.updated)), 1)) ms per device "
                            + "(--ota-concurrency \(releaseConcurrency))"
                    ),
                    (
                        "release: Hello → applied p50 / p99",
                        "\(Format.number(release.p50Ms / 1000, 2)) / \(Format.number(release.p99Ms / 1000, 2)) s"
                    ),
                    ("release: throughput", "\(Format.number(release.bytesPerSecond / 1_048_576, 2)) MiB/s"),
                    ("release: server RSS before / peak", "\(release.rssBeforeKib) / \(release.rssPeakKib) KiB"),
                    ("release: failed", "\(release.failed)" + (release.firstError.map { " (first: \($0))" } ?? "")),
                ]
            }
            lines.append(
                (
                    "device keys",
                    "\(keysGenerated) generated in \(Format.number(keyGenerationSeconds, 1)) s, the rest from the key file"
                )
            )
            return Format.block("ota: \(size)-byte application, \(otaProtocol) over TCP", lines)
        }

        public var summary: SummaryRow {
            SummaryRow(
                benchmark: benchmark,
                figure: "\(atOnce.devices) devices at once: total s / p99 s",
                value: "\(Format.number(atOnce.seconds, 2)) / \(Format.number(atOnce.p99Ms / 1000, 2))",
                target: "all updated",
                met: atOnce.updated == atOnce.devices && (release.map { $0.updated == $0.devices } ?? true)
            )
        }
    }

    /// Loads or generates the device keys, runs both parts on servers of their own.
    public func run() async throws -> Result {
        let loaded = try await DeviceIdentityFile.load(count: max(devices, releaseDevices), path: keyFile)
        var options = ServerOptions(sync: sync)
        if let concurrency { options.extraArguments = ["--ota-concurrency", String(concurrency)] }
        let atOnce = try await BenchServer.run(options) { server in
            try await flashAtOnce(server, identities: Array(loaded.identities.prefix(devices)))
        }
        var release: Part?
        if releaseDevices > 0 {
            release = try await BenchServer.run(options) { server in
                try await rollOut(server, identities: Array(loaded.identities.prefix(releaseDevices)))
            }
        }
        return Result(
            size: size,
            otaProtocol: "\(otaProtocol)",
            atOnce: atOnce,
            release: release,
            releaseConcurrency: concurrency ?? 20,
            keysGenerated: loaded.generated,
            keyGenerationSeconds: loaded.generationSeconds
        )
    }

    private var hello: Hello {
        var hello = DeviceSimulator.defaultHello
        if otaProtocol == .v3 { hello.flags.insert(.otaProtocolV3) }
        hello.productFirmwareVersion = 1
        return hello
    }

    private func fleet(_ server: BenchServer, _ identities: [DeviceIdentity]) throws
        -> (DeviceFleet, [SimulatedFirmware])
    {
        let firmwares = identities.map { _ in
            SimulatedFirmware(otaProtocol: otaProtocol, platformID: 3, maximumBinarySize: 4 << 20)
        }
        var fleet = DeviceFleet(
            identities: identities,
            serverPublicKeyDER: try server.serverPublicKeyDER(),
            port: server.devicePort
        )
        fleet.hello = hello
        fleet.firmware = { firmwares[$0] }
        return (fleet, firmwares)
    }

    private func flashAtOnce(_ server: BenchServer, identities: [DeviceIdentity]) async throws -> Part {
        try await server.provision(identities)
        let (fleet, firmwares) = try fleet(server, identities)
        let binary = SyntheticApplication.bytes(size: size, productVersion: 2)
        let tally = OTATally()
        let gate = StartSignal()
        let port = server.port
        let token = server.token
        let before = try await server.steadyResidentKiB()
        return try await withThrowingTaskGroup(of: Void.self, returning: Part.self) { group in
            group.addTask { [fleet] in
                await fleet.run { index, device in
                    let connection = try await WireConnection.connect(port: port)
                    do {
                        let start = try await gate.wait()
                        try await BenchServer.flash(
                            binary,
                            deviceID: device.deviceID.hexString,
                            token: token,
                            on: connection
                        )
                        await connection.close()
                        await tally.follow(firmwares[index], since: start)
                    } catch {
                        await connection.close()
                        if !(error is CancellationError) { tally.failed("\(error)") }
                    }
                }
            }
            let connected = try await fleet.settled(since: MonotonicClock.nanoseconds(), within: timeLimit)
            // Let the last devices' Describe and keep-alive connection settle.
            try await Task.sleep(for: .seconds(1))
            let start = ContinuousClock.now
            gate.fire(at: start)
            let (seconds, peak) = try await watch(server, tally: tally, expected: connected.connected, from: start)
            group.cancelAll()
            return part(identities.count, tally: tally.snapshot, seconds: seconds, before: before, peak: peak)
        }
    }

    private func rollOut(_ server: BenchServer, identities: [DeviceIdentity]) async throws -> Part {
        try await server.provision(identities)
        let (fleet, firmwares) = try fleet(server, identities)
        try await server.release(SyntheticApplication.bytes(size: size, productVersion: 2), version: 2)
        let tally = OTATally()
        let before = try await server.steadyResidentKiB()
        let start = ContinuousClock.now
        return try await withThrowingTaskGroup(of: Void.self, returning: Part.self) { group in
            group.addTask { [fleet] in
                await fleet.run { index, _ in
                    await tally.follow(firmwares[index], since: .now)
                }
            }
            let (seconds, peak) = try await watch(
                server,
                tally: tally,
                expected: identities.count,
                from: start,
                failedHandshakes: { fleet.progress.snapshot.failed }
            )
            group.cancelAll()
            return part(identities.count, tally: tally.snapshot, seconds: seconds, before: before, peak: peak)
        }
    }

    /// Samples the server's resident set every 100 ms until `expected` updates have ended;
    /// returns the seconds since `start` to the last one, and the peak.
    private func watch(
        _ server: BenchServer,
        tally: OTATally,
        expected: Int,
        from start: ContinuousClock.Instant,
        failedHandshakes: () -> Int = { 0 }
    ) async throws -> (seconds: Double, peakKiB: Int) {
        var peak = 0
        while tally.snapshot.done + failedHandshakes() < expected {
            peak = max(peak, (try? server.residentKiB()) ?? 0)
            let elapsed = ContinuousClock.now - start
            guard elapsed < .seconds(timeLimit) else {
                throw BenchError("only \(tally.snapshot.done) of \(expected) updates ended within \(Int(timeLimit)) s")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        peak = max(peak, (try? server.residentKiB()) ?? 0)
        let (whole, fraction) = (ContinuousClock.now - start).components
        return (Double(whole) + Double(fraction) / 1e18, peak)
    }

    private func part(_ devices: Int, tally: OTATally.Snapshot, seconds: Double, before: Int, peak: Int) -> Part {
        Part(
            devices: devices,
            updated: tally.updated,
            failed: tally.failed,
            firstError: tally.firstError,
            seconds: seconds,
            p50Ms: Format.milliseconds(tally.durations.percentile(0.50)),
            p99Ms: Format.milliseconds(tally.durations.percentile(0.99)),
            bytesPerSecond: seconds > 0 ? Double(tally.updated * size) / seconds : 0,
            rssBeforeKib: before,
            rssPeakKib: peak
        )
    }
}
