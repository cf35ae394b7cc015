import AerosolModels
import AerosolStore
import AerosolTesting
import Foundation
import Logging
import NIOCore
import Synchronization

/// A database in a fresh temporary directory.
struct StoreFixture {
    let directory: String
    let database: Database

    static let logger: Logger = {
        var logger = Logger(label: "aerosol-store-test")
        logger.logLevel = .error
        return logger
    }()

    static func make(directory: String? = nil) async throws -> StoreFixture {
        let directory = directory ?? (NSTemporaryDirectory() + "aerosol-store-" + UUID().uuidString)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let database = try await TestDatabases.open(dataDirectory: directory, readers: 3, logger: logger)
        return StoreFixture(directory: directory, database: database)
    }

    /// A bus with a small backlog limit, for the back-pressure tests.
    static func bus(backlogLimit: Int = 20_000) -> EventBus {
        EventBus(backlogLimit: backlogLimit, logger: logger)
    }

    static func draft(_ name: String, user: String? = "u1", core: String = "api", product: Int? = nil) -> EventDraft {
        EventDraft(name: name, data: "d", coreID: core, userID: user, productID: product)
    }
}

/// A consumer that records what it receives and holds it as its backlog until ``drain()``.
final class RecordingConsumer: EventConsumer {
    private let state = Mutex<(events: [Event], backlog: Int)>(([], 0))
    private let delivered: AsyncStream<[Event]>.Continuation
    /// Every batch, as delivered.
    let batches: AsyncStream<[Event]>

    init() {
        (batches, delivered) = AsyncStream.makeStream(of: [Event].self)
    }

    func deliver(_ events: [Event]) {
        state.withLock {
            $0.events += events
            $0.backlog += events.count
        }
        delivered.yield(events)
    }

    var backlog: Int { state.withLock { $0.backlog } }

    /// Returns once `count` events arrived (or after 10 s).
    func waitForEvents(_ count: Int) async {
        let deadline = ContinuousClock.now + .seconds(10)
        while events.count < count, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Everything received so far.
    var events: [Event] { state.withLock { $0.events } }

    /// Pretends the consumer caught up.
    func drain(on bus: EventBus) {
        state.withLock { $0.backlog = 0 }
        bus.backlogDrained()
    }
}
