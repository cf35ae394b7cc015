import AerosolBench
import ArgumentParser

/// Options of the benchmarks that connect simulated devices.
struct DeviceBenchOptions: ParsableArguments {
    @Option(help: "The server's --sync mode: full (fsync every commit) or normal.")
    var sync = "full"

    @Option(
        help: "File of generated device keys, reused and extended by later runs. (default: in the temporary directory)"
    )
    var keyFile: String?

    /// The key file to use.
    var resolvedKeyFile: String { keyFile ?? DeviceIdentityFile.defaultPath }

    func validate() throws {
        guard sync == "full" || sync == "normal" else { throw ValidationError("--sync must be full or normal") }
    }
}
