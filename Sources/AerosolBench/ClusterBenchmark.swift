import NIOCore
import NIOPosix

/// `aerosol bench cluster`: two nodes on one PostgreSQL database. Durable publish ingest across
/// both (half the connections on each), then the latency from a publish on one node to a
/// subscriber on the other at a steady rate.
public struct ClusterBenchmark: Sendable {
    /// The PostgreSQL database both nodes use (empty, or left by an earlier run).
    public var database: String
    /// Publishing keep-alive connections, split over the two nodes (default 64).
    public var connections = 64
    /// Seconds measured for ingest (default 10).
    public var duration = 10.0
    /// Events per second published on node A for the latency run (default 1,000).
    public var rate = 1_000
    /// Seconds measured for latency (default 10).
    public var latencyDuration = 10.0
    /// Seconds of load before each measurement (default 2).
    public var warmup = 2.0
    /// Target: durable events per second across the two nodes.
    public static let ingestTarget = 10_000.0
    /// Target: p99 from a publish on one node to a subscriber on the other, milliseconds.
    public static let latencyTargetP99Milliseconds = 50.0

    /// A benchmark on `database`.
    public init(database: String) {
        self.database = database
    }

    /// What it measured.
    public struct Result: BenchmarkResult {
        public var benchmark = "cluster"
        public var connections: Int
        public var eventsPerSecond: Double
        public var eventsPerSecondByNode: [Double]
        public var ackP50Ms: Double
        public var ackP99Ms: Double
        public var rejected: Int
        public var serverMicrosecondsPerEventByNode: [Double]
        public var rate: Int
        public var crossNodeDeliveries: Int
        public var crossNodeExpected: Int
        public var crossNodeP50Ms: Double
        public var crossNodeP99Ms: Double
        public var crossNodeMaxMs: Double
        public var metIngestTarget: Bool
        public var metLatencyTarget: Bool

        public var report: String {
            Format.block(
                "cluster: two nodes on one PostgreSQL database",
                [
                    ("durable events/s, both nodes", Format.number(eventsPerSecond)),
                    ("per node", eventsPerSecondByNode.map { Format.number($0) }.joined(separator: " + ")),
                    ("ack latency p50 / p99", "\(Format.number(ackP50Ms, 2)) / \(Format.number(ackP99Ms, 2)) ms"),
                    ("rejected", "\(rejected)"),
                    (
                        "server CPU per event, by node",
                        serverMicrosecondsPerEventByNode.map { "\(Format.number($0, 1)) µs" }.joined(separator: ", ")
                    ),
                    (
                        "ingest target",
                        "≥ \(Format.number(ClusterBenchmark.ingestTarget))/s: \(Format.verdict(metIngestTarget))"
                    ),
                    (
                        "publish on A → stream on B",
                        "\(rate) events/s, \(crossNodeDeliveries) of \(crossNodeExpected) timed"
                    ),
                    (
                        "cross-node p50 / p99 / max",
                        "\(Format.number(crossNodeP50Ms, 2)) / \(Format.number(crossNodeP99Ms, 2)) / \(Format.number(crossNodeMaxMs, 2)) ms"
                    ),
                    (
                        "latency target",
                        "p99 ≤ \(Format.number(ClusterBenchmark.latencyTargetP99Milliseconds)) ms: \(Format.verdict(metLatencyTarget))"
                    ),
                ]
            )
        }

        public var summary: SummaryRow {
            SummaryRow(
                benchmark: benchmark,
                figure: "durable events/s on two nodes",
                value: Format.number(eventsPerSecond),
                target: "≥ \(Format.number(ClusterBenchmark.ingestTarget))",
                met: metIngestTarget
            )
        }
    }

    /// Starts two nodes on the database, measures, stops them.
    public func run() async throws -> Result {
        var options = ServerOptions(sync: "full")
        options.database = database
        return try await BenchServer.run(options) { first in
            try await BenchServer.run(options, joining: first) { second in
                try await measure(first, second)
            }
        }
    }

    private func measure(_ a: BenchServer, _ b: BenchServer) async throws -> Result {
        // Ingest: half the connections on each node.
        let boards = [
            try await StatsBoard(group: MultiThreadedEventLoopGroup.singleton),
            try await StatsBoard(group: MultiThreadedEventLoopGroup.singleton),
        ]
        let stopAt = NIODeadline.now() + .fractionalSeconds(warmup + duration + 0.5)
        var publishers: [(channels: [any Channel], done: [EventLoopFuture<Void>])] = []
        for (index, node) in [a, b].enumerated() {
            let clients = Clients(port: node.port, token: node.token, board: boards[index])
            let request = RequestBytes.publish(
                path: "/v1/devices/events",
                name: "temp",
                data: "21.5",
                token: node.token,
                port: node.port
            )
            let count = index == 0 ? (connections + 1) / 2 : connections / 2
            let opened = try await clients.openPublishers(count: count, request: request, stopAt: stopAt)
            publishers.append((opened.channels, opened.done))
        }
        try await Task.sleep(for: .seconds(warmup))
        var before: [Tally] = []
        for board in boards { before.append(try await board.total(resetLatency: true)) }
        let cpuBefore = [a.cpuSeconds, b.cpuSeconds]
        let start = MonotonicClock.nanoseconds()
        try await Task.sleep(for: .seconds(duration))
        var after: [Tally] = []
        for board in boards { after.append(try await board.total()) }
        let cpu = [a.cpuSeconds - cpuBefore[0], b.cpuSeconds - cpuBefore[1]]
        let seconds = MonotonicClock.seconds(since: start)
        for opened in publishers {
            _ = await Clients.wait(for: opened.done, until: stopAt + .seconds(10))
            await Clients.close(opened.channels)
        }
        let events = (0..<2).map { after[$0].acks - before[$0].acks }
        var acks = after[0].ackLatency
        acks.add(after[1].ackLatency)
        let rate = Double(events.reduce(0, +)) / seconds

        // Latency: a stream on B, a steady publisher on A.
        let board = try await StatsBoard(group: MultiThreadedEventLoopGroup.singleton)
        let path = "/v1/products/\(a.product)/events"
        let streams = try await Clients(port: b.port, token: b.token, board: board)
            .openStreams(path: path, count: 1, recordsLatency: true)
        // One paced connection per 100 events/s: a connection's publishes are answered one at a
        // time (≈ 2.7 ms each on PostgreSQL), so one connection alone reached ≈ 366/s and the
        // run measured its backlog, not delivery.
        let pacers = max(1, self.rate / 100)
        let perPublisher = max(1, self.rate / pacers)
        let warmupPerPublisher = Int((Double(perPublisher) * warmup).rounded())
        let warmupEvents = warmupPerPublisher * pacers
        let measuredEvents = max(1, Int((Double(perPublisher) * latencyDuration).rounded()))
        var opened: [(channel: any Channel, done: EventLoopFuture<Void>)] = []
        for _ in 0..<pacers {
            opened.append(
                try await Clients(port: a.port, token: a.token, board: board).openPacedPublisher(
                    PacedPublishHandler.Plan(
                        request: .aerosol(path: path, name: "latency", token: a.token, port: a.port),
                        rate: perPublisher,
                        warmupCount: warmupPerPublisher,
                        count: measuredEvents
                    )
                )
            )
        }
        _ = await Clients.wait(
            for: opened.map(\.done),
            until: NIODeadline.now() + .fractionalSeconds(warmup + latencyDuration + 10)
        )
        let tally = try await board.totalOnceDelivered()
        await Clients.close(opened.map(\.channel))
        await Clients.close(streams)
        let latency = tally.deliveryLatency
        let p99 = Format.milliseconds(latency.percentile(0.99))
        return Result(
            connections: connections,
            eventsPerSecond: rate,
            eventsPerSecondByNode: events.map { Double($0) / seconds },
            ackP50Ms: Format.milliseconds(acks.percentile(0.50)),
            ackP99Ms: Format.milliseconds(acks.percentile(0.99)),
            rejected: (0..<2).map { after[$0].rejects - before[$0].rejects }.reduce(0, +),
            serverMicrosecondsPerEventByNode: (0..<2).map { events[$0] == 0 ? 0 : cpu[$0] * 1e6 / Double(events[$0]) },
            rate: self.rate,
            crossNodeDeliveries: Int(latency.count),
            crossNodeExpected: max(0, tally.acks - warmupEvents),
            crossNodeP50Ms: Format.milliseconds(latency.percentile(0.50)),
            crossNodeP99Ms: p99,
            crossNodeMaxMs: Format.milliseconds(latency.max),
            metIngestTarget: rate >= Self.ingestTarget,
            metLatencyTarget: latency.count > 0 && p99 <= Self.latencyTargetP99Milliseconds
        )
    }
}
