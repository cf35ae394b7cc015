import DeviceGateway
import NIOCore
import NIOPosix

/// `aerosol bench udp-latency`: the time from a UDP device publishing an event to its arrival on
/// the product's event stream.
///
/// `devices` simulated UDP devices of the bench product connect (new EC P-256 keys provisioned
/// with `algorithm=ecc`, a full DTLS handshake, the Hello), `subscribers`
/// streams open on `/v1/products/bench/events`, then every device publishes once per second,
/// the devices' publishes spread evenly over the second (device *i* at *i*/`devices` s), as
/// confirmable events whose data is the send time (`CLOCK_MONOTONIC` nanoseconds; devices and
/// subscribers share the process, so the clocks agree). Each subscriber records arrival time
/// minus send time. The first `warmup` seconds of publishes carry `warmup` instead and are not
/// recorded. The figure includes the AES-CCM records on both sides, the gateway, the durable
/// commit and the fan-out. The method is `aerosol bench device-latency`'s, with UDP devices.
public struct UDPLatencyBenchmark: Sendable {
    /// Devices publishing (default 1,000).
    public var devices = 1000
    /// Streams subscribed to the product (default 1).
    public var subscribers = 1
    /// Seconds measured (default 10).
    public var duration = 10.0
    /// Seconds published but not recorded first (default 2).
    public var warmup = 2.0
    /// The server's `--sync` mode (default `full`).
    public var sync = "full"
    /// The target: p99 at most this many milliseconds.
    public static let targetP99Milliseconds = 10.0

    /// A benchmark with the defaults.
    public init() {}

    /// What it measured.
    public struct Result: BenchmarkResult {
        public var benchmark = "udp-latency"
        public var devices: Int
        public var devicesConnected: Int
        public var subscribers: Int
        public var eventsPerSecond: Double
        public var published: Int
        public var accepted: Int
        public var refused: Int
        public var publishFailures: Int
        public var deliveriesRecorded: Int
        public var deliveriesExpected: Int
        public var p50Ms: Double
        public var p90Ms: Double
        public var p99Ms: Double
        public var maxMs: Double
        public var ackP50Ms: Double
        public var ackP99Ms: Double
        public var subscribersDisconnected: Int
        public var serverCores: Double
        public var benchCores: Double
        public var otherProcessesCores: Double
        public var targetP99Ms: Double
        public var metTarget: Bool

        public var report: String {
            Format.block(
                "udp-latency: \(devices) UDP devices publishing once a second, device → product stream",
                [
                    ("p50", "\(Format.number(p50Ms, 2)) ms"),
                    ("p90", "\(Format.number(p90Ms, 2)) ms"),
                    ("p99", "\(Format.number(p99Ms, 2)) ms"),
                    ("max", "\(Format.number(maxMs, 2)) ms"),
                    (
                        "device publish → ACK p50 / p99",
                        "\(Format.number(ackP50Ms, 2)) / \(Format.number(ackP99Ms, 2)) ms"
                    ),
                    ("deliveries recorded", "\(deliveriesRecorded) of \(deliveriesExpected) expected"),
                    (
                        "publishes measured",
                        "\(published) (\(accepted) acknowledged, \(refused) refused, \(publishFailures) failed)"
                    ),
                    ("events per second", Format.number(eventsPerSecond)),
                    ("devices connected", "\(devicesConnected) of \(devices)"),
                    ("subscribers", "\(subscribers), \(subscribersDisconnected) disconnected"),
                    (
                        "cores busy: server / bench / others",
                        "\(Format.number(serverCores, 2)) / \(Format.number(benchCores, 2)) / \(Format.number(otherProcessesCores, 2))"
                    ),
                    ("target", "p99 ≤ \(Format.number(targetP99Ms)) ms: \(Format.verdict(metTarget))"),
                ]
            )
        }

        public var summary: SummaryRow {
            SummaryRow(
                benchmark: benchmark,
                figure: "p99 UDP device publish → stream, ms (\(devices) devices, 1/s each)",
                value: Format.number(p99Ms, 2),
                target: "≤ \(Format.number(targetP99Ms))",
                met: metTarget
            )
        }
    }

    /// Starts a server, measures, stops the server.
    public func run() async throws -> Result {
        try await BenchServer.run(ServerOptions(sync: sync)) { server in
            try await measure(server)
        }
    }

    private func measure(_ server: BenchServer) async throws -> Result {
        let serverKey = try ECServerKeyFile.load(at: server.udpServerKeyPath).signingKey.publicKey
        let (simulators, keys) = try DatagramFleet.generate(count: devices, serverPublicKey: serverKey)
        try await server.provision(keys: keys, algorithm: "ecc")
        let board = try await StatsBoard(group: MultiThreadedEventLoopGroup.singleton)
        let clients = Clients(port: server.port, token: server.token, board: board)
        let streams = try await clients.openStreams(
            path: "/v1/products/\(server.product)/events",
            count: subscribers,
            recordsLatency: true
        )
        let fleet = DatagramFleet(simulators: simulators, port: server.udpDevicePort)
        let signal = StartSignal()
        let tally = PublishTally()
        let warmupRounds = Int(warmup.rounded())
        let rounds = warmupRounds + max(1, Int(duration.rounded()))
        let count = simulators.count

        let outcome = try await withThrowingTaskGroup(of: Void.self, returning: Outcome.self) { group in
            group.addTask { [fleet] in
                await fleet.run { index, device in
                    let start = try await signal.wait()
                    let offset = Duration.nanoseconds(Int64(index) * 1_000_000_000 / Int64(count))
                    try await DeviceLatencyBenchmark.publish(
                        device,
                        from: start + offset,
                        rounds: rounds,
                        warmupRounds: warmupRounds,
                        tally: tally
                    )
                    // Stay connected until the benchmark ends.
                    try await Task.sleep(for: .seconds(3600))
                }
            }
            var progress = try await fleet.settled(
                since: MonotonicClock.nanoseconds(),
                within: Double(count) / 50 + 60
            )
            signal.fire(at: .now + .milliseconds(500))
            let cpu = (
                server.cpuSeconds, ProcessCPU.seconds(), ProcessCPU.machineBusySeconds(), MonotonicClock.nanoseconds()
            )
            let deadline = MonotonicClock.nanoseconds() + UInt64(rounds + 15) * 1_000_000_000
            var counts = tally.snapshot
            while counts.devicesDone + progress.dropped < progress.connected, MonotonicClock.nanoseconds() < deadline {
                try await Task.sleep(for: .milliseconds(50))
                counts = tally.snapshot
                progress = fleet.progress.snapshot
            }
            // Let the last deliveries arrive: until every stream has every event, or 3 s.
            let drainStart = MonotonicClock.nanoseconds()
            while try await board.total().deliveryLatency.count < UInt64(counts.accepted * subscribers),
                MonotonicClock.seconds(since: drainStart) < 3
            {
                try await Task.sleep(for: .milliseconds(20))
            }
            let elapsed = max(0.001, MonotonicClock.seconds(since: cpu.3))
            let serverCores = (server.cpuSeconds - cpu.0) / elapsed
            let benchCores = (ProcessCPU.seconds() - cpu.1) / elapsed
            let machineCores = (ProcessCPU.machineBusySeconds() - cpu.2) / elapsed
            group.cancelAll()
            return Outcome(
                connected: progress.connected,
                counts: tally.snapshot,
                cores: (serverCores, benchCores, max(0, machineCores - serverCores - benchCores))
            )
        }
        let stats = try await board.total()
        await Clients.close(streams)

        let connected = outcome.connected
        let counts = outcome.counts
        let latency = stats.deliveryLatency
        let p99 = Format.milliseconds(latency.percentile(0.99))
        let expected = counts.accepted * subscribers
        return Result(
            devices: count,
            devicesConnected: connected,
            subscribers: subscribers,
            eventsPerSecond: Double(connected),
            published: counts.published,
            accepted: counts.accepted,
            refused: counts.refused,
            publishFailures: counts.failed,
            deliveriesRecorded: Int(latency.count),
            deliveriesExpected: expected,
            p50Ms: Format.milliseconds(latency.percentile(0.50)),
            p90Ms: Format.milliseconds(latency.percentile(0.90)),
            p99Ms: p99,
            maxMs: Format.milliseconds(latency.max),
            ackP50Ms: Format.milliseconds(counts.ackLatency.percentile(0.50)),
            ackP99Ms: Format.milliseconds(counts.ackLatency.percentile(0.99)),
            subscribersDisconnected: stats.streamsLost,
            serverCores: outcome.cores.server,
            benchCores: outcome.cores.bench,
            otherProcessesCores: outcome.cores.others,
            targetP99Ms: Self.targetP99Milliseconds,
            metTarget: latency.count > 0 && Int(latency.count) >= expected && connected == count
                && p99 <= Self.targetP99Milliseconds
        )
    }

    /// What the measuring part hands back.
    private struct Outcome: Sendable {
        var connected: Int
        var counts: PublishTally.Snapshot
        var cores: (server: Double, bench: Double, others: Double)
    }
}
