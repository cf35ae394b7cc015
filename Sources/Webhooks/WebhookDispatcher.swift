import AerosolModels
import AerosolStore
import Foundation
import Logging
import ServiceLifecycle

/// Tails the event log from a persisted cursor and turns matching events into outbox
/// deliveries.
///
/// For each batch of new events it finds the webhooks each triggers (in memory), then in ONE
/// transaction inserts the deliveries and moves the cursor past the batch. An acknowledged
/// event's deliveries are therefore queued exactly once, even across a crash: before the
/// commit nothing is queued and the cursor has not moved; after it both are durable. A batch
/// that matches nothing writes nothing: the cursor past it is saved on its own, at most once a
/// second (re-reading such events after a crash queues nothing), so a server without busy
/// webhooks adds no write transactions to the event log's. It looks for new events
/// every `pollInterval` (the log's newest id is an atomic read), and prunes delivery logs once
/// a minute.
final class WebhookDispatcher: Service, Sendable {
    let deliveries: DeliveryStore
    let log: EventLog
    let registry: WebhookRegistry
    let counts: QueueCounts
    let workers: DeliveryWorkers
    let settings: WebhookSettings
    let logger: Logger
    let initialCursor: Int64
    /// Events read per transaction.
    let batchSize = 1000

    init(
        deliveries: DeliveryStore,
        log: EventLog,
        registry: WebhookRegistry,
        counts: QueueCounts,
        workers: DeliveryWorkers,
        settings: WebhookSettings,
        cursor: Int64,
        logger: Logger
    ) {
        self.deliveries = deliveries
        self.log = log
        self.registry = registry
        self.counts = counts
        self.workers = workers
        self.settings = settings
        self.initialCursor = cursor
        self.logger = logger
    }

    /// Dispatches until graceful shutdown; events left are dispatched after the restart.
    func run() async throws {
        // Read again: on PostgreSQL another node may have dispatched since this one started (see
        // ``WebhookLeadership``).
        let start = (try? await deliveries.cursor()) ?? initialCursor
        registry.resume(at: start)
        var cursor = start
        var saved = start
        var lastSave = ContinuousClock.now
        var lastPrune = ContinuousClock.now
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            // A cursor moved past events that matched nothing is saved at most once a second,
            // on its own: re-reading such events after a crash queues nothing.
            if saved < cursor, lastSave.duration(to: .now) >= .seconds(1) {
                if (try? await deliveries.saveCursor(cursor)) != nil { saved = cursor }
                lastSave = .now
            }
            if let gap = registry.takeGap() {
                do {
                    try await backfill(gap)
                } catch {
                    registry.restore(gap)
                    logger.warning("webhook backfill failed; will retry", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
                continue
            }
            let latest = log.latestID
            if latest > cursor {
                if registry.skipIfEmpty(through: latest) {
                    cursor = latest
                    continue
                }
                do {
                    let (next, queued) = try await dispatch(after: cursor)
                    if next == cursor { try? await Task.sleep(for: settings.pollInterval) }
                    cursor = next
                    if queued {
                        saved = next
                        lastSave = .now
                    }
                } catch {
                    logger.warning("webhook dispatch failed; will retry", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                }
                continue
            }
            if lastPrune.duration(to: .now) > .seconds(60) {
                lastPrune = .now
                do {
                    try await deliveries.prune(keepPerWebhook: settings.attemptLogSize)
                } catch {
                    logger.warning("could not prune webhook delivery logs", metadata: ["error": "\(error)"])
                }
            }
            try? await Task.sleep(for: settings.pollInterval)
        }
        if saved < cursor { try? await deliveries.saveCursor(cursor) }
        logger.debug("webhook dispatcher stopped", metadata: ["webhook.cursor": "\(cursor)"])
    }

    /// Matches the events after `cursor` (one batch) and queues their deliveries, moving the
    /// stored cursor in the same transaction; returns the new cursor and whether anything was
    /// written (when nothing matched, nothing is, and the caller saves the cursor later).
    func dispatch(after cursor: Int64) async throws -> (cursor: Int64, written: Bool) {
        let events = try await deliveries.events(after: cursor, limit: batchSize)
        guard let last = events.last?.id else { return (cursor, false) }
        let written = try await enqueue(registry.match(events), cursor: last)
        return (last, written)
    }

    /// Queues the deliveries of `matches`, moving the stored cursor to `cursor` in the same
    /// transaction when given; returns whether anything was written (when nothing matched,
    /// nothing is).
    func enqueue(_ matches: [(event: Event, hooks: [Webhook])], cursor: Int64?) async throws -> Bool {
        let now = settings.clock.now
        var queued: [DeliveryStore.NewDelivery] = []
        var dropped: [DeliveryAttempt] = []
        for (event, hooks) in matches {
            for hook in hooks {
                if counts.reserve(hook.id) {
                    queued.append(.init(webhookID: hook.id, event: event, dueAt: now))
                } else {
                    dropped.append(
                        DeliveryAttempt(
                            webhookID: hook.id,
                            deliveryID: 0,
                            eventID: event.id,
                            eventName: event.name,
                            attempt: 0,
                            attemptedAt: now,
                            durationMilliseconds: 0,
                            status: nil,
                            error: "queue full: \(counts.limit) deliveries are waiting; event dropped",
                            outcome: .dropped,
                            nextAttemptAt: nil
                        )
                    )
                }
            }
        }
        guard !queued.isEmpty || !dropped.isEmpty else { return false }
        do {
            try await deliveries.enqueue(queued, dropped: dropped, cursor: cursor, now: now)
        } catch {
            for delivery in queued { counts.release(delivery.webhookID) }
            throw error
        }
        if !dropped.isEmpty {
            workers.metrics.attempt(.dropped, count: dropped.count)
            logger.warning("webhook queues full; events dropped", metadata: ["webhook.dropped": "\(dropped.count)"])
        }
        for id in Set(queued.map(\.webhookID)) { workers.arrived(id, dueAt: now) }
        return true
    }
}
