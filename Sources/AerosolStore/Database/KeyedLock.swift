import Synchronization

/// A FIFO lock per key for async code: operations on one key run one at a time, in the order
/// they asked, suspending (not blocking a thread) while another holds it; operations on
/// different keys do not wait for each other, and idle keys cost nothing.
///
/// Bounded and cancellable: a task cancelled while it waits leaves the queue at once (throwing
/// `CancellationError`) instead of holding its place until its turn, and a key that already has
/// `maxWaiters` waiting refuses more (``KeyedLockError/overloaded``), so that a flood of
/// requests cannot queue without end behind a slow holder.
///
/// The gateway takes it per device id around status changes, so that a connection's `offline`
/// can never land after the `online` of the connection that replaced it; the database takes one
/// key for its single writer connection.
public final class KeyedLock<Key: Hashable & Sendable>: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var held: Set<Key> = []
        var waiters: [Key: [Waiter]] = [:]
        var nextID: UInt64 = 0
    }

    private enum Outcome { case acquired, queued, cancelled, overloaded }

    private let state = Mutex(State())
    /// The most tasks that may wait for one key.
    public let maxWaiters: Int

    /// A lock whose keys each take at most `maxWaiters` waiting tasks (default: no bound).
    public init(maxWaiters: Int = .max) {
        self.maxWaiters = maxWaiters
    }

    /// Runs `operation` holding the lock for `key`; `bounded: false` waits even beyond
    /// `maxWaiters` (for a caller that is itself a queue, waiting once for many).
    ///
    /// - Throws: `CancellationError` if the task is cancelled while it waits,
    ///   ``KeyedLockError/overloaded`` if `maxWaiters` are already waiting, or what
    ///   `operation` throws.
    public func withLock<T: Sendable>(
        _ key: Key,
        bounded: Bool = true,
        _ operation: () async throws -> T
    ) async throws -> T {
        try await acquire(key, bounded: bounded)
        defer { release(key) }
        return try await operation()
    }

    /// How many tasks wait for `key`.
    public func waiting(for key: Key) -> Int {
        state.withLock { $0.waiters[key]?.count ?? 0 }
    }

    private func acquire(_ key: Key, bounded: Bool) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID &+= 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Outcome in
                    if Task.isCancelled { return .cancelled }
                    if state.held.insert(key).inserted { return .acquired }
                    guard !bounded || state.waiters[key, default: []].count < maxWaiters else { return .overloaded }
                    state.waiters[key, default: []].append(Waiter(id: id, continuation: continuation))
                    return .queued
                }
                switch outcome {
                case .acquired: continuation.resume()
                case .queued: break
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .overloaded: continuation.resume(throwing: KeyedLockError.overloaded)
                }
            }
        } onCancel: {
            let removed = state.withLock { state -> Waiter? in
                guard var queue = state.waiters[key], let index = queue.firstIndex(where: { $0.id == id }) else {
                    return nil
                }
                let waiter = queue.remove(at: index)
                state.waiters[key] = queue.isEmpty ? nil : queue
                return waiter
            }
            removed?.continuation.resume(throwing: CancellationError())
        }
    }

    private func release(_ key: Key) {
        let next = state.withLock { state -> Waiter? in
            guard var queue = state.waiters[key], !queue.isEmpty else {
                state.held.remove(key)
                state.waiters[key] = nil
                return nil
            }
            let next = queue.removeFirst()
            state.waiters[key] = queue.isEmpty ? nil : queue
            // The lock passes straight to the next waiter.
            return next
        }
        next?.continuation.resume()
    }
}

/// Why a ``KeyedLock`` refused to wait.
public enum KeyedLockError: Error, Sendable {
    /// Too many tasks are waiting already.
    case overloaded
}
