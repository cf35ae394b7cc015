import AerosolBench
import ArgumentParser

/// `aerosol bench cluster`: two nodes on one PostgreSQL database.
struct BenchCluster: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Two nodes on one PostgreSQL database: durable ingest across both, and latency across nodes.",
        discussion: """
            Starts two servers on --database (the second with the first's secret and keys, as \
            docs/cluster.md says), publishes back to back on --connections keep-alive connections split \
            over both nodes (acknowledged = committed), then publishes --rate events/s on the first node \
            to one stream on the second and times each delivery. Targets: ≥ 10,000 events/s across the \
            two nodes; cross-node p99 ≤ 50 ms. Give it an empty database (the bench creates its \
            account there).

            Example:
              createdb aerosol_bench
              aerosol bench cluster --database postgres://localhost/aerosol_bench
            """
    )

    @Option(help: "An empty PostgreSQL database for both nodes. [env: AEROSOL_BENCH_DATABASE_URL]")
    var database: String?

    @Option(help: "Publishing keep-alive connections, split over the two nodes.")
    var connections = 64

    @Option(help: "Seconds of ingest measured, after a 2 s warm-up.")
    var duration = 10.0

    @Option(help: "Events per second of the latency run.")
    var rate = 1000

    @OptionGroup var output: Bench.Output

    func validate() throws {
        guard (2...10_000).contains(connections) else { throw ValidationError("--connections must be 2 to 10000") }
        guard (1...100_000).contains(rate) else { throw ValidationError("--rate must be 1 to 100000") }
        try Bench.validate(duration: duration)
        _ = try resolvedDatabase()
    }

    private func resolvedDatabase() throws -> String {
        let url = try EnvironmentOption.resolve(database, "AEROSOL_BENCH_DATABASE_URL", default: "")
        guard !url.isEmpty else {
            throw ValidationError("--database is required: a PostgreSQL URL (postgres://user@host/database)")
        }
        return url
    }

    func run() async throws {
        FileLimit.raiseToHardLimit()
        var benchmark = ClusterBenchmark(database: try resolvedDatabase())
        benchmark.connections = connections
        benchmark.duration = duration
        benchmark.rate = rate
        output.print(try await benchmark.run())
    }
}
