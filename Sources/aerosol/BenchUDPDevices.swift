import AerosolBench
import ArgumentParser

/// `aerosol bench udp-devices`: server memory per UDP device, full DTLS handshakes per second,
/// and the time for every device to resume its session from a new port.
struct BenchUDPDevices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "udp-devices",
        abstract: "Memory per UDP device, DTLS handshakes per second, and the time for all to resume.",
        discussion: """
            Makes --devices new EC P-256 device keys, provisions them (algorithm=ecc) into the bench \
            product, reads the server's resident set once steady, then every device does a full DTLS \
            handshake and Hello from a socket of its own (--concurrency at a time); handshakes/s = \
            devices / (first ClientHello → last Hello answered). Once the resident set is steady \
            again, its growth per device is reported. Then every device closes its socket and all \
            resume their sessions from new source ports (--resume-concurrency at a time), without a \
            handshake. The devices run in this process, on the same cores as the server. Targets: \
            ≤ 8 KiB per device, ≥ 1,000 handshakes/s, all resumed within 10 s. Needs a file limit \
            above --devices + 100 (the benchmark raises its soft limit to the hard limit).

            Example:
              aerosol bench udp-devices --devices 10000
            """
    )

    @Option(help: "Simulated UDP devices.")
    var devices = 10_000

    @Option(help: "Devices handshaking at once.")
    var concurrency = 64

    @Option(help: "Devices resuming at once.")
    var resumeConcurrency = 256

    @Option(help: "The server's --sync mode: full (fsync every commit) or normal.")
    var sync = "full"

    @OptionGroup var output: Bench.Output

    func validate() throws {
        guard (1...50_000).contains(devices) else { throw ValidationError("--devices must be 1 to 50000") }
        guard (1...4096).contains(concurrency) else { throw ValidationError("--concurrency must be 1 to 4096") }
        guard (1...50_000).contains(resumeConcurrency) else {
            throw ValidationError("--resume-concurrency must be 1 to 50000")
        }
        guard sync == "full" || sync == "normal" else { throw ValidationError("--sync must be full or normal") }
    }

    func run() async throws {
        let limit = FileLimit.raiseToHardLimit()
        guard limit == 0 || limit > UInt64(devices) + 100 else {
            throw ValidationError("the open-file limit (\(limit)) is too low for \(devices) UDP devices")
        }
        var benchmark = UDPDevicesBenchmark()
        benchmark.devices = devices
        benchmark.concurrentHandshakes = concurrency
        benchmark.concurrentResumes = resumeConcurrency
        benchmark.sync = sync
        output.print(try await benchmark.run())
    }
}
