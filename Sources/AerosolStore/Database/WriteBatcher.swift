import DequeModule
import SQLKit
import Synchronization

/// Group commit for the small writes of many callers (devices going online and offline, their
/// Describes, UDP sessions): every write that arrives while a commit is in flight joins the next
/// transaction, so a thousand devices coming online cost a few commits (and fsyncs), not a
/// thousand. A write returns only once its transaction has committed, as with
/// ``Database/write(_:)``.
///
/// Why: one commit per write capped full UDP handshakes at 244–319/s (`aerosol bench udp-devices`,
/// three durable writes per device coming online, each an fsync under `synchronous=FULL`), and
/// about 5,900 of 10,000 devices going offline at once were refused by the single writer's
/// bounded queue (4,096 waiting writes) and never recorded offline.
///
/// Nothing is refused for load: the queue holds at most `highWatermark` writes; beyond it a
/// writer waits (suspended, not refused) until the queue is down to `lowWatermark`, so a mass
/// disconnect is slowed, never lost. A write that fails (or a commit that fails) fails only its
/// own caller: the batch is rolled back and its writes are committed one by one.
final class WriteBatcher: Sendable {
    /// One queued write.
    struct Pending: Sendable {
        /// Runs the write's statements on the writer connection, inside the batch's transaction.
        let run: @Sendable (any SQLDatabase) async throws -> Void
        /// Called once: with `nil` after the commit, or with the write's error.
        let finish: @Sendable ((any Error)?) -> Void
    }

    private struct State {
        var queue = Deque<Pending>()
        var draining = false
        var closed = false
        /// Writers waiting for the queue to go down to the low watermark.
        var full = Deque<CheckedContinuation<Void, Never>>()
        /// Callers of ``idle()``.
        var idle: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    /// The most writes one transaction takes.
    let maxBatch: Int
    /// The most writes queued; more wait.
    let highWatermark: Int
    /// Waiting writers are let in once the queue is down to this.
    let lowWatermark: Int

    init(maxBatch: Int = 512, highWatermark: Int = 16_384, lowWatermark: Int = 8_192) {
        precondition(maxBatch > 0 && lowWatermark < highWatermark)
        self.maxBatch = maxBatch
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
    }

    /// How many writes are queued (not counting the batch being committed).
    var queued: Int { state.withLock { $0.queue.count } }

    /// Waits while the queue is at its high watermark (until it is down to the low one). Throws
    /// once the database is closed.
    func admission() async throws {
        while true {
            let admitted = state.withLock { state -> Bool? in
                if state.closed { return nil }
                return state.queue.count < highWatermark
            }
            switch admitted {
            case nil: throw StoreError.unavailable("the server is shutting down")
            case true?: return
            case false?:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { state -> Bool in
                        if state.closed || state.queue.count < highWatermark { return true }
                        state.full.append(continuation)
                        return false
                    }
                    if now { continuation.resume() }
                }
            }
        }
    }

    /// What ``enqueue(_:)`` did with a write.
    enum Queued {
        /// Queued behind a commit in progress, which will take it.
        case joined
        /// Queued on an idle batcher: the caller must ``lead(_:)``.
        case lead
        /// Refused: the database is closed.
        case closed
    }

    /// Queues `pending` for the next commit (after ``admission()``; callers admitted together
    /// may overshoot the high watermark by their number).
    func enqueue(_ pending: Pending) -> Queued {
        state.withLock { state in
            if state.closed { return .closed }
            state.queue.append(pending)
            if state.draining { return .joined }
            state.draining = true
            return .lead
        }
    }

    /// Commits the next batch (which holds the caller's write) in the caller's task; a task of
    /// its own commits whatever was queued meanwhile.
    func lead(_ database: Database) async {
        guard let batch = nextBatch() else { return }
        await commit(batch, database)
        guard let next = nextBatch() else { return }
        // Not a child of the caller: a cancelled caller must not cancel the others' commit.
        Task {
            await self.commit(next, database)
            await self.drain(database)
        }
    }

    /// Returns once every write queued so far is committed (or failed).
    func idle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                guard state.draining else { return true }
                state.idle.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Takes no more writes (after ``idle()``, at close).
    func close() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.closed = true
            defer { state.full.removeAll() }
            return Array(state.full)
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Takes the next batch, or ends the draining (`nil`) when nothing is queued.
    private func nextBatch() -> [Pending]? {
        var admitted: [CheckedContinuation<Void, Never>] = []
        var finished: [CheckedContinuation<Void, Never>] = []
        let batch = state.withLock { state -> [Pending]? in
            let count = min(maxBatch, state.queue.count)
            let batch = Array(state.queue.prefix(count))
            state.queue.removeFirst(count)
            if state.queue.count <= lowWatermark {
                admitted = Array(state.full)
                state.full.removeAll()
            }
            if batch.isEmpty {
                state.draining = false
                finished = state.idle
                state.idle = []
                return nil
            }
            return batch
        }
        for continuation in admitted { continuation.resume() }
        for continuation in finished { continuation.resume() }
        return batch
    }

    private func drain(_ database: Database) async {
        while let batch = nextBatch() {
            await commit(batch, database)
        }
    }

    private func commit(_ batch: [Pending], _ database: Database) async {
        guard batch.count > 1 else {
            // Alone: no BEGIN and COMMIT around it. A single statement commits by itself, and
            // the two more trips to SQLite's thread tripled a quiet device write's latency (a
            // live UDP test whose device goes offline after 1 s of silence timed out on a
            // loaded machine).
            await commitEach(batch, database)
            return
        }
        do {
            try await database.transaction(bounded: false) { sql in
                for pending in batch { try await pending.run(sql) }
            }
            for pending in batch { pending.finish(nil) }
            return
        } catch {
            if Task.isCancelled {
                // A leading writer's task was cancelled: the other writes must not fail for it.
                Task { await self.commitEach(batch, database) }
                return
            }
            guard batch.count > 1 else {
                batch[0].finish(error)
                return
            }
        }
        await commitEach(batch, database)
    }

    /// Commits each write alone (its statements one by one, as ``Database/write(_:)``), so that
    /// only the failing one fails.
    private func commitEach(_ batch: [Pending], _ database: Database) async {
        for (index, pending) in batch.enumerated() {
            do {
                try await database.write(bounded: false) { sql in try await pending.run(sql) }
                pending.finish(nil)
            } catch {
                if Task.isCancelled {
                    // A leading writer's task was cancelled: the other writes must not fail for it.
                    let rest = Array(batch[index...])
                    Task { await self.commitEach(rest, database) }
                    return
                }
                pending.finish(error)
            }
        }
    }
}
