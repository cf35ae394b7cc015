import AerosolBench
import ArgumentParser
import Foundation

/// `aerosol bench compare`: Aerosol side by side with nginx + nchan.
struct BenchCompare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "The same loads against Aerosol and against a local nginx + nchan, with the ratios.",
        discussion: """
            Runs, against Aerosol (--sync full) and then against nginx + nchan (2 workers, one channel), \
            and that --rounds times: deliveries/s to --subscribers subscribers with 16 publishers and \
            with one serial publisher (which waits for each acknowledgement), latency p50/p99 at 50 \
            events/s, KiB per idle subscriber, and publishes/s with no subscribers over 64 connections. \
            Prints each figure as aerosol / nchan = ratio, and the targets (ratios over the rounds). \
            Takes about 4 minutes per round.

            Needs nginx and the nchan module: on Debian, `apt-get install nginx libnginx-mod-nchan`. \
            The nginx configuration is Resources/nchan-nginx.conf of the AerosolBench module (in the \
            aerosol_AerosolBench.resources folder beside this binary).

            Example:
              aerosol bench compare --rounds 2
            """
    )

    @Option(help: "How many times each target is measured (A B A B …).")
    var rounds = 2

    @Option(help: "Subscribers of the one channel.")
    var subscribers = 1000

    @Option(help: "Seconds measured per load.")
    var duration = 10.0

    @Option(help: "The nginx binary.")
    var nginx = "/usr/sbin/nginx"

    @Option(help: "The nchan module nginx loads.")
    var nchanModule = "/usr/lib/nginx/modules/ngx_nchan_module.so"

    @OptionGroup var output: Bench.Output

    func validate() throws {
        guard (1...10).contains(rounds) else { throw ValidationError("--rounds must be 1 to 10") }
        guard (1...20_000).contains(subscribers) else { throw ValidationError("--subscribers must be 1 to 20000") }
        guard duration >= 1 else { throw ValidationError("--duration must be at least 1 second") }
    }

    func run() async throws {
        let limit = FileLimit.raiseToHardLimit()
        guard limit == 0 || limit > UInt64(subscribers) * 2 + 200 else {
            throw ValidationError("the open-file limit (\(limit)) is too low for \(subscribers) subscribers")
        }
        var benchmark = CompareBenchmark()
        benchmark.rounds = rounds
        benchmark.subscribers = subscribers
        benchmark.duration = duration
        benchmark.nginx = nginx
        benchmark.nchanModule = nchanModule
        let result = try await benchmark.run { step in
            FileHandle.standardError.write(Data("bench compare: \(step)\n".utf8))
        }
        output.print(result)
    }
}
