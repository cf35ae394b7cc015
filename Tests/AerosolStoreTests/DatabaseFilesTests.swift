import AerosolStore
import Foundation
import Testing

/// What the database leaves on disk: files only their owner can read.
@Suite("Database files", .timeLimit(.minutes(1)))
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
}
