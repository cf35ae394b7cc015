import AerosolModels
import Foundation
import NIOCore
import Synchronization

/// One stream's place on the ``EventBus``: a bounded queue of encoded frames that the bus fills
/// and the stream's writer drains.
///
/// The writer either waits for frames with ``next()`` (a task per stream), or is a
/// ``SubscriptionSink`` attached with ``attach(_:)``, which the bus asks to drain on its event loop.
///
/// Policy when full: the subscription ends with ``EndReason/overflow`` and its queue is dropped;
/// the client reconnects with `Last-Event-ID` and the log replays what it missed. A slow reader
/// therefore never delays the publisher or other subscribers, and never grows memory past its
/// limits.
public final class Subscription: Sendable {
    /// Why a subscription ended.
    public enum EndReason: String, Sendable, Equatable {
        /// The reader fell more than the buffer limit behind.
        case overflow
        /// The server is shutting down.
        case shutdown
        /// The token that opened the stream was revoked.
        case revoked
        /// The token that opened the stream expired.
        case expired
        /// The reader went away or cancelled.
        case cancelled
    }

    /// What the reader gets from ``next()``.
    public enum Batch: Sendable {
        /// Frames in log order, each with its event id.
        case events([(id: Int64, frame: ByteBuffer)])
        /// Nothing was sent for a while: write a keepalive.
        case keepalive
        /// The subscription is over.
        case end(EndReason)
    }

    private struct State {
        var items: [(id: Int64, frame: ByteBuffer)] = []
        var bytes = 0
        var waiter: CheckedContinuation<Batch, Never>?
        var end: EndReason?
        var keepaliveDue = false
        var lastOutput: UInt64
        var sink: (any SubscriptionSink)?
        /// A drain was asked of the sink and has not yet taken the queue.
        var drainRequested = false

        /// The sink, if one is attached and no drain is outstanding; marks a drain as asked.
        mutating func sinkToDrain() -> (any SubscriptionSink)? {
            guard let sink, !drainRequested else { return nil }
            drainRequested = true
            return sink
        }
    }

    /// Whom to wake after the state changed: a waiting reader, or a sink to drain.
    private enum Wake {
        case none
        case reader(CheckedContinuation<Batch, Never>, Batch)
        case sink(any SubscriptionSink)
    }

    /// Which events this subscription receives.
    public let filter: EventFilter
    /// The SHA-256 of the token that opened it, to end it when that token is revoked.
    public let tokenHash: String?
    /// When that token expires.
    public let expiresAt: Date?
    /// Frames it may hold before it overflows.
    public let maxEvents: Int
    let maxBytes: Int
    let shardIndex: Int
    /// The bus's clock: silences are measured on it.
    let clock: any CloudClock
    private let state: Mutex<State>

    init(
        filter: EventFilter,
        tokenHash: String?,
        expiresAt: Date?,
        maxEvents: Int,
        maxBytes: Int,
        shardIndex: Int,
        clock: any CloudClock
    ) {
        self.filter = filter
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
        self.maxEvents = maxEvents
        self.maxBytes = maxBytes
        self.shardIndex = shardIndex
        self.clock = clock
        self.state = Mutex(State(lastOutput: clock.uptimeNanoseconds))
    }

    /// Whether a keepalive is waiting to be written.
    var isKeepaliveDue: Bool { state.withLock { $0.keepaliveDue } }

    /// Waits for the next batch: pending frames (all of them, to write at once), a keepalive,
    /// or the end. Cancelling the waiting task ends the subscription.
    public func next() async -> Batch {
        if let ready = takeReady() { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Batch, Never>) in
                let ready = state.withLock { state -> Batch? in
                    if let batch = Self.take(&state, now: self.clock.uptimeNanoseconds) { return batch }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            self.end(.cancelled)
        }
    }

    private func takeReady() -> Batch? {
        let now = clock.uptimeNanoseconds
        return state.withLock { Self.take(&$0, now: now) }
    }

    private static func take(_ state: inout State, now: UInt64) -> Batch? {
        if !state.items.isEmpty {
            let items = state.items
            state.items = []
            state.bytes = 0
            state.keepaliveDue = false
            state.lastOutput = now
            return .events(items)
        }
        if let end = state.end { return .end(end) }
        if state.keepaliveDue {
            state.keepaliveDue = false
            state.lastOutput = now
            return .keepalive
        }
        return nil
    }

    /// Queues one frame (called by the bus); returns the sink to drain, if the subscription has one
    /// and no drain is outstanding. The caller hands it to ``requestDrains(_:)``.
    @discardableResult
    func deliver(id: Int64, frame: ByteBuffer) -> (any SubscriptionSink)? {
        let now = clock.uptimeNanoseconds
        let wake = state.withLock { state -> Wake in
            guard state.end == nil else { return .none }
            if let waiter = state.waiter {
                state.waiter = nil
                state.lastOutput = now
                state.keepaliveDue = false
                // The frame goes straight to the waiting reader.
                return .reader(waiter, .events([(id, frame)]))
            }
            state.items.append((id, frame))
            state.bytes += frame.readableBytes
            if state.items.count > maxEvents || state.bytes > maxBytes {
                state.items = []
                state.bytes = 0
                state.end = .overflow
            }
            return state.sinkToDrain().map { .sink($0) } ?? .none
        }
        switch wake {
        case .none: return nil
        case .reader(let waiter, let batch):
            waiter.resume(returning: batch)
            return nil
        case .sink(let sink): return sink
        }
    }

    /// Ends the subscription (idempotent); a waiting reader wakes with ``Batch/end(_:)``, an
    /// attached sink is asked to drain.
    public func end(_ reason: EndReason) {
        let wake = state.withLock { state -> Wake in
            guard state.end == nil else { return .none }
            state.end = reason
            state.items = []
            state.bytes = 0
            if let waiter = state.waiter {
                state.waiter = nil
                return .reader(waiter, .end(reason))
            }
            return state.sinkToDrain().map { .sink($0) } ?? .none
        }
        switch wake {
        case .none: break
        case .reader(let waiter, let batch): waiter.resume(returning: batch)
        case .sink(let sink): Self.requestDrains([sink])
        }
    }

    /// Asks for a keepalive if nothing went out for `idleNanoseconds` (called by the bus's ticker);
    /// returns the sink to drain, as ``deliver(id:frame:)`` does.
    func keepaliveIfIdle(now: UInt64, idleNanoseconds: UInt64) -> (any SubscriptionSink)? {
        let wake = state.withLock { state -> Wake in
            guard state.end == nil, state.items.isEmpty, now &- state.lastOutput >= idleNanoseconds else {
                return .none
            }
            state.lastOutput = now
            if let waiter = state.waiter {
                state.waiter = nil
                return .reader(waiter, .keepalive)
            }
            state.keepaliveDue = true
            return state.sinkToDrain().map { .sink($0) } ?? .none
        }
        switch wake {
        case .none: return nil
        case .reader(let waiter, let batch):
            waiter.resume(returning: batch)
            return nil
        case .sink(let sink): return sink
        }
    }

    /// Hands the subscription to a sink that is pushed to, instead of a reader of ``next()``.
    /// What is queued stays queued; the sink is asked to drain at once.
    public func attach(_ sink: any SubscriptionSink) {
        let attached = state.withLock { state -> (any SubscriptionSink)? in
            precondition(state.waiter == nil, "a subscription has either a reader or a sink")
            state.sink = sink
            return state.sinkToDrain()
        }
        if let attached { Self.requestDrains([attached]) }
    }

    /// Lets go of the attached sink (once its connection is gone), so that neither keeps the
    /// other alive.
    public func detach() {
        state.withLock { $0.sink = nil }
    }

    /// What an attached sink writes now (call it from ``SubscriptionSink/drain()``): the end, or,
    /// if the sink `isWritable`, all pending frames or a due keepalive; `nil` when there is
    /// nothing to write. Frames stay queued while the sink is not writable, up to the limits.
    public func takeForSink(isWritable: Bool) -> Batch? {
        let now = clock.uptimeNanoseconds
        return state.withLock { state in
            state.drainRequested = false
            if let end = state.end { return .end(end) }
            guard isWritable else { return nil }
            return Self.take(&state, now: now)
        }
    }

    /// Asks each sink to drain on its event loop, one hop per event loop.
    static func requestDrains(_ sinks: [any SubscriptionSink]) {
        guard let first = sinks.first else { return }
        if sinks.count == 1 {
            first.eventLoop.execute { first.drain() }
            return
        }
        var byLoop: [ObjectIdentifier: [any SubscriptionSink]] = [:]
        for sink in sinks { byLoop[ObjectIdentifier(sink.eventLoop), default: []].append(sink) }
        for group in byLoop.values {
            group[0].eventLoop.execute {
                for sink in group { sink.drain() }
            }
        }
    }

    /// Whether the subscription has ended.
    public var hasEnded: Bool { state.withLock { $0.end != nil } }
}
