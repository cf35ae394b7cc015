import AerosolModels
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

    /// Asks for a read (after a commit of this node's).
    func poke() { wake.yield() }

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
        var failing = false
        for await _ in wakes {
            do {
                while true {
                    let after = handedOn.load(ordering: .acquiring)
                    let events = try await database.sql.raw(
                        "SELECT * FROM events WHERE id > \(bind: after) ORDER BY id LIMIT 2000"
                    ).all().map(EventLog.event)
                    guard let last = events.last?.id else { break }
                    bus.publish(events)
                    handedOn.store(last, ordering: .releasing)
                    await bus.waitForCapacity()
                }
                if failing { logger.notice("reading the shared event log again") }
                failing = false
            } catch {
                if Task.isCancelled { return }
                if !failing {
                    logger.warning(
                        "cannot read the shared event log; retrying every second",
                        metadata: ["error": "\(Database.describe(error))"]
                    )
                }
                failing = true
            }
        }
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
