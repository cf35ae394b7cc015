import AerosolModels
import DequeModule
import Logging
import SQLKit
import Synchronization

/// On PostgreSQL, where several nodes append to one log, hands this node's bus every node's
/// events, in log order: the log table is the truth, a notification only says "read it now".
///
/// Each commit notifies (`pg_notify` in the committing transaction, so it is sent only if the
/// events are); every node listens, and reads the events after the last one it handed on. A
/// notification that is lost (a dropped `LISTEN` connection, a node that was reconnecting)
/// loses nothing: the feed also reads once a second, and after every commit of its own.
/// The log's lock (``DatabaseEngine/LockKey/eventLog``) makes ids increase in commit order
/// across nodes, so reading "after the last id" never skips an event committed later.
final class ClusterFeed: Sendable {
    /// The notification channel (one per database).
    static let channel = "aerosol_events"

    private let database: Database
    private let bus: EventBus
    private let logger: Logger
    private let handedOn: Atomic<Int64>
    /// This node's committed events not handed on yet, in id order: handed on from memory when
    /// they follow the last event handed on, so that a node reads back only the others' events.
    private let own = Mutex<Deque<Event>>([])
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init(database: Database, bus: EventBus, after lastID: Int64, logger: Logger) {
        self.database = database
        self.bus = bus
        self.logger = logger
        self.handedOn = Atomic(lastID)
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The newest id handed to the bus.
    var latestID: Int64 { handedOn.load(ordering: .acquiring) }

    /// Asks for a read.
    func poke() { wake.yield() }

    /// Hands on `events`, just committed by this node, in their place in the log.
    func committed(_ events: [Event]) {
        guard !events.isEmpty else { return }
        own.withLock { $0.append(contentsOf: events) }
        poke()
    }

    /// Listens and reads until cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listen() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    self.poke()
                }
            }
            group.addTask { await self.read() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Stops ``run()``'s reader (the others stop with the task group's cancellation).
    func finish() { wake.finish() }

    private func read() async {
        var failure = RepeatedFailure()
        for await _ in wakes {
            do {
                while try await handOnNext() {
                    await bus.waitForCapacity()
                }
                failure.succeeded("reading the shared event log again", logger: logger)
            } catch {
                if Task.isCancelled { return }
                failure.failed(error, "cannot read the shared event log; retrying every second", logger: logger)
            }
        }
    }

    /// Hands on the next events in log order: this node's own from memory when they come next,
    /// else the others' from the table (up to this node's next own event, if any). `false` when
    /// there was nothing to hand on.
    private func handOnNext() async throws -> Bool {
        let after = handedOn.load(ordering: .acquiring)
        let next = own.withLock { own -> [Event] in
            // Read from the table already (the read raced this node's commit).
            while let first = own.first, first.id <= after { own.removeFirst() }
            var run: [Event] = []
            while let first = own.first, first.id == after + 1 + Int64(run.count) { run.append(own.removeFirst()) }
            return run
        }
        if let last = next.last?.id {
            bus.publish(next)
            handedOn.store(last, ordering: .releasing)
            return true
        }
        var query: SQLQueryString = "SELECT * FROM events WHERE id > \(bind: after)"
        let ownFirst = own.withLock { $0.first?.id }
        if let ownFirst { query.appendInterpolation(" AND id < \(bind: ownFirst)" as SQLQueryString) }
        query.appendLiteral(" ORDER BY id LIMIT 2000")
        let events = try await database.sql.raw(query).all().map(EventLog.event)
        if let last = events.last?.id {
            bus.publish(events)
            handedOn.store(last, ordering: .releasing)
            return true
        }
        // Nothing between: the events before this node's own are gone (retention), or there
        // were none. Its own come next.
        if let ownFirst, ownFirst > after + 1 {
            handedOn.store(ownFirst - 1, ordering: .releasing)
            return true
        }
        return false
    }

    private func listen() async {
        let failing = Atomic(false)
        while !Task.isCancelled {
            do {
                try await database.listen(on: Self.channel) { _ in
                    if failing.exchange(false, ordering: .relaxed) {
                        self.logger.notice("listening for other nodes' events again")
                    }
                    self.poke()
                }
            } catch {
                if Task.isCancelled { return }
                if !failing.exchange(true, ordering: .relaxed) {
                    logger.warning(
                        "lost the notifications of other nodes' events; reading every second meanwhile",
                        metadata: ["error": "\(Database.describe(error))"]
                    )
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
