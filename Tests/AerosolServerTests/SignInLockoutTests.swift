import AerosolModels
import AerosolTesting
import Foundation
import Testing

/// Password guessing: ten wrong passwords in a row for an account from one address lock that
/// address out of the account for 30 minutes (as Particle does), on every way of signing in.
@Suite("Sign-in lockout", .timeLimit(.minutes(1)))
struct SignInLockoutTests {
    static func passwordGrant(
        _ server: TestServer,
        password: String,
        forwardedFor: String? = nil
    ) async throws -> WireResponseSummary {
        var headers = [("Content-Type", "application/x-www-form-urlencoded")]
        if let forwardedFor { headers.append(("X-Forwarded-For", forwardedFor)) }
        let response = try await server.request(
            .POST,
            "/oauth/token",
            headers: headers,
            body: TestServer.formBody([
                ("grant_type", "password"), ("client_id", "particle"), ("client_secret", "particle"),
                ("username", "ada@example.com"), ("password", password),
            ])
        )
        return WireResponseSummary(
            status: response.status,
            text: response.text,
            retryAfter: response.header("Retry-After")
        )
    }

    struct WireResponseSummary {
        let status: Int
        let text: String
        let retryAfter: String?
    }

    @Test func tenFailuresLockTheAccountFromThatAddressForThirtyMinutes() async throws {
        let clock = ManualClock()
        try await TestServer.with(configure: { $0.clock = clock }) { server in
            try await server.createUser("ada@example.com")
            for attempt in 1...10 {
                let wrong = try await Self.passwordGrant(server, password: "guess-\(attempt)")
                #expect(wrong.status == 400)
                #expect(wrong.text == #"{"error":"invalid_grant","error_description":"User credentials are invalid"}"#)
            }
            // Locked: even the right password is refused, without being checked.
            let locked = try await Self.passwordGrant(server, password: "correct-horse")
            #expect(locked.status == 429)
            #expect(
                locked.text.hasPrefix(
                    #"{"error":"rate_limit_exceeded","error_description":"Too many failed sign-in attempts"#
                )
            )
            #expect(locked.retryAfter == "1800")
            let basic = Data("ada@example.com:correct-horse".utf8).base64EncodedString()
            let listing = try await server.request(
                .GET,
                "/v1/access_tokens",
                headers: [("Authorization", "Basic \(basic)")]
            )
            #expect(listing.status == 429)

            clock.advance(by: .seconds(29 * 60))
            #expect(try await Self.passwordGrant(server, password: "correct-horse").status == 429)
            clock.advance(by: .seconds(60))
            #expect(try await Self.passwordGrant(server, password: "correct-horse").status == 200)
        }
    }

    @Test func behindATrustedProxyEachClientIsCountedOnItsOwn() async throws {
        try await TestServer.with(configure: { $0.trustedProxies = ["127.0.0.1"] }) { server in
            try await server.createUser("ada@example.com")
            // The proxy appends the address it saw; what the client wrote before it is not trusted.
            for attempt in 1...10 {
                let forwarded = "198.51.100.\(attempt), 203.0.113.5"
                #expect(
                    try await Self.passwordGrant(server, password: "guess-\(attempt)", forwardedFor: forwarded).status
                        == 400
                )
            }
            #expect(
                try await Self.passwordGrant(server, password: "correct-horse", forwardedFor: "203.0.113.5").status
                    == 429
            )
            // Another client behind the same proxy is not locked out.
            #expect(
                try await Self.passwordGrant(server, password: "correct-horse", forwardedFor: "203.0.113.6").status
                    == 200
            )
        }
    }

    @Test func anUntrustedPeersForwardedForIsIgnored() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            // A client cannot escape the lockout by naming a new address in each request.
            for attempt in 1...10 {
                let forwarded = "203.0.113.\(attempt)"
                #expect(
                    try await Self.passwordGrant(server, password: "guess-\(attempt)", forwardedFor: forwarded).status
                        == 400
                )
            }
            #expect(
                try await Self.passwordGrant(server, password: "correct-horse", forwardedFor: "203.0.113.99").status
                    == 429
            )
        }
    }

    @Test func aSuccessEndsTheRunOfFailures() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            for round in 1...3 {
                for attempt in 1...9 {
                    #expect(try await Self.passwordGrant(server, password: "guess-\(round)-\(attempt)").status == 400)
                }
                #expect(try await Self.passwordGrant(server, password: "correct-horse").status == 200)
            }
        }
    }

    @Test func theConsoleSignInIsLockedToo() async throws {
        try await TestServer.with { server in
            try await server.createUser("ada@example.com")
            for attempt in 1...10 {
                #expect(try await ConsoleTests.signIn(server, password: "guess-\(attempt)").1 == nil)
            }
            let (page, browser) = try await ConsoleTests.signIn(server)
            #expect(browser == nil)
            #expect(page.status == 429)
            #expect(page.text.contains("Too many failed attempts"))
        }
    }
}
