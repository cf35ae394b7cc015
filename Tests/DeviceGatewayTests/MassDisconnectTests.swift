import AerosolModels
import AerosolStore
import DeviceProtocol
import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit
import Testing

@testable import DeviceGateway

/// Thousands of devices going offline at once (a gateway shutdown, a network outage) are each
/// recorded offline with their `spark/status` `offline` event: none is refused by the
/// database's bounded write queue (4,096 waiting writes), which dropped about 5,900 of 10,000
/// in `aerosol bench udp-devices` before device writes were group-committed.
@Suite("Mass disconnect", .timeLimit(.minutes(5)))
struct MassDisconnectTests {
    /// More than the database's 4,096 waiting writes.
    static let count = 5_000

    /// A device endpoint that is never asked anything (the test drives the records only).
    final class SilentEndpoint: DeviceEndpoint {
        var application: Describe? { nil }
        func send(_ request: DeviceRequest, timeout: Duration, promise: EventLoopPromise<DeviceResponse>) {
            promise.fail(GatewayError.notConnected())
        }
        func deliver(_ event: Event) {}
        func refreshScope() {}
        func disconnect() {}
    }

    @Test func everyDeviceOfAMassDisconnectIsRecordedOffline() async throws {
        let directory = NSTemporaryDirectory() + "aerosol-mass-offline-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "mass-disconnect-test")
        logger.logLevel = .error
        let database = try await Database.open(
            path: directory + "/aerosol.sqlite",
            synchronous: .normal,
            logger: logger
        )
        let bus = EventBus(logger: logger)
        let log = try await EventLog(database: database, bus: bus, logger: logger)
        let writer = Task { try await log.run() }
        let context = GatewayContext(
            settings: GatewaySettings(),
            serverKey: try ServerKey.generate(),
            keys: DeviceKeyStore(database: database),
            devices: DeviceStore(database: database),
            log: log,
            registry: ConnectionRegistry(),
            router: DeviceEventRouter(),
            heard: HeardTimes(),
            statusLock: KeyedLock<String>(),
            logger: logger
        )
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let ids = (0..<Self.count).map { String(format: "e00fce68%016x", $0) }
        // Online 500 at a time (only going offline has to be at once; the suite shares the
        // process's threads with live tests that time their answers).
        var links: [DeviceLink] = []
        for chunk in stride(from: 0, to: ids.count, by: 500) {
            links += try await withThrowingTaskGroup(of: DeviceLink.self, returning: [DeviceLink].self) { group in
                for id in ids[chunk..<min(chunk + 500, ids.count)] {
                    group.addTask {
                        let serial = try #require(context.registry.reserveSerial())
                        let link = try await eventLoop.submit {
                            DeviceLink(
                                deviceID: id,
                                serial: serial,
                                eventLoop: eventLoop,
                                endpoint: SilentEndpoint(),
                                transport: .udp,
                                metrics: context.metrics
                            )
                        }.get()
                        _ = try await context.recordOnline(link, address: "127.0.0.1", hello: Hello(productID: 6))
                        return link
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(try await Self.count(database, "SELECT COUNT(*) AS n FROM devices WHERE online = 1") == Self.count)

        // All offline at once.
        let recorded = try await withThrowingTaskGroup(of: Bool.self, returning: Int.self) { group in
            for link in links {
                group.addTask {
                    try await context.recordOffline(deviceID: link.deviceID, serial: link.serial, lastHeard: Date())
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(recorded == Self.count)
        #expect(try await Self.count(database, "SELECT COUNT(*) AS n FROM devices WHERE online = 1") == 0)
        #expect(
            try await Self.count(
                database,
                "SELECT COUNT(DISTINCT core_id) AS n FROM events WHERE name = 'spark/status' AND data = 'offline'"
            ) == Self.count
        )

        writer.cancel()
        try await writer.value
        await database.close()
    }

    static func count(_ database: Database, _ query: String) async throws -> Int {
        let row = try await database.sql.raw(SQLQueryString(query)).first()
        return try row?.decode(column: "n", as: Int.self) ?? -1
    }
}
