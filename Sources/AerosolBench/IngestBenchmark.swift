import NIOCore
import NIOPosix

/// `aerosol bench ingest`: how many publishes per second the server acknowledges as durable.
///
/// `connections` keep-alive connections each publish `POST /v1/devices/events` back to back
/// (write, wait for `{"ok":true}`, write the next). After `warmup` seconds, acks are counted and
/// their latencies recorded for `duration` seconds.
public struct IngestBenchmark: Sendable {
    /// Publishing connections (default 64).
    public var connections = 64
    /// Seconds measured (default 10).
    public var duration = 10.0
    /// Seconds of publishing before measuring (default 2).
    public var warmup = 2.0
    /// The server's `--sync` mode (default `full`).
    public var sync = "full"
    /// More `serve` arguments (`--metrics-port 0`, say).
    public var serverArguments: [String] = []
    /// The target: acknowledged events per second.
    public static let target = 15_000.0

    /// A benchmark with the defaults.
    public init() {}

    /// What it measured.
    public struct Result: BenchmarkResult {
        public var benchmark = "ingest"
        public var connections: Int
        public var sync: String
        public var seconds: Double
        public var events: Int
        public var eventsPerSecond: Double
        public var ackP50Ms: Double
        public var ackP99Ms: Double
        public var rejected: Int
        public var connectionsLost: Int
        /// Server CPU (user + system) per acknowledged event over the measured seconds, in
        /// microseconds.
        public var serverMicrosecondsPerEvent: Double
        public var target: Double
        public var metTarget: Bool

        public var report: String {
            Format.block(
                "ingest: \(connections) connections publishing back to back, --sync \(sync)",
                [
                    ("acknowledged events/s", Format.number(eventsPerSecond)),
                    ("events acknowledged", "\(events) in \(Format.number(seconds, 2)) s"),
                    ("ack latency p50", "\(Format.number(ackP50Ms, 2)) ms"),
                    ("ack latency p99", "\(Format.number(ackP99Ms, 2)) ms"),
                    ("rejected", "\(rejected)"),
                    ("connections lost", "\(connectionsLost)"),
                    ("server CPU per event", "\(Format.number(serverMicrosecondsPerEvent, 1)) µs"),
                    ("target", "≥ \(Format.number(target)) events/s: \(Format.verdict(metTarget))"),
                ]
            )
        }

        public var summary: SummaryRow {
            SummaryRow(
                benchmark: benchmark,
                figure: "acknowledged events/s",
                value: Format.number(eventsPerSecond),
                target: "≥ \(Format.number(target))",
                met: metTarget
            )
        }
    }

    /// Starts a server, measures, stops the server.
    public func run() async throws -> Result {
        var options = ServerOptions(sync: sync)
        options.extraArguments = serverArguments
        return try await BenchServer.run(options) { server in try await measure(server) }
    }

    private func measure(_ server: BenchServer) async throws -> Result {
        let board = try await StatsBoard(group: MultiThreadedEventLoopGroup.singleton)
        let clients = Clients(port: server.port, token: server.token, board: board)
        let request = RequestBytes.publish(
            path: "/v1/devices/events",
            name: "temp",
            data: "21.5",
            token: server.token,
            port: server.port
        )
        let stopAt = NIODeadline.now() + .fractionalSeconds(warmup + duration + 0.5)
        let publishers = try await clients.openPublishers(count: connections, request: request, stopAt: stopAt)
        try await Task.sleep(for: .seconds(warmup))
        let before = try await board.total(resetLatency: true)
        let cpuBefore = server.cpuSeconds
        let start = MonotonicClock.nanoseconds()
        try await Task.sleep(for: .seconds(duration))
        let after = try await board.total()
        let cpu = server.cpuSeconds - cpuBefore
        let seconds = MonotonicClock.seconds(since: start)
        _ = await Clients.wait(for: publishers.done, until: stopAt + .seconds(10))
        await Clients.close(publishers.channels)

        let events = after.acks - before.acks
        let rate = Double(events) / seconds
        return Result(
            connections: connections,
            sync: sync,
            seconds: seconds,
            events: events,
            eventsPerSecond: rate,
            ackP50Ms: Format.milliseconds(after.ackLatency.percentile(0.50)),
            ackP99Ms: Format.milliseconds(after.ackLatency.percentile(0.99)),
            rejected: after.rejects - before.rejects,
            connectionsLost: after.publishersLost,
            serverMicrosecondsPerEvent: events == 0 ? 0 : cpu * 1e6 / Double(events),
            target: Self.target,
            metTarget: rate >= Self.target
        )
    }
}
