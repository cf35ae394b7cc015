import AerosolBench
import ArgumentParser

/// `aerosol bench devices`: server memory per connected device and handshakes per second.
struct BenchDevices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "Server memory per connected device, and handshakes per second.",
        discussion: """
            Connects --devices simulated devices to one server over the real device protocol (RSA \
            handshake, AES frames, Hello; --concurrency handshakes in flight), reports the growth of \
            the server's resident set per connected device and the handshakes completed per second, \
            the server's and the bench's CPU time per handshake, and the RSA work alone measured in \
            this process (one core). Targets: ≤ 24 KiB per device, ≥ 400 handshakes/s.

            Device keys (RSA-1024) are generated once, on every core, outside the timing, and kept \
            in --key-file for later runs. Needs a file limit above --devices + 100 in this process \
            and in the server (the benchmark raises its soft limit to the hard limit).

            Example:
              aerosol bench devices --devices 10000
            """
    )

    @Option(help: "Simulated devices to connect.")
    var devices = 10_000

    @Option(help: "Devices handshaking at once.")
    var concurrency = 64

    @Option(help: "The server's --sync mode: full (fsync every commit) or normal.")
    var sync = "full"

    @Option(
        help: "File of generated device keys, reused and extended by later runs. (default: in the temporary directory)"
    )
    var keyFile: String?

    @OptionGroup var output: Bench.Output

    func validate() throws {
        guard (1...100_000).contains(devices) else { throw ValidationError("--devices must be 1 to 100000") }
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be 1 to 256") }
        guard sync == "full" || sync == "normal" else { throw ValidationError("--sync must be full or normal") }
    }

    func run() async throws {
        let limit = FileLimit.raiseToHardLimit()
        guard limit == 0 || limit > UInt64(devices) + 100 else {
            throw ValidationError("the open-file limit (\(limit)) is too low for \(devices) devices")
        }
        var benchmark = DevicesBenchmark()
        benchmark.devices = devices
        benchmark.concurrentHandshakes = concurrency
        benchmark.sync = sync
        benchmark.keyFile = keyFile ?? DeviceIdentityFile.defaultPath
        output.print(try await benchmark.run())
    }
}

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

    @Option(help: "The server's --sync mode: full (fsync every commit) or normal.")
    var sync = "full"

    @Option(
        help: "File of generated device keys, reused and extended by later runs. (default: in the temporary directory)"
    )
    var keyFile: String?

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
        var benchmark = DeviceLatencyBenchmark()
        benchmark.devices = devices
        benchmark.subscribers = subscribers
        benchmark.duration = duration
        benchmark.warmup = warmup
        benchmark.sync = sync
        benchmark.keyFile = keyFile ?? DeviceIdentityFile.defaultPath
        output.print(try await benchmark.run())
    }
}
