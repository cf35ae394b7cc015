import AerosolModels
import AerosolStore
import DeviceGateway
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Webhooks

/// Builds the Aerosol server: opens (and migrates) the database in the data directory, loads
/// or creates the server secret, and wires the routes and services.
///
/// - Parameters:
///   - configuration: what `aerosol serve` was told.
///   - logger: the root logger.
///   - onServerRunning: called once the server listens, with its port (port 0 picks one) and
///     its event log (what the device gateway and tests publish through).
public func buildApplication(
    configuration: Configuration,
    logger: Logger,
    onServerRunning: @escaping @Sendable (RunningServer) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    guard (1...Configuration.eventDataLimitCeiling).contains(configuration.maxEventDataBytes) else {
        throw StoreError.invalid(
            "the event data limit must be between 1 and \(Configuration.eventDataLimitCeiling) bytes"
        )
    }
    let files = try DataDirectory(path: configuration.dataDirectory)
    // Before anything that counts: metric handles made earlier would be swift-metrics' no-ops.
    let metrics = configuration.metricsPort == 0 ? nil : MetricsBackend.shared
    // Before anything that must be shut down: a missing or broken template fails here, cleanly.
    let views = try await ConsoleViews.load()
    let secret = try ServerSecret.loadOrCreate(at: files.secretPath)
    let openAPI = try OpenAPIDocument.load()
    let database =
        if let url = configuration.databaseURL {
            try await Database.open(
                postgresURL: url,
                connections: configuration.databaseConnections,
                secret: secret,
                logger: logger
            )
        } else {
            try await Database.open(
                path: files.databasePath,
                synchronous: configuration.synchronous,
                secret: secret,
                logger: logger
            )
        }
    var streamLimits = StreamLimits()
    streamLimits.maxQueuedEvents = configuration.subscriberMaxEvents
    streamLimits.maxQueuedBytes = configuration.subscriberMaxBytes
    streamLimits.keepaliveAfter = TimeAmount(configuration.keepaliveAfter)
    let bus = EventBus(backlogLimit: streamLimits.loopBacklog, logger: logger)
    let streams = StreamHub(limits: streamLimits, clock: configuration.clock, logger: logger) { [bus] in
        bus.backlogDrained()
    }
    bus.add(streams)
    let tokens = TokenStore(database: database, secret: secret)
    let devices = DeviceStore(database: database)
    let log: EventLog
    let gateway: DeviceGateway
    // This node's id among the nodes of a PostgreSQL database (`nil`: the only node).
    let nodeID = database.engine == .postgres ? try NodeFiles.nodeID(in: files) : nil
    let webhooks: WebhookEngine
    // Whatever fails from here on leaves nothing open behind it: the process ends with one
    // line about what failed (a device port in use, say), not with a crash or a hang.
    do {
        log = try await EventLog(database: database, bus: bus, logger: logger)
        let serverKey = try ServerKeyFile.loadOrCreate(at: files.serverKeyPath)
        let udpServerKey = try ECServerKeyFile.loadOrCreate(at: files.udpServerKeyPath)
        try await NodeFiles.check(
            database: database,
            secret: secret,
            serverKey: serverKey,
            udpServerKey: udpServerKey,
            files: files
        )
        var gatewaySettings = configuration.gateway
        gatewaySettings.host = configuration.deviceHost ?? configuration.host
        gatewaySettings.port = configuration.devicePort
        gatewaySettings.udpHost = configuration.udpDeviceHost ?? gatewaySettings.host
        gatewaySettings.udpPort = configuration.udpDevicePort
        gatewaySettings.firmwareDirectory = configuration.dataDirectory + "/firmware"
        gatewaySettings.nodeID = nodeID
        gateway = try await DeviceGateway.bind(
            settings: gatewaySettings,
            serverKey: serverKey,
            udpServerKey: udpServerKey,
            sessions: UDPSessionStore(database: database, secret: secret),
            keys: DeviceKeyStore(database: database),
            devices: devices,
            log: log,
            bus: bus,
            database: database,
            logger: logger
        )
        do {
            // Last: it holds HTTP clients, which must be shut down once made.
            webhooks = try await WebhookEngine(
                database: database,
                log: log,
                secret: secret,
                settings: configuration.webhooks,
                logger: logger
            )
        } catch {
            await gateway.closeUnstarted()
            throw error
        }
    } catch {
        await database.close()
        throw error
    }
    let cloud = Cloud(
        configuration: configuration,
        database: database,
        users: UserStore(database: database, bcryptCost: configuration.bcryptCost),
        tokens: tokens,
        products: ProductStore(database: database),
        productFirmware: ProductFirmwareStore(database: database),
        firmwareFiles: FirmwareFileStore(database: database, directory: configuration.dataDirectory + "/firmware"),
        devices: devices,
        log: log,
        bus: bus,
        streams: streams,
        auth: Authenticator(
            tokens: tokens,
            secret: secret,
            clock: configuration.clock,
            // A token revoked through another node stops working here within a second (this
            // node evicts its own revocations at once); one lookup per token a second is cheap.
            cacheLifetime: nodeID == nil ? .seconds(5) : .seconds(1)
        ),
        logins: LoginGuard(
            policy: .init(maxFailures: configuration.signInFailureLimit, lockout: configuration.signInLockout),
            clock: configuration.clock
        ),
        webhooks: webhooks,
        gateway: gateway
    )
    let retention = RetentionService(
        database: database,
        maxAge: configuration.retentionAge,
        maxCount: configuration.retentionCount,
        logger: logger
    )

    let router = Router(context: CloudRequestContext.self)
    let table = SharedRouteTable()
    // Outermost: error responses carry the request ID too.
    router.add(middleware: RequestIDMiddleware())
    // Outside the error middleware, so that it sees the status the client gets.
    if metrics != nil { router.add(middleware: MetricsMiddleware()) }
    router.add(middleware: ErrorMiddleware(routes: table, bodyLimit: configuration.maxRequestBodyBytes))
    router.add(middleware: ClientAddressMiddleware(trustedProxies: Set(configuration.trustedProxies)))
    // After the client's address is settled; before authentication, so that a refused request
    // costs no token lookup.
    let clientLimits = ClientLimitMiddleware(limits: configuration.clientLimits, clock: configuration.clock)
    router.add(middleware: clientLimits)
    var clusterServices: [any Service] = []
    if let node = nodeID {
        clusterServices.append(
            RateLimitSync(
                limiters: clientLimits.limiters + [cloud.logins],
                store: RateCountStore(database: database),
                node: node,
                logger: logger
            )
        )
    }
    let routes = RouteRegistrar(router: router, table: table, cloud: cloud)
    HealthRoutes(cloud: cloud).register(routes)
    OpenAPIRoutes(document: openAPI).register(routes)
    TokenRoutes(cloud: cloud).register(routes)
    ProductRoutes(cloud: cloud).register(routes)
    ProductFirmwareRoutes(cloud: cloud).register(routes)
    DeviceRoutes(cloud: cloud).register(routes)
    DeviceRequestRoutes(cloud: cloud).register(routes)
    ProvisioningRoutes(cloud: cloud).register(routes)
    EventRoutes(cloud: cloud).register(routes)
    WebhookRoutes(cloud: cloud).register(routes)
    IntegrationRoutes(cloud: cloud).register(routes)
    Console(cloud: cloud, views: views).register(routes)
    var metricsServer: [any Service] = []
    if let metrics {
        let report = MetricsReport(cloud: cloud, database: database, backend: metrics)
        if let port = configuration.metricsPort {
            metricsServer = [MetricsServer(host: configuration.host, port: port, report: report, logger: logger)]
        } else {
            MetricsRoutes(report: report).register(routes)
        }
    }

    let host = configuration.host
    let responder = router.buildResponder()
    let limits = configuration.clientLimits
    let connectionCap =
        limits.enabled && limits.connections > 0
        ? ConnectionCap(limit: limits.connections, exempt: Set(configuration.trustedProxies)) : nil
    return Application(
        responder: responder,
        // Event streams opened by a connection's first request are handed to the connection:
        // no task stays behind for them (docs/benchmarks.md §4).
        server: HTTPServerBuilder { applicationResponder in
            StreamingHTTP1Channel(
                responder: applicationResponder,
                router: responder,
                configuration: HTTP1Channel.Configuration(idleTimeout: TimeAmount(configuration.idleTimeout)),
                connections: connectionCap
            )
        },
        configuration: .init(address: .hostname(host, port: configuration.port), serverName: nil),
        // Services stop in reverse order (after the HTTP server): the webhook workers and
        // dispatcher first, then the device gateway (whose devices go offline through the log),
        // retention, the log, the streams (which end with `:closed shutdown`), and the database last.
        services: [DatabaseCloser(database: database), streams, log, retention, gateway] + webhooks.services
            + metricsServer + clusterServices,
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.port
            cloud.boundPort.value = port
            logger.info(
                "aerosol listening on http://\(host):\(port)",
                metadata: [
                    "data.dir": "\(files.path)", "db.engine": "\(database.engine)", "db.location": "\(database.path)",
                    "event.last_id": "\(log.latestID)",
                ]
            )
            await onServerRunning(
                RunningServer(
                    port: port,
                    log: log,
                    devicePort: gateway.port,
                    udpDevicePort: gateway.udpPort,
                    routes: table.routes
                )
            )
        },
        logger: logger
    )
}
