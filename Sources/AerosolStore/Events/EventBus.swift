import AerosolModels
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// In-memory fan-out of committed events to live subscriptions.
///
/// Subscriptions are spread over shards (one per core by default), each indexed by scope and
/// served by its own task, so fan-out runs on every core and the publisher only enqueues.
/// Each event is encoded once per wire format; subscribers share the bytes.
public final class EventBus: Service, Sendable {
    /// Encodes an event into the bytes of an SSE frame; `productFormat` selects the product fields.
    public typealias Encoder = @Sendable (_ event: Event, _ productFormat: Bool) -> ByteBuffer

    /// Limits and timings; every default is documented in the README.
    public struct Limits: Sendable {
        /// Frames a subscription may hold before it is ended as overflowing (default 1,000).
        public var maxQueuedEvents: Int
        /// Bytes a subscription may hold before it is ended as overflowing (default 1 MiB).
        public var maxQueuedBytes: Int
        /// Silence after which a keepalive is written (default 8 s; the ticker adds up to 1 s).
        public var keepaliveAfter: Duration

        /// Creates limits.
        public init(maxQueuedEvents: Int = 1000, maxQueuedBytes: Int = 1 << 20, keepaliveAfter: Duration = .seconds(8))
        {
            self.maxQueuedEvents = maxQueuedEvents
            self.maxQueuedBytes = maxQueuedBytes
            self.keepaliveAfter = keepaliveAfter
        }
    }

    struct Encoded: Sendable {
        var event: Event
        var sandbox: ByteBuffer
        var product: ByteBuffer?
    }

    final class Shard: Sendable {
        let subscriptions = Mutex<[EventFilter.Scope: [ObjectIdentifier: Subscription]]>([:])
        let inbox: AsyncStream<[Encoded]>
        let continuation: AsyncStream<[Encoded]>.Continuation

        init() {
            (inbox, continuation) = AsyncStream.makeStream(of: [Encoded].self)
        }

        func deliver(_ batch: [Encoded]) {
            // Sinks are asked to drain once the whole batch is queued: one hop per event loop,
            // and one write per stream for all the frames it got.
            var sinks: [any SubscriptionSink] = []
            for encoded in batch {
                let targets = subscriptions.withLock { index -> [Subscription] in
                    var targets: [Subscription] = []
                    for scope in EventFilter.Scope.scopes(of: encoded.event) {
                        guard let subscribers = index[scope] else { continue }
                        for subscription in subscribers.values
                        where EventFilter.name(encoded.event.name, hasPrefix: subscription.filter.prefix) {
                            targets.append(subscription)
                        }
                    }
                    return targets
                }
                for subscription in targets {
                    let frame =
                        subscription.filter.usesProductFormat ? (encoded.product ?? encoded.sandbox) : encoded.sandbox
                    if let sink = subscription.deliver(id: encoded.event.id, frame: frame) {
                        sinks.append(sink)
                    }
                }
            }
            Subscription.requestDrains(sinks)
        }

        var all: [Subscription] {
            subscriptions.withLock { index in index.values.flatMap { $0.values } }
        }
    }

    private let shards: [Shard]
    private let nextShard = Atomic<Int>(0)
    private let taps = Mutex<[Int: AsyncStream<[Event]>.Continuation]>([:])
    private let nextTap = Atomic<Int>(0)
    private let droppedTapBatches = Atomic<Int>(0)
    private let encoder: Encoder
    /// The limits in force.
    public let limits: Limits
    private let logger: Logger
    /// The clock keepalives and token expiry run on.
    let clock: any CloudClock

    /// A bus with `shardCount` shards (default: one per core).
    public init(
        limits: Limits = Limits(),
        shardCount: Int = ProcessInfo.processInfo.activeProcessorCount,
        logger: Logger,
        clock: any CloudClock = SystemClock(),
        encoder: @escaping Encoder
    ) {
        self.clock = clock
        self.shards = (0..<max(1, shardCount)).map { _ in Shard() }
        self.limits = limits
        self.logger = logger
        self.encoder = encoder
    }

    /// Registers a live subscription; it receives every event committed from now on that
    /// matches `filter`. Call ``unsubscribe(_:)`` when done.
    public func subscribe(_ filter: EventFilter, tokenHash: String? = nil, expiresAt: Date? = nil) -> Subscription {
        let index = nextShard.wrappingAdd(1, ordering: .relaxed).oldValue % shards.count
        let subscription = Subscription(
            filter: filter,
            tokenHash: tokenHash,
            expiresAt: expiresAt,
            maxEvents: limits.maxQueuedEvents,
            maxBytes: limits.maxQueuedBytes,
            shardIndex: index,
            clock: clock
        )
        shards[index].subscriptions.withLock { index in
            index[filter.scope, default: [:]][ObjectIdentifier(subscription)] = subscription
        }
        return subscription
    }

    /// Removes a subscription (ending it if it had not ended).
    public func unsubscribe(_ subscription: Subscription) {
        subscription.end(.cancelled)
        shards[subscription.shardIndex].subscriptions.withLock { index in
            index[subscription.filter.scope]?[ObjectIdentifier(subscription)] = nil
            if index[subscription.filter.scope]?.isEmpty == true { index[subscription.filter.scope] = nil }
        }
    }

    /// How many subscriptions are registered.
    public var subscriberCount: Int {
        shards.reduce(0) { total, shard in
            total + shard.subscriptions.withLock { $0.values.reduce(0) { $0 + $1.count } }
        }
    }

    /// Every committed event, in batches as they commit, for a consumer inside the server (the
    /// device gateway routes them to device subscriptions). A consumer more than `limit`
    /// batches behind loses the oldest; the stream ends when the consumer stops iterating.
    public func tap(limit: Int = 4096) -> AsyncStream<[Event]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [Event].self, bufferingPolicy: .bufferingNewest(limit))
        let id = nextTap.wrappingAdd(1, ordering: .relaxed).oldValue
        continuation.onTermination = { [weak self] _ in
            _ = self?.taps.withLock { $0.removeValue(forKey: id) }
        }
        taps.withLock { $0[id] = continuation }
        return stream
    }

    /// Hands committed events to the shards and taps; returns at once.
    func publish(_ events: [Event]) {
        guard !events.isEmpty else { return }
        for tap in taps.withLock({ Array($0.values) }) {
            if case .dropped = tap.yield(events) {
                let dropped = droppedTapBatches.wrappingAdd(1, ordering: .relaxed).newValue
                if dropped == 1 || dropped % 1000 == 0 {
                    logger.warning(
                        "an in-server consumer (device subscriptions) fell behind; its oldest events were dropped",
                        metadata: ["bus.dropped_batches": "\(dropped)"]
                    )
                }
            }
        }
        let batch = events.map { event in
            Encoded(
                event: event,
                sandbox: encoder(event, false),
                product: event.productID == nil ? nil : encoder(event, true)
            )
        }
        for shard in shards { shard.continuation.yield(batch) }
    }

    /// Ends every subscription opened with the token whose SHA-256 is `tokenHash`.
    public func endSubscriptions(tokenHash: String, reason: Subscription.EndReason) {
        for shard in shards {
            for subscription in shard.all where subscription.tokenHash == tokenHash {
                subscription.end(reason)
            }
        }
    }

    /// Runs the shard workers and the keepalive ticker until graceful shutdown, then ends
    /// every subscription so that open streams close.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for shard in shards {
                group.addTask {
                    for await batch in shard.inbox { shard.deliver(batch) }
                }
            }
            group.addTask {
                await self.tick()
            }
            try? await gracefulShutdown()
            for shard in shards {
                shard.continuation.finish()
                for subscription in shard.all { subscription.end(.shutdown) }
            }
            group.cancelAll()
        }
        logger.debug("event bus stopped")
    }

    private func tick() async {
        while !Task.isCancelled {
            do {
                try await clock.sleep(for: .seconds(1))
            } catch {
                return
            }
            checkSilencesAndExpiry()
        }
    }

    /// Queues a keepalive for every subscription silent for `keepaliveAfter`, and ends those
    /// whose token has expired (the ticker calls this every second of the bus's clock).
    func checkSilencesAndExpiry() {
        let now = clock.uptimeNanoseconds
        let date = clock.now
        let idle = limits.keepaliveAfter.nanoseconds
        var sinks: [any SubscriptionSink] = []
        for shard in shards {
            for subscription in shard.all {
                if let expiresAt = subscription.expiresAt, expiresAt <= date {
                    subscription.end(.expired)
                } else if let sink = subscription.keepaliveIfIdle(now: now, idleNanoseconds: idle) {
                    sinks.append(sink)
                }
            }
        }
        Subscription.requestDrains(sinks)
    }
}
