import AerosolStore
import Foundation
import SQLKit
import Testing

@Suite("UDP device sessions at rest")
struct UDPSessionStoreTests {
    @Test func sessionsAreSealedReplacedExpiredAndForgotten() async throws {
        let fixture = try await StoreFixture.make()
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let secret = try ServerSecret.loadOrCreate(at: fixture.directory + "/secret.key")
        let store = UDPSessionStore(database: fixture.database, secret: secret)
        let now = Date()
        try await store.save(
            .init(connectionID: "0102030405060708", deviceID: nil, session: [1, 2, 3], updatedAt: now)
        )
        try await store.save(
            .init(
                connectionID: "0102030405060708",
                deviceID: "e00fce68ece1d3d21a73dcc9",
                session: [4, 5],
                updatedAt: now
            )
        )
        try await store.save(
            .init(
                connectionID: "1111111111111111",
                deviceID: nil,
                session: [9],
                updatedAt: now.addingTimeInterval(-7200)
            )
        )
        let all = try await store.all(since: now.addingTimeInterval(-86_400))
        #expect(all.map(\.connectionID) == ["1111111111111111", "0102030405060708"])
        #expect(all.last?.deviceID == "e00fce68ece1d3d21a73dcc9")
        #expect(all.last?.session == [4, 5])

        // The session keys are never in the clear on disk.
        let raw = try await fixture.database.sql.raw("SELECT sealed_session FROM udp_sessions").all()
        #expect(raw.count == 2)
        for row in raw {
            let sealed = try row.decode(column: "sealed_session", as: String.self)
            #expect(sealed != Data([4, 5]).base64EncodedString())
        }

        // Another secret cannot open them: they are skipped, not served.
        let stranger = UDPSessionStore(
            database: fixture.database,
            secret: try ServerSecret.loadOrCreate(at: fixture.directory + "/other.key")
        )
        #expect(try await stranger.all(since: .distantPast).isEmpty)

        try await store.deleteExpired(before: now.addingTimeInterval(-3600))
        #expect(try await store.all(since: .distantPast).map(\.connectionID) == ["0102030405060708"])
        try await store.delete(connectionID: "0102030405060708")
        #expect(try await store.all(since: .distantPast).isEmpty)
        await fixture.database.close()
    }
}
