import AerosolBench
import AerosolStore
import ArgumentParser

/// `aerosol bench …`: the project's benchmarks (see docs/benchmarks.md).
///
/// Each subcommand starts this same binary as a server (`serve` on a free port of 127.0.0.1,
/// a fresh temporary data directory, `--log-level warning`), creates an account, a token and a
/// product, measures with clients in this process, prints the result, and stops the server.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the benchmarks against a server started for the purpose.",
        discussion: """
            Every benchmark starts its own server (this binary, `serve` on a free port of 127.0.0.1 with \
            a temporary data directory), measures with clients in this process, prints a result block \
            (or one JSON line with --json), then stops the server and deletes the directory. Build in \
            release mode first: `swift build -c release`. See docs/benchmarks.md for figures.

            Example:
              aerosol bench all
            """,
        subcommands: [
            Ingest.self, Fanout.self, Latency.self, Idle.self, All.self, BenchParse.self, BenchWebhooks.self,
            BenchDevices.self, BenchDeviceLatency.self, BenchUDPDevices.self, BenchUDPLatency.self, BenchVariables.self,
            BenchCompare.self, BenchMetricsCost.self, BenchOTA.self, BenchCluster.self,
        ]
    )

    /// Options every benchmark takes.
    struct Output: ParsableArguments {
        @Flag(help: "Print one line of JSON with the results instead of the text block.")
        var json = false

        func print(_ result: some BenchmarkResult) {
            Swift.print(json ? result.jsonLine : result.report)
        }
    }

    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Acknowledged (durable) publishes per second, and ack latency.",
            discussion: """
                Each connection publishes back to back (POST /v1/devices/events, wait for {"ok":true}, \
                next); after a 2 s warm-up acks are counted for --duration seconds. Target: 15,000 events/s.

                Example:
                  aerosol bench ingest --connections 64 --duration 10 --sync full
                """
        )

        @Option(help: "Publishing keep-alive connections.")
        var connections = 64

        @Option(help: "Seconds measured, after a 2 s warm-up.")
        var duration = 10.0

        @Option(help: "The server's --sync mode: full (fsync every commit) or normal.")
        var sync = "full"

        @OptionGroup var output: Output

        func validate() throws {
            guard (1...10_000).contains(connections) else { throw ValidationError("--connections must be 1 to 10000") }
            try Bench.validate(duration: duration)
            guard sync == "full" || sync == "normal" else { throw ValidationError("--sync must be full or normal") }
        }

        func run() async throws {
            FileLimit.raiseToHardLimit()
            var benchmark = IngestBenchmark()
            benchmark.connections = connections
            benchmark.duration = duration
            benchmark.sync = sync
            output.print(try await benchmark.run())
        }
    }

    struct Fanout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Event deliveries per second to many subscribers of one stream, at saturation.",
            discussion: """
                Opens --subscribers streams on the product (each must answer :ok), then --publishers \
                connections publish to the product back to back; after a 2 s warm-up, complete event \
                frames received across all subscribers are counted for --duration seconds. \
                The default 64 publishers keep the server saturated; with few publishers the rate \
                is bound by their ack latency instead. Target: 150,000 deliveries/s.

                Example:
                  aerosol bench fanout --subscribers 1000 --publishers 64 --duration 10
                  aerosol bench fanout --database postgres://aerosol@127.0.0.1/bench
                """
        )

        @Option(help: "Subscribed event streams.")
        var subscribers = 1000

        @Option(help: "Seconds measured, after a 2 s warm-up.")
        var duration = 10.0

        @Option(help: "Publishing keep-alive connections.")
        var publishers = 64

        @Option(help: "The server's --stream-buffer: events a subscriber may trail before it is disconnected.")
        var streamBuffer = 100_000

        @Option(
            help: """
                An empty PostgreSQL database for the server (postgres://…), to compare one node's \
                fan-out on PostgreSQL with SQLite's (the default).
                """
        )
        var database: String?

        @OptionGroup var output: Output

        func validate() throws {
            if let database, DatabaseEngine.of(url: database) != .postgres {
                throw ValidationError(
                    "--database must be a PostgreSQL URL (postgres://user:password@host:port/database)"
                )
            }
            guard (1...20_000).contains(subscribers) else { throw ValidationError("--subscribers must be 1 to 20000") }
            guard (1...1000).contains(publishers) else { throw ValidationError("--publishers must be 1 to 1000") }
            guard streamBuffer >= 1 else { throw ValidationError("--stream-buffer must be at least 1") }
            try Bench.validate(duration: duration)
        }

        func run() async throws {
            FileLimit.raiseToHardLimit()
            var benchmark = FanoutBenchmark()
            benchmark.subscribers = subscribers
            benchmark.publishers = publishers
            benchmark.duration = duration
            benchmark.streamBuffer = streamBuffer
            benchmark.database = database
            output.print(try await benchmark.run())
        }
    }

    struct Latency: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish-to-delivery latency percentiles across many subscribers.",
            discussion: """
                Opens --subscribers streams on the product; one publisher publishes --rate events per \
                second carrying their send time; every subscriber records arrival minus send time. \
                The first second is a warm-up and not recorded. Target: p99 ≤ 25 ms.

                Example:
                  aerosol bench latency --subscribers 1000 --rate 50 --duration 10
                """
        )

        @Option(help: "Subscribed event streams.")
        var subscribers = 1000

        @Option(help: "Events published per second.")
        var rate = 50

        @Option(help: "Seconds measured, after a 1 s warm-up.")
        var duration = 10.0

        @OptionGroup var output: Output

        func validate() throws {
            guard (1...20_000).contains(subscribers) else { throw ValidationError("--subscribers must be 1 to 20000") }
            guard (1...10_000).contains(rate) else { throw ValidationError("--rate must be 1 to 10000") }
            try Bench.validate(duration: duration)
        }

        func run() async throws {
            FileLimit.raiseToHardLimit()
            var benchmark = LatencyBenchmark()
            benchmark.subscribers = subscribers
            benchmark.rate = rate
            benchmark.duration = duration
            output.print(try await benchmark.run())
        }
    }

    struct Idle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Server memory per open, idle event stream.",
            discussion: """
                Reads the server's resident set (VmRSS) once steady, opens --streams streams (each must \
                answer :ok; 128 connect at a time), waits until the resident set is steady again, and \
                reports the growth per stream. Target: ≤ 16 KiB per stream. Needs a file limit above \
                --streams + 100 (the benchmark raises its soft limit to the hard limit).

                Example:
                  aerosol bench idle --streams 10000
                """
        )

        @Option(help: "Idle event streams to open.")
        var streams = 10_000

        @OptionGroup var output: Output

        func validate() throws {
            guard (1...50_000).contains(streams) else { throw ValidationError("--streams must be 1 to 50000") }
        }

        func run() async throws {
            let limit = FileLimit.raiseToHardLimit()
            guard limit == 0 || limit > UInt64(streams) + 100 else {
                throw ValidationError("the open-file limit (\(limit)) is too low for \(streams) streams")
            }
            var benchmark = IdleBenchmark()
            benchmark.streams = streams
            output.print(try await benchmark.run())
        }
    }

    struct All: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every benchmark with its defaults, then print a summary of the targets.",
            discussion: """
                ingest, fanout, latency, idle, webhooks (throughput), devices (10,000 devices), \
                device-latency and variables; each gets a fresh server. Takes about five minutes, \
                plus about two the first time, to generate the device keys (kept for later runs).

                Example:
                  aerosol bench all
                  aerosol bench all --json
                """
        )

        @OptionGroup var output: Output

        func run() async throws {
            FileLimit.raiseToHardLimit()
            let runs: [@Sendable () async throws -> any BenchmarkResult] = [
                { try await IngestBenchmark().run() },
                { try await FanoutBenchmark().run() },
                { try await LatencyBenchmark().run() },
                { try await IdleBenchmark().run() },
                { try await WebhookBenchmark().run() },
                { try await DevicesBenchmark().run() },
                { try await DeviceLatencyBenchmark().run() },
                { try await VariablesBenchmark().run() },
            ]
            var results: [any BenchmarkResult] = []
            for run in runs {
                let result = try await run()
                results.append(result)
                if !output.json { print(result.report + "\n") }
            }
            if output.json {
                let fields = results.map { "\"\($0.benchmark)\":\($0.jsonLine)" }
                print("{" + fields.joined(separator: ",") + "}")
            } else {
                print(BenchSummary.table(results.map(\.summary)))
            }
        }
    }

    static func validate(duration: Double) throws {
        guard duration > 0, duration <= 3600 else {
            throw ValidationError("--duration must be above 0 and at most 3600")
        }
    }
}
