import DeviceGateway
import Foundation

/// `aerosol bench devices`: many devices connected to one server at once: the server memory
/// each connected device costs, and the rate at which the server completes handshakes.
///
/// Device keys come from a ``DeviceIdentityFile`` (generated once, outside any timing). The
/// devices are provisioned and added to the bench product over HTTP, then the server's resident
/// set is read once steady, and every device connects (real RSA handshake, AES frames, Hello;
/// ``concurrentHandshakes`` in flight). Handshakes per second = devices connected / time from
/// the first connect to the last Hello answered. Once all are connected and the resident set is
/// steady again, its growth is divided by the devices; then every device is pinged to check
/// that none was lost. Connected devices ping every 25 s, as Device OS does, so the server's
/// 60 s idle timeout never ends them.
///
/// The RSA work alone is measured in this process too (one core, no sockets), as the ceiling
/// it puts on handshakes whatever else the server does; see ``HandshakeCost``.
public struct DevicesBenchmark: Sendable {
    /// Devices connected (default 10,000).
    public var devices = 10_000
    /// Devices handshaking at once (default 64).
    public var concurrentHandshakes = 64
    /// The identity file (default ``DeviceIdentityFile/defaultPath``; `nil`: generate every run).
    public var keyFile: String? = DeviceIdentityFile.defaultPath
    /// The server's `--sync` mode (default `full`, the server's own default): a device going
    /// online is a database write and a `spark/status` event.
    public var sync = "full"
    /// The target: KiB of server memory per connected device, at most.
    public static let targetKiB = 24.0
    /// The target: handshakes per second, at least.
    public static let targetHandshakesPerSecond = 400.0

    /// A benchmark with the defaults.
    public init() {}

    /// What it measured.
    public struct Result: BenchmarkResult {
        public var benchmark = "devices"
        public var devices: Int
        public var connected: Int
        public var failed: Int
        public var firstError: String?
        public var secondsToConnect: Double
        public var handshakesPerSecond: Double
        public var handshakeP50Ms: Double
        public var handshakeP99Ms: Double
        public var serverCpuSeconds: Double
        public var serverCpuMsPerHandshake: Double
        public var benchCpuSeconds: Double
        public var benchCpuMsPerHandshake: Double
        public var otherProcessesCores: Double
        public var rsaPrivateOpsPerSecond: Double
        public var serverHandshakeCryptoPerSecond: Double
        public var deviceHandshakeCryptoPerSecond: Double
        public var rssBeforeKib: Int
        public var rssAfterKib: Int
        public var kibPerDevice: Double
        public var devicesLost: Int
        public var keysGenerated: Int
        public var keyGenerationSeconds: Double
        public var setupSeconds: Double
        public var targetKib: Double
        public var targetHandshakesPerSecond: Double
        public var metMemoryTarget: Bool
        public var metHandshakeTarget: Bool

        public var report: String {
            let perCore = rsaPrivateOpsPerSecond / 2
            return Format.block(
                "devices: \(devices) simulated devices on one server (RSA handshake, Hello, idle)",
                [
                    ("KiB per connected device", Format.number(kibPerDevice, 2)),
                    ("RSS before / after", "\(rssBeforeKib) / \(rssAfterKib) KiB"),
                    ("handshakes per second", Format.number(handshakesPerSecond, 1)),
                    ("devices connected", "\(connected) of \(devices) in \(Format.number(secondsToConnect, 2)) s"),
                    ("failed to connect", "\(failed)" + (firstError.map { " (first: \($0))" } ?? "")),
                    (
                        "connect → Hello p50 / p99",
                        "\(Format.number(handshakeP50Ms, 2)) / \(Format.number(handshakeP99Ms, 2)) ms"
                    ),
                    (
                        "server CPU while connecting",
                        "\(Format.number(serverCpuSeconds, 2)) s, \(Format.number(serverCpuMsPerHandshake, 3)) ms per handshake"
                    ),
                    (
                        "bench (devices) CPU",
                        "\(Format.number(benchCpuSeconds, 2)) s, \(Format.number(benchCpuMsPerHandshake, 3)) ms per handshake"
                    ),
                    (
                        "RSA-2048 private op, 1 core",
                        "\(Format.number(rsaPrivateOpsPerSecond)) ops/s → ≤ \(Format.number(perCore)) handshakes/s per core (2 per handshake)"
                    ),
                    (
                        "server handshake crypto, 1 core",
                        "\(Format.number(serverHandshakeCryptoPerSecond)) /s → ≤ \(Format.number(2 * serverHandshakeCryptoPerSecond)) /s on 2 cores"
                    ),
                    ("device handshake crypto, 1 core", "\(Format.number(deviceHandshakeCryptoPerSecond)) /s"),
                    ("other processes while connecting", "\(Format.number(otherProcessesCores, 2)) cores busy"),
                    ("devices lost while idle", "\(devicesLost)"),
                    (
                        "device keys",
                        "\(devices - keysGenerated) from the key file, \(keysGenerated) generated in \(Format.number(keyGenerationSeconds, 1)) s"
                    ),
                    ("provisioning", "\(Format.number(setupSeconds, 2)) s"),
                    (
                        "target",
                        "≤ \(Format.number(targetKib)) KiB per device: \(Format.verdict(metMemoryTarget)); "
                            + "≥ \(Format.number(targetHandshakesPerSecond)) handshakes/s: \(Format.verdict(metHandshakeTarget))"
                    ),
                ]
            )
        }

        public var summary: SummaryRow {
            SummaryRow(
                benchmark: benchmark,
                figure: "KiB per device / handshakes/s (\(devices) devices)",
                value: "\(Format.number(kibPerDevice, 2)) / \(Format.number(handshakesPerSecond, 1))",
                target: "≤ \(Format.number(targetKib)) / ≥ \(Format.number(targetHandshakesPerSecond))",
                met: metMemoryTarget && metHandshakeTarget
            )
        }
    }

    /// Loads or generates the device keys, starts a server, measures, stops the server.
    public func run() async throws -> Result {
        let loaded = try await DeviceIdentityFile.load(count: devices, path: keyFile)
        return try await BenchServer.run(ServerOptions(sync: sync)) { server in
            try await measure(server, loaded: loaded)
        }
    }

    private func measure(_ server: BenchServer, loaded: DeviceIdentityFile.Loaded) async throws -> Result {
        let identities = loaded.identities
        let setupStart = MonotonicClock.nanoseconds()
        try await server.provision(identities)
        let setupSeconds = MonotonicClock.seconds(since: setupStart)
        let serverKey = try ServerKeyFile.load(at: server.serverKeyPath)
        let cost = try HandshakeCost.measure(serverKey: serverKey, device: identities[0], seconds: 1)

        var fleet = DeviceFleet(
            identities: identities,
            serverPublicKeyDER: serverKey.publicKeyDER,
            port: server.devicePort
        )
        fleet.concurrentHandshakes = concurrentHandshakes
        let roster = DeviceRoster()
        let count = identities.count
        let before = try await server.steadyResidentKiB()

        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            let serverCPU = server.cpuSeconds
            let benchCPU = ProcessCPU.seconds()
            let machineCPU = ProcessCPU.machineBusySeconds()
            let start = MonotonicClock.nanoseconds()
            group.addTask { [fleet] in
                await fleet.run { index, device in
                    roster.add(device)
                    try await Self.keepAlive(device, phase: .milliseconds(index * 7919 % 25_000))
                }
            }
            // Every device connected or failed; the timeout allows 50 handshakes a second.
            let progress = try await fleet.settled(since: start, within: Double(count) / 50 + 60)
            let serverSeconds = server.cpuSeconds - serverCPU
            let benchSeconds = ProcessCPU.seconds() - benchCPU
            let machineSeconds = ProcessCPU.machineBusySeconds() - machineCPU
            let elapsed = MonotonicClock.seconds(since: start)
            let seconds = Double(progress.lastConnectedAt &- start) / 1e9
            let after = try await server.steadyResidentKiB()

            // Every device must still be there: a ping each. If some ping never gets an answer,
            // ending the fleet after 60 s fails it and so ends the wait.
            let lost = await withTaskGroup(of: Int?.self, returning: Int.self) { pings in
                pings.addTask { await roster.pingAll() }
                pings.addTask {
                    try? await Task.sleep(for: .seconds(60))
                    return nil
                }
                var lost = 0
                while let answer = await pings.next() {
                    if let answer {
                        lost = answer
                        pings.cancelAll()
                    } else {
                        group.cancelAll()
                    }
                }
                return lost + max(0, progress.connected - roster.all.count)
            }
            group.cancelAll()

            let connected = progress.connected
            let handshakes = seconds > 0 ? Double(connected) / seconds : 0
            let perDevice = Double(after - before) / Double(max(1, connected))
            return Result(
                devices: count,
                connected: connected,
                failed: progress.failed,
                firstError: progress.firstError,
                secondsToConnect: seconds,
                handshakesPerSecond: handshakes,
                handshakeP50Ms: Format.milliseconds(progress.handshakeLatency.percentile(0.50)),
                handshakeP99Ms: Format.milliseconds(progress.handshakeLatency.percentile(0.99)),
                serverCpuSeconds: serverSeconds,
                serverCpuMsPerHandshake: 1000 * serverSeconds / Double(max(1, connected)),
                benchCpuSeconds: benchSeconds,
                benchCpuMsPerHandshake: 1000 * benchSeconds / Double(max(1, connected)),
                otherProcessesCores: max(0, machineSeconds - serverSeconds - benchSeconds) / max(elapsed, 0.001),
                rsaPrivateOpsPerSecond: cost.rsaPrivateOpsPerSecond,
                serverHandshakeCryptoPerSecond: cost.serverHandshakesPerSecond,
                deviceHandshakeCryptoPerSecond: cost.deviceHandshakesPerSecond,
                rssBeforeKib: before,
                rssAfterKib: after,
                kibPerDevice: perDevice,
                devicesLost: lost,
                keysGenerated: loaded.generated,
                keyGenerationSeconds: loaded.generationSeconds,
                setupSeconds: setupSeconds,
                targetKib: Self.targetKiB,
                targetHandshakesPerSecond: Self.targetHandshakesPerSecond,
                metMemoryTarget: connected == count && lost == 0 && perDevice <= Self.targetKiB,
                metHandshakeTarget: connected == count && handshakes >= Self.targetHandshakesPerSecond
            )
        }
    }

    /// Pings every 25 s, as Device OS does, starting after `phase`, until cancelled.
    static func keepAlive(_ device: SimulatedDevice, phase: Duration) async throws {
        try await Task.sleep(for: phase)
        while true {
            try await device.ping()
            try await Task.sleep(for: .seconds(25))
        }
    }
}
