import Foundation
import Logging
import SQLKit

/// The schema, as an ordered list of steps; each runs once, in a transaction, and is recorded
/// in `schema_migrations`. A step may also rewrite data that needs the server secret (see
/// ``sealing``).
enum Migrations {
    static let steps: [[String]] = [
        [
            """
            CREATE TABLE users (
                id TEXT PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE access_tokens (
                token_hash TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                client TEXT NOT NULL,
                sealed TEXT NOT NULL,
                expires_at BIGINT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX access_tokens_user ON access_tokens(user_id)",
            """
            CREATE TABLE refresh_tokens (
                token_hash TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                client TEXT NOT NULL,
                expires_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE products (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                slug TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                description TEXT NOT NULL,
                platform_id INTEGER NULL,
                created_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE product_members (
                product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
                user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                role TEXT NOT NULL,
                PRIMARY KEY (product_id, user_id)
            )
            """,
            """
            CREATE TABLE devices (
                id TEXT PRIMARY KEY,
                name TEXT NULL,
                owner_id TEXT NULL REFERENCES users(id) ON DELETE SET NULL,
                product_id INTEGER NULL REFERENCES products(id) ON DELETE SET NULL,
                notes TEXT NULL,
                platform_id INTEGER NULL,
                online INTEGER NOT NULL DEFAULT 0,
                last_heard BIGINT NULL,
                last_handshake_at BIGINT NULL,
                last_ip_address TEXT NULL,
                system_firmware_version TEXT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX devices_owner ON devices(owner_id)",
            "CREATE INDEX devices_product ON devices(product_id)",
            "CREATE UNIQUE INDEX devices_owner_name ON devices(owner_id, name)",
            """
            CREATE TABLE events (
                id BIGINT PRIMARY KEY,
                name TEXT NOT NULL,
                data TEXT NULL,
                ttl INTEGER NOT NULL,
                published_at BIGINT NOT NULL,
                core_id TEXT NOT NULL,
                user_id TEXT NULL,
                product_id INTEGER NULL,
                product_version INTEGER NULL
            )
            """,
            "CREATE INDEX events_published_at ON events(published_at)",
            "CREATE INDEX events_user ON events(user_id, id)",
            "CREATE INDEX events_core ON events(core_id, id)",
            "CREATE INDEX events_product ON events(product_id, id)",
        ],
        // 2: webhooks, their durable outbox, the attempt log and the dispatcher's cursor.
        [
            """
            CREATE TABLE webhooks (
                id TEXT PRIMARY KEY,
                owner_id TEXT NULL REFERENCES users(id) ON DELETE CASCADE,
                product_id INTEGER NULL REFERENCES products(id) ON DELETE CASCADE,
                definition TEXT NOT NULL,
                sealed_credentials TEXT NULL,
                after_event_id BIGINT NOT NULL,
                paused_until BIGINT NULL,
                pause_reason TEXT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX webhooks_owner ON webhooks(owner_id)",
            "CREATE INDEX webhooks_product ON webhooks(product_id)",
            """
            CREATE TABLE webhook_deliveries (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                webhook_id TEXT NOT NULL,
                event_id BIGINT NOT NULL,
                event_name TEXT NOT NULL,
                event_data TEXT NULL,
                event_ttl INTEGER NOT NULL,
                published_at BIGINT NOT NULL,
                core_id TEXT NOT NULL,
                user_id TEXT NULL,
                product_id INTEGER NULL,
                product_version INTEGER NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(webhook_id, next_attempt_at, id)",
            """
            CREATE TABLE webhook_attempts (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                webhook_id TEXT NOT NULL,
                delivery_id BIGINT NOT NULL,
                event_id BIGINT NOT NULL,
                event_name TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                attempted_at BIGINT NOT NULL,
                duration_ms INTEGER NOT NULL,
                status INTEGER NULL,
                error TEXT NULL,
                outcome TEXT NOT NULL,
                next_attempt_at BIGINT NULL
            )
            """,
            "CREATE INDEX webhook_attempts_hook ON webhook_attempts(webhook_id, id)",
            "CREATE TABLE webhook_cursor (name TEXT PRIMARY KEY, event_id BIGINT NOT NULL)",
            // Events logged before webhooks existed never trigger them.
            "INSERT INTO webhook_cursor (name, event_id) SELECT 'dispatcher', COALESCE(MAX(id), 0) FROM events",
        ],
        // 3: device public keys (one per device id) for the device gateway's handshake.
        [
            """
            CREATE TABLE device_keys (
                device_id TEXT PRIMARY KEY,
                public_key TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """
        ],
        // 4: what a device's Describe declares (JSON text), for the device JSON.
        [
            "ALTER TABLE devices ADD COLUMN functions TEXT NULL",
            "ALTER TABLE devices ADD COLUMN variables TEXT NULL",
        ],
        // 5: webhook definitions are sealed at rest: their headers, query, form, body and URL
        // hold third-party credentials (API keys, bearer tokens, the `auth` user name). The
        // rows are sealed by `sealWebhookDefinitions` in the same transaction.
        [
            "ALTER TABLE webhooks RENAME COLUMN definition TO sealed_definition"
        ],
        // 6: UDP devices' DTLS sessions, kept across restarts so that a device resumes without
        // a handshake. The session (keys, counters, the device's Hello, Describe and
        // subscriptions) is sealed with the server secret.
        [
            """
            CREATE TABLE udp_sessions (
                connection_id TEXT PRIMARY KEY,
                device_id TEXT NULL,
                sealed_session TEXT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX udp_sessions_device ON udp_sessions (device_id)",
        ],
        // 7: product firmware: metadata here, the binaries in the data directory by SHA-256.
        [
            """
            CREATE TABLE product_firmware (
                product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
                version INTEGER NOT NULL,
                title TEXT NOT NULL,
                description TEXT NOT NULL,
                size INTEGER NOT NULL,
                file_sha256 TEXT NOT NULL,
                uploaded_at BIGINT NOT NULL,
                released_at BIGINT NULL,
                product_default INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (product_id, version)
            )
            """
        ],
        // 8: per product device: the firmware version it is locked to, and development mode
        // (never updated automatically).
        [
            """
            CREATE TABLE device_firmware_targets (
                device_id TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
                desired_version INTEGER NULL,
                development INTEGER NOT NULL DEFAULT 0
            )
            """
        ],
        // 9: what a device reports about its firmware: the product firmware version of its
        // Hello, and the update flags it publishes (particle/device/updates/enabled, /forced).
        [
            "ALTER TABLE devices ADD COLUMN firmware_version INTEGER NULL",
            "ALTER TABLE devices ADD COLUMN firmware_updates_enabled INTEGER NULL",
            "ALTER TABLE devices ADD COLUMN firmware_updates_forced INTEGER NULL",
        ],
        // 10: what every node of a database must agree on (fingerprints of the server secret
        // and keys), written by the first node to start (``NodeAgreement``).
        [
            "CREATE TABLE node_agreement (name TEXT PRIMARY KEY, value TEXT NOT NULL, recorded_at BIGINT NOT NULL)"
        ],
        // 11: which node holds a device's connection, for requests that arrive on another node.
        [
            "ALTER TABLE devices ADD COLUMN node_id TEXT NULL"
        ],
        // 12: the nodes of a database and when each last said it was alive (``NodeStore``): a
        // node silent for longer than its lease is taken as dead, and its devices offline.
        [
            "CREATE TABLE nodes (id TEXT PRIMARY KEY, seen_at BIGINT NOT NULL)"
        ],
        // 13: firmware binaries by SHA-256, for the nodes of a PostgreSQL database (a release
        // uploaded through one node is flashed by the node holding the device's connection);
        // on SQLite the files in the data directory are the only copy (``FirmwareFileStore``).
        [
            "CREATE TABLE firmware_files (sha256 TEXT PRIMARY KEY, bytes BLOB NOT NULL, stored_at BIGINT NOT NULL)"
        ],
        // 14: each node's request counts per client address, so that the limits per address
        // hold across the nodes of a PostgreSQL database (``RateCountStore``).
        [
            """
            CREATE TABLE rate_counts (
                limiter TEXT NOT NULL,
                address TEXT NOT NULL,
                node TEXT NOT NULL,
                count INTEGER NOT NULL,
                expires_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (limiter, address, node)
            )
            """,
            "CREATE INDEX rate_counts_updated ON rate_counts (updated_at)",
        ],
        // 15: on PostgreSQL, a commit of the event log in one statement (``EventLog``): it was
        // six round trips (BEGIN, the lock, MAX(id), INSERT, pg_notify, COMMIT), all but the
        // first under the lock every node's commits pass through.
        [
            DatabaseEngine.postgresOnly + EventLog.appendFunction
        ],
    ]

    /// Work a step does after its statements, in its transaction, with the server secret.
    /// It returns whether it rewrote data that the file may still hold in the clear (in freed
    /// pages), which then is scrubbed once the step is committed.
    typealias Sealing = @Sendable (any SQLDatabase, ServerSecret?) async throws -> Bool

    /// The data work of each step that has some, by version.
    static let sealing: [Int: Sealing] = [5: sealWebhookDefinitions]

    /// Seals the definition of every webhook stored before definitions were sealed.
    static func sealWebhookDefinitions(_ database: any SQLDatabase, _ secret: ServerSecret?) async throws -> Bool {
        let rows = try await database.raw("SELECT id, sealed_definition FROM webhooks").all()
        guard !rows.isEmpty else { return false }
        guard let secret else {
            throw StoreError.unavailable(
                "the database holds webhooks to encrypt: open it with the server secret (start the server once)"
            )
        }
        for row in rows {
            let id = try row.decode(column: "id", as: String.self)
            let plain = try row.decode(column: "sealed_definition", as: String.self)
            try await database.raw(
                "UPDATE webhooks SET sealed_definition = \(bind: try secret.seal(plain)) WHERE id = \(bind: id)"
            ).run()
        }
        return true
    }

    /// Applies the pending steps up to `lastVersion` (all by default); `secret` is needed only
    /// when a step has data to seal.
    static func apply(
        to store: Database,
        secret: ServerSecret?,
        through lastVersion: Int? = nil,
        logger: Logger
    ) async throws {
        // Nodes that start at once on one PostgreSQL database take turns here; on SQLite,
        // `BEGIN IMMEDIATE` already does.
        let lock = store.engine.exclusiveLock(.migrations).map { SQLQueryString($0) }
        try await store.transaction { database in
            if let lock { try await database.raw(lock).run() }
            try await database.raw(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"
            ).run()
        }
        let applied = try await store.sql.raw("SELECT version FROM schema_migrations")
            .all(decodingColumn: "version", as: Int.self)
        let done = Set(applied)
        for (index, statements) in steps.enumerated() where !done.contains(index + 1) {
            let version = index + 1
            if let lastVersion, version > lastVersion { break }
            let rewritten = try await store.transaction { database in
                if let lock { try await database.raw(lock).run() }
                // Another process may have migrated between our check and our lock.
                let raced = try await database.raw(
                    "SELECT version FROM schema_migrations WHERE version = \(bind: version)"
                ).first()
                guard raced == nil else { return false }
                for statement in statements {
                    guard let statement = store.engine.schema(statement) else { continue }
                    try await database.raw(SQLQueryString(statement)).run()
                }
                let rewritten = try await sealing[version]?(database, secret) ?? false
                let now = Int64(Date.now.timeIntervalSince1970 * 1000)
                try await database.raw(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (\(bind: version), \(bind: now))"
                ).run()
                logger.info("applied database migration", metadata: ["db.migration": "\(version)"])
                return rewritten
            }
            // PostgreSQL never held these rows in the clear: it starts at the latest schema.
            if rewritten, store.engine == .sqlite { try await scrub(store, logger: logger) }
        }
    }

    /// Rewrites the whole file so that no page still holds what was just sealed (an update
    /// leaves the old row in a freed page, and earlier deletions left theirs), then empties the
    /// write-ahead log, which held the old pages too. Runs once, after the step that sealed.
    static func scrub(_ store: Database, logger: Logger) async throws {
        try await store.write { sql in
            try await sql.raw("VACUUM").run()
            try await sql.raw("PRAGMA wal_checkpoint(TRUNCATE)").run()
        }
        logger.info("rewrote the database file without the data that was sealed")
    }
}
