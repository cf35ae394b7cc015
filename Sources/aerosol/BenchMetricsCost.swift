import AerosolBench
import ArgumentParser
import Foundation

/// `aerosol bench metrics-cost`: fan-out and ingest with metrics off and on, side by side.
struct BenchMetricsCost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics-cost",
        abstract: "What Prometheus metrics cost: fan-out and ingest with metrics off and on, alternately.",
        discussion: """
            Runs the fan-out benchmark (--subscribers subscribers, 16 publishers) and the ingest \
            benchmark (64 connections) against a server with --metrics-port 0 and one with metrics on \
            the API port, off on off on for --rounds rounds, and prints each figure and the ratio \
            on / off of the means. Target: each ratio ≥ 0.95. Takes about a minute per round with \
            the defaults.

            Example:
              aerosol bench metrics-cost --rounds 2
            """
    )

    @Option(help: "How many times each setting is measured (off on off on …).")
    var rounds = 2

    @Option(help: "Subscribers of the fan-out run.")
    var subscribers = 1000

    @Option(help: "Seconds measured per run, after a 2 s warm-up.")
    var duration = 10.0

    @OptionGroup var output: Bench.Output

    func validate() throws {
        guard (1...10).contains(rounds) else { throw ValidationError("--rounds must be 1 to 10") }
        guard (1...20_000).contains(subscribers) else { throw ValidationError("--subscribers must be 1 to 20000") }
        try Bench.validate(duration: duration)
    }

    func run() async throws {
        FileLimit.raiseToHardLimit()
        var benchmark = MetricsCostBenchmark()
        benchmark.rounds = rounds
        benchmark.subscribers = subscribers
        benchmark.duration = duration
        let result = try await benchmark.run { step in
            FileHandle.standardError.write(Data("bench metrics-cost: \(step)\n".utf8))
        }
        output.print(result)
    }
}
