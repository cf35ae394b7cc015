import AerosolModels
import Foundation
import Logging
import Metrics
import SQLKit
import ServiceLifecycle
import Synchronization

/// The durable, ordered event log: the one source of truth for streams and replay.
///
/// Appends are group-committed: every append that arrives while a commit is in flight joins
/// the next one, so many publishers share one transaction (and one fsync). An append returns
/// only after its transaction has committed; then the events go to the ``EventBus``. Ids are
/// assigned by the single writer, so they increase strictly in commit order. While a consumer
/// of the bus is behind by more than its limit, the writer waits before the next commit (see
/// ``EventBus``).
public final class EventLog: Service, Sendable {
    struct Pending {
        var drafts: [EventDraft]
        var source: EventName.Source
        var continuation: CheckedContinuation<[Event], any Error>
    }

    private struct State {
        var queue: [Pending] = []
        var queuedDrafts = 0
        var writer: CheckedContinuation<Void, Never>?
        var closed = false
    }

    let database: Database
    private let bus: EventBus
    private let logger: Logger
    private let state = Mutex(State())
    private let lastID: Atomic<Int64>
    private let metrics = EventLogMetrics()
    /// On PostgreSQL, every node's events for this node's bus (``ClusterFeed``); on SQLite this
    /// log is the only writer and hands its commits to the bus itself.
    private let feed: ClusterFeed?
    /// The most drafts one transaction takes; more wait for the next.
    public let maxBatch: Int
    /// The most drafts that may wait for a commit; appends beyond it are refused (back-pressure).
    public let maxQueued: Int

    /// A log on `database` that announces committed events on `bus`.
    public init(database: Database, bus: EventBus, logger: Logger, maxBatch: Int = 2000, maxQueued: Int = 100_000)
        async throws
    {
        self.database = database
        self.bus = bus
        self.logger = logger
        self.maxBatch = maxBatch
        self.maxQueued = maxQueued
        let row = try await database.sql.raw("SELECT MAX(id) AS id FROM events").first()
        let lastID = try row?.decode(column: "id", as: Int64?.self) ?? 0
        self.lastID = Atomic(lastID)
        self.feed =
            database.engine == .postgres
            ? ClusterFeed(database: database, bus: bus, after: lastID, logger: logger) : nil
    }

    /// A connection for replay reads.
    var databaseForReads: any SQLDatabase { database.sql }

    /// The id of the newest committed event (0 when the log is empty).
    public var latestID: Int64 { feed?.latestID ?? lastID.load(ordering: .acquiring) }

    /// The id of the newest event any node committed: ``latestID`` on SQLite; on PostgreSQL the
    /// table's, which may be ahead of what this node has read of the other nodes' commits.
    public func newestCommittedID() async throws -> Int64 {
        guard feed != nil else { return latestID }
        let row = try await database.sql.raw("SELECT MAX(id) AS id FROM events").first()
        return max(latestID, try row?.decode(column: "id", as: Int64?.self) ?? 0)
    }

    /// Appends events and returns them with their ids once they are durable; `source` says who
    /// published them (for the metrics).
    public func append(_ drafts: [EventDraft], source: EventName.Source) async throws -> [Event] {
        guard !drafts.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { continuation in
            let outcome = state.withLock { state -> Result<CheckedContinuation<Void, Never>?, StoreError> in
                if state.closed { return .failure(.unavailable("the server is shutting down")) }
                if state.queuedDrafts + drafts.count > maxQueued {
                    return .failure(.unavailable("the event log is overloaded; retry shortly"))
                }
                state.queue.append(Pending(drafts: drafts, source: source, continuation: continuation))
                state.queuedDrafts += drafts.count
                let writer = state.writer
                state.writer = nil
                return .success(writer)
            }
            switch outcome {
            case .failure(let error): continuation.resume(throwing: error)
            case .success(let writer): writer?.resume()
            }
        }
    }

    /// Appends one event.
    public func append(_ draft: EventDraft, source: EventName.Source) async throws -> Event {
        try await append([draft], source: source)[0]
    }

    /// Runs the writer until graceful shutdown or cancellation (a service group that fails to
    /// start cancels its services), then commits whatever is still queued.
    public func run() async throws {
        let feeding = feed.map { feed in Task { await feed.run() } }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                while let batch = await nextBatch() {
                    // Streams that cannot keep up slow the log down rather than queue without end
                    // (checked before the commit: on PostgreSQL the bus fills after it, from
                    // the cluster feed).
                    await bus.waitForCapacity()
                    await commit(batch)
                }
            } onGracefulShutdown: {
                self.close()
            }
        } onCancel: {
            self.close()
        }
        feeding?.cancel()
        feed?.finish()
        await feeding?.value
        logger.debug("event log writer stopped")
    }

    /// Takes no more appends and wakes the writer to commit what is queued and stop.
    private func close() {
        let writer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume()
    }

    private func nextBatch() async -> [Pending]? {
        while true {
            enum Step {
                case batch([Pending])
                case done
                case wait
            }
            let step = state.withLock { state -> Step in
                if !state.queue.isEmpty {
                    var taken = 0
                    var count = 0
                    while count < state.queue.count, taken == 0 || taken + state.queue[count].drafts.count <= maxBatch {
                        taken += state.queue[count].drafts.count
                        count += 1
                    }
                    let batch = Array(state.queue.prefix(count))
                    state.queue.removeFirst(count)
                    state.queuedDrafts -= taken
                    return .batch(batch)
                }
                return state.closed ? .done : .wait
            }
            switch step {
            case .batch(let batch): return batch
            case .done: return nil
            case .wait:
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

    private func commit(_ batch: [Pending]) async {
        let started = ContinuousClock.now
        let results: [[Event]]
        do {
            results = try await write(batch)
            metrics.commitDuration.record(duration: ContinuousClock.now - started)
        } catch {
            logger.error(
                "event log commit failed",
                metadata: [
                    "event.count": "\(batch.reduce(0) { $0 + $1.drafts.count })",
                    "error": "\(Database.describe(error))",
                ]
            )
            for pending in batch {
                pending.continuation.resume(throwing: StoreError.unavailable("the event could not be stored"))
            }
            return
        }
        let all = results.flatMap { $0 }
        metrics.batchSize.record(all.count)
        var tally = EventLogMetrics.emptyTally
        for pending in batch { tally[EventLogMetrics.index(of: pending.source)] += pending.drafts.count }
        metrics.count(tally)
        // The publishers first: their acknowledgement never waits for delivery.
        for (pending, events) in zip(batch, results) {
            pending.continuation.resume(returning: events)
        }
        if let feed {
            // Other nodes may have committed just before: the feed hands on both in log order.
            feed.committed(all)
        } else {
            bus.publish(all)
        }
    }

    /// Numbers and inserts the batch's events; returns them, per append.
    ///
    /// Ids increase in commit order. On SQLite this writer is the only one, so the next id is
    /// known here; on PostgreSQL other nodes append too, and the numbering happens in the
    /// database, under the log's lock (``writeInOneStatement(_:)``).
    private func write(_ batch: [Pending]) async throws -> [[Event]] {
        let results =
            database.engine == .postgres ? try await writeInOneStatement(batch) : try await writeAlone(batch)
        if let last = results.last(where: { !$0.isEmpty })?.last?.id {
            lastID.store(last, ordering: .releasing)
        }
        return results
    }

    /// Numbers the batch after the last id this writer committed and inserts it in one
    /// transaction (SQLite).
    private func writeAlone(_ batch: [Pending]) async throws -> [[Event]] {
        // Unbounded: this one writer is itself the queue (bounded by `maxQueued`). Bounded, a
        // commit of up to 2,000 events failed whenever 4,096 other writes waited for the writer
        // (once in a 10,000-device `aerosol bench udp-devices` run, before device writes were
        // batched).
        try await database.transaction(bounded: false) { sql -> [[Event]] in
            let results = Self.numbered(batch, from: lastID.load(ordering: .acquiring) + 1)
            let all = results.flatMap { $0 }
            var start = 0
            while start < all.count {
                let end = min(start + 500, all.count)
                try await sql.raw(Self.insert(all[start..<end])).run()
                start = end
            }
            return results
        }
    }

    /// The batch's events, per append, numbered from `first` in order.
    static func numbered(_ batch: [Pending], from first: Int64) -> [[Event]] {
        var next = first
        return batch.map { pending in
            pending.drafts.map { draft in
                defer { next += 1 }
                return draft.event(id: next)
            }
        }
    }

    private static func insert(_ events: ArraySlice<Event>) -> SQLQueryString {
        var query: SQLQueryString =
            "INSERT INTO events (id, name, data, ttl, published_at, core_id, user_id, product_id, product_version) VALUES "
        var first = true
        for event in events {
            if !first { query.appendLiteral(", ") }
            first = false
            query.appendInterpolation(
                "(\(bind: event.id), \(bind: event.name), \(bind: event.data), \(bind: event.ttl), \(bind: Timestamp.milliseconds(event.publishedAt)), \(bind: event.coreID), \(bind: event.userID), \(bind: event.productID), \(bind: event.productVersion))"
                    as SQLQueryString
            )
        }
        return query
    }
}
