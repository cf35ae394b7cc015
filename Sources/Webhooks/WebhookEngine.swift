import AerosolModels
import AerosolStore
import Foundation
import Logging
import ServiceLifecycle

/// Webhooks end to end: the definitions (create, list, replace, delete, test, delivery log)
/// and the two services that deliver them, the ``WebhookDispatcher`` (event log → outbox) and
/// the ``DeliveryWorkers`` (outbox → HTTP).
///
/// Build it once the event log exists, register ``services`` after the log's (so they stop
/// before it), and call its methods from the routes.
public final class WebhookEngine: Sendable {
    /// The server-wide settings.
    public let settings: WebhookSettings
    let hooks: WebhookStore
    let deliveries: DeliveryStore
    let log: EventLog
    let registry: WebhookRegistry
    let counts: QueueCounts
    let resolver: TargetResolver
    let workers: DeliveryWorkers
    let dispatcher: WebhookDispatcher
    let logger: Logger
    /// On PostgreSQL, runs the dispatcher and the workers while this node leads (`nil` on SQLite).
    let leadership: WebhookLeadership?

    /// Loads the webhooks and the outbox's backlog from `database`.
    public init(
        database: Database,
        log: EventLog,
        secret: ServerSecret,
        settings: WebhookSettings,
        logger: Logger
    ) async throws {
        self.settings = settings
        self.log = log
        self.logger = logger
        hooks = WebhookStore(database: database, secret: secret)
        deliveries = DeliveryStore(database: database)
        var loaded: [Webhook] = []
        for record in try await hooks.all() {
            do {
                loaded.append(try Webhook(record))
            } catch {
                logger.error(
                    "skipping an unreadable webhook",
                    metadata: ["webhook.id": "\(record.id)", "error": "\(error)"]
                )
            }
        }
        let cursor = try await deliveries.cursor()
        registry = WebhookRegistry(hooks: loaded, cursor: cursor)
        let backlog = try await deliveries.backlog()
        counts = QueueCounts(
            limit: settings.maxQueuedPerWebhook,
            initial: Dictionary(backlog.map { ($0.webhookID, $0.count) }, uniquingKeysWith: +)
        )
        resolver = TargetResolver(allowPrivate: settings.allowPrivateTargets)
        let sender = DeliverySender(
            resolver: resolver,
            timeout: settings.requestTimeout,
            connectionsPerHost: settings.maxConcurrentPerWebhook
        )
        workers = DeliveryWorkers(
            registry: registry,
            deliveries: deliveries,
            webhooks: hooks,
            log: log,
            sender: sender,
            counts: counts,
            settings: settings,
            logger: logger
        )
        for hook in loaded { workers.configure(hook) }
        for entry in backlog { workers.arrived(entry.webhookID, dueAt: entry.earliest) }
        dispatcher = WebhookDispatcher(
            deliveries: deliveries,
            log: log,
            registry: registry,
            counts: counts,
            workers: workers,
            settings: settings,
            cursor: cursor,
            logger: logger
        )
        leadership =
            database.engine == .postgres
            ? WebhookLeadership(
                database: database,
                dispatcher: dispatcher,
                workers: workers,
                sync: WebhookSync(
                    database: database,
                    hooks: hooks,
                    deliveries: deliveries,
                    registry: registry,
                    workers: workers,
                    counts: counts,
                    logger: logger
                ),
                logger: logger
            ) : nil
        if !backlog.isEmpty {
            logger.info(
                "webhook deliveries waiting from before the restart",
                metadata: ["webhook.waiting": "\(backlog.reduce(0) { $0 + $1.count })"]
            )
        }
    }

    /// The services to run: the dispatcher, then the workers (so the workers stop first); on
    /// PostgreSQL, the leadership that runs them while this node leads.
    public var services: [any Service] { leadership.map { [$0] } ?? [dispatcher, workers] }

    /// Deliveries waiting in the outbox (queued or due for a retry), across every webhook.
    public var queuedDeliveries: Int { counts.total }

    /// Closes the HTTP clients of an engine whose ``services`` never ran (a start that failed
    /// after the engine was built); running services close them themselves when they stop.
    public func shutdownUnstarted() async {
        await workers.sender.shutdown()
    }
}
