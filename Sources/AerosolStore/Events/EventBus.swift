import AerosolModels
import Logging
import Synchronization

/// Hands committed events to the consumers inside the server: the event streams (registered
/// with ``add(_:)``) and in-server taps (``tap(limit:)``, the device gateway).
///
/// The log calls ``publish(_:)`` after each commit, once the publishers have been answered, so
/// delivery never delays an acknowledgement. Each consumer only queues the events and does its
/// work on its own threads.
///
/// **Back-pressure.** A consumer's queue is bounded by ``backlogLimit`` events: while any
/// consumer holds more, ``waitForCapacity()`` (which the log's writer awaits before each commit)
/// does not return, so publishers are slowed to what the streams can take instead of queueing
/// without end. Nothing acknowledged is ever dropped on the way: the log is the truth, and a
/// stream that cannot keep up is closed and resumes from the log with `Last-Event-ID`.
public final class EventBus: Sendable {
    private struct Waiter {
        let continuation: CheckedContinuation<Void, Never>
    }

    private let consumers = Mutex<[any EventConsumer]>([])
    private let taps = Mutex<[Int: AsyncStream<[Event]>.Continuation]>([:])
    private let nextTap = Atomic<Int>(0)
    private let droppedTapBatches = Atomic<Int>(0)
    private let waiters = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let logger: Logger
    /// The most events a consumer may hold before the log waits (default 20,000).
    public let backlogLimit: Int

    /// A bus; `backlogLimit` bounds every consumer's queue.
    public init(backlogLimit: Int = 20_000, logger: Logger) {
        self.backlogLimit = backlogLimit
        self.logger = logger
    }

    /// Registers a consumer of every committed event from now on.
    public func add(_ consumer: any EventConsumer) {
        consumers.withLock { $0.append(consumer) }
    }

    /// Every committed event, in batches as they commit, for a best-effort consumer inside the
    /// server (the device gateway routes them to device subscriptions, which are best effort
    /// in the original too). A consumer more than `limit` batches behind loses the oldest, with
    /// a warning; the stream ends when the consumer stops iterating.
    public func tap(limit: Int = 4096) -> AsyncStream<[Event]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [Event].self, bufferingPolicy: .bufferingNewest(limit))
        let id = nextTap.wrappingAdd(1, ordering: .relaxed).oldValue
        continuation.onTermination = { [weak self] _ in
            _ = self?.taps.withLock { $0.removeValue(forKey: id) }
        }
        taps.withLock { $0[id] = continuation }
        return stream
    }

    /// Hands committed events to every consumer and tap; returns at once.
    public func publish(_ events: [Event]) {
        guard !events.isEmpty else { return }
        for consumer in consumers.withLock({ $0 }) { consumer.deliver(events) }
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
    }

    /// Whether every consumer holds fewer than ``backlogLimit`` events.
    public var hasCapacity: Bool {
        consumers.withLock { $0 }.allSatisfy { $0.backlog < backlogLimit }
    }

    /// Returns once every consumer is below ``backlogLimit``; consumers call
    /// ``backlogDrained()`` when they catch up.
    public func waitForCapacity() async {
        while !hasCapacity {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                waiters.withLock { $0.append(continuation) }
                // A consumer may have caught up in between: look again.
                if hasCapacity { backlogDrained() }
            }
        }
    }

    /// Whether the log waits for a consumer to catch up.
    public var isWaitingForCapacity: Bool { waiters.withLock { !$0.isEmpty } }

    /// Wakes the log if it waits for capacity (a consumer's backlog went down).
    public func backlogDrained() {
        let waiting = waiters.withLock { waiters -> [CheckedContinuation<Void, Never>] in
            defer { waiters = [] }
            return waiters
        }
        for waiter in waiting { waiter.resume() }
    }
}
