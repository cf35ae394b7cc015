import AerosolStore
import Foundation
import SQLKit
import Testing

/// ``Database/batchedWrite(_:)``: many writers share commits, none is refused for load, and a
/// write that fails fails only its own caller.
@Suite("Batched writes", .timeLimit(.minutes(2)))
struct BatchedWriteTests {
    static func count(_ database: Database) async throws -> Int {
        let row = try await database.sql.raw("SELECT COUNT(*) AS n FROM batch_test").first()
        return try row?.decode(column: "n", as: Int.self) ?? -1
    }

    @Test func moreWritersThanTheWriteQueueHoldsAreAllCommitted() async throws {
        let fixture = try await StoreFixture.make()
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let database = fixture.database
        try await database.write { try await $0.raw("CREATE TABLE batch_test (x INTEGER PRIMARY KEY)").run() }
        // More than the single writer's 4,096 waiting writes (`write(_:)` would refuse some).
        let writers = 5_000
        let results = try await withThrowingTaskGroup(of: Int.self, returning: [Int].self) { group in
            for x in 0..<writers {
                group.addTask {
                    try await database.batchedWrite { sql in
                        try await sql.raw("INSERT INTO batch_test (x) VALUES (\(bind: x))").run()
                        return x
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.sorted() == Array(0..<writers))
        #expect(try await Self.count(database) == writers)
        await database.close()
    }

    @Test func aFailingWriteFailsOnlyItsOwnCaller() async throws {
        let fixture = try await StoreFixture.make()
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let database = fixture.database
        try await database.write { try await $0.raw("CREATE TABLE batch_test (x INTEGER PRIMARY KEY)").run() }
        let writers = 2_000
        let failures = await withTaskGroup(of: Bool.self, returning: Int.self) { group in
            for x in 0..<writers {
                group.addTask {
                    do {
                        try await database.batchedWrite { sql in
                            // Every 500th writes a key that another writer also writes: the second
                            // of the two fails (a constraint), whatever batch they land in.
                            let key = x % 500 == 499 ? x - 1 : x
                            try await sql.raw("INSERT INTO batch_test (x) VALUES (\(bind: key))").run()
                        }
                        return false
                    } catch {
                        return true
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == writers / 500)
        #expect(try await Self.count(database) == writers - writers / 500)
        await database.close()
    }
}
