import Foundation

/// `aerosol bench metrics-cost`: what counting costs the hot paths. The fan-out benchmark (1,000
/// subscribers, 16 publishers) and the ingest benchmark (64 connections, no subscribers) run
/// against a server with metrics off (`--metrics-port 0`: swift-metrics is never bootstrapped)
/// and one with them on (the default), alternately, `rounds` times (off on off on); the ratio
/// on / off of the means is the cost. Target: each within 5 %.
///
/// On a shared machine the rates move by tens of per cent from run to run, whatever the server
/// does; the server's CPU per delivery and per event moves much less (it does not count the time
/// the server waited for a core), so the bench prints its ratio too.
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
        /// Server CPU µs per delivery and per acknowledged event.
        var deliveryCPUOff: Double
        var deliveryCPUOn: Double
        var eventCPUOff: Double
        var eventCPUOn: Double
    }

    /// What it measured.
    public struct Result: BenchmarkResult {
        public var benchmark = "metrics-cost"
        public var subscribers: Int
        public var rounds: [Round]
        /// Mean with metrics on over mean with them off.
        public var fanoutRatio: Double
        public var ingestRatio: Double
        /// Mean server CPU per unit with metrics on over the mean with them off.
        public var deliveryCPURatio: Double
        public var eventCPURatio: Double
        public var metTarget: Bool
        /// The same 5 % on the server's CPU per delivery and per event.
        public var cpuMetTarget: Bool

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
                lines.append(
                    (
                        "round \(index + 1) server CPU µs",
                        "per delivery off \(Format.number(round.deliveryCPUOff, 2)) on \(Format.number(round.deliveryCPUOn, 2)); "
                            + "per event off \(Format.number(round.eventCPUOff, 1)) on \(Format.number(round.eventCPUOn, 1))"
                    )
                )
            }
            lines.append(("fan-out on / off", Format.number(fanoutRatio, 3)))
            lines.append(("ingest on / off", Format.number(ingestRatio, 3)))
            lines.append(("CPU per delivery on / off", Format.number(deliveryCPURatio, 3)))
            lines.append(("CPU per event on / off", Format.number(eventCPURatio, 3)))
            lines.append(("target, rates", "each ≥ 0.95: \(Format.verdict(metTarget))"))
            lines.append(("target, CPU per unit", "each ≤ 1.05: \(Format.verdict(cpuMetTarget))"))
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
            var figures: [Bool: (deliveries: Double, ingest: Double, deliveryCPU: Double, eventCPU: Double)] = [:]
            for metrics in [false, true] {
                let arguments = metrics ? [] : ["--metrics-port", "0"]
                progress("round \(round): metrics \(metrics ? "on" : "off"), fan-out")
                var fanout = FanoutBenchmark()
                fanout.subscribers = subscribers
                fanout.publishers = 16
                fanout.duration = duration
                fanout.serverArguments = arguments
                let spread = try await fanout.run()
                progress("round \(round): metrics \(metrics ? "on" : "off"), ingest")
                var ingest = IngestBenchmark()
                ingest.duration = duration
                ingest.serverArguments = arguments
                let ingested = try await ingest.run()
                figures[metrics] = (
                    spread.deliveriesPerSecond, ingested.eventsPerSecond, spread.serverMicrosecondsPerDelivery,
                    ingested.serverMicrosecondsPerEvent
                )
            }
            measured.append(
                Round(
                    deliveriesOff: figures[false]?.deliveries ?? 0,
                    deliveriesOn: figures[true]?.deliveries ?? 0,
                    ingestOff: figures[false]?.ingest ?? 0,
                    ingestOn: figures[true]?.ingest ?? 0,
                    deliveryCPUOff: figures[false]?.deliveryCPU ?? 0,
                    deliveryCPUOn: figures[true]?.deliveryCPU ?? 0,
                    eventCPUOff: figures[false]?.eventCPU ?? 0,
                    eventCPUOn: figures[true]?.eventCPU ?? 0
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
        let deliveryCPU = ratio(\.deliveryCPUOn, \.deliveryCPUOff)
        let eventCPU = ratio(\.eventCPUOn, \.eventCPUOff)
        return Result(
            subscribers: subscribers,
            rounds: measured,
            fanoutRatio: fanout,
            ingestRatio: ingest,
            deliveryCPURatio: deliveryCPU,
            eventCPURatio: eventCPU,
            metTarget: fanout >= 0.95 && ingest >= 0.95,
            cpuMetTarget: deliveryCPU <= 1.05 && eventCPU <= 1.05
        )
    }
}
