import NIOCore
import NIOPosix

/// `aerosol bench latency`: the time from publishing an event to its arrival at subscribers.
///
/// Opens `subscribers` streams on the product, then one publisher publishes `rate` events per
/// second, each carrying its send time (`CLOCK_MONOTONIC` nanoseconds; publisher and
/// subscribers share the process, so the clocks agree). Each subscriber records arrival time
/// minus send time for every event. Events of the first `warmup` seconds are not recorded.
/// The figure includes the durable commit before fan-out (the server acks and delivers only
/// committed events).
public struct LatencyBenchmark: Sendable {
    /// Subscribed streams (default 1,000).
    public var subscribers = 1000
    /// Events published per second (default 50).
    public var rate = 50
    /// Seconds measured (default 10).
    public var duration = 10.0
    /// Seconds published but not recorded first (default 1).
    public var warmup = 1.0
    /// The server's `--sync` mode (default `full`).
    public var sync = "full"
    /// The target: p99 at most this many milliseconds.
    public static let targetP99Milliseconds = 25.0

    /// A benchmark with the defaults.
    public init() {}

    /// What it measured.
    public struct Result: BenchmarkResult {
        public var benchmark = "latency"
        public var subscribers: Int
        public var rate: Int
        public var eventsPublished: Int
        public var deliveriesRecorded: Int
        public var deliveriesExpected: Int
        public var p50Ms: Double
        public var p90Ms: Double
        public var p99Ms: Double
        public var maxMs: Double
        public var ackP50Ms: Double
        public var ackP99Ms: Double
        public var subscribersDisconnected: Int
        public var targetP99Ms: Double
        public var metTarget: Bool

        public var report: String {
            Format.block(
                "latency: \(subscribers) subscribers, \(rate) events/s, publish → delivery",
                [
                    ("p50", "\(Format.number(p50Ms, 2)) ms"),
                    ("p90", "\(Format.number(p90Ms, 2)) ms"),
                    ("p99", "\(Format.number(p99Ms, 2)) ms"),
                    ("max", "\(Format.number(maxMs, 2)) ms"),
                    ("publish ack p50 / p99", "\(Format.number(ackP50Ms, 2)) / \(Format.number(ackP99Ms, 2)) ms"),
                    ("deliveries recorded", "\(deliveriesRecorded) of \(deliveriesExpected) expected"),
                    ("events published", "\(eventsPublished)"),
                    ("subscribers disconnected", "\(subscribersDisconnected)"),
                    ("target", "p99 ≤ \(Format.number(targetP99Ms)) ms: \(Format.verdict(metTarget))"),
                ]
            )
        }

        public var summary: SummaryRow {
            SummaryRow(
                benchmark: benchmark,
                figure: "p99 publish → delivery, ms (\(subscribers) subs, \(rate)/s)",
                value: Format.number(p99Ms, 2),
                target: "≤ \(Format.number(targetP99Ms))",
                met: metTarget
            )
        }
    }

    /// Starts a server, measures, stops the server.
    public func run() async throws -> Result {
        try await BenchServer.run(ServerOptions(sync: sync)) { server in try await measure(server) }
    }

    private func measure(_ server: BenchServer) async throws -> Result {
        let board = try await StatsBoard(group: MultiThreadedEventLoopGroup.singleton)
        let clients = Clients(port: server.port, token: server.token, board: board)
        let path = "/v1/products/\(server.product)/events"
        let streams = try await clients.openStreams(path: path, count: subscribers, recordsLatency: true)
        let warmupEvents = Int((Double(rate) * warmup).rounded())
        let measuredEvents = max(1, Int((Double(rate) * duration).rounded()))
        let publisher = try await clients.openPacedPublisher(
            PacedPublishHandler.Plan(
                request: .aerosol(path: path, name: "latency", token: server.token, port: server.port),
                rate: rate,
                warmupCount: warmupEvents,
                count: measuredEvents
            )
        )
        let deadline = NIODeadline.now() + .fractionalSeconds(warmup + duration + 10)
        _ = await Clients.wait(for: [publisher.done], until: deadline)
        // Let the last deliveries arrive: until every stream has every event, or 3 s.
        let tally = try await board.totalOnceDelivered()
        await Clients.close([publisher.channel])
        await Clients.close(streams)

        let measuredAcks = max(0, tally.acks - warmupEvents)
        let latency = tally.deliveryLatency
        let p99 = Format.milliseconds(latency.percentile(0.99))
        return Result(
            subscribers: subscribers,
            rate: rate,
            eventsPublished: measuredAcks,
            deliveriesRecorded: Int(latency.count),
            deliveriesExpected: measuredAcks * subscribers,
            p50Ms: Format.milliseconds(latency.percentile(0.50)),
            p90Ms: Format.milliseconds(latency.percentile(0.90)),
            p99Ms: p99,
            maxMs: Format.milliseconds(latency.max),
            ackP50Ms: Format.milliseconds(tally.ackLatency.percentile(0.50)),
            ackP99Ms: Format.milliseconds(tally.ackLatency.percentile(0.99)),
            subscribersDisconnected: tally.streamsLost,
            targetP99Ms: Self.targetP99Milliseconds,
            metTarget: latency.count > 0 && p99 <= Self.targetP99Milliseconds
        )
    }
}
