import AerosolBench
import ArgumentParser

extension WebhookBenchmark.Mode: ExpressibleByArgument {}

/// `aerosol bench webhooks`: delivery throughput, latency and scheduling.
struct BenchWebhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "Webhook deliveries per second, publish-to-receipt latency, and the rate-limit scheduler.",
        discussion: """
            Starts a server (--allow-private-webhooks) and a local receiver that answers at once.
              throughput  rate limits off, --webhooks 4, publishers as fast as they go. Target ≥ 5,000 deliveries/s.
              latency     one webhook, --rate 1000 events/s. Target p95 ≤ 50 ms publish to receipt.
              scheduler   1,000 webhooks at the default 12/min, each sent one event every 5 s.
                          Target p99 ≤ 100 ms (every due delivery leaves on time).

            Examples:
              aerosol bench webhooks --mode throughput
              aerosol bench webhooks --mode latency --rate 1000 --duration 10
              aerosol bench webhooks --mode scheduler --duration 30
            """
    )

    @Option(help: "throughput, latency or scheduler.") var mode: WebhookBenchmark.Mode = .throughput
    @Option(help: "Seconds measured, after a 2 s warm-up.") var duration = 10.0
    @Option(help: "Webhooks. (default: 4 for throughput, 1 for latency, 1000 for scheduler)") var webhooks: Int?
    @Option(help: "Events per second for latency.") var rate = 1000
    @Option(help: "Publishing connections.") var publishers = 16
    @OptionGroup var output: Bench.Output

    func validate() throws {
        try Bench.validate(duration: duration)
        if let webhooks, !(1...10_000).contains(webhooks) { throw ValidationError("--webhooks must be 1 to 10000") }
        guard (1...100_000).contains(rate) else { throw ValidationError("--rate must be 1 to 100000") }
        guard (1...256).contains(publishers) else { throw ValidationError("--publishers must be 1 to 256") }
    }

    func run() async throws {
        FileLimit.raiseToHardLimit()
        var benchmark = WebhookBenchmark()
        benchmark.mode = mode
        benchmark.duration = duration
        benchmark.webhooks = webhooks
        benchmark.rate = rate
        benchmark.publishers = publishers
        output.print(try await benchmark.run())
    }
}
