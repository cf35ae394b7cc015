import AerosolModels
import Foundation
import SQLKit

/// Webhook definitions. The definitions (whose headers, query, form, body, URL and `auth` user
/// name may hold third-party credentials), passwords and signing secrets are sealed (AES-GCM
/// under the server secret) before they reach the database, like stored tokens.
public struct WebhookStore: Sendable {
    let database: Database
    let secret: ServerSecret

    /// A store on `database`, sealing credentials with `secret`.
    public init(database: Database, secret: ServerSecret) {
        self.database = database
        self.secret = secret
    }

    /// Inserts a new webhook.
    public func create(_ webhook: StoredWebhook) async throws {
        let sealed = try seal(webhook.credentials)
        let definition = try secret.seal(webhook.definition)
        try await database.write { sql in
            try await sql.raw(
                """
                INSERT INTO webhooks (id, owner_id, product_id, sealed_definition, sealed_credentials, after_event_id,
                    paused_until, pause_reason, created_at, updated_at)
                VALUES (\(bind: webhook.id), \(bind: webhook.ownerID), \(bind: webhook.productID), \(bind: definition),
                    \(bind: sealed), \(bind: webhook.afterEventID), NULL, NULL,
                    \(bind: Timestamp.milliseconds(webhook.createdAt)), \(bind: Timestamp.milliseconds(webhook.updatedAt)))
                """
            ).run()
        }
    }

    /// Replaces a webhook's definition and credentials (and clears its pause); throws
    /// `notFound` if it does not exist.
    public func replace(
        id: String,
        definition: String,
        credentials: StoredWebhook.Credentials,
        updatedAt: Date
    ) async throws {
        let sealed = try seal(credentials)
        let sealedDefinition = try secret.seal(definition)
        let row = try await database.write { sql in
            try await sql.raw(
                """
                    UPDATE webhooks SET sealed_definition = \(bind: sealedDefinition), sealed_credentials = \(bind: sealed),
                    paused_until = NULL, pause_reason = NULL, updated_at = \(bind: Timestamp.milliseconds(updatedAt))
                WHERE id = \(bind: id) RETURNING id
                """
            ).first() != nil
        }
        guard row else { throw StoreError.notFound("Webhook not found") }
    }

    /// Deletes a webhook with its waiting deliveries and its attempt log; throws `notFound`
    /// if it does not exist.
    public func delete(id: String) async throws {
        try await database.transaction { sql in
            let row = try await sql.raw("DELETE FROM webhooks WHERE id = \(bind: id) RETURNING id").first()
            guard row != nil else { throw StoreError.notFound("Webhook not found") }
            try await sql.raw("DELETE FROM webhook_deliveries WHERE webhook_id = \(bind: id)").run()
            try await sql.raw("DELETE FROM webhook_attempts WHERE webhook_id = \(bind: id)").run()
        }
    }

    /// Records (or, with `nil`, clears) a pause.
    public func setPause(id: String, until: Date?, reason: String?) async throws {
        try await database.write { sql in
            try await sql.raw(
                """
                UPDATE webhooks SET paused_until = \(bind: until.map(Timestamp.milliseconds)), pause_reason = \(bind: reason)
                WHERE id = \(bind: id)
                """
            ).run()
        }
    }

    /// The webhook with this id, if any.
    public func find(id: String) async throws -> StoredWebhook? {
        try await database.sql.raw("SELECT * FROM webhooks WHERE id = \(bind: id)").first().map(webhook)
    }

    /// A user's sandbox webhooks, oldest first.
    public func list(ownerID: String) async throws -> [StoredWebhook] {
        try await database.sql.raw(
            "SELECT * FROM webhooks WHERE owner_id = \(bind: ownerID) AND product_id IS NULL ORDER BY created_at, id"
        ).all().map(webhook)
    }

    /// A product's webhooks, oldest first.
    public func list(productID: Int) async throws -> [StoredWebhook] {
        try await database.sql.raw(
            "SELECT * FROM webhooks WHERE product_id = \(bind: productID) ORDER BY created_at, id"
        ).all().map(webhook)
    }

    /// Every webhook (loaded once at start to match events in memory).
    public func all() async throws -> [StoredWebhook] {
        try await database.sql.raw("SELECT * FROM webhooks ORDER BY created_at, id").all().map(webhook)
    }

    private func seal(_ credentials: StoredWebhook.Credentials) throws -> String? {
        guard !credentials.isEmpty else { return nil }
        let json = String(decoding: try JSONEncoder().encode(credentials), as: UTF8.self)
        return try secret.seal(json)
    }

    private func webhook(_ row: any SQLRow) throws -> StoredWebhook {
        var credentials = StoredWebhook.Credentials()
        if let sealed = try row.decode(column: "sealed_credentials", as: String?.self) {
            let json = try secret.open(sealed)
            credentials = try JSONDecoder().decode(StoredWebhook.Credentials.self, from: Data(json.utf8))
        }
        return StoredWebhook(
            id: try row.decode(column: "id", as: String.self),
            ownerID: try row.decode(column: "owner_id", as: String?.self),
            productID: try row.decode(column: "product_id", as: Int?.self),
            definition: try secret.open(try row.decode(column: "sealed_definition", as: String.self)),
            credentials: credentials,
            afterEventID: try row.decode(column: "after_event_id", as: Int64.self),
            pausedUntil: try row.decode(column: "paused_until", as: Int64?.self).map(Timestamp.date(milliseconds:)),
            pauseReason: try row.decode(column: "pause_reason", as: String?.self),
            createdAt: Timestamp.date(milliseconds: try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Timestamp.date(milliseconds: try row.decode(column: "updated_at", as: Int64.self))
        )
    }
}
