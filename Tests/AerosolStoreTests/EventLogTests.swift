import AerosolModels
import AerosolStore
import Foundation
import ServiceLifecycle
import Testing

@Suite("Event log", .timeLimit(.minutes(1)))
struct EventLogTests {
    /// Runs `body` with a log whose writer runs in the background.
    func withLog<T: Sendable>(
        _ fixture: StoreFixture,
        bus: EventBus = StoreFixture.bus(),
        _ body: @Sendable (EventLog) async throws -> T
    ) async throws -> T {
        let log = try await EventLog(database: fixture.database, bus: bus, logger: StoreFixture.logger)
        let group = ServiceGroup(
            configuration: .init(services: [log], gracefulShutdownSignals: [], logger: StoreFixture.logger)
        )
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                let result = try await body(log)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }

    @Test func concurrentAppendsGetDistinctIncreasingIdsAndAreDurable() async throws {
        let fixture = try await StoreFixture.make()
        let ids = try await withLog(fixture) { log in
            try await withThrowingTaskGroup(of: [Int64].self) { group in
                for task in 0..<50 {
                    group.addTask {
                        var ids: [Int64] = []
                        for index in 0..<20 {
                            let event = try await log.append(StoreFixture.draft("e\(task)-\(index)"), source: .api)
                            ids.append(event.id)
                        }
                        return ids
                    }
                }
                var all: [Int64] = []
                for try await ids in group {
                    // Each publisher's own events are acknowledged in order.
                    #expect(ids == ids.sorted())
                    all += ids
                }
                return all
            }
        }
        #expect(Set(ids).count == 1000)
        #expect(ids.sorted() == Array(1...1000))
        await fixture.database.close()

        // Reopened, the log has every acknowledged event and continues after them.
        let reopened = try await StoreFixture.make(directory: fixture.directory)
        try await withLog(reopened) { log in
            #expect(log.latestID == 1000)
            let next = try await log.append(StoreFixture.draft("after"), source: .api)
            #expect(next.id == 1001)
            let page = try await log.read(EventFilter(scope: .user("u1")), after: 995, limit: 10)
            #expect(page.events.map(\.id) == [996, 997, 998, 999, 1000, 1001])
        }
        await reopened.database.close()
    }

    @Test func everyFieldIsStoredAndReadBackAsAppended() async throws {
        let fixture = try await StoreFixture.make()
        try await withLog(fixture) { log in
            let published = Date(timeIntervalSince1970: 1_765_000_000.123)
            let drafts = [
                EventDraft(
                    name: "odd/\"quoted\"\\slash",
                    data: "line\nbreak\ttab é 🎉 {\"json\":[1,2]} \u{7F}",
                    ttl: 86_400,
                    publishedAt: published,
                    coreID: "0123456789abcdef01234567",
                    userID: "u1",
                    productID: 4_000_000,
                    productVersion: 65_535
                ),
                EventDraft(name: "bare", data: nil, publishedAt: published, coreID: "api", userID: nil, productID: nil),
                EventDraft(name: "empty", data: "", publishedAt: published, coreID: "api", userID: "u2", productID: 7),
            ]
            let appended = try await log.append(drafts, source: .api)
            #expect(appended.map(\.id) == [1, 2, 3])
            let device = try await log.read(EventFilter(scope: .device("0123456789abcdef01234567")), after: 0)
            let api = try await log.read(EventFilter(scope: .device("api")), after: 0)
            let read = device.events + api.events
            #expect(read == appended)
            #expect(read.count == 3 && read[0].data == drafts[0].data && read[1].data == nil && read[2].data == "")
            #expect(read.first?.publishedAt == published)
        }
        await fixture.database.close()
    }

    @Test func readFiltersByScopeAndPrefixAndPages() async throws {
        let fixture = try await StoreFixture.make()
        try await withLog(fixture) { log in
            _ = try await log.append(
                [
                    StoreFixture.draft("temp/a", user: "u1"),
                    StoreFixture.draft("temp/b", user: "u2"),
                    StoreFixture.draft("other", user: "u1"),
                    StoreFixture.draft("temp/c", user: "u1", core: "dev1", product: 7),
                    StoreFixture.draft("temp/d", user: nil, core: "dev2", product: 7),
                ],
                source: .api
            )
            let user = try await log.read(EventFilter(scope: .user("u1"), prefix: "temp"), after: 0)
            #expect(user.events.map(\.name) == ["temp/a", "temp/c"])
            #expect(user.lastScannedID == 4)
            let product = try await log.read(EventFilter(scope: .product(7)), after: 0)
            #expect(product.events.map(\.name) == ["temp/c", "temp/d"])
            let device = try await log.read(EventFilter(scope: .productDevice(product: 7, device: "dev2")), after: 0)
            #expect(device.events.map(\.name) == ["temp/d"])
            let paged = try await log.read(EventFilter(scope: .user("u1")), after: 0, limit: 2)
            #expect(paged.events.map(\.id) == [1, 3])
            let rest = try await log.read(EventFilter(scope: .user("u1")), after: paged.lastScannedID, limit: 2)
            #expect(rest.events.map(\.id) == [4])
            let done = try await log.read(EventFilter(scope: .user("u1")), after: rest.lastScannedID, limit: 2)
            #expect(done.events.isEmpty && done.lastScannedID == rest.lastScannedID)
        }
        await fixture.database.close()
    }

    @Test func committedEventsReachTheBusInOrder() async throws {
        let fixture = try await StoreFixture.make()
        let bus = StoreFixture.bus()
        let consumer = RecordingConsumer()
        bus.add(consumer)
        try await withLog(fixture, bus: bus) { log in
            for index in 1...5 { _ = try await log.append(StoreFixture.draft("n\(index)"), source: .api) }
            var received: [String] = []
            for await batch in consumer.batches {
                received += batch.map(\.name)
                if received.count == 5 { break }
            }
            #expect(received == ["n1", "n2", "n3", "n4", "n5"])
        }
        await fixture.database.close()
    }

    @Test func aConsumerThatFallsBehindSlowsTheLogInsteadOfQueueingWithoutEnd() async throws {
        let fixture = try await StoreFixture.make()
        let bus = StoreFixture.bus(backlogLimit: 3)
        let consumer = RecordingConsumer()
        bus.add(consumer)
        try await withLog(fixture, bus: bus) { log in
            // Three events fill the consumer: they are acknowledged (committed), and delivered.
            _ = try await log.append((1...3).map { StoreFixture.draft("n\($0)") }, source: .api)
            // (On PostgreSQL the events reach the bus from the cluster feed, a moment later.)
            await consumer.waitForEvents(3)
            #expect(consumer.events.count == 3)
            // The next append waits: the log does not commit while the consumer is full.
            let waiting = Task { try await log.append(StoreFixture.draft("n4"), source: .api) }
            while !bus.isWaitingForCapacity { await Task.yield() }
            #expect(log.latestID == 3)
            consumer.drain(on: bus)
            let fourth = try await waiting.value
            #expect(fourth.id == 4)
            await consumer.waitForEvents(4)
            #expect(consumer.events.map(\.name) == ["n1", "n2", "n3", "n4"])
        }
        await fixture.database.close()
    }

    @Test func retentionTrimsByCountAndAgeButKeepsTheNewest() async throws {
        let fixture = try await StoreFixture.make()
        try await withLog(fixture) { log in
            let old = Date().addingTimeInterval(-7200)
            var drafts = (0..<10).map { index in
                EventDraft(
                    name: "old\(index)",
                    data: nil,
                    publishedAt: old,
                    coreID: "api",
                    userID: "u1",
                    productID: nil
                )
            }
            drafts += (0..<10).map { StoreFixture.draft("new\($0)") }
            _ = try await log.append(drafts, source: .api)
            let byCount = RetentionService(database: fixture.database, maxCount: 15, logger: StoreFixture.logger)
            #expect(try await byCount.trim(now: Date()) == 5)
            #expect(try await log.oldestID() == 6)
            let byAge = RetentionService(
                database: fixture.database,
                maxAge: .seconds(3600),
                logger: StoreFixture.logger
            )
            #expect(try await byAge.trim(now: Date()) == 5)
            #expect(try await log.oldestID() == 11)
            // Everything is past retention: the newest event stays, so ids never restart.
            let all = RetentionService(database: fixture.database, maxAge: .seconds(1), logger: StoreFixture.logger)
            try await all.trim(now: Date().addingTimeInterval(3600))
            #expect(try await log.oldestID() == 20)
            // A Last-Event-ID older than retention replays from the oldest kept event.
            let replay = try await log.read(EventFilter(scope: .user("u1")), after: 3)
            #expect(replay.events.map(\.id) == [20])
        }
        await fixture.database.close()
    }
}
