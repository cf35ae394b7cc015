import AerosolModels
import AerosolServer
import Foundation
import Testing
import WireClient

@Suite("Access token endpoints", .timeLimit(.minutes(1)))
struct AccessTokenTests {
    static func basic(_ user: String, _ password: String) -> (String, String) {
        ("Authorization", "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
    }

    @Test func listingWithBasicAuthReturnsTheSeedShape() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let first = try await server.login("ada@example.com")
            let second = try await server.login("ada@example.com", expiresIn: 0)
            let response = try await server.request(
                .GET,
                "/v1/access_tokens",
                headers: [Self.basic("ada@example.com", "correct-horse")]
            )
            #expect(response.status == 200)
            let list = try #require(try JSONValue(response).arrayValue)
            #expect(list.count == 2)
            let tokens = Set(list.compactMap { $0["token"]?.stringValue })
            #expect(tokens == [first, second])
            for item in list {
                #expect(item["client"] == .string("particle"))
            }
            // The seed's key order, on the wire.
            let shape = try Regex(#"^\[\{"token":"[0-9a-f]{40}","expires_at":("[^"]+"|null),"client":"particle"\},"#)
            #expect(response.text.contains(shape))
            let never = list.first { $0["token"]?.stringValue == second }
            #expect(never?["expires_at"] == .null)

            let wrong = try await server.request(
                .GET,
                "/v1/access_tokens",
                headers: [Self.basic("ada@example.com", "nope-nope")]
            )
            #expect(wrong.status == 400)
            #expect(wrong.text == #"{"error":"invalid_grant","error_description":"User credentials are invalid"}"#)
            let bearer = try await server.get("/v1/access_tokens", token: first)
            #expect(bearer.status == 401)
        }
    }

    @Test func revokingCurrentTokenAndTokenByValue() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let first = try await server.login("ada@example.com")
            let second = try await server.login("ada@example.com")

            let current = try await server.get("/v1/access_tokens/current", token: first)
            #expect(current.status == 200)
            let json = try JSONValue(current)
            #expect(json["client"] == .string("particle"))
            #expect(json["client_id"] == .string("particle"))
            #expect(json["scopes"] == .array([]))

            let logout = try await server.request(
                .DELETE,
                "/v1/access_tokens/current",
                headers: [("Authorization", "Bearer \(first)")]
            )
            #expect(logout.text == #"{"ok":true}"#)
            #expect(try await server.get("/v1/devices", token: first).status == 401)
            #expect(try await server.get("/v1/devices", token: second).status == 200)

            // No authentication needed: holding the token is enough.
            let byValue = try await server.request(.DELETE, "/v1/access_tokens/\(second)")
            #expect(byValue.text == #"{"ok":true}"#)
            #expect(try await server.get("/v1/devices", token: second).status == 401)
        }
    }

    @Test func revokingAllTokensEndsTheirStreams() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let first = try await server.login("ada@example.com")
            let second = try await server.login("ada@example.com")
            let stream = try await EventStreamReader.open(server, "/v1/devices/events", token: second)
            try await stream.read(until: { $0.hasPrefix(":ok\n\n") })
            let response = try await server.request(
                .DELETE,
                "/v1/access_tokens",
                headers: [("Authorization", "Bearer \(first)")]
            )
            #expect(response.text == #"{"ok":true}"#)
            try await stream.readToEnd()
            #expect(stream.text.hasSuffix(":closed revoked\n"))
            #expect(try await server.get("/v1/devices", token: second).status == 401)
            await stream.close()
        }
    }

    /// Reads SQLite's files byte for byte (on PostgreSQL the same store writes the same hashes).
    @Test(.enabled(if: TestDatabases.engine == .sqlite))
    func theDatabaseNeverHoldsAUsableToken() async throws {
        let directory = TestServer.makeDataDirectory()
        let tokens = try await TestServer.with(dataDirectory: directory) { server in
            try await server.createUser("ada@example.com")
            return [try await server.login("ada@example.com"), try await server.login("ada@example.com")]
        }
        let files = try DataDirectory(path: directory)
        var stored = Data()
        for suffix in ["", "-wal", "-shm"] {
            if let data = FileManager.default.contents(atPath: files.databasePath + suffix) { stored.append(data) }
        }
        #expect(stored.count > 0)
        for token in tokens {
            #expect(stored.range(of: Data(token.utf8)) == nil, "token found in the database files")
            #expect(stored.range(of: Data(token.uppercased().utf8)) == nil)
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: files.secretPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.size] as? Int) == 32)
    }
}
