import AerosolBench
import ArgumentParser

/// `aerosol bench device-latency`: device publish → product stream latency.
struct BenchDeviceLatency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device-latency",
        abstract: "Latency from a device's publish to its arrival on the product event stream.",
        discussion: """
            Connects --devices simulated devices of the bench product, opens --subscribers streams on \
            /v1/products/bench/events, then has every device publish once per second (the devices \
            spread evenly over the second), as confirmable events carrying their send time; every \
            subscriber records arrival minus send time. The first --warmup seconds are not recorded. \
            Target: p99 ≤ 50 ms.

            Example:
              aerosol bench device-latency --devices 1000 --duration 10
            """
    )

    @Option(help: "Simulated devices, each publishing once per second.")
    var devices = 1000

    @Option(help: "Streams subscribed to the product.")
    var subscribers = 1

    @Option(help: "Seconds measured, after the warm-up.")
    var duration = 10.0

    @Option(help: "Seconds published but not recorded first.")
    var warmup = 2.0

    @OptionGroup var fleet: DeviceBenchOptions

    @OptionGroup var output: Bench.Output

    func validate() throws {
        guard (1...20_000).contains(devices) else { throw ValidationError("--devices must be 1 to 20000") }
        guard (1...10_000).contains(subscribers) else { throw ValidationError("--subscribers must be 1 to 10000") }
        try Bench.validate(duration: duration)
        guard warmup >= 0, warmup <= 60 else { throw ValidationError("--warmup must be 0 to 60") }
    }

    func run() async throws {
        FileLimit.raiseToHardLimit()
        var benchmark = DeviceLatencyBenchmark()
        benchmark.devices = devices
        benchmark.subscribers = subscribers
        benchmark.duration = duration
        benchmark.warmup = warmup
        benchmark.sync = fleet.sync
        benchmark.keyFile = fleet.resolvedKeyFile
        output.print(try await benchmark.run())
    }
}
