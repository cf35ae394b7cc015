import AerosolServer
import AerosolStore
import ArgumentParser
import Foundation
import Hummingbird
import Logging

/// `aerosol serve`: runs the server until SIGINT or SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Aerosol server.",
        discussion: """
            Every flag can also be set with the environment variable named in its help; a flag on the \
            command line wins over the variable. The server creates its data directory, SQLite \
            database and secret on first start, and stops cleanly on SIGINT or SIGTERM.

            Example:
              aerosol serve --port 8080 --data-dir ./aerosol-data
            """
    )

    @Option(help: "Address to listen on. [env: AEROSOL_HOST] (default: 127.0.0.1)")
    var host: String?

    @Option(help: "HTTP port; 0 picks a free one. [env: AEROSOL_PORT] (default: 8080)")
    var port: Int?

    @Option(help: "TCP port for devices; 0 picks a free one. [env: AEROSOL_DEVICE_PORT] (default: 5683)")
    var devicePort: Int?

    @Option(help: "Address devices connect to. [env: AEROSOL_DEVICE_HOST] (default: the same as --host)")
    var deviceHost: String?

    @Option(
        help:
            "UDP port for DTLS devices (Gen3, Gen4); 0 picks a free one. [env: AEROSOL_UDP_DEVICE_PORT] (default: 5684)"
    )
    var udpDevicePort: Int?

    @Option(
        help: "Address UDP devices send to. [env: AEROSOL_UDP_DEVICE_HOST] (default: the same as --device-host)"
    )
    var udpDeviceHost: String?

    @Option(help: "Directory for the database and the server secret. [env: AEROSOL_DATA_DIR] (default: ./aerosol-data)")
    var dataDir: String?

    @OptionGroup var database: DatabaseOptions

    @Option(
        help: """
            Seconds a node of a PostgreSQL cluster may go without renewing its lease in the \
            database before the other nodes take it as dead and report its devices offline \
            (renewed every quarter of it; 2 to 3600). [env: AEROSOL_NODE_LEASE] (default: 30)
            """
    )
    var nodeLease: Int?

    /// `--node-lease`, checked.
    private func resolveNodeLease() throws -> Duration {
        .seconds(
            try EnvironmentOption.resolve(
                nodeLease,
                "AEROSOL_NODE_LEASE",
                default: 30,
                where: { (2...3600).contains($0) },
                "2 to 3600"
            )
        )
    }

    @Option(help: "trace, debug, info, notice, warning, error or critical. [env: AEROSOL_LOG_LEVEL] (default: info)")
    var logLevel: String?

    @Option(
        help:
            "text (one line per message, for a terminal) or json (one JSON object per line, for log shippers). [env: AEROSOL_LOG_FORMAT] (default: text)"
    )
    var logFormat: String?

    @Option(
        help:
            "Largest event data accepted from REST publishes, in bytes, up to 16384. [env: AEROSOL_MAX_EVENT_DATA] (default: 1024)"
    )
    var maxEventData: Int?

    @Option(
        help:
            "Largest firmware binary accepted by an upload, in bytes; larger ones get 413. [env: AEROSOL_MAX_FIRMWARE_SIZE] (default: 4194304)"
    )
    var maxFirmwareSize: Int?

    @Option(
        help:
            "Automatic product firmware updates running at once, at most. [env: AEROSOL_OTA_CONCURRENCY] (default: 20)"
    )
    var otaConcurrency: Int?

    @Option(
        help:
            "Seconds a connection may stay idle, or take between two parts of a request, before it is closed. [env: AEROSOL_IDLE_TIMEOUT] (default: 30)"
    )
    var idleTimeout: Double?

    @Option(help: "Hours of events kept for Last-Event-ID replay. [env: AEROSOL_RETENTION_HOURS] (default: 24)")
    var retentionHours: Double?

    @Option(help: "Most events kept for replay. [env: AEROSOL_RETENTION_COUNT] (default: 1000000)")
    var retentionCount: Int?

    @Option(
        help:
            "Events a stream may have waiting before it is closed as too slow. [env: AEROSOL_STREAM_BUFFER] (default: 1000)"
    )
    var streamBuffer: Int?

    @Option(
        help:
            "full (fsync every commit) or normal (survives a process crash, not a power cut). [env: AEROSOL_SYNC] (default: full)"
    )
    var sync: String?

    @Option(
        help:
            "Base URL shown in error hints, e.g. https://cloud.example.com. [env: AEROSOL_PUBLIC_URL] (default: http://HOST:PORT)"
    )
    var publicURL: String?

    @Flag(
        help:
            "Let webhooks call loopback, link-local and private addresses (local development). [env: AEROSOL_ALLOW_PRIVATE_WEBHOOKS=true] (default: off)"
    )
    var allowPrivateWebhooks = false

    @Option(
        help:
            "Calls per minute per webhook unless it sets rateLimit; 0 = unlimited. [env: AEROSOL_WEBHOOK_RATE_LIMIT] (default: 12)"
    )
    var webhookRateLimit: Int?

    @Option(help: "Seconds a webhook request may take, body included. [env: AEROSOL_WEBHOOK_TIMEOUT] (default: 20)")
    var webhookTimeout: Double?

    @Option(
        help: "Attempts per webhook delivery before it is given up. [env: AEROSOL_WEBHOOK_MAX_ATTEMPTS] (default: 10)"
    )
    var webhookMaxAttempts: Int?

    @Option(
        help:
            "Deliveries a webhook may have waiting; newer events are dropped (and logged) beyond. [env: AEROSOL_WEBHOOK_QUEUE_LIMIT] (default: 10000)"
    )
    var webhookQueueLimit: Int?

    @OptionGroup(title: "Web console")
    var console: ConsoleOptions

    @OptionGroup(title: "Reverse proxy")
    var proxy: ProxyOptions

    @OptionGroup(title: "Metrics")
    var metrics: MetricsOptions

    @OptionGroup(title: "Limits per client address")
    var limits: LimitOptions

    func run() async throws {
        let configuration = try makeConfiguration()
        let format = try EnvironmentOption.resolve(logFormat, "AEROSOL_LOG_FORMAT", default: "text").lowercased()
        guard format == "text" || format == "json" else {
            throw ValidationError("unknown log format \(format): use text or json")
        }
        LoggingSystem.bootstrap { label in
            if format == "json" {
                var handler = JSONLogHandler.standardError(label: label)
                handler.logLevel = configuration.logLevel
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        var logger = Logger(label: "aerosol")
        logger.logLevel = configuration.logLevel
        let files = FileDescriptorLimit.raiseToMaximum()
        if files < 4096 {
            logger.warning(
                "the open-file limit is low; each event stream needs one",
                metadata: ["process.max_open_files": "\(files)"]
            )
        }
        do {
            try await Self.checkListeners(configuration)
            let app = try await buildApplication(configuration: configuration, logger: logger)
            try await app.runService()
        } catch {
            printError("aerosol: \(Self.describe(error, configuration))")
            throw ExitCode.failure
        }
        logger.info("aerosol stopped")
    }

    func makeConfiguration() throws -> Configuration {
        var configuration = Configuration()
        configuration.host = try EnvironmentOption.resolve(host, "AEROSOL_HOST", default: configuration.host)
        let ports = 0...65535
        configuration.port = try EnvironmentOption.resolve(
            port,
            "AEROSOL_PORT",
            default: configuration.port,
            where: ports.contains,
            "0 to 65535"
        )
        configuration.devicePort = try EnvironmentOption.resolve(
            devicePort,
            "AEROSOL_DEVICE_PORT",
            default: configuration.devicePort,
            where: ports.contains,
            "0 to 65535"
        )
        let resolvedDeviceHost = try EnvironmentOption.resolve(deviceHost, "AEROSOL_DEVICE_HOST", default: "")
        configuration.deviceHost = resolvedDeviceHost.isEmpty ? nil : resolvedDeviceHost
        configuration.udpDevicePort = try EnvironmentOption.resolve(
            udpDevicePort,
            "AEROSOL_UDP_DEVICE_PORT",
            default: configuration.udpDevicePort,
            where: ports.contains,
            "0 to 65535"
        )
        let resolvedUDPHost = try EnvironmentOption.resolve(udpDeviceHost, "AEROSOL_UDP_DEVICE_HOST", default: "")
        configuration.udpDeviceHost = resolvedUDPHost.isEmpty ? nil : resolvedUDPHost
        configuration.dataDirectory = try EnvironmentOption.resolve(
            dataDir,
            "AEROSOL_DATA_DIR",
            default: configuration.dataDirectory
        )
        let level = try EnvironmentOption.resolve(logLevel, "AEROSOL_LOG_LEVEL", default: "info")
        guard let parsedLevel = Logger.Level(rawValue: level.lowercased()) else {
            throw ValidationError(
                "unknown log level \(level): use trace, debug, info, notice, warning, error or critical"
            )
        }
        configuration.logLevel = parsedLevel
        configuration.maxEventDataBytes = try EnvironmentOption.resolve(
            maxEventData,
            "AEROSOL_MAX_EVENT_DATA",
            default: configuration.maxEventDataBytes,
            where: (1...Configuration.eventDataLimitCeiling).contains,
            "1 to \(Configuration.eventDataLimitCeiling)"
        )
        configuration.maxFirmwareBytes = try EnvironmentOption.resolve(
            maxFirmwareSize,
            "AEROSOL_MAX_FIRMWARE_SIZE",
            default: configuration.maxFirmwareBytes,
            where: (1_024...(256 << 20)).contains,
            "1024 to \(256 << 20)"
        )
        configuration.gateway.otaConcurrency = try EnvironmentOption.resolve(
            otaConcurrency,
            "AEROSOL_OTA_CONCURRENCY",
            default: configuration.gateway.otaConcurrency,
            where: (1...10_000).contains,
            "1 to 10000"
        )
        let idle = try EnvironmentOption.resolve(
            idleTimeout,
            "AEROSOL_IDLE_TIMEOUT",
            default: 30,
            where: { $0 > 0 && $0 <= 86_400 },
            "more than 0 and at most 86400"
        )
        configuration.idleTimeout = .milliseconds(Int64(idle * 1000))
        let hours = try EnvironmentOption.resolve(
            retentionHours,
            "AEROSOL_RETENTION_HOURS",
            default: 24,
            where: { $0 > 0 },
            "positive"
        )
        configuration.retentionAge = .seconds(hours * 3600)
        configuration.retentionCount = try EnvironmentOption.resolve(
            retentionCount,
            "AEROSOL_RETENTION_COUNT",
            default: configuration.retentionCount,
            where: { $0 >= 1 },
            "at least 1"
        )
        configuration.subscriberMaxEvents = try EnvironmentOption.resolve(
            streamBuffer,
            "AEROSOL_STREAM_BUFFER",
            default: configuration.subscriberMaxEvents,
            where: { $0 >= 1 },
            "at least 1"
        )
        let syncMode = try EnvironmentOption.resolve(sync, "AEROSOL_SYNC", default: "full")
        guard let synchronous = Database.Synchronous(rawValue: syncMode.uppercased()) else {
            throw ValidationError("--sync must be full or normal")
        }
        configuration.synchronous = synchronous
        configuration.databaseURL = try database.resolve()
        configuration.databaseConnections = try database.resolveConnections()
        configuration.gateway.nodeLease = try resolveNodeLease()
        configuration.publicURL = try EnvironmentOption.resolve(publicURL, "AEROSOL_PUBLIC_URL", default: "")
        if configuration.publicURL?.isEmpty == true { configuration.publicURL = nil }
        try resolveWebhookOptions(&configuration)
        try console.apply(to: &configuration)
        try proxy.apply(to: &configuration)
        try metrics.apply(to: &configuration)
        try limits.apply(to: &configuration)
        return configuration
    }

    private func resolveWebhookOptions(_ configuration: inout Configuration) throws {
        var webhooks = configuration.webhooks
        defer { configuration.webhooks = webhooks }
        webhooks.allowPrivateTargets = try EnvironmentOption.resolve(
            allowPrivateWebhooks ? true : nil,
            "AEROSOL_ALLOW_PRIVATE_WEBHOOKS",
            default: false
        )
        webhooks.defaultRateLimit = try EnvironmentOption.resolve(
            webhookRateLimit,
            "AEROSOL_WEBHOOK_RATE_LIMIT",
            default: webhooks.defaultRateLimit,
            where: (0...60_000).contains,
            "0 (unlimited) to 60000"
        )
        let timeout = try EnvironmentOption.resolve(
            webhookTimeout,
            "AEROSOL_WEBHOOK_TIMEOUT",
            default: 20,
            where: { $0 > 0 && $0 <= 600 },
            "more than 0 and at most 600 seconds"
        )
        webhooks.requestTimeout = .milliseconds(Int64(timeout * 1000))
        webhooks.maxAttempts = try EnvironmentOption.resolve(
            webhookMaxAttempts,
            "AEROSOL_WEBHOOK_MAX_ATTEMPTS",
            default: webhooks.maxAttempts,
            where: { $0 >= 1 },
            "at least 1"
        )
        webhooks.maxQueuedPerWebhook = try EnvironmentOption.resolve(
            webhookQueueLimit,
            "AEROSOL_WEBHOOK_QUEUE_LIMIT",
            default: webhooks.maxQueuedPerWebhook,
            where: { $0 >= 1 },
            "at least 1"
        )
    }
}
