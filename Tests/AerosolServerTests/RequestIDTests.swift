import AerosolTesting
import Foundation
import Testing

/// Every response carries `X-Request-ID`: the client's when it is a sensible one, else one the
/// server made; error responses too.
@Suite("Request IDs", .timeLimit(.minutes(1)))
struct RequestIDTests {
    @Test func aSensibleIDIsKeptAndReturned() async throws {
        try await TestServer.with { server in
            let response = try await server.request(.GET, "/healthz", headers: [("X-Request-ID", "lb-7f3a:42")])
            #expect(response.header("X-Request-ID") == "lb-7f3a:42")
            let refused = try await server.request(.GET, "/v1/devices", headers: [("X-Request-ID", "ops-1")])
            #expect(refused.status == 400)
            #expect(refused.header("X-Request-ID") == "ops-1")
        }
    }

    @Test func otherwiseTheServerMakesOne() async throws {
        try await TestServer.with { server in
            let none = try #require(try await server.request(.GET, "/healthz").header("X-Request-ID"))
            let other = try #require(try await server.request(.GET, "/healthz").header("X-Request-ID"))
            #expect(!none.isEmpty && none != other)
            // Spaces, quotes and 200 characters are not echoed (they would end up in log lines).
            for junk in ["a b", #"x"y"#, String(repeating: "z", count: 200)] {
                let answer = try await server.request(.GET, "/healthz", headers: [("X-Request-ID", junk)])
                let id = try #require(answer.header("X-Request-ID"))
                #expect(id != junk && !id.isEmpty)
            }
        }
    }
}
