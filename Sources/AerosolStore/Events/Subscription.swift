import AerosolModels
import Foundation
import NIOCore
import Synchronization

/// One stream's place on the ``EventBus``: a bounded queue of encoded frames that the bus fills
/// and the stream's writer drains.
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
    private let state: Mutex<State>

    init(filter: EventFilter, tokenHash: String?, expiresAt: Date?, maxEvents: Int, maxBytes: Int, shardIndex: Int) {
        self.filter = filter
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
        self.maxEvents = maxEvents
        self.maxBytes = maxBytes
        self.shardIndex = shardIndex
        self.state = Mutex(State(lastOutput: DispatchTime.now().uptimeNanoseconds))
    }

    /// Waits for the next batch: pending frames (all of them, to write at once), a keepalive,
    /// or the end. Cancelling the waiting task ends the subscription.
    public func next() async -> Batch {
        if let ready = takeReady() { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Batch, Never>) in
                let ready = state.withLock { state -> Batch? in
                    if let batch = Self.take(&state) { return batch }
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
        state.withLock { Self.take(&$0) }
    }

    private static func take(_ state: inout State) -> Batch? {
        if !state.items.isEmpty {
            let items = state.items
            state.items = []
            state.bytes = 0
            state.keepaliveDue = false
            state.lastOutput = DispatchTime.now().uptimeNanoseconds
            return .events(items)
        }
        if let end = state.end { return .end(end) }
        if state.keepaliveDue {
            state.keepaliveDue = false
            state.lastOutput = DispatchTime.now().uptimeNanoseconds
            return .keepalive
        }
        return nil
    }

    /// Queues one frame (called by the bus).
    func deliver(id: Int64, frame: ByteBuffer) {
        let waiter = state.withLock { state -> CheckedContinuation<Batch, Never>? in
            guard state.end == nil else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                state.lastOutput = DispatchTime.now().uptimeNanoseconds
                state.keepaliveDue = false
                // The frame goes straight to the waiting reader.
                return waiter
            }
            state.items.append((id, frame))
            state.bytes += frame.readableBytes
            if state.items.count > maxEvents || state.bytes > maxBytes {
                state.items = []
                state.bytes = 0
                state.end = .overflow
            }
            return nil
        }
        waiter?.resume(returning: .events([(id, frame)]))
    }

    /// Ends the subscription (idempotent); a waiting reader wakes with ``Batch/end(_:)``.
    public func end(_ reason: EndReason) {
        let waiter = state.withLock { state -> CheckedContinuation<Batch, Never>? in
            guard state.end == nil else { return nil }
            state.end = reason
            state.items = []
            state.bytes = 0
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: .end(reason))
    }

    /// Asks for a keepalive if nothing went out for `idleNanoseconds` (called by the bus's ticker).
    func keepaliveIfIdle(now: UInt64, idleNanoseconds: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Batch, Never>? in
            guard state.end == nil, state.items.isEmpty, now &- state.lastOutput >= idleNanoseconds else { return nil }
            state.lastOutput = now
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.keepaliveDue = true
            return nil
        }
        waiter?.resume(returning: .keepalive)
    }

    /// Whether the subscription has ended.
    public var hasEnded: Bool { state.withLock { $0.end != nil } }
}
