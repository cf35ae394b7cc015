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

    @OptionGroup var fleet: DeviceBenchOptions

    @OptionGroup var output: Bench.Output

    func validate() throws {
        guard (1...100_000).contains(devices) else { throw ValidationError("--devices must be 1 to 100000") }
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be 1 to 256") }
    }

    func run() async throws {
        let limit = FileLimit.raiseToHardLimit()
        guard limit == 0 || limit > UInt64(devices) + 100 else {
            throw ValidationError("the open-file limit (\(limit)) is too low for \(devices) devices")
        }
        var benchmark = DevicesBenchmark()
        benchmark.devices = devices
        benchmark.concurrentHandshakes = concurrency
        benchmark.sync = fleet.sync
        benchmark.keyFile = fleet.resolvedKeyFile
        output.print(try await benchmark.run())
    }
}
