import AerosolBench
import ArgumentParser

/// `aerosol bench variables`: variable reads per second through the REST API.
struct BenchVariables: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "variables",
        abstract: "Variable reads per second through the REST API, each a round trip to a device.",
        discussion: """
            Connects --devices simulated devices (each declaring a double variable temp), then \
            --connections keep-alive HTTP connections read GET /v1/devices/:id/temp in a loop for \
            --duration seconds, device after device. Target: ≥ 2,000 reads/s across 100 devices.

            Example:
              aerosol bench variables --devices 100 --connections 64
            """
    )

    @Option(help: "Simulated devices connected.")
    var devices = 100

    @Option(help: "Concurrent HTTP connections reading.")
    var connections = 64

    @Option(help: "Seconds measured.")
    var duration = 10.0

    @OptionGroup var fleet: DeviceBenchOptions

    @OptionGroup var output: Bench.Output

    func validate() throws {
        guard (1...10_000).contains(devices) else { throw ValidationError("--devices must be 1 to 10000") }
        guard (1...1000).contains(connections) else { throw ValidationError("--connections must be 1 to 1000") }
        guard duration > 0, duration <= 600 else {
            throw ValidationError("--duration must be more than 0 and at most 600")
        }
    }

    func run() async throws {
        _ = FileLimit.raiseToHardLimit()
        var benchmark = VariablesBenchmark()
        benchmark.devices = devices
        benchmark.connections = connections
        benchmark.duration = duration
        benchmark.keyFile = fleet.resolvedKeyFile
        benchmark.sync = fleet.sync
        output.print(try await benchmark.run())
    }
}
