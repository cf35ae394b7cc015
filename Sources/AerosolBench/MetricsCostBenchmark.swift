import Foundation

/// `aerosol bench metrics-cost`: what counting costs the hot paths. The fan-out benchmark (1,000
/// subscribers, 16 publishers) and the ingest benchmark (64 connections, no subscribers) run
/// against a server with metrics off (`--metrics-port 0`: swift-metrics is never bootstrapped)
/// and one with them on (the default), alternately, `rounds` times (off on off on); the ratio
/// on / off of the means is the cost. Target: each within 5 %.
public struct MetricsCostBenchmark: Sendable {
    /// How many times each setting is measured (default 2).
    public var rounds = 2
    /// Seconds measured per run (default 10).
    public var duration = 10.0
    /// Subscribers of the fan-out run (default 1,000).
    public var subscribers = 1000

    /// A benchmark with the defaults.
    public init() {}

    /// One round's figures.
    public struct Round: Codable, Sendable {
        var deliveriesOff: Double
        var deliveriesOn: Double
        var ingestOff: Double
        var ingestOn: Double
    }

    /// What it measured.
    public struct Result: BenchmarkResult {
        public var benchmark = "metrics-cost"
        public var subscribers: Int
        public var rounds: [Round]
        /// Mean with metrics on over mean with them off.
        public var fanoutRatio: Double
        public var ingestRatio: Double
        public var metTarget: Bool

        public var report: String {
            var lines: [(String, String)] = []
            for (index, round) in rounds.enumerated() {
                lines.append(
                    (
                        "round \(index + 1) fan-out deliveries/s",
                        "off \(Format.number(round.deliveriesOff))   on \(Format.number(round.deliveriesOn))"
                    )
                )
                lines.append(
                    (
                        "round \(index + 1) ingest events/s",
                        "off \(Format.number(round.ingestOff))   on \(Format.number(round.ingestOn))"
                    )
                )
            }
            lines.append(("fan-out on / off", Format.number(fanoutRatio, 3)))
            lines.append(("ingest on / off", Format.number(ingestRatio, 3)))
            lines.append(("target", "each ≥ 0.95: \(Format.verdict(metTarget))"))
            return Format.block(
                "metrics-cost: metrics off / on, \(rounds.count) rounds, \(subscribers) subscribers, 16 publishers",
                lines
            )
        }

        public var summary: SummaryRow {
            SummaryRow(
                benchmark: benchmark,
                figure: "throughput with metrics / without",
                value: "\(Format.number(fanoutRatio, 3)) fan-out, \(Format.number(ingestRatio, 3)) ingest",
                target: "≥ 0.95",
                met: metTarget
            )
        }
    }

    /// Runs every round.
    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> Result {
        var measured: [Round] = []
        for round in 1...max(1, rounds) {
            var figures: [Bool: (deliveries: Double, ingest: Double)] = [:]
            for metrics in [false, true] {
                let arguments = metrics ? [] : ["--metrics-port", "0"]
                progress("round \(round): metrics \(metrics ? "on" : "off"), fan-out")
                var fanout = FanoutBenchmark()
                fanout.subscribers = subscribers
                fanout.publishers = 16
                fanout.duration = duration
                fanout.serverArguments = arguments
                let deliveries = try await fanout.run().deliveriesPerSecond
                progress("round \(round): metrics \(metrics ? "on" : "off"), ingest")
                var ingest = IngestBenchmark()
                ingest.duration = duration
                ingest.serverArguments = arguments
                figures[metrics] = (deliveries, try await ingest.run().eventsPerSecond)
            }
            measured.append(
                Round(
                    deliveriesOff: figures[false]?.deliveries ?? 0,
                    deliveriesOn: figures[true]?.deliveries ?? 0,
                    ingestOff: figures[false]?.ingest ?? 0,
                    ingestOn: figures[true]?.ingest ?? 0
                )
            )
        }
        func ratio(_ on: KeyPath<Round, Double>, _ off: KeyPath<Round, Double>) -> Double {
            let a = measured.map { $0[keyPath: on] }.reduce(0, +)
            let b = measured.map { $0[keyPath: off] }.reduce(0, +)
            return b == 0 ? 0 : a / b
        }
        let fanout = ratio(\.deliveriesOn, \.deliveriesOff)
        let ingest = ratio(\.ingestOn, \.ingestOff)
        return Result(
            subscribers: subscribers,
            rounds: measured,
            fanoutRatio: fanout,
            ingestRatio: ingest,
            metTarget: fanout >= 0.95 && ingest >= 0.95
        )
    }
}
