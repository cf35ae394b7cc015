import AerosolStore
import AerosolTesting
import Foundation
import SQLKit
import Testing

/// Nodes starting at once on one new PostgreSQL database (run when the tests run on PostgreSQL).
@Suite("Migrations on a shared database", .timeLimit(.minutes(1)), .enabled(if: TestDatabases.engine == .postgres))
struct ConcurrentMigrationTests {
    @Test func fourNodesOpeningANewDatabaseAtOnceApplyEachStepOnce() async throws {
        let directory = NSTemporaryDirectory() + "aerosol-migrations-" + UUID().uuidString
        let url = try #require(try await TestDatabases.url(for: directory))
        let opened = try await withThrowingTaskGroup(of: Database.self, returning: [Database].self) { group in
            for _ in 0..<4 {
                group.addTask { try await Database.open(postgresURL: url, connections: 3, logger: StoreFixture.logger) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let versions = try await opened[0].sql.raw("SELECT version FROM schema_migrations ORDER BY version")
            .all(decodingColumn: "version", as: Int.self)
        #expect(versions == Array(1...versions.count))
        #expect(versions.count >= 11)
        // The schema works from every node.
        for (index, database) in opened.enumerated() {
            _ = try await UserStore(database: database, bcryptCost: 4).create(
                email: "node\(index)@example.com",
                password: "long-enough"
            )
        }
        for database in opened { await database.close() }
        await TestDatabases.drop(for: directory)
    }
}
