import Foundation

/// `aerosol bench compare`: the same loads against Aerosol (`--sync full`) and against a local
/// nginx + nchan, one after the other, `rounds` times (A B A B), with each figure and the ratio
/// Aerosol / nchan:
///
/// - deliveries per second to 1,000 subscribers with 16 publishers (saturation) and with one
///   serial publisher that waits for each acknowledgement (and that acknowledgement's p50);
/// - publish-to-delivery latency p50 / p99 at 50 events per second;
/// - KiB of server memory per idle subscriber (1,000 subscribers);
/// - publish ingest with no subscribers over 64 keep-alive connections (Aerosol's are durable,
///   nchan's in memory).
///
/// The targets are ratios over the rounds (the figures' means).
public struct CompareBenchmark: Sendable {
    /// How many times each target is measured (default 2).
    public var rounds = 2
    /// The loads' settings.
    var loads = CompareLoads()
    /// The nginx binary and the nchan module (Debian's paths by default).
    public var nginx = NchanServer.defaultNginx
    public var nchanModule = NchanServer.defaultModule

    /// A benchmark with the defaults.
    public init() {}

    /// Subscribers of the one channel (default 1,000).
    public var subscribers: Int {
        get { loads.subscribers }
        set { loads.subscribers = newValue }
    }

    /// Seconds measured per load (default 10).
    public var duration: Double {
        get { loads.duration }
        set { loads.duration = newValue }
    }

    /// One round: what each target did.
    public struct Round: Codable, Sendable {
        var aerosol: CompareLoads.Figures
        var nchan: CompareLoads.Figures
    }

    /// What it measured.
    public struct Result: BenchmarkResult {
        public var benchmark = "compare"
        public var subscribers: Int
        public var rounds: [Round]
        public var targets: [Target]

        /// One figure's ratio against its target.
        public struct Target: Codable, Sendable {
            var figure: String
            var ratio: Double
            var target: String
            var met: Bool
        }

        public var report: String {
            typealias Figure = (String, KeyPath<CompareLoads.Figures, Double>, Int)
            let figures: [Figure] = [
                ("deliveries/s, 16 publishers", \.saturationDeliveriesPerSecond, 0),
                ("deliveries/s, 1 serial publisher", \.serialDeliveriesPerSecond, 0),
                ("serial publish ack p50, ms", \.serialAckP50Ms, 2),
                ("latency p50 at 50 events/s, ms", \.latencyP50Ms, 2),
                ("latency p99 at 50 events/s, ms", \.latencyP99Ms, 2),
                ("KiB per idle subscriber", \.idleKiBPerSubscriber, 2),
                ("publishes/s, 64 connections, no subscribers", \.ingestPerSecond, 0),
            ]
            var lines: [(String, String)] = []
            for (name, path, digits) in figures {
                let cells = rounds.map { round in
                    let (a, b) = (round.aerosol[keyPath: path], round.nchan[keyPath: path])
                    return
                        "\(Format.number(a, digits)) / \(Format.number(b, digits)) = \(Format.number(b == 0 ? 0 : a / b, 2))"
                }
                lines.append((name, cells.joined(separator: "   ")))
            }
            for target in targets {
                lines.append(
                    (
                        "target: \(target.figure)",
                        "\(Format.number(target.ratio, 2))× \(target.target): \(Format.verdict(target.met))"
                    )
                )
            }
            return Format.block(
                "compare: aerosol / nchan = ratio, \(rounds.count) rounds (A B A B), \(subscribers) subscribers",
                lines
            )
        }

        public var summary: SummaryRow {
            SummaryRow(
                benchmark: benchmark,
                figure: "targets met (ratios to nginx + nchan)",
                value: "\(targets.filter(\.met).count) of \(targets.count)",
                target: "all",
                met: targets.allSatisfy(\.met)
            )
        }
    }

    /// Runs every round; needs nginx and the nchan module.
    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> Result {
        var measured: [Round] = []
        for round in 1...max(1, rounds) {
            progress("round \(round): aerosol")
            let aerosol = try await BenchServer.run(ServerOptions(sync: "full", streamBuffer: 100_000)) { server in
                try await loads.run(on: .aerosol(server))
            }
            progress("round \(round): nginx + nchan")
            let nchan = try await NchanServer.run(nginx: nginx, module: nchanModule) { server in
                try await loads.run(on: .nchan(server))
            }
            measured.append(Round(aerosol: aerosol, nchan: nchan))
        }
        return Result(subscribers: loads.subscribers, rounds: measured, targets: Self.targets(measured))
    }

    /// The targets, on the figures' means over the rounds.
    static func targets(_ rounds: [Round]) -> [Result.Target] {
        func ratio(_ path: KeyPath<CompareLoads.Figures, Double>) -> Double {
            let a = rounds.map { $0.aerosol[keyPath: path] }.reduce(0, +)
            let b = rounds.map { $0.nchan[keyPath: path] }.reduce(0, +)
            return b == 0 ? 0 : a / b
        }
        let serial = ratio(\.serialDeliveriesPerSecond)
        let p99 = ratio(\.latencyP99Ms)
        let saturation = ratio(\.saturationDeliveriesPerSecond)
        let idle = ratio(\.idleKiBPerSubscriber)
        let ingest = ratio(\.ingestPerSecond)
        return [
            .init(figure: "serial publisher deliveries/s", ratio: serial, target: "≥ 1.0", met: serial >= 1.0),
            .init(figure: "p99 at 50 events/s", ratio: p99, target: "≤ 1.0", met: p99 > 0 && p99 <= 1.0),
            .init(figure: "saturation deliveries/s", ratio: saturation, target: "≥ 1.5", met: saturation >= 1.5),
            .init(figure: "KiB per idle subscriber", ratio: idle, target: "≤ 0.5", met: idle <= 0.5),
            .init(figure: "durable ingest / in-memory publishes", ratio: ingest, target: "≥ 0.4", met: ingest >= 0.4),
        ]
    }
}
