import AerosolBench
import ArgumentParser

/// `aerosol bench udp-latency`: UDP device publish → product stream latency.
struct BenchUDPLatency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "udp-latency",
        abstract: "Latency from a UDP device's publish to its arrival on the product event stream.",
        discussion: """
            Connects --devices simulated UDP/DTLS devices of the bench product (new EC keys, full \
            handshake), opens --subscribers streams on /v1/products/bench/events, then has every \
            device publish once per second (the devices spread evenly over the second), as \
            confirmable events carrying their send time; every subscriber records arrival minus send \
            time. The first --warmup seconds are not recorded. Target: p99 ≤ 10 ms.

            Example:
              aerosol bench udp-latency --devices 1000 --duration 10
            """
    )

    @Option(help: "Simulated UDP devices, each publishing once per second.")
    var devices = 1000

    @Option(help: "Streams subscribed to the product.")
    var subscribers = 1

    @Option(help: "Seconds measured, after the warm-up.")
    var duration = 10.0

    @Option(help: "Seconds published but not recorded first.")
    var warmup = 2.0

    @Option(help: "The server's --sync mode: full (fsync every commit) or normal.")
    var sync = "full"

    @OptionGroup var output: Bench.Output

    func validate() throws {
        guard (1...20_000).contains(devices) else { throw ValidationError("--devices must be 1 to 20000") }
        guard (1...10_000).contains(subscribers) else { throw ValidationError("--subscribers must be 1 to 10000") }
        try Bench.validate(duration: duration)
        guard warmup >= 0, warmup <= 60 else { throw ValidationError("--warmup must be 0 to 60") }
        guard sync == "full" || sync == "normal" else { throw ValidationError("--sync must be full or normal") }
    }

    func run() async throws {
        FileLimit.raiseToHardLimit()
        var benchmark = UDPLatencyBenchmark()
        benchmark.devices = devices
        benchmark.subscribers = subscribers
        benchmark.duration = duration
        benchmark.warmup = warmup
        benchmark.sync = sync
        output.print(try await benchmark.run())
    }
}
