import AerosolServer
import ArgumentParser

/// `aerosol serve`'s limits per client address (``ClientLimits``).
struct LimitOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "on, or off to turn off every limit per client address below (for benchmarks and load tests); the sign-in lockout stays on. [env: AEROSOL_RATE_LIMITS] (default: on)",
            valueName: "on|off"
        )
    )
    var rateLimits: String?

    @Option(
        help:
            "Seconds each request limit counts in: a client's window starts with its first request. [env: AEROSOL_RATE_LIMIT_WINDOW] (default: 300)"
    )
    var rateLimitWindow: Int?

    @Option(
        help:
            "Requests per window per client address, any route; more get 429 with Retry-After; 0 = unlimited. [env: AEROSOL_REQUEST_LIMIT] (default: 10000)"
    )
    var requestLimit: Int?

    @Option(
        help:
            "Requests per window per client address to POST /oauth/token, GET /v1/access_tokens, and DELETE /v1/access_tokens/...; 0 = unlimited. [env: AEROSOL_TOKEN_REQUEST_LIMIT] (default: 100)"
    )
    var tokenRequestLimit: Int?

    @Option(
        help:
            "Event stream opens (GET .../events...) per window per client address; 0 = unlimited. [env: AEROSOL_STREAM_OPEN_LIMIT] (default: 100)"
    )
    var streamOpenLimit: Int?

    @Option(
        help:
            "Event streams open at once per client address; more get 429; 0 = unlimited. [env: AEROSOL_MAX_STREAMS_PER_ADDRESS] (default: 100)"
    )
    var maxStreamsPerAddress: Int?

    @Option(
        help:
            "Connections open at once per peer address (trusted proxies are not counted); more are closed unread; 0 = unlimited. [env: AEROSOL_MAX_CONNECTIONS_PER_ADDRESS] (default: 256)"
    )
    var maxConnectionsPerAddress: Int?

    /// Applies the options (flag, then environment variable, then default).
    func apply(to configuration: inout Configuration) throws {
        var limits = configuration.clientLimits
        defer { configuration.clientLimits = limits }
        let switchValue = try EnvironmentOption.resolve(rateLimits, "AEROSOL_RATE_LIMITS", default: "on").lowercased()
        switch switchValue {
        case "on": limits.enabled = true
        case "off": limits.enabled = false
        default: throw ValidationError("--rate-limits must be on or off")
        }
        let window = try EnvironmentOption.resolve(
            rateLimitWindow,
            "AEROSOL_RATE_LIMIT_WINDOW",
            default: Int(limits.window.components.seconds),
            where: (1...86_400).contains,
            "1 to 86400 seconds"
        )
        limits.window = .seconds(window)
        let counts = 0...100_000_000
        let requirement = "0 (unlimited) to 100000000"
        limits.requests = try EnvironmentOption.resolve(
            requestLimit,
            "AEROSOL_REQUEST_LIMIT",
            default: limits.requests,
            where: counts.contains,
            requirement
        )
        limits.tokenRequests = try EnvironmentOption.resolve(
            tokenRequestLimit,
            "AEROSOL_TOKEN_REQUEST_LIMIT",
            default: limits.tokenRequests,
            where: counts.contains,
            requirement
        )
        limits.streamOpens = try EnvironmentOption.resolve(
            streamOpenLimit,
            "AEROSOL_STREAM_OPEN_LIMIT",
            default: limits.streamOpens,
            where: counts.contains,
            requirement
        )
        limits.openStreams = try EnvironmentOption.resolve(
            maxStreamsPerAddress,
            "AEROSOL_MAX_STREAMS_PER_ADDRESS",
            default: limits.openStreams,
            where: counts.contains,
            requirement
        )
        limits.connections = try EnvironmentOption.resolve(
            maxConnectionsPerAddress,
            "AEROSOL_MAX_CONNECTIONS_PER_ADDRESS",
            default: limits.connections,
            where: counts.contains,
            requirement
        )
    }
}
