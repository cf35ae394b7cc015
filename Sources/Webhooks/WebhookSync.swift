import AerosolStore
import Foundation
import Logging
import SQLKit

/// On PostgreSQL, keeps this node's view of the webhooks in step with the database, where other
/// nodes create, replace, pause and delete them: once a second it compares every webhook's
/// `updated_at` (and pause) with what it knows, and loads what changed. It also tells the
/// delivery workers about deliveries other nodes queued (a test event sent through another
/// node). A webhook changed on another node is seen here within about a second.
struct WebhookSync: Sendable {
    let database: Database
    let hooks: WebhookStore
    let deliveries: DeliveryStore
    let registry: WebhookRegistry
    let workers: DeliveryWorkers
    let counts: QueueCounts
    let logger: Logger

    /// What a webhook row looked like when last loaded.
    struct Version: Hashable, Sendable {
        var updatedAt: Int64
        var pausedUntil: Int64?
    }

    /// Compares the stored webhooks with `known` (their versions as last seen), loads what
    /// changed and forgets what went; returns the versions now known.
    func refresh(known: [String: Version]) async throws -> [String: Version] {
        let rows = try await database.sql.raw("SELECT id, updated_at, paused_until FROM webhooks").all()
        var current: [String: Version] = [:]
        for row in rows {
            current[try row.decode(column: "id", as: String.self)] = Version(
                updatedAt: try row.decode(column: "updated_at", as: Int64.self),
                pausedUntil: try row.decode(column: "paused_until", as: Int64?.self)
            )
        }
        for (id, version) in current where known[id] != version {
            guard let record = try await hooks.find(id: id) else { continue }
            do {
                let hook = try Webhook(record)
                registry.put(hook)
                workers.configure(hook, reset: known[id]?.updatedAt != version.updatedAt && known[id] != nil)
            } catch {
                logger.error("skipping an unreadable webhook", metadata: ["webhook.id": "\(id)", "error": "\(error)"])
            }
        }
        for id in known.keys where current[id] == nil {
            registry.remove(id)
            workers.remove(id)
            counts.remove(id)
        }
        for entry in try await deliveries.backlog() {
            workers.arrived(entry.webhookID, dueAt: entry.earliest)
        }
        return current
    }

    /// Refreshes once a second until cancelled.
    func run(from known: [String: Version]) async {
        var known = known
        var failure = RepeatedFailure()
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            do {
                known = try await refresh(known: known)
                failure.succeeded(nil, logger: logger)
            } catch {
                if Task.isCancelled { return }
                failure.failed(
                    error,
                    "cannot read the webhooks from the database; retrying every second",
                    logger: logger
                )
            }
        }
    }
}
