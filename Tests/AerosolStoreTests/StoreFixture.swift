import AerosolModels
import AerosolStore
import Foundation
import Logging
import NIOCore

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
        let database = try await Database.open(
            path: directory + "/aerosol.sqlite",
            synchronous: .normal,
            logger: logger
        )
        return StoreFixture(directory: directory, database: database)
    }

    /// A bus whose frames are just the event name, for easy assertions.
    static func bus(
        maxQueuedEvents: Int = 1000,
        keepaliveAfter: Duration = .seconds(8),
        clock: any CloudClock = SystemClock()
    ) -> EventBus {
        EventBus(
            limits: .init(maxQueuedEvents: maxQueuedEvents, keepaliveAfter: keepaliveAfter),
            shardCount: 2,
            logger: logger,
            clock: clock
        ) { event, product in
            ByteBuffer(string: (product ? "P:" : "S:") + event.name)
        }
    }

    static func draft(_ name: String, user: String? = "u1", core: String = "api", product: Int? = nil) -> EventDraft {
        EventDraft(name: name, data: "d", coreID: core, userID: user, productID: product)
    }
}

extension Subscription.Batch {
    /// The frames of an `.events` batch as text.
    var texts: [String] {
        if case .events(let items) = self { return items.map { String(buffer: $0.frame) } }
        return []
    }
}
