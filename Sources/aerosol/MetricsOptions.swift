import AerosolServer
import ArgumentParser

/// `aerosol serve`'s Prometheus metrics option.
struct MetricsOptions: ParsableArguments {
    @Option(
        name: .customLong("metrics-port"),
        help: ArgumentHelp(
            "Serve GET /metrics (Prometheus) on this port of --host instead of the API port; 0 turns metrics off. [env: AEROSOL_METRICS_PORT] (default: on the API port)",
            valueName: "port"
        )
    )
    var metricsPort: Int?

    /// Applies the option (flag, else the environment variable).
    func apply(to configuration: inout Configuration) throws {
        let port = try EnvironmentOption.resolve(metricsPort, "AEROSOL_METRICS_PORT", default: -1)
        guard port == -1 || (0...65535).contains(port) else {
            throw ValidationError("--metrics-port must be 0 (off) to 65535")
        }
        configuration.metricsPort = port == -1 ? nil : port
    }
}
