import AerosolModels
import AerosolStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Delivers what the outbox holds: asks the ``DeliveryScheduler`` which webhooks may send,
/// fetches their due deliveries, and sends each in its own child task (at most
/// `maxConcurrentDeliveries` at once), then publishes the `hook-*` events, records the attempt
/// and reschedules or finishes the delivery.
///
/// A delivery stays in the outbox until its result is committed, so a crash at any point means
/// the delivery is made again after the restart (at least once), never lost. On graceful
/// shutdown it stops starting deliveries, lets those in flight finish for `shutdownGrace`, then
/// cuts them off; they are made again after the restart.
public final class DeliveryWorkers: Service, Sendable {
    let registry: WebhookRegistry
    let deliveries: DeliveryStore
    let webhooks: WebhookStore
    let log: EventLog
    let sender: DeliverySender
    let recorder: AttemptRecorder
    let counts: QueueCounts
    let settings: WebhookSettings
    let logger: Logger
    let scheduler: Mutex<DeliveryScheduler>
    let wake = WakeSignal()
    let metrics = WebhookMetrics()
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Int>(0)

    init(
        registry: WebhookRegistry,
        deliveries: DeliveryStore,
        webhooks: WebhookStore,
        log: EventLog,
        sender: DeliverySender,
        counts: QueueCounts,
        settings: WebhookSettings,
        logger: Logger
    ) {
        self.registry = registry
        self.deliveries = deliveries
        self.webhooks = webhooks
        self.log = log
        self.sender = sender
        self.recorder = AttemptRecorder(store: deliveries, logger: logger)
        self.counts = counts
        self.settings = settings
        self.logger = logger
        self.scheduler = Mutex(
            DeliveryScheduler(
                maxInFlight: settings.maxConcurrentDeliveries,
                maxInFlightPerHook: settings.maxConcurrentPerWebhook
            )
        )
    }

    /// Adds or updates a webhook's schedule; `reset` forgets its failures and pause.
    func configure(_ hook: Webhook, reset: Bool = false) {
        let policy = settings.healthPolicy
        let health: TargetHealth
        if let until = hook.pausedUntil, !reset {
            health = TargetHealth(policy: policy, pausedUntil: until, reason: hook.pauseReason ?? "Paused")
        } else {
            health = TargetHealth(policy: policy)
        }
        scheduler.withLock { scheduler in
            if reset { scheduler.reset(hook.id, health: health) }
            scheduler.configure(
                hook.id,
                rateLimit: hook.definition.rateLimit ?? settings.defaultRateLimit,
                enabled: !hook.definition.disabled,
                health: health
            )
        }
        wake.signal()
    }

    /// Forgets a deleted webhook.
    func remove(_ webhookID: String) {
        scheduler.withLock { $0.remove(webhookID) }
    }

    /// A delivery of `webhookID` is waiting in the outbox, due at `dueAt`.
    func arrived(_ webhookID: String, dueAt: Date) {
        scheduler.withLock { $0.arrived(webhookID, dueAt: dueAt) }
        wake.signal()
    }

    /// The live health of a webhook.
    func health(_ webhookID: String) -> TargetHealth? {
        scheduler.withLock { $0.health(webhookID) }
    }

    /// Delivers until graceful shutdown.
    public func run() async throws {
        await withDiscardingTaskGroup { outer in
            outer.addTask { await self.recorder.run() }
            do {
                try await withThrowingDiscardingTaskGroup { group in
                    await withGracefulShutdownHandler {
                        await self.schedule(into: &group)
                    } onGracefulShutdown: {
                        self.stop()
                    }
                    // Let deliveries in flight finish, within the grace period.
                    let grace = settings.shutdownGrace
                    group.addTask {
                        let deadline = ContinuousClock.now + grace
                        while self.running.load(ordering: .acquiring) > 0 {
                            guard ContinuousClock.now < deadline else { throw CutOff() }
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
            } catch {
                logger.notice("webhook deliveries cut off at shutdown; they will be made after the restart")
            }
            recorder.close()
        }
        await sender.shutdown()
        logger.debug("webhook workers stopped")
    }

    /// Starts no more deliveries; those in flight finish within the grace period (as at a
    /// graceful shutdown). Waking the scheduler matters: its wait does not end on cancellation.
    func stop() {
        stopping.store(true, ordering: .releasing)
        wake.signal()
    }

    private struct CutOff: Error {}

    private func schedule(into group: inout ThrowingDiscardingTaskGroup<any Error>) async {
        let clock = settings.clock
        while !stopping.load(ordering: .acquiring), !Task.isCancelled {
            let now = clock.now
            let (fetches, wakeAt) = scheduler.withLock { $0.plan(at: now) }
            if fetches.isEmpty {
                await wake.wait(timeout: wakeAt.map { max(.milliseconds(1), clock.realDuration(until: $0)) })
                continue
            }
            for fetch in fetches {
                let excluded = scheduler.withLock { $0.inFlight(fetch.webhookID) }
                let rows: [PendingDelivery]
                do {
                    rows = try await deliveries.waiting(
                        webhookID: fetch.webhookID,
                        excluding: excluded,
                        limit: fetch.limit + 1
                    )
                } catch {
                    logger.warning(
                        "could not read the webhook outbox; will retry",
                        metadata: ["webhook.id": "\(fetch.webhookID)", "error": "\(error)"]
                    )
                    let retry = clock.now.addingTimeInterval(1)
                    scheduler.withLock { $0.fetched(fetch.webhookID, started: [], nextDue: retry, at: clock.now) }
                    continue
                }
                let at = clock.now
                let due = Array(rows.prefix { $0.nextAttemptAt <= at }.prefix(fetch.limit))
                let next = rows.dropFirst(due.count).first?.nextAttemptAt
                scheduler.withLock { $0.fetched(fetch.webhookID, started: due.map(\.id), nextDue: next, at: at) }
                for delivery in due {
                    running.add(1, ordering: .relaxed)
                    group.addTask {
                        await self.deliver(delivery)
                        self.running.subtract(1, ordering: .releasing)
                    }
                }
            }
        }
    }
}
