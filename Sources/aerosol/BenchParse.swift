import AerosolBench
import ArgumentParser

/// `aerosol bench parse`: the SDK's parsing speed, on one core, without a server.
struct BenchParse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Measure how many events per second the Swift SDK parses on one core.",
        discussion: """
            Feeds a recorded-style stream (product fields, ids, keepalives) to the SDK's incremental \
            SSE parser and event decoder in 16 KiB chunks, and reports the best of several rounds. \
            Target: at least 200,000 events/s.

            Example:
              swift build -c release && .build/release/aerosol bench parse --events 500000
            """
    )

    @Option(help: "Events in the stream.") var events = 200_000
    @Option(help: "Bytes per chunk fed to the parser. (default: 16384)") var chunkSize = 16_384
    @Option(help: "Rounds; the best counts.") var rounds = 5

    func validate() throws {
        guard events > 0, chunkSize > 0, rounds > 0 else { throw ValidationError("sizes must be positive") }
    }

    func run() async throws {
        let result = ParseBenchmark(events: events, chunkSize: chunkSize, rounds: rounds).run()
        guard result.decoded == events else {
            throw ValidationError("decoded \(result.decoded) of \(events) events: the parser lost some")
        }
        let megabytes = String(format: "%.1f", result.megabytesPerSecond)
        print("parse: \(Int(result.eventsPerSecond)) events/s, \(megabytes) MB/s")
        print("       (\(events) events, \(chunkSize)-byte chunks, best of \(rounds) rounds, one core)")
    }
}
