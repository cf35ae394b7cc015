import AerosolModels
import AerosolStore
import Foundation

extension WebhookEngine {
    /// Creates a webhook from request fields; throws ``WebhookError/invalid(_:)`` for a bad
    /// definition or a refused target address.
    public func create(_ values: [String: JSONValue], scope: WebhookScope) async throws -> Webhook {
        let (definition, secrets) = try WebhookDefinition.parse(values, product: Self.isProduct(scope))
        try await checkTarget(definition)
        var secret: String?
        if case .set(let value) = secrets.secret { secret = value }
        let now = Date()
        let record = StoredWebhook(
            id: TokenHasher.generateID(),
            ownerID: Self.owner(scope),
            productID: Self.product(scope),
            definition: definition.storedText,
            credentials: .init(password: secrets.password, secret: secret),
            // Events committed on other nodes before this one read them are not the webhook's.
            afterEventID: try await log.newestCommittedID(),
            createdAt: now,
            updatedAt: now
        )
        let hook = try Webhook(record)
        try await hooks.create(record)
        registry.put(hook)
        workers.configure(hook)
        logger.info("webhook created", metadata: ["webhook.id": "\(hook.id)", "webhook.event": "\(definition.event)"])
        return registry.hook(hook.id) ?? hook
    }

    /// Replaces a webhook's whole definition (`PUT`). A password left out is kept when the
    /// user name stays the same; the secret is kept unless `secret` is given (`null` or `""`
    /// removes it). The webhook's pause, if any, is lifted.
    public func replace(id: String, with values: [String: JSONValue], scope: WebhookScope) async throws -> Webhook {
        let existing = try webhook(id: id, scope: scope)
        let (definition, secrets) = try WebhookDefinition.parse(values, product: Self.isProduct(scope))
        try await checkTarget(definition)
        var credentials = existing.credentials
        if let password = secrets.password {
            credentials.password = password
        } else if definition.authUsername?.source != existing.definition.authUsername?.source
            || definition.authUsername == nil
        {
            credentials.password = nil
        }
        switch secrets.secret {
        case .keep: break
        case .set(let value): credentials.secret = value
        case .remove: credentials.secret = nil
        }
        let now = Date()
        let record = StoredWebhook(
            id: id,
            ownerID: Self.owner(scope),
            productID: Self.product(scope),
            definition: definition.storedText,
            credentials: credentials,
            afterEventID: existing.afterEventID,
            createdAt: existing.createdAt,
            updatedAt: now
        )
        let hook = try Webhook(record)
        try await hooks.replace(id: id, definition: record.definition, credentials: credentials, updatedAt: now)
        registry.put(hook)
        workers.configure(hook, reset: true)
        return registry.hook(id) ?? hook
    }

    /// Deletes a webhook with its waiting deliveries and its delivery log.
    public func delete(id: String, scope: WebhookScope) async throws {
        _ = try webhook(id: id, scope: scope)
        do {
            try await hooks.delete(id: id)
        } catch let error as StoreError where error.isNotFound {
            throw WebhookError.notFound("Webhook not found")
        }
        registry.remove(id)
        workers.remove(id)
        counts.remove(id)
        logger.info("webhook deleted", metadata: ["webhook.id": "\(id)"])
    }

    /// The webhook with this id in `scope`; ``WebhookError/notFound(_:)`` otherwise.
    public func webhook(id: String, scope: WebhookScope) throws -> Webhook {
        guard let hook = registry.hook(id.lowercased()), hook.scope == scope else {
            throw WebhookError.notFound("Webhook not found")
        }
        return hook
    }

    /// The webhooks of `scope`, oldest first.
    public func list(scope: WebhookScope) -> [Webhook] {
        registry.all.filter { $0.scope == scope }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    /// How a webhook's deliveries stand.
    public func status(of hook: Webhook) -> WebhookStatus {
        let waiting = counts.count(hook.id)
        guard !hook.definition.disabled else {
            return WebhookStatus(state: "disabled", waiting: waiting, consecutiveFailures: 0)
        }
        guard let health = workers.health(hook.id) else {
            return WebhookStatus(state: "active", waiting: waiting, consecutiveFailures: 0)
        }
        switch health.state {
        case .active:
            return WebhookStatus(state: "active", waiting: waiting, consecutiveFailures: health.consecutiveFailures)
        case .paused(let until, let reason):
            return WebhookStatus(
                state: "paused",
                reason: reason,
                pausedUntil: until,
                waiting: waiting,
                consecutiveFailures: health.consecutiveFailures
            )
        case .probing(_, let reason):
            return WebhookStatus(
                state: "probing",
                reason: reason,
                waiting: waiting,
                consecutiveFailures: health.consecutiveFailures
            )
        }
    }

    /// Queues a synthetic event for one webhook (`POST /v1/integrations/:id/test`): named with
    /// the webhook's event prefix, with `data` (default `test-event`) from `deviceID` (default
    /// the webhook's device, else `api`). Returns the delivery's id.
    public func test(id: String, scope: WebhookScope, data: String?, deviceID: String?) async throws -> Int64 {
        let hook = try webhook(id: id, scope: scope)
        if let deviceID, !Device.isValidID(deviceID.lowercased()) {
            throw WebhookError.invalid("device_id must be a device ID (24 hex characters)")
        }
        let event = Event(
            id: 0,
            name: hook.definition.event,
            data: data ?? "test-event",
            publishedAt: Date(),
            coreID: deviceID?.lowercased() ?? hook.definition.deviceID ?? Event.apiCoreID,
            userID: hook.ownerID,
            productID: hook.productID
        )
        guard counts.reserve(hook.id) else {
            throw WebhookError.unavailable("the webhook's queue is full (\(counts.limit) deliveries waiting)")
        }
        let now = settings.clock.now
        do {
            let deliveryID = try await deliveries.enqueue(
                .init(webhookID: hook.id, event: event, dueAt: now),
                now: now
            )
            workers.arrived(hook.id, dueAt: now)
            return deliveryID
        } catch {
            counts.release(hook.id)
            throw error
        }
    }

    /// A webhook's most recent attempts, newest first (at most `limit`).
    public func deliveryLog(id: String, scope: WebhookScope, limit: Int) async throws -> [DeliveryAttempt] {
        let hook = try webhook(id: id, scope: scope)
        return try await deliveries.attempts(webhookID: hook.id, limit: limit)
    }

    /// Refuses, at creation, a fixed target whose address is not allowed.
    private func checkTarget(_ definition: WebhookDefinition) async throws {
        guard !settings.allowPrivateTargets, let target = definition.fixedTarget else { return }
        do {
            _ = try await resolver.resolve(target.host)
        } catch let error as WebhookError where error.isRefused {
            throw WebhookError.invalid("url is not allowed: \(error.message)")
        } catch {
            // A name that does not resolve now may later; it is checked again at each attempt.
        }
    }

    private static func isProduct(_ scope: WebhookScope) -> Bool {
        if case .product = scope { true } else { false }
    }

    private static func owner(_ scope: WebhookScope) -> String? {
        if case .user(let user) = scope { user } else { nil }
    }

    private static func product(_ scope: WebhookScope) -> Int? {
        if case .product(let product) = scope { product } else { nil }
    }
}
