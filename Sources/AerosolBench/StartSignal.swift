import Synchronization

/// A start time that many tasks wait for and one task sets once: the moment the devices of
/// ``DeviceLatencyBenchmark`` begin their publishing schedule. Waiting is cancellable.
final class StartSignal: Sendable {
    private struct State {
        var instant: ContinuousClock.Instant?
        var waiters: [Int: CheckedContinuation<ContinuousClock.Instant, any Error>] = [:]
        var cancelled: Set<Int> = []
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Sets the start time and wakes every waiter; later calls are ignored.
    func fire(at instant: ContinuousClock.Instant) {
        let waiters = state.withLock { state -> [CheckedContinuation<ContinuousClock.Instant, any Error>] in
            guard state.instant == nil else { return [] }
            state.instant = instant
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: instant) }
    }

    /// The start time, once set. Throws `CancellationError` if the task is cancelled first.
    func wait() async throws -> ContinuousClock.Instant {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let outcome = state.withLock { state -> Result<ContinuousClock.Instant, any Error>? in
                    if let instant = state.instant { return .success(instant) }
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<ContinuousClock.Instant, any Error>? in
                guard state.instant == nil else { return nil }
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}
