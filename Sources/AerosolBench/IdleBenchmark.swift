import NIOCore
import NIOPosix

/// `aerosol bench idle`: the server memory one open, idle event stream costs.
///
/// Reads the server's resident set (`VmRSS`) once it is steady after setup, opens `streams`
/// streams on the product (each must answer `:ok`), waits until the resident set is steady
/// again, and divides the growth by the number of streams.
public struct IdleBenchmark: Sendable {
    /// Idle streams opened (default 10,000).
    public var streams = 10_000
    /// Streams connecting at once (default 128, half the server's listen backlog).
    public var concurrency = 128
    /// The target: KiB per stream at most.
    public static let targetKiB = 16.0

    /// A benchmark with the defaults.
    public init() {}

    /// What it measured.
    public struct Result: BenchmarkResult {
        public var benchmark = "idle"
        public var streams: Int
        public var rssBeforeKib: Int
        public var rssAfterKib: Int
        public var kibPerStream: Double
        public var secondsToOpen: Double
        public var streamsLost: Int
        public var targetKib: Double
        public var metTarget: Bool

        public var report: String {
            Format.block(
                "idle: \(streams) open event streams, server resident memory",
                [
                    ("KiB per stream", Format.number(kibPerStream, 2)),
                    ("RSS before", "\(rssBeforeKib) KiB"),
                    ("RSS after", "\(rssAfterKib) KiB"),
                    ("streams opened in", "\(Format.number(secondsToOpen, 2)) s"),
                    ("streams lost while idle", "\(streamsLost)"),
                    ("target", "≤ \(Format.number(targetKib)) KiB per stream: \(Format.verdict(metTarget))"),
                ]
            )
        }

        public var summary: SummaryRow {
            SummaryRow(
                benchmark: benchmark,
                figure: "KiB per idle stream (\(streams) streams)",
                value: Format.number(kibPerStream, 2),
                target: "≤ \(Format.number(targetKib))",
                met: metTarget
            )
        }
    }

    /// Starts a server, measures, stops the server.
    public func run() async throws -> Result {
        try await BenchServer.run(ServerOptions()) { server in try await measure(server) }
    }

    private func measure(_ server: BenchServer) async throws -> Result {
        let board = try await StatsBoard(group: MultiThreadedEventLoopGroup.singleton)
        let clients = Clients(port: server.port, token: server.token, board: board)
        let before = try await steadyResidentKiB(server)
        let start = MonotonicClock.nanoseconds()
        let channels = try await clients.openStreams(
            path: "/v1/products/\(server.product)/events",
            count: streams,
            recordsLatency: false,
            concurrency: concurrency
        )
        let secondsToOpen = MonotonicClock.seconds(since: start)
        let after = try await steadyResidentKiB(server)
        let tally = try await board.total()
        await Clients.close(channels)

        let perStream = Double(after - before) / Double(max(1, streams))
        return Result(
            streams: streams,
            rssBeforeKib: before,
            rssAfterKib: after,
            kibPerStream: perStream,
            secondsToOpen: secondsToOpen,
            streamsLost: tally.streamsLost,
            targetKib: Self.targetKiB,
            metTarget: perStream <= Self.targetKiB
        )
    }

    /// The resident set once three readings 500 ms apart agree within 0.5 % (or after 20 s).
    private func steadyResidentKiB(_ server: BenchServer) async throws -> Int {
        var readings = [try server.residentKiB()]
        let start = MonotonicClock.nanoseconds()
        while MonotonicClock.seconds(since: start) < 20 {
            try await Task.sleep(for: .milliseconds(500))
            readings.append(try server.residentKiB())
            let last = readings.suffix(3)
            if last.count == 3, let low = last.min(), let high = last.max(), Double(high - low) <= 0.005 * Double(high)
            {
                return last.last ?? high
            }
        }
        return readings.last ?? 0
    }
}
