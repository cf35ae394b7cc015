import SQLKit
import Synchronization

/// Group-committed writes (see ``WriteBatcher``).
extension Database {
    /// Runs `body` on the writer connection inside the next group commit, with the other writes
    /// queued meanwhile, and returns its result once that transaction has committed: as durable
    /// as ``transaction(_:)`` when it returns, and never refused for load (it waits instead).
    ///
    /// `body` must only write through `sql` and may run twice (rolled back with a batch that
    /// failed, then alone).
    public func batchedWrite<T: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await batcher.admission()
        let slot = ResultSlot<T>()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let pending = WriteBatcher.Pending(
                run: { sql in
                    let value = try await body(sql)
                    slot.value.withLock { $0 = value }
                },
                finish: { error in
                    if let error { continuation.resume(throwing: error) } else { continuation.resume() }
                }
            )
            if !batcher.enqueue(pending, to: self) {
                continuation.resume(throwing: StoreError.unavailable("the server is shutting down"))
            }
        }
        guard let value = slot.value.withLock({ $0.take() }) else {
            throw StoreError.unavailable("the write was committed without a result")
        }
        return value
    }

    /// Where a batched write leaves its result for its caller.
    private final class ResultSlot<T: Sendable>: Sendable {
        let value = Mutex<T?>(nil)
    }
}
