import AerosolClient
import AerosolModels
import AerosolTesting
import Foundation
import Testing

@Suite("AerosolClient against a real server", .timeLimit(.minutes(1)))
struct ClientLiveTests {
    static func client(_ server: TestServer, token: String? = nil) -> AerosolClient {
        AerosolClient(baseURL: "http://127.0.0.1:\(server.port)", token: token)
    }

    @Test func restCallsReturnTypedValuesAndTypedErrors() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            let anonymous = Self.client(server)
            let grant = try await anonymous.login(username: "ada@example.com", password: "correct-horse", expiresIn: 0)
            #expect(grant.accessToken.count == 40)
            #expect(grant.expiresIn == nil)
            let client = anonymous.with(token: grant.accessToken)

            let product = try await client.createProduct(name: "Fleet")
            #expect(product.slug == "fleet")
            #expect(try await client.listProducts().map(\.id) == [product.id])
            let added = try await client.addDevices(["0123456789abcdef01234567"], toProduct: "fleet")
            #expect(added.added == ["0123456789abcdef01234567"])
            #expect(try await client.productDevices("fleet").total == 1)

            try await client.claimDevice("0123456789abcdef01234567")
            try await client.renameDevice("0123456789abcdef01234567", to: "weatherman")
            let device = try await client.device("weatherman")
            #expect(device.id == "0123456789abcdef01234567")
            #expect(device.online == false)
            #expect(try await client.listDevices().map(\.name) == ["weatherman"])
            try await client.removeDevice("weatherman")
            #expect(try await client.listDevices().isEmpty)

            try await client.publish(name: "temp", data: "21")
            let tokens = try await anonymous.listTokens(username: "ada@example.com", password: "correct-horse")
            #expect(tokens.map(\.token) == [grant.accessToken])
            #expect(try await client.currentToken().expiresAt == nil)

            let error = await #expect(throws: ClientError.self) {
                try await client.publish(name: String(repeating: "x", count: 65))
            }
            #expect(error?.status == 400)
            #expect(error?.error == "Event name must have 1 to 64 characters (got 65)")

            let wrong = await #expect(throws: ClientError.self) {
                try await anonymous.login(username: "ada@example.com", password: "nope-nope")
            }
            #expect(wrong?.error == "invalid_grant")
            #expect(wrong?.errorDescription == "User credentials are invalid")

            try await client.revokeCurrentToken()
            let revoked = await #expect(throws: ClientError.self) { try await client.listDevices() }
            #expect(revoked?.status == 401)
            #expect(revoked?.isAuthorizationFailure == true)
        }
    }

    @Test func aStreamDeliversEventsAndEndsWhenCancelled() async throws {
        try await TestServer.with(configure: { $0.keepaliveAfter = .seconds(1) }) { server in
            let token = try await server.user("ada@example.com")
            let client = Self.client(server, token: token)
            let collected = Task {
                var names: [String] = []
                for try await event in client.events(.mine, prefix: "t").events {
                    names.append(event.name)
                    if names.count == 3 { break }
                }
                return names
            }
            try await Self.waitForStreams(server, count: 1)
            for name in ["t1", "x", "t2", "t3"] { try await server.publish(name, "d", token: token) }
            #expect(try await collected.value == ["t1", "t2", "t3"])

            // Cancelling a consumer closes its connection: the server notices at its next writes
            // (keepalives, every second here) and has no stream left.
            let idle = Task {
                for try await _ in client.events(.mine) {}
            }
            try await Self.waitForStreams(server, count: 1)
            idle.cancel()
            _ = await idle.result
            try await Self.waitForStreams(server, count: 0)
        }
    }

    @Test func a401EndsTheStreamWithAClearError() async throws {
        try await TestServer.with { server in
            let client = Self.client(server, token: String(repeating: "0", count: 40))
            let error = await #expect(throws: ClientError.self) {
                for try await _ in client.events(.mine) {}
            }
            #expect(error?.status == 401)
            #expect(error?.errorDescription == "The access token provided is invalid.")
        }
    }

    /// Waits until the server reports `count` open streams.
    static func waitForStreams(_ server: TestServer, count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let health = try JSONValue(try await server.request(.GET, "/healthz"))
            if health["streams"]?.intValue == Int64(count) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("the server never reported \(count) open streams")
    }
}
