import AerosolTesting
import Foundation
import Testing

/// The server's files are its owner's alone: another local user reads no event, token copy or
/// webhook from them.
@Suite("The data directory", .timeLimit(.minutes(1)))
struct DataDirectoryTests {
    /// SQLite's files in the data directory.
    @Test(.enabled(if: TestDatabases.engine == .sqlite))
    func theDataDirectoryAndTheDatabaseFilesAreTheOwnersOnly() async throws {
        let parent = TestServer.makeDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let directory = parent + "/made-by-the-server"
        try await TestServer.with(dataDirectory: directory) { server in
            // A write, so that the WAL and its index exist.
            let token = try await server.user("ada@example.com")
            try await server.publish("demo", "x", token: token)
            #expect(try Self.mode(directory) == 0o700)
            for suffix in ["", "-wal", "-shm"] {
                #expect(try Self.mode(directory + "/aerosol.sqlite" + suffix) == 0o600, "aerosol.sqlite\(suffix)")
            }
        }
    }

    static func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }
}
