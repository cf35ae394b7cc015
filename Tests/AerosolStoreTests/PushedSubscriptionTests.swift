import AerosolModels
import Foundation
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import AerosolStore

/// Subscriptions with an attached sink: the bus queues as for a reader and asks the sink to drain.
@Suite("Subscriptions pushed to a sink", .timeLimit(.minutes(1)))
struct PushedSubscriptionTests {
    /// Counts the drains it is asked for; the test takes from the subscription itself.
    final class CountingSink: SubscriptionSink {
        let loop = EmbeddedEventLoop()
        let drains = Atomic<Int>(0)
        var eventLoop: any EventLoop { loop }
        func drain() { drains.wrappingAdd(1, ordering: .relaxed) }
    }

    static func texts(_ batch: Subscription.Batch?) -> [String] {
        guard case .events(let items) = batch else { return [] }
        return items.map { String(buffer: $0.frame) }
    }

    @Test func drainsAreCoalescedAndTakeEverythingReady() {
        let bus = StoreFixture.bus()
        let subscription = bus.subscribe(EventFilter(scope: .user("u1")))
        let sink = CountingSink()
        subscription.attach(sink)
        sink.loop.run()
        #expect(sink.drains.load(ordering: .relaxed) == 1)
        #expect(subscription.takeForSink(isWritable: true) == nil)

        // Three frames before the sink drains: the first asks for a drain, the others do not.
        #expect(subscription.deliver(id: 1, frame: ByteBuffer(string: "a")) === sink)
        #expect(subscription.deliver(id: 2, frame: ByteBuffer(string: "b")) == nil)
        #expect(subscription.deliver(id: 3, frame: ByteBuffer(string: "c")) == nil)
        #expect(Self.texts(subscription.takeForSink(isWritable: true)) == ["a", "b", "c"])
        #expect(subscription.deliver(id: 4, frame: ByteBuffer(string: "d")) === sink)
        try? sink.loop.syncShutdownGracefully()
    }

    @Test func anUnwritableSinkKeepsFramesQueuedUntilTheyOverflow() {
        let bus = StoreFixture.bus(maxQueuedEvents: 3)
        let subscription = bus.subscribe(EventFilter(scope: .user("u1")))
        let sink = CountingSink()
        subscription.attach(sink)
        for id in 1...3 { subscription.deliver(id: Int64(id), frame: ByteBuffer(string: "\(id)")) }
        #expect(subscription.takeForSink(isWritable: false) == nil)
        #expect(Self.texts(subscription.takeForSink(isWritable: true)) == ["1", "2", "3"])
        for id in 4...7 { subscription.deliver(id: Int64(id), frame: ByteBuffer(string: "\(id)")) }
        guard case .end(.overflow) = subscription.takeForSink(isWritable: false) else {
            Issue.record("the fourth queued frame must end the subscription")
            return
        }
        #expect(subscription.hasEnded)
        try? sink.loop.syncShutdownGracefully()
    }

    @Test func keepalivesAndEndsAskForADrainAndDetachingStops() {
        let bus = StoreFixture.bus()
        let subscription = bus.subscribe(EventFilter(scope: .user("u1")), tokenHash: "h1")
        let sink = CountingSink()
        subscription.attach(sink)
        _ = subscription.takeForSink(isWritable: true)
        let later = DispatchTime.now().uptimeNanoseconds + 10_000_000_000
        #expect(subscription.keepaliveIfIdle(now: later, idleNanoseconds: 8_000_000_000) === sink)
        guard case .keepalive = subscription.takeForSink(isWritable: true) else {
            Issue.record("expected a keepalive")
            return
        }
        bus.endSubscriptions(tokenHash: "h1", reason: .revoked)
        sink.loop.run()
        #expect(sink.drains.load(ordering: .relaxed) == 2)
        guard case .end(.revoked) = subscription.takeForSink(isWritable: false) else {
            Issue.record("expected the revoked end")
            return
        }
        subscription.detach()
        bus.unsubscribe(subscription)
        #expect(bus.subscriberCount == 0)
        try? sink.loop.syncShutdownGracefully()
    }
}
