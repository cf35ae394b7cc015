import NIOCore
import NIOPosix

/// `aerosol bench fanout`: how many event deliveries per second the server writes to many
/// subscribers of one stream.
///
/// Opens `subscribers` streams on `GET /v1/products/bench/events` (each must answer `:ok`),
/// then `publishers` connections publish to the product back to back. After `warmup` seconds,
/// complete event frames received across all subscribers are counted for `duration` seconds.
public struct FanoutBenchmark: Sendable {
    /// Subscribed streams (default 1,000).
    public var subscribers = 1000
    /// Publishing connections (default 8).
    public var publishers = 64
    /// Seconds measured (default 10).
    public var duration = 10.0
    /// Seconds of publishing before measuring (default 2).
    public var warmup = 2.0
    /// The server's `--stream-buffer` (default 100,000 events, so that subscribers trailing
    /// under saturation are not disconnected at the server's default of 1,000).
    public var streamBuffer = 100_000
    /// The server's `--sync` mode (default `full`).
    public var sync = "full"
    /// More `serve` arguments (`--metrics-port 0`, say).
    public var serverArguments: [String] = []
    /// A PostgreSQL database for the server instead of SQLite (`nil`: SQLite).
    public var database: String?
    /// The target: deliveries per second.
    public static let target = 150_000.0

    /// A benchmark with the defaults.
    public init() {}

    /// What it measured.
    public struct Result: BenchmarkResult {
        public var benchmark = "fanout"
        public var subscribers: Int
        public var publishers: Int
        public var streamBuffer: Int
        public var seconds: Double
        public var deliveries: Int
        public var deliveriesPerSecond: Double
        public var eventsPublished: Int
        public var eventsPublishedPerSecond: Double
        public var ackP50Ms: Double
        public var ackP99Ms: Double
        public var deliveredShare: Double
        public var subscribersDisconnected: Int
        /// Server CPU (user + system) per delivery over the measured seconds, in microseconds:
        /// the cost of a delivery, which other processes on the machine disturb less than the rate.
        public var serverMicrosecondsPerDelivery: Double
        public var target: Double
        public var metTarget: Bool

        public var report: String {
            Format.block(
                "fanout: \(subscribers) subscribers, \(publishers) publishers, --stream-buffer \(streamBuffer)",
                [
                    ("deliveries/s", Format.number(deliveriesPerSecond)),
                    ("deliveries", "\(deliveries) in \(Format.number(seconds, 2)) s"),
                    ("events published/s", Format.number(eventsPublishedPerSecond)),
                    ("publish ack latency p50", "\(Format.number(ackP50Ms, 2)) ms"),
                    ("publish ack latency p99", "\(Format.number(ackP99Ms, 2)) ms"),
                    ("delivered / (published × subscribers)", "\(Format.number(deliveredShare * 100, 1)) %"),
                    ("subscribers disconnected", "\(subscribersDisconnected)"),
                    ("server CPU per delivery", "\(Format.number(serverMicrosecondsPerDelivery, 2)) µs"),
                    ("target", "≥ \(Format.number(target)) deliveries/s: \(Format.verdict(metTarget))"),
                ]
            )
        }

        public var summary: SummaryRow {
            SummaryRow(
                benchmark: benchmark,
                figure: "deliveries/s (\(subscribers) subscribers)",
                value: Format.number(deliveriesPerSecond),
                target: "≥ \(Format.number(target))",
                met: metTarget
            )
        }
    }

    /// Starts a server, measures, stops the server.
    public func run() async throws -> Result {
        var options = ServerOptions(sync: sync, streamBuffer: streamBuffer)
        options.extraArguments = serverArguments
        options.database = database
        return try await BenchServer.run(options) { server in try await measure(server) }
    }

    private func measure(_ server: BenchServer) async throws -> Result {
        let board = try await StatsBoard(group: MultiThreadedEventLoopGroup.singleton)
        let clients = Clients(port: server.port, token: server.token, board: board)
        let path = "/v1/products/\(server.product)/events"
        let streams = try await clients.openStreams(path: path, count: subscribers, recordsLatency: false)
        let request = RequestBytes.publish(
            path: path,
            name: "temp",
            data: "21.5",
            token: server.token,
            port: server.port
        )
        let stopAt = NIODeadline.now() + .fractionalSeconds(warmup + duration + 0.5)
        let senders = try await clients.openPublishers(count: publishers, request: request, stopAt: stopAt)
        try await Task.sleep(for: .seconds(warmup))
        let before = try await board.total(resetLatency: true)
        let cpuBefore = server.cpuSeconds
        let start = MonotonicClock.nanoseconds()
        try await Task.sleep(for: .seconds(duration))
        let after = try await board.total()
        let cpu = server.cpuSeconds - cpuBefore
        let seconds = MonotonicClock.seconds(since: start)
        _ = await Clients.wait(for: senders.done, until: stopAt + .seconds(10))
        await Clients.close(senders.channels)
        await Clients.close(streams)

        let deliveries = after.frames - before.frames
        let published = after.acks - before.acks
        let rate = Double(deliveries) / seconds
        return Result(
            subscribers: subscribers,
            publishers: publishers,
            streamBuffer: streamBuffer,
            seconds: seconds,
            deliveries: deliveries,
            deliveriesPerSecond: rate,
            eventsPublished: published,
            eventsPublishedPerSecond: Double(published) / seconds,
            ackP50Ms: Format.milliseconds(after.ackLatency.percentile(0.50)),
            ackP99Ms: Format.milliseconds(after.ackLatency.percentile(0.99)),
            deliveredShare: published == 0 ? 0 : Double(deliveries) / Double(published * subscribers),
            subscribersDisconnected: after.streamsLost,
            serverMicrosecondsPerDelivery: deliveries == 0 ? 0 : cpu * 1e6 / Double(deliveries),
            target: Self.target,
            metTarget: rate >= Self.target
        )
    }
}
