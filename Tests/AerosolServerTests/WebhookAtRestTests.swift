import AerosolModels
import AerosolTesting
import Foundation
import Testing

/// What a webhook's definition carries for third parties — header values, the `auth` user
/// name and password, query and form values, keys in the URL — is never in the database files
/// in the clear, while the API answers as before.
@Suite("Webhook credentials at rest", .timeLimit(.minutes(1)))
struct WebhookAtRestTests {
    /// Values that appear nowhere else, so that finding one in the files can only mean it leaked.
    static let credentials = [
        "hdr-7c1e9a0b4f2d", "auth-user-5e8d2c", "auth-pass-0f6b3a91", "query-key-3b9e71", "form-key-84d0c2",
        "url-key-a61f5d",
    ]

    static let definition = """
        {"event":"demo","url":"https://hooks.example.com/in?key=url-key-a61f5d",
         "headers":{"X-Api-Key":"hdr-7c1e9a0b4f2d"},"auth":{"username":"auth-user-5e8d2c","password":"auth-pass-0f6b3a91"},
         "query":{"api_key":"query-key-3b9e71"},"form":{"token":"form-key-84d0c2"}}
        """

    /// The bytes of the database and of its WAL and shared-memory files.
    static func databaseBytes(in directory: String) -> [Data] {
        ["", "-wal", "-shm"].compactMap { FileManager.default.contents(atPath: directory + "/aerosol.sqlite" + $0) }
    }

    /// Reads SQLite's files byte for byte (on PostgreSQL the same store writes the same sealed text).
    @Test(.enabled(if: TestDatabases.engine == .sqlite))
    func headerValuesAndAuthAreNotStoredInTheClear() async throws {
        let directory = TestServer.makeDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let id = try await TestServer.with(dataDirectory: directory, configure: WebhookTesting.configure) { server in
            let token = try await server.user("ada@example.com")
            let id = try await server.createWebhook(token: token, Self.definition)
            let files = Self.databaseBytes(in: directory)
            #expect(files.count >= 2)
            for value in Self.credentials {
                #expect(!files.contains { $0.range(of: Data(value.utf8)) != nil }, "\(value) is in the database")
            }
            return id
        }
        // After a restart the definition is read back whole; the API shows what it showed.
        try await TestServer.with(dataDirectory: directory, configure: WebhookTesting.configure) { server in
            let token = try await server.login("ada@example.com")
            let shown = try JSONValue(try await server.get("/v1/integrations/\(id)", token: token))
            #expect(shown["headers"] == .object([("X-Api-Key", .string("hdr-7c1e9a0b4f2d"))]))
            #expect(shown["auth"] == .object([("username", .string("auth-user-5e8d2c"))]))
            #expect(shown["query"]?["api_key"] == .string("query-key-3b9e71"))
            #expect(shown["url"] == .string("https://hooks.example.com/in?key=url-key-a61f5d"))
            #expect(!shown.serialized.contains("auth-pass-0f6b3a91"))
        }
    }
}
