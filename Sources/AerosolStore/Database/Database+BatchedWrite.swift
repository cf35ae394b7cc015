import SQLKit
import Synchronization

/// Group-committed writes (see ``WriteBatcher``).
extension Database {
    /// Runs `body` on the writer connection inside the next group commit, with the other writes
    /// queued meanwhile, and returns its result once that transaction has committed: as durable
    /// as ``transaction(_:)`` when it returns, and never refused for load (it waits instead).
    ///
    /// `body` must only write through `sql` and may run twice (rolled back with a batch that
    /// failed, then alone). It should be one statement: alone (a batch of one, or after a batch
    /// failed) it runs without a transaction around it, its statements committing one by one as
    /// with ``write(_:)``.
    public func batchedWrite<T: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> T
    ) async throws -> T {
        try await batcher.admission()
        let outcome = Outcome<T>()
        let pending = WriteBatcher.Pending(
            run: { sql in outcome.hold(try await body(sql)) },
            finish: { error in outcome.finish(error) }
        )
        switch batcher.enqueue(pending) {
        case .closed:
            throw StoreError.unavailable("the server is shutting down")
        case .joined:
            break
        case .lead:
            // The first writer of an idle batcher commits its own batch in its own task: in a
            // quiet gateway a device's write costs no extra task (each extra task waited behind
            // the whole cooperative pool's queue: live UDP tests timed out on a loaded machine).
            await batcher.lead(self)
        }
        return try await outcome.value()
    }

    /// A batched write's result, for its caller: held by `run`, settled by `finish`.
    private final class Outcome<T: Sendable>: Sendable {
        private enum State {
            case running(T?)
            case waiting(CheckedContinuation<T, any Error>, T?)
            case settled(Result<T, any Error>)
        }

        private let state = Mutex<State>(.running(nil))

        func hold(_ value: T) {
            state.withLock { state in
                switch state {
                case .running: state = .running(value)
                case .waiting(let continuation, _): state = .waiting(continuation, value)
                case .settled: break
                }
            }
        }

        func finish(_ error: (any Error)?) {
            let resume = state.withLock { state -> (CheckedContinuation<T, any Error>, Result<T, any Error>)? in
                func result(_ value: T?) -> Result<T, any Error> {
                    if let error { return .failure(error) }
                    guard let value else {
                        return .failure(StoreError.unavailable("the write was committed without a result"))
                    }
                    return .success(value)
                }
                switch state {
                case .running(let value):
                    state = .settled(result(value))
                    return nil
                case .waiting(let continuation, let value):
                    let settled = result(value)
                    state = .settled(settled)
                    return (continuation, settled)
                case .settled:
                    return nil
                }
            }
            if let (continuation, result) = resume { continuation.resume(with: result) }
        }

        func value() async throws -> T {
            try await withCheckedThrowingContinuation { continuation in
                let settled = state.withLock { state -> Result<T, any Error>? in
                    switch state {
                    case .running(let value):
                        state = .waiting(continuation, value)
                        return nil
                    case .waiting:
                        preconditionFailure("a batched write is awaited once")
                    case .settled(let result):
                        return result
                    }
                }
                if let settled { continuation.resume(with: settled) }
            }
        }
    }
}
