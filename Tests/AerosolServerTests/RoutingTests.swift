import AerosolModels
import Testing
import WireClient

@Suite("Routing, CORS and bad requests", .timeLimit(.minutes(1)))
struct RoutingTests {
    @Test func unknownRouteIsJSON404() async throws {
        try await TestServer.with { server in
            let response = try await server.request(.GET, "/v1/no/such/thing")
            #expect(response.status == 404)
            #expect(response.header("Content-Type") == "application/json")
            #expect(try JSONValue(response)["ok"] == .bool(false))
        }
    }

    @Test func wrongMethodIsJSON405WithAllow() async throws {
        try await TestServer.with { server in
            let response = try await server.request(.PATCH, "/v1/devices/events")
            #expect(response.status == 405)
            #expect(response.header("Allow")?.contains("POST") == true)
            #expect(response.header("Allow")?.contains("GET") == true)
            #expect(response.text == #"{"ok":false,"error":"Method PATCH is not allowed on /v1/devices/events"}"#)
        }
    }

    @Test func corsPreflightAndHeaders() async throws {
        try await TestServer.with { server in
            let preflight = try await server.request(
                .OPTIONS,
                "/v1/devices/events",
                headers: [("Origin", "http://example.com"), ("Access-Control-Request-Headers", "authorization")]
            )
            #expect(preflight.status == 204)
            #expect(preflight.header("Access-Control-Allow-Origin") == "*")
            #expect(preflight.header("Access-Control-Allow-Headers") == "authorization")
            let error = try await server.get("/v1/devices", token: nil)
            #expect(error.header("Access-Control-Allow-Origin") == "*")
        }
    }

    @Test func clientHeadersAndNonceAreIgnored() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let response = try await server.request(
                .GET,
                "/v1/devices?nonce=216.72",
                headers: [
                    ("Authorization", "Bearer \(token)"), ("User-Agent", "particle-api-js/12.0.2 (node)"),
                    ("X-Particle-Tool", "particle-cli"),
                ]
            )
            #expect(response.status == 200)
        }
    }
}
