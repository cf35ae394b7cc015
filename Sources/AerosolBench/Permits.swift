import Synchronization

/// A counting semaphore for tasks: at most `limit` holders at a time, waiters served in order.
///
/// ``DeviceFleet`` uses it to bound the handshakes in flight (so the gateway's listen backlog
/// is never overrun) while every connected device keeps its own task.
final class Permits: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    /// `limit` permits (at least one).
    init(_ limit: Int) {
        state = Mutex(State(available: max(1, limit)))
    }

    /// Waits for a permit and takes it.
    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state in
                if state.available > 0 {
                    state.available -= 1
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    /// Returns a permit, handing it straight to the longest waiter if there is one.
    func release() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        waiter?.resume()
    }
}
