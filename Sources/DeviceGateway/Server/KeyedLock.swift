import Synchronization

/// A FIFO lock per key: operations on one key run one at a time, in the order they asked;
/// operations on different keys do not wait for each other. Idle keys cost nothing.
///
/// The gateway takes it per device id around status changes, so that a connection's `offline`
/// can never land after the `online` of the connection that replaced it.
final class KeyedLock: Sendable {
    private struct State {
        var held: Set<String> = []
        var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    }

    private let state = Mutex(State())

    /// Runs `operation` holding the lock for `key`.
    func withLock<T: Sendable>(_ key: String, _ operation: () async throws -> T) async rethrows -> T {
        await acquire(key)
        defer { release(key) }
        return try await operation()
    }

    private func acquire(_ key: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state in
                if state.held.insert(key).inserted { return true }
                state.waiters[key, default: []].append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    private func release(_ key: String) {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
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
        next?.resume()
    }
}
