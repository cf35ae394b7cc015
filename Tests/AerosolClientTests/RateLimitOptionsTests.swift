import AerosolTesting
import Foundation
import Testing
import WireClient

/// `aerosol serve`'s limits per client address reach the server: the real executable, its flags
/// and variables, real sockets on 127.0.0.1.
@Suite("aerosol serve's limits per client address", .timeLimit(.minutes(2)))
struct RateLimitOptionsTests {
    /// Runs `body` with a server started with `arguments` and `environment`, then stops it.
    static func withServer(
        _ arguments: [String],
        environment: [String: String] = [:],
        _ body: (Int) async throws -> Void
    ) async throws {
        let directory = TestServer.makeDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try TestServer.installServerKey(in: directory)
        let port = try await TestServer.freePort()
        let process = try await ServerProcess.serve(
            port: port,
            directory: directory,
            arguments: arguments,
            environment: environment
        )
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        try await body(port)
    }

    static func statuses(_ count: Int, port: Int) async throws -> [WireResponse] {
        var responses: [WireResponse] = []
        for _ in 0..<count {
            let connection = try await WireConnection.connect(port: port)
            responses.append(try await connection.request(.GET, "/v1/openapi.json"))
            await connection.close()
        }
        return responses
    }

    @Test func theRequestLimitFlagIsApplied() async throws {
        try await Self.withServer(["--request-limit", "2", "--rate-limit-window", "600"]) { port in
            let responses = try await Self.statuses(3, port: port)
            #expect(responses.map(\.status) == [200, 200, 429])
            #expect(responses[2].header("Retry-After") == "600")
            #expect(responses[2].text == #"{"ok":false,"error":"Too many requests","info":"Try again in 600 seconds"}"#)
        }
    }

    @Test func rateLimitsOffTurnsThemOff() async throws {
        try await Self.withServer(["--rate-limits", "off", "--request-limit", "1"]) { port in
            let responses = try await Self.statuses(3, port: port)
            #expect(responses.map(\.status) == [200, 200, 200])
        }
    }

    @Test func theVariableTurnsThemOffToo() async throws {
        try await Self.withServer(["--request-limit", "1"], environment: ["AEROSOL_RATE_LIMITS": "off"]) { port in
            let responses = try await Self.statuses(3, port: port)
            #expect(responses.map(\.status) == [200, 200, 200])
        }
    }

    @Test func anUnknownSwitchValueIsRefused() async throws {
        let result = try await ServeStartupTests.run([
            "serve", "--port", "0", "--device-port", "0", "--udp-device-port", "0", "--rate-limits", "maybe",
        ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--rate-limits must be on or off"))
    }
}
