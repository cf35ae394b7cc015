import AerosolModels
import AerosolTesting
import Foundation
import SQLKit
import Testing

@testable import AerosolStore

/// What the database leaves on disk: files only their owner can read, and no webhook
/// credential in the clear — including in databases an older version made.
@Suite("Database files", .timeLimit(.minutes(1)), .enabled(if: TestDatabases.engine == .sqlite))
struct DatabaseFilesTests {
    static func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// A fresh directory as most users have them: 0755.
    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "aerosol-files-" + UUID().uuidString
        try FileManager.default.createDirectory(
            atPath: path,
            withIntermediateDirectories: true,
            attributes: [
                .posixPermissions: 0o755
            ]
        )
        return path
    }

    /// The bytes of the database and its WAL and shared-memory files, together.
    static func bytes(of path: String) -> Data {
        ["", "-wal", "-shm"].reduce(into: Data()) { all, suffix in
            all += FileManager.default.contents(atPath: path + suffix) ?? Data()
        }
    }

    @Test func theDatabaseAndItsWALAndIndexAreReadableByTheirOwnerOnly() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/aerosol.sqlite"
        let database = try await Database.open(path: path, synchronous: .normal, logger: StoreFixture.logger)
        _ = try await UserStore(database: database, bcryptCost: 4).create(
            email: "a@example.com",
            password: "long-enough"
        )
        for suffix in ["", "-wal", "-shm"] {
            #expect(try Self.mode(path + suffix) == 0o600, "aerosol.sqlite\(suffix)")
        }
        await database.close()
    }

    @Test func filesAnOlderVersionLeftReadableAreTightened() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/aerosol.sqlite"
        let first = try await Database.open(path: path, synchronous: .normal, logger: StoreFixture.logger)
        _ = try await UserStore(database: first, bcryptCost: 4).create(email: "a@example.com", password: "long-enough")
        for suffix in ["", "-wal", "-shm"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path + suffix)
        }
        await first.close()
        // Closing the last connection may remove the WAL and its index; whatever is there is
        // tightened on the next open, and what SQLite makes then follows the database's mode.
        let again = try await Database.open(path: path, synchronous: .normal, logger: StoreFixture.logger)
        _ = try await UserStore(database: again, bcryptCost: 4).create(email: "b@example.com", password: "long-enough")
        for suffix in ["", "-wal", "-shm"] {
            #expect(try Self.mode(path + suffix) == 0o600, "aerosol.sqlite\(suffix)")
        }
        await again.close()
    }

    @Test func aMigrationSealsTheWebhookDefinitionsAnOlderVersionStoredInTheClear() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/aerosol.sqlite"
        let definition = #"{"event":"demo","url":"https://h.example/in","headers":{"X-Api-Key":"hdr-40e1b7c9a2"}}"#
        let removed = #"{"event":"gone","url":"https://h.example/in","headers":{"X-Api-Key":"hdr-deleted-93f0"}}"#

        // The database as version 4 left it: definitions in the clear, one of them deleted
        // (its text stays in a freed page).
        let old = try await Database.open(
            path: path,
            readers: 1,
            synchronous: .normal,
            secret: nil,
            through: 4,
            logger: StoreFixture.logger
        )
        do {
            for (id, text) in [("0123456789abcdef01234567", definition), ("76543210fedcba9876543210", removed)] {
                try await old.write { sql in
                    try await sql.raw(
                        """
                        INSERT INTO webhooks (id, definition, after_event_id, created_at, updated_at)
                        VALUES (\(bind: id), \(bind: text), 0, 0, 0)
                        """
                    ).run()
                }
            }
            try await old.write { sql in
                try await sql.raw("DELETE FROM webhooks WHERE id = '76543210fedcba9876543210'").run()
            }
        } catch {
            await old.close()
            throw error
        }
        await old.close()
        #expect(Self.bytes(of: path).range(of: Data("hdr-40e1b7c9a2".utf8)) != nil)

        // Without the secret the migration cannot seal: it fails and changes nothing.
        await #expect(throws: StoreError.self) {
            _ = try await Database.open(path: path, synchronous: .normal, logger: StoreFixture.logger)
        }

        let secret = try ServerSecret.loadOrCreate(at: directory + "/secret")
        let database = try await Database.open(
            path: path,
            synchronous: .normal,
            secret: secret,
            logger: StoreFixture.logger
        )
        let bytes = Self.bytes(of: path)
        #expect(bytes.range(of: Data("hdr-40e1b7c9a2".utf8)) == nil)
        #expect(bytes.range(of: Data("hdr-deleted-93f0".utf8)) == nil)
        do {
            let stored = try await WebhookStore(database: database, secret: secret).find(id: "0123456789abcdef01234567")
            #expect(stored?.definition == definition)
        } catch {
            Issue.record(error)
        }
        await database.close()
    }
}
