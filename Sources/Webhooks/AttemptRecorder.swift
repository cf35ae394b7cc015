import AerosolStore
import Logging
import Synchronization

/// Writes attempt results to the outbox in groups: results that arrive while a write runs
/// share the next one, so thousands of deliveries a second cost a few writes, not thousands.
/// ``record(_:_:)`` returns once its result is durable.
final class AttemptRecorder: Sendable {
    private struct Pending {
        var attempt: DeliveryAttempt
        var disposition: DeliveryStore.Disposition
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var queue: [Pending] = []
        var writer: CheckedContinuation<Void, Never>?
        var closed = false
    }

    private let store: DeliveryStore
    private let state = Mutex(State())
    private let logger: Logger

    init(store: DeliveryStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Records one attempt and what becomes of its delivery; returns once committed.
    func record(_ attempt: DeliveryAttempt, _ disposition: DeliveryStore.Disposition) async throws {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = state.withLock { state -> Result<CheckedContinuation<Void, Never>?, WebhookError> in
                guard !state.closed else { return .failure(.unavailable("the delivery recorder has stopped")) }
                state.queue.append(Pending(attempt: attempt, disposition: disposition, continuation: continuation))
                defer { state.writer = nil }
                return .success(state.writer)
            }
            switch outcome {
            case .failure(let error): continuation.resume(throwing: error)
            case .success(let writer): writer?.resume()
            }
        }
    }

    /// Commits until ``close()`` is called and the queue is empty.
    func run() async {
        while true {
            let batch = await nextBatch()
            guard !batch.isEmpty else { return }
            do {
                try await store.record(batch.map { ($0.attempt, $0.disposition) })
                for pending in batch { pending.continuation.resume() }
            } catch {
                logger.error(
                    "could not record webhook attempts",
                    metadata: ["webhook.attempts": "\(batch.count)", "error": "\(error)"]
                )
                for pending in batch { pending.continuation.resume(throwing: error) }
            }
        }
    }

    /// Stops taking results; ``run()`` returns once the queue is written.
    func close() {
        let writer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume()
    }

    private func nextBatch() async -> [Pending] {
        while true {
            let batch = state.withLock { state -> [Pending]? in
                if !state.queue.isEmpty {
                    let batch = Array(state.queue.prefix(1000))
                    state.queue.removeFirst(batch.count)
                    return batch
                }
                return state.closed ? [] : nil
            }
            if let batch { return batch }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if !state.queue.isEmpty || state.closed { return true }
                    state.writer = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }
}
