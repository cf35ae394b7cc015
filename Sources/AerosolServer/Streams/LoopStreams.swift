import AerosolModels
import Foundation
import Logging
import NIOCore
import Synchronization

/// The event streams of one event loop, and the work of delivering to them: committed events
/// reach each event loop once per batch (one hop, however many streams), and the loop offers
/// each event to its matching streams from an index by scope, writing the one shared encoded
/// chunk, then flushes each stream once.
///
/// The flushes (one write syscall per stream) are the expensive part; they are done
/// ``StreamLimits/writesPerTurn`` at a time, and the rest is handed back to the loop, so that a
/// publisher's acknowledgement, or another connection's request, never waits behind the whole
/// fan-out of an event.
///
/// **The inbox** between the log and the loop is bounded (``StreamLimits/loopBacklog`` events):
/// the event log waits before committing more while it is full (``EventBus``), and a loop that
/// stays full for ``StreamLimits/congestionSeconds`` drops its inbox and closes its streams as too
/// slow; they resume from the log with `Last-Event-ID`. Nothing acknowledged is lost.
///
/// `@unchecked Sendable`: the index, the flush queue and the congestion state are touched only
/// on ``eventLoop`` (every entry point either runs there or hops there, and
/// `preconditionInEventLoop` checks it in debug builds); the inbox is behind a `Mutex` and the
/// backlog count is atomic.
final class LoopStreams: @unchecked Sendable {
    private struct Inbox {
        var batches: [[EncodedEvent]] = []
        var scheduled = false
    }

    let eventLoop: any EventLoop
    private let limits: StreamLimits
    private let clock: any CloudClock
    private let logger: Logger
    /// Deliveries and ended streams, for the metrics.
    let metrics: StreamMetrics
    /// Called (from any thread) when this loop's backlog went down, and when its stream count
    /// changed by the given amount.
    private let onDrained: @Sendable () -> Void
    private let onCountChange: @Sendable (Int) -> Void

    private let inbox = Mutex(Inbox())
    private let waiting = Atomic<Int>(0)

    // Event-loop confined.
    private var index: [EventFilter.Scope: [EventStreamHandler]] = [:]
    private var count = 0
    private var toFlush: [EventStreamHandler] = []
    private var flushed = 0
    private var flushScheduled = false
    private var congestedTicks = 0
    private var ticker: RepeatedTask?

    init(
        eventLoop: any EventLoop,
        limits: StreamLimits,
        clock: any CloudClock,
        logger: Logger,
        metrics: StreamMetrics,
        onDrained: @escaping @Sendable () -> Void,
        onCountChange: @escaping @Sendable (Int) -> Void
    ) {
        self.metrics = metrics
        self.eventLoop = eventLoop
        self.limits = limits
        self.clock = clock
        self.logger = logger
        self.onDrained = onDrained
        self.onCountChange = onCountChange
    }

    /// Events waiting for this loop.
    var backlog: Int { waiting.load(ordering: .relaxed) }

    // MARK: From the log (any thread)

    /// Queues a committed batch; the loop is asked to deliver it unless it was asked already.
    func enqueue(_ batch: [EncodedEvent]) {
        waiting.add(batch.count, ordering: .relaxed)
        let schedule = inbox.withLock { inbox -> Bool in
            inbox.batches.append(batch)
            defer { inbox.scheduled = true }
            return !inbox.scheduled
        }
        if schedule { eventLoop.execute { self.deliver() } }
    }

    // MARK: On the loop

    private func deliver() {
        eventLoop.preconditionInEventLoop()
        let batches = inbox.withLock { inbox -> [[EncodedEvent]] in
            inbox.scheduled = false
            defer { inbox.batches = [] }
            return inbox.batches
        }
        var delivered = 0
        var written = 0
        for batch in batches {
            delivered += batch.count
            for encoded in batch { written += offer(encoded) }
        }
        metrics.delivered(written)
        waiting.subtract(delivered, ordering: .relaxed)
        onDrained()
        flushSome()
    }

    /// Offers `encoded` to every matching stream; returns how many took it.
    private func offer(_ encoded: EncodedEvent) -> Int {
        var offered = 0
        for scope in encoded.scopes {
            guard let handlers = index[scope] else { continue }
            for handler in handlers where EventFilter.name(encoded.event.name, hasPrefix: handler.filter.prefix) {
                offered += 1
                if handler.offer(id: encoded.event.id, chunk: encoded.chunk(productFormat: handler.productFormat)) {
                    toFlush.append(handler)
                }
            }
        }
        return offered
    }

    /// Flushes up to ``StreamLimits/writesPerTurn`` streams, and hands the rest back to the loop.
    private func flushSome() {
        flushScheduled = false
        guard flushed < toFlush.count else { return }
        let now = eventLoop.now
        let end = min(toFlush.count, flushed + limits.writesPerTurn)
        while flushed < end {
            toFlush[flushed].flush(at: now)
            flushed += 1
        }
        if flushed == toFlush.count {
            toFlush.removeAll(keepingCapacity: toFlush.count <= 4096)
            flushed = 0
        } else if !flushScheduled {
            flushScheduled = true
            eventLoop.execute { self.flushSome() }
        }
    }

    /// Adds a stream to the index (it then receives every matching event committed from now on).
    func register(_ handler: EventStreamHandler) {
        eventLoop.preconditionInEventLoop()
        var handlers = index[handler.filter.scope] ?? []
        handler.slot = handlers.count
        handlers.append(handler)
        index[handler.filter.scope] = handlers
        count += 1
        onCountChange(1)
        if ticker == nil { startTicker() }
    }

    /// Removes a stream from the index.
    func unregister(_ handler: EventStreamHandler) {
        eventLoop.preconditionInEventLoop()
        let scope = handler.filter.scope
        guard handler.slot >= 0, var handlers = index[scope], handler.slot < handlers.count,
            handlers[handler.slot] === handler
        else { return }
        let last = handlers.removeLast()
        if last !== handler {
            handlers[handler.slot] = last
            last.slot = handler.slot
        }
        handler.slot = -1
        index[scope] = handlers.isEmpty ? nil : handlers
        count -= 1
        onCountChange(-1)
    }

    /// Every stream of the loop.
    private var all: [EventStreamHandler] { index.values.flatMap { $0 } }

    /// Ends the streams that `predicate` picks.
    func end(_ reason: StreamEndReason, where predicate: @escaping @Sendable (EventStreamHandler) -> Bool) {
        eventLoop.execute {
            for handler in self.all where predicate(handler) { handler.end(reason) }
        }
    }

    private func startTicker() {
        ticker = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            self.tick()
        }
    }

    /// Once a second: keepalives and token expiry for every stream; congestion.
    func tick() {
        eventLoop.preconditionInEventLoop()
        let now = eventLoop.now
        let date = clock.now
        for handler in all { handler.tick(now: now, date: date) }
        guard backlog >= limits.loopBacklog else {
            congestedTicks = 0
            return
        }
        congestedTicks += 1
        guard congestedTicks >= limits.congestionSeconds else { return }
        // Streams this far behind cannot catch up from memory: they resume from the log.
        let dropped = inbox.withLock { inbox -> Int in
            defer { inbox.batches = [] }
            return inbox.batches.reduce(0) { $0 + $1.count }
        }
        waiting.subtract(dropped, ordering: .relaxed)
        logger.warning(
            "event streams of an event loop fell too far behind; closing them as too slow",
            metadata: ["streams.count": "\(count)", "events.dropped": "\(dropped)"]
        )
        for handler in all { handler.end(.overflow) }
        congestedTicks = 0
        onDrained()
    }

    /// Stops the ticker (at shutdown).
    func stop() {
        eventLoop.execute {
            self.ticker?.cancel()
            self.ticker = nil
        }
    }
}
