import AerosolStore
import Logging
import ServiceLifecycle
import Synchronization

/// On PostgreSQL, where several nodes share one outbox, webhook delivery runs on one node at a
/// time: the node that holds the lead (``Database/lead(_:_:)``) runs the dispatcher and the
/// delivery workers; the others wait, and the first to take the lock after the leader dies
/// resumes from the stored cursor and the outbox. So no delivery is made twice in normal
/// operation, and a webhook's rate limit and pause hold across nodes (one node applies them).
/// Deliveries the dead leader had in flight stay in the outbox and are made by the next leader
/// (at least once, as after a crash of a single node). Every node keeps its view of the
/// webhooks current (``WebhookSync``) for the API.
final class WebhookLeadership: Service, Sendable {
    private let database: Database
    private let dispatcher: WebhookDispatcher
    private let workers: DeliveryWorkers
    private let sync: WebhookSync
    private let logger: Logger
    /// Whether this node still waits for the lead (it never ran the workers).
    private let waiting = Atomic(true)

    init(database: Database, dispatcher: WebhookDispatcher, workers: DeliveryWorkers, sync: WebhookSync, logger: Logger)
    {
        self.database = database
        self.dispatcher = dispatcher
        self.workers = workers
        self.sync = sync
        self.logger = logger
    }

    func run() async throws {
        let known = (try? await sync.refresh(known: [:])) ?? [:]
        let syncing = Task { await sync.run(from: known) }
        let work = Task {
            let kept = try await database.lead(.webhookDelivery) {
                self.waiting.store(false, ordering: .releasing)
                self.logger.notice("this node delivers the webhooks now")
                _ = try? await self.sync.refresh(known: [:])
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.dispatcher.run() }
                    group.addTask {
                        // Losing the lead cancels this task; the workers stop as at a shutdown.
                        try await withTaskCancellationHandler {
                            try await self.workers.run()
                        } onCancel: {
                            self.workers.stop()
                        }
                    }
                    try await group.waitForAll()
                }
            }
            if !kept {
                self.logger.error(
                    "another node took over webhook delivery while this one was cut off from the database; this node delivers no webhooks until it restarts"
                )
            }
        }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                do {
                    try await work.value
                } catch is CancellationError {
                } catch {
                    logger.error("webhook delivery stopped", metadata: ["error": "\(error)"])
                }
            } onGracefulShutdown: {
                // A leader finishes its deliveries in flight (the workers see the shutdown); a
                // node still waiting for the lead just stops waiting.
                if self.waiting.load(ordering: .acquiring) { work.cancel() }
            }
        } onCancel: {
            work.cancel()
        }
        syncing.cancel()
        if waiting.load(ordering: .acquiring) { await workers.sender.shutdown() }
    }
}
