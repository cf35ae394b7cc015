import AerosolModels
import Foundation
import NIOCore
import Testing

@testable import AerosolStore

@Suite("Event bus and subscriptions", .timeLimit(.minutes(1)))
struct SubscriptionTests {
    static func event(_ id: Int64, _ name: String, user: String? = "u1", core: String = "api", product: Int? = nil)
        -> Event
    {
        Event(id: id, name: name, data: nil, publishedAt: Date(), coreID: core, userID: user, productID: product)
    }

    /// Publishes through a log-less bus by running its shard workers for the test.
    func withBus(_ bus: EventBus, _ body: @Sendable (EventBus) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await bus.run() }
            try await body(bus)
            group.cancelAll()
        }
    }

    @Test func routesByScopeAndPrefixInTheRightFormat() async throws {
        let bus = StoreFixture.bus()
        try await withBus(bus) { bus in
            let user = bus.subscribe(EventFilter(scope: .user("u1"), prefix: "t"))
            let device = bus.subscribe(EventFilter(scope: .device("dev1")))
            let product = bus.subscribe(EventFilter(scope: .product(7)))
            let productDevice = bus.subscribe(EventFilter(scope: .productDevice(product: 7, device: "dev2")))
            bus.publish([
                Self.event(1, "temp", user: "u1"),
                Self.event(2, "xyz", user: "u1"),
                Self.event(3, "temp", user: "u2", core: "dev1"),
                Self.event(4, "tick", user: nil, core: "dev2", product: 7),
                Self.event(5, "last", user: "u1", core: "dev1", product: 7),
            ])
            #expect(await collect(user, 1) == ["S:temp"])
            #expect(await collect(device, 2) == ["S:temp", "S:last"])
            #expect(await collect(product, 2) == ["P:tick", "P:last"])
            #expect(await collect(productDevice, 1) == ["P:tick"])
            for subscription in [user, device, product, productDevice] { bus.unsubscribe(subscription) }
            #expect(bus.subscriberCount == 0)
        }
    }

    func collect(_ subscription: Subscription, _ count: Int) async -> [String] {
        var texts: [String] = []
        while texts.count < count {
            let batch = await subscription.next()
            if case .end = batch { break }
            texts += batch.texts
        }
        return texts
    }

    @Test func aReaderThatFallsBehindIsEndedAndItsQueueDropped() async throws {
        let bus = StoreFixture.bus(maxQueuedEvents: 10)
        try await withBus(bus) { bus in
            let slow = bus.subscribe(EventFilter(scope: .user("u1")))
            let fast = bus.subscribe(EventFilter(scope: .user("u1")))
            // The fast reader drains each event as it comes; the slow one never reads.
            var received: [String] = []
            for index in 1...50 {
                bus.publish([Self.event(Int64(index), "e\(index)")])
                received += await collect(fast, 1)
            }
            #expect(received == (1...50).map { "S:e\($0)" })
            guard case .end(let reason) = await slow.next() else {
                Issue.record("the slow subscription was not ended")
                return
            }
            #expect(reason == .overflow)
            #expect(slow.hasEnded)
        }
    }

    @Test func endingWakesAWaitingReaderAndRevocationEndsByToken() async throws {
        let bus = StoreFixture.bus()
        let mine = bus.subscribe(EventFilter(scope: .user("u1")), tokenHash: "h1")
        let other = bus.subscribe(EventFilter(scope: .user("u1")), tokenHash: "h2")
        let waiting = Task { await mine.next() }
        bus.endSubscriptions(tokenHash: "h1", reason: .revoked)
        guard case .end(.revoked) = await waiting.value else {
            Issue.record("expected the revoked end")
            return
        }
        #expect(!other.hasEnded)
        let cancelled = Task { await other.next() }
        cancelled.cancel()
        guard case .end(.cancelled) = await cancelled.value else {
            Issue.record("cancelling the reader must end the subscription")
            return
        }
    }

    @Test func keepalivesComeOnlyAfterSilence() async throws {
        let clock = ManualClock()
        try await withBus(StoreFixture.bus(keepaliveAfter: .seconds(8), clock: clock)) { bus in
            let subscription = bus.subscribe(EventFilter(scope: .user("u1")))
            clock.advance(by: .milliseconds(7_900))
            bus.checkSilencesAndExpiry()
            #expect(!subscription.isKeepaliveDue)
            let early = Task { await subscription.next() }
            clock.advance(by: .milliseconds(100))
            bus.checkSilencesAndExpiry()
            guard case .keepalive = await early.value else {
                Issue.record("expected a keepalive after 8 s of silence")
                return
            }
            // Output resets the silence: the next keepalive is 8 s after it.
            bus.publish([Self.event(1, "temp")])
            guard case .events = await subscription.next() else {
                Issue.record("expected the event")
                return
            }
            clock.advance(by: .seconds(7))
            bus.checkSilencesAndExpiry()
            #expect(!subscription.isKeepaliveDue)
            let waiting = Task { await subscription.next() }
            clock.advance(by: .seconds(1))
            bus.checkSilencesAndExpiry()
            guard case .keepalive = await waiting.value else {
                Issue.record("expected a keepalive after 8 s of silence")
                return
            }
            bus.unsubscribe(subscription)
        }
    }

    @Test func aStreamWhoseTokenExpiresIsEnded() async throws {
        let clock = ManualClock()
        let bus = StoreFixture.bus(clock: clock)
        let subscription = bus.subscribe(
            EventFilter(scope: .user("u1")),
            tokenHash: "h",
            expiresAt: clock.now.addingTimeInterval(60)
        )
        clock.advance(by: .seconds(59))
        bus.checkSilencesAndExpiry()
        #expect(!subscription.hasEnded)
        clock.advance(by: .seconds(1))
        bus.checkSilencesAndExpiry()
        guard case .end(.expired) = await subscription.next() else {
            Issue.record("expected the stream to end as expired")
            return
        }
    }
}
