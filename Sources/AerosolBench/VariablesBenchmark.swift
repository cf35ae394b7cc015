import DeviceGateway
import Foundation
import WireClient

/// `aerosol bench variables`: variable reads per second through the REST API, each a round
/// trip to a connected device.
///
/// `devices` simulated devices of the bench account connect (real handshake) declaring a
/// double variable `temp`; then `connections` keep-alive HTTP connections each read
/// `GET /v1/devices/<id>/temp` in a loop for `duration` seconds, device after device. Every
/// read goes to the device and back (CON GET with a token, the device's ACK and NON 2.05),
/// through the gateway's request correlation. Counted: successful reads (200 with `"result":21.5`)
/// per second, their latency, and any other answer.
public struct VariablesBenchmark: Sendable {
    /// Devices connected (default 100).
    public var devices = 100
    /// Concurrent HTTP connections reading (default 64).
    public var connections = 64
    /// Seconds measured (default 10).
    public var duration = 10.0
    /// The identity file (default ``DeviceIdentityFile/defaultPath``; `nil`: generate every run).
    public var keyFile: String? = DeviceIdentityFile.defaultPath
    /// The server's `--sync` mode (default `full`).
    public var sync = "full"
    /// The target: reads per second at least.
    public static let targetReadsPerSecond = 2000.0

    /// A benchmark with the defaults.
    public init() {}

    /// What it measured.
    public struct Result: BenchmarkResult {
        public var benchmark = "variables"
        public var devices: Int
        public var devicesConnected: Int
        public var connections: Int
        public var seconds: Double
        public var reads: Int
        public var readsPerSecond: Double
        public var failures: Int
        public var firstFailure: String?
        public var p50Ms: Double
        public var p99Ms: Double
        public var maxMs: Double
        public var serverCores: Double
        public var benchCores: Double
        public var targetReadsPerSecond: Double
        public var metTarget: Bool

        public var report: String {
            Format.block(
                "variables: GET /v1/devices/:id/temp across \(devices) connected devices",
                [
                    ("reads per second", Format.number(readsPerSecond)),
                    ("reads", "\(reads) in \(Format.number(seconds, 1)) s, \(failures) failed"),
                    (
                        "latency p50 / p99 / max",
                        "\(Format.number(p50Ms, 2)) / \(Format.number(p99Ms, 2)) / \(Format.number(maxMs, 2)) ms"
                    ),
                    ("devices connected", "\(devicesConnected) of \(devices)"),
                    ("HTTP connections", "\(connections)"),
                    (
                        "cores busy: server / bench",
                        "\(Format.number(serverCores, 2)) / \(Format.number(benchCores, 2))"
                    ),
                    ("first failure", firstFailure ?? "none"),
                    (
                        "target",
                        "≥ \(Format.number(targetReadsPerSecond)) reads/s: \(Format.verdict(metTarget))"
                    ),
                ]
            )
        }

        public var summary: SummaryRow {
            SummaryRow(
                benchmark: benchmark,
                figure: "variable reads/s (\(devices) devices)",
                value: Format.number(readsPerSecond),
                target: "≥ \(Format.number(targetReadsPerSecond))",
                met: metTarget
            )
        }
    }

    /// Loads or generates the device keys, starts a server, measures, stops the server.
    public func run() async throws -> Result {
        let loaded = try await DeviceIdentityFile.load(count: devices, path: keyFile)
        return try await BenchServer.run(ServerOptions(sync: sync)) { server in
            try await measure(server, identities: loaded.identities)
        }
    }

    private func measure(_ server: BenchServer, identities: [DeviceIdentity]) async throws -> Result {
        try await server.provision(identities)
        var fleet = DeviceFleet(
            identities: identities,
            serverPublicKeyDER: try server.serverPublicKeyDER(),
            port: server.devicePort
        )
        fleet.application = SimulatedApplication(variables: ["temp": .double(21.5)])
        let ids = identities.map(\.id.hexString)
        let port = server.port
        let token = server.token
        let connections = self.connections
        let duration = self.duration

        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { [fleet] in
                // Devices stay connected, answering, until the benchmark ends.
                await fleet.run { _, _ in try await Task.sleep(for: .seconds(3600)) }
            }
            let progress = try await fleet.settled(
                since: MonotonicClock.nanoseconds(),
                within: Double(ids.count) / 20 + 60
            )
            // Every device has described itself: one read each must succeed before timing.
            let warm = try await WireConnection.connect(port: port)
            for id in ids {
                var answered = false
                for _ in 0..<100 where !answered {
                    let response = try await warm.request(.GET, "/v1/devices/\(id)/temp", headers: Self.auth(token))
                    answered = response.status == 200
                    if !answered { try await Task.sleep(for: .milliseconds(20)) }
                }
                guard answered else { throw BenchError("device \(id) never answered its variable") }
            }
            await warm.close()

            let cpu = (server.cpuSeconds, ProcessCPU.seconds(), MonotonicClock.nanoseconds())
            let deadline = MonotonicClock.nanoseconds() + UInt64(duration * 1e9)
            let result = try await withThrowingTaskGroup(of: ReadTally.self) { readers in
                for lane in 0..<connections {
                    readers.addTask {
                        let connection = try await WireConnection.connect(port: port)
                        var index = lane
                        var local = ReadTally()
                        while MonotonicClock.nanoseconds() < deadline {
                            let id = ids[index % ids.count]
                            index += connections
                            let sent = MonotonicClock.nanoseconds()
                            let response = try await connection.request(
                                .GET,
                                "/v1/devices/\(id)/temp",
                                headers: Self.auth(token)
                            )
                            if response.status == 200, response.text.contains(#""result":21.5"#) {
                                local.latency.record(MonotonicClock.nanoseconds() - sent)
                            } else {
                                local.failures += 1
                                if local.firstFailure == nil {
                                    local.firstFailure = "\(response.status) \(response.text.prefix(120))"
                                }
                            }
                        }
                        await connection.close()
                        return local
                    }
                }
                return try await readers.reduce(into: ReadTally()) { $0.add($1) }
            }
            let elapsed = max(0.001, MonotonicClock.seconds(since: cpu.2))
            let serverCores = (server.cpuSeconds - cpu.0) / elapsed
            let benchCores = (ProcessCPU.seconds() - cpu.1) / elapsed
            group.cancelAll()
            let reads = Int(result.latency.count)
            let perSecond = Double(reads) / elapsed
            return Result(
                devices: ids.count,
                devicesConnected: progress.connected,
                connections: connections,
                seconds: elapsed,
                reads: reads,
                readsPerSecond: perSecond,
                failures: result.failures,
                firstFailure: result.firstFailure,
                p50Ms: Format.milliseconds(result.latency.percentile(0.50)),
                p99Ms: Format.milliseconds(result.latency.percentile(0.99)),
                maxMs: Format.milliseconds(result.latency.max),
                serverCores: serverCores,
                benchCores: benchCores,
                targetReadsPerSecond: Self.targetReadsPerSecond,
                metTarget: result.failures == 0 && perSecond >= Self.targetReadsPerSecond
            )
        }
    }

    private static func auth(_ token: String) -> [(String, String)] {
        [("Authorization", "Bearer \(token)")]
    }

    /// Reads counted by one connection, then by all.
    private struct ReadTally: Sendable {
        var latency = LatencyHistogram()
        var failures = 0
        var firstFailure: String?

        mutating func add(_ other: ReadTally) {
            latency.add(other.latency)
            failures += other.failures
            if firstFailure == nil { firstFailure = other.firstFailure }
        }
    }
}
