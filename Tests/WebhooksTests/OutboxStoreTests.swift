import AerosolModels
import AerosolStore
import AerosolTesting
import Foundation
import Logging
import Testing

@testable import Webhooks

@Suite("Webhook store and outbox", .timeLimit(.minutes(1)))
struct OutboxStoreTests {
    private static func withDatabase(_ body: (Database, String) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "aerosol-webhooks-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var logger = Logger(label: "webhooks-test")
        logger.logLevel = .error
        let database = try await TestDatabases.open(dataDirectory: directory, readers: 3, logger: logger)
        do {
            try await body(database, directory)
            await database.close()
        } catch {
            await database.close()
            throw error
        }
    }

    @Test func credentialsAreSealedAtRest() async throws {
        try await Self.withDatabase { database, directory in
            let secret = try ServerSecret.loadOrCreate(at: directory + "/secret.key")
            let store = WebhookStore(database: database, secret: secret)
            try await database.write { sql in
                try await sql.raw(
                    "INSERT INTO users (id, email, password_hash, created_at) VALUES ('u1', 'a@b.c', 'x', 0)"
                ).run()
            }
            let record = StoredWebhookFixture.record(#"{"event":"e","url":"http://h.com"}"#, owner: "u1")
            var withSecrets = record
            withSecrets.credentials = .init(password: "hunter2-password", secret: "signing-secret-0123")
            try await store.create(withSecrets)
            let raw = try #require(
                try await database.sql.raw("SELECT * FROM webhooks").first()?.decode(
                    column: "sealed_credentials",
                    as: String?.self
                )
            )
            #expect(!raw.contains("hunter2"))
            #expect(!raw.contains("signing-secret"))
            let read = try #require(try await store.find(id: record.id))
            #expect(read.credentials == withSecrets.credentials)
            #expect(try await store.all().map(\.id) == [record.id])
            try await store.setPause(id: record.id, until: Fixtures.start, reason: "why")
            #expect(try await store.find(id: record.id)?.pauseReason == "why")
            try await store.replace(
                id: record.id,
                definition: record.definition,
                credentials: .init(),
                updatedAt: Date()
            )
            let replaced = try #require(try await store.find(id: record.id))
            #expect(replaced.credentials.isEmpty)
            #expect(replaced.pausedUntil == nil)
            try await store.delete(id: record.id)
            #expect(try await store.find(id: record.id) == nil)
        }
    }

    @Test func deliveriesAndTheCursorMoveTogether() async throws {
        try await Self.withDatabase { database, _ in
            let outbox = DeliveryStore(database: database)
            #expect(try await outbox.cursor() == 0)
            let event = Fixtures.event()
            let now = Fixtures.start
            try await outbox.enqueue(
                [.init(webhookID: "h1", event: event, dueAt: now), .init(webhookID: "h2", event: event, dueAt: now)],
                dropped: [],
                cursor: 42,
                now: now
            )
            #expect(try await outbox.cursor() == 42)
            try await outbox.saveCursor(40)
            #expect(try await outbox.cursor() == 42)
            try await outbox.saveCursor(50)
            #expect(try await outbox.cursor() == 50)
            #expect(try await outbox.backlog().map(\.webhookID).sorted() == ["h1", "h2"])

            let waiting = try await outbox.waiting(webhookID: "h1", excluding: [], limit: 10)
            let delivery = try #require(waiting.first)
            #expect(delivery.event == event)
            #expect(delivery.attempts == 0)
            #expect(try await outbox.waiting(webhookID: "h1", excluding: [delivery.id], limit: 10).isEmpty)

            let attempt = DeliveryAttempt(
                webhookID: "h1",
                deliveryID: delivery.id,
                eventID: event.id,
                eventName: event.name,
                attempt: 1,
                attemptedAt: now,
                durationMilliseconds: 3,
                status: 500,
                error: "error status 500 from h.com",
                outcome: .retrying,
                nextAttemptAt: now.addingTimeInterval(30)
            )
            try await outbox.record([(attempt, .retry(at: now.addingTimeInterval(30), attempts: 1))])
            let retried = try #require(try await outbox.waiting(webhookID: "h1", excluding: [], limit: 10).first)
            #expect(retried.attempts == 1)
            #expect(retried.nextAttemptAt == now.addingTimeInterval(30))

            var done = attempt
            done.attempt = 2
            done.status = 200
            done.error = nil
            done.outcome = .delivered
            done.nextAttemptAt = nil
            try await outbox.record([(done, .finished)])
            #expect(try await outbox.waitingCount(webhookID: "h1") == 0)
            let log = try await outbox.attempts(webhookID: "h1", limit: 10)
            #expect(log.map(\.outcome) == [.delivered, .retrying])
            #expect(log.map(\.status) == [200, 500])
            // Rows of webhooks that no longer exist are pruned.
            #expect(try await outbox.prune(keepPerWebhook: 1) == 3)
        }
    }
}
