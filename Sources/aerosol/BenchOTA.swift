import AerosolBench
import ArgumentParser
import Firmware

/// `aerosol bench ota`: firmware updates at scale.
struct BenchOTA: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ota",
        abstract: "Firmware over the air: devices updated at once, and a product release rolled out.",
        discussion: """
            Part 1: --devices simulated TCP devices connect, then all are flashed at the same moment \
            with a --size-byte application (PUT /v1/devices/:id); reports the total time, the \
            transfer time per device (PUT → the device applied the file, CRC-32 and SHA-256 \
            checked) p50/p99, bytes/s and the server's resident set before and at its peak. \
            Part 2: --release-devices product devices connect after a release; the server updates \
            them automatically, --ota-concurrency at once, the rest queued; reports the total \
            time and the time per device. Each part runs on a server of its own.

            Device keys (RSA-1024) are generated once, outside the timing, and kept in --key-file.

            Example:
              aerosol bench ota --devices 100 --release-devices 1000 --size 262144
            """
    )

    @Option(help: "Devices flashed at once.")
    var devices = 100

    @Option(help: "Product devices of the release (0 skips it).")
    var releaseDevices = 1_000

    @Option(help: "The application's size in bytes.")
    var size = 256 * 1024

    @Option(help: "The devices' update protocol: legacy or v3.")
    var otaProtocol = "v3"

    @Option(help: "The server's --ota-concurrency (default: the server's, 20).")
    var otaConcurrency: Int?

    @Option(help: "Seconds each part may take.")
    var timeLimit: Double = 1_800

    @OptionGroup var fleet: DeviceBenchOptions

    @OptionGroup var output: Bench.Output

    func validate() throws {
        guard (1...10_000).contains(devices) else { throw ValidationError("--devices must be 1 to 10000") }
        guard (0...10_000).contains(releaseDevices) else {
            throw ValidationError("--release-devices must be 0 to 10000")
        }
        guard (1_024...4_194_304).contains(size) else { throw ValidationError("--size must be 1024 to 4194304") }
        guard ["legacy", "v3"].contains(otaProtocol) else { throw ValidationError("--ota-protocol is legacy or v3") }
    }

    func run() async throws {
        let limit = FileLimit.raiseToHardLimit()
        let needed = UInt64(2 * max(devices, releaseDevices)) + 100
        guard limit == 0 || limit > needed else {
            throw ValidationError("the open-file limit (\(limit)) is too low for these devices")
        }
        var benchmark = OTABenchmark()
        benchmark.devices = devices
        benchmark.releaseDevices = releaseDevices
        benchmark.size = size
        benchmark.otaProtocol = otaProtocol == "v3" ? .v3 : .legacy
        benchmark.concurrency = otaConcurrency
        benchmark.timeLimit = timeLimit
        benchmark.keyFile = fleet.resolvedKeyFile
        benchmark.sync = fleet.sync
        output.print(try await benchmark.run())
    }
}
