import AerosolModels
import Foundation
import Testing
import WireClient

@testable import AerosolServer

/// The limits per client address over real sockets, with small limits and a manual clock: the
/// request over a limit gets 429, `Retry-After` and the contract's JSON error; a window's end
/// lets the client in again; `--rate-limits off` lets everything through; behind a trusted proxy
/// each forwarded client is counted on its own, and an untrusted peer's header changes nothing.
@Suite("Limits per client address", .timeLimit(.minutes(1)))
struct ClientLimitTests {
    /// Small limits, every one on, in a window of 300 s on `clock`.
    static func configure(_ clock: ManualClock, _ change: (inout ClientLimits) -> Void = { _ in })
        -> (inout Configuration) -> Void
    {
        var limits = ClientLimits()
        change(&limits)
        return { configuration in
            configuration.clock = clock
            configuration.clientLimits = limits
        }
    }

    /// One request on a new raw connection; returns every byte the server wrote.
    static func raw(_ server: TestServer, _ request: String) async throws -> String {
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(request)
        let text = try await connection.read(until: Self.isWhole)
        await connection.close()
        return text
    }

    /// Whether `text` holds a whole response with a `Content-Length` body.
    static func isWhole(_ text: String) -> Bool {
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<end.lowerBound].lowercased()
        guard let field = head.range(of: "content-length: ") else { return false }
        let length = Int(head[field.upperBound...].prefix { $0.isNumber }) ?? 0
        return text[end.upperBound...].utf8.count >= length
    }

    static func get(_ path: String, forwardedFor: String? = nil) -> String {
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if let forwardedFor { request += "X-Forwarded-For: \(forwardedFor)\r\n" }
        return request + "\r\n"
    }

    static func tokenRequest(password: String = "correct-horse") -> String {
        let body = TestServer.formBody([
            ("grant_type", "password"), ("client_id", "particle"), ("client_secret", "particle"),
            ("username", "ada@example.com"), ("password", password),
        ])
        return "POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// Opens a stream on a new connection and waits for `:ok`.
    static func openStream(_ server: TestServer, token: String, path: String = "/v1/events") async throws
        -> RawConnection
    {
        let connection = try await RawConnection.connect(port: server.port)
        try await connection.send(RawConnection.get(path, token: token))
        try await connection.read(until: { $0.contains(":ok\n") || $0.hasPrefix("HTTP/1.1 4") && $0.hasSuffix("}") })
        return connection
    }

    /// Retries `attempt` until it returns true (the server notices a closed connection on its own
    /// event loop, a moment after the client closed it).
    static func eventually(_ what: String, _ attempt: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if try await attempt() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("never: \(what)")
    }

    @Test func theRequestOverTheLimitGets429WithRetryAfterUntilTheWindowEnds() async throws {
        let clock = ManualClock()
        try await TestServer.with(configure: Self.configure(clock) { $0.requests = 5 }) { server in
            for _ in 1...5 {
                #expect(try await server.request(.GET, "/v1/openapi.json").status == 200)
            }
            let refused = try await Self.raw(server, Self.get("/v1/openapi.json"))
            #expect(refused.hasPrefix("HTTP/1.1 429 Too Many Requests\r\n"))
            #expect(refused.contains("\r\nRetry-After: 300\r\n"))
            #expect(refused.contains("\r\nContent-Type: application/json\r\n"))
            #expect(
                refused.hasSuffix(
                    "\r\n\r\n" + #"{"ok":false,"error":"Too many requests","info":"Try again in 300 seconds"}"#
                )
            )
            // Any route counts, authenticated or not; health checks are never refused.
            #expect(try await server.request(.GET, "/v1/devices").status == 429)
            #expect(try await server.request(.GET, "/healthz").status == 200)

            clock.advance(by: .seconds(100))
            let later = try await server.request(.GET, "/v1/openapi.json")
            #expect(later.status == 429)
            #expect(later.header("Retry-After") == "200")
            clock.advance(by: .seconds(200))
            #expect(try await server.request(.GET, "/v1/openapi.json").status == 200)
        }
    }

    @Test func theTokenEndpointHasItsOwnLimitInTheOAuthFormat() async throws {
        let clock = ManualClock()
        try await TestServer.with(configure: Self.configure(clock) { $0.tokenRequests = 3 }) { server in
            try await server.createUser("ada@example.com")
            #expect(try await Self.raw(server, Self.tokenRequest()).hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(try await Self.raw(server, Self.tokenRequest(password: "wrong")).hasPrefix("HTTP/1.1 400 "))
            #expect(try await Self.raw(server, Self.tokenRequest()).hasPrefix("HTTP/1.1 200 OK\r\n"))
            let refused = try await Self.raw(server, Self.tokenRequest())
            #expect(refused.hasPrefix("HTTP/1.1 429 Too Many Requests\r\n"))
            #expect(refused.contains("\r\nRetry-After: 300\r\n"))
            #expect(refused.contains("\r\nCache-Control: no-store\r\n"))
            #expect(
                refused.hasSuffix(
                    #"{"error":"rate_limit_exceeded","error_description":"Too many requests: try again in 300 seconds"}"#
                )
            )
            // The other routes are not limited by it.
            #expect(try await server.request(.GET, "/v1/openapi.json").status == 200)
            clock.advance(by: .seconds(300))
            #expect(try await Self.raw(server, Self.tokenRequest()).hasPrefix("HTTP/1.1 200 OK\r\n"))
        }
    }

    @Test func streamOpensPerWindowAreLimited() async throws {
        let clock = ManualClock()
        try await TestServer.with(configure: Self.configure(clock) { $0.streamOpens = 2 }) { server in
            let token = try await server.user("ada@example.com")
            for path in ["/v1/events", "/v1/devices/events/temp"] {
                let stream = try await Self.openStream(server, token: token, path: path)
                #expect(stream.text.hasPrefix("HTTP/1.1 200 OK\r\n"))
                await stream.close()
            }
            let refused = try await Self.openStream(server, token: token, path: "/v1/events/temp")
            #expect(refused.text.hasPrefix("HTTP/1.1 429 Too Many Requests\r\n"))
            #expect(refused.text.contains("\r\nRetry-After: 300\r\n"))
            #expect(
                refused.text.hasSuffix(#"{"ok":false,"error":"Too many requests","info":"Try again in 300 seconds"}"#)
            )
            await refused.close()
            // Other requests go on.
            #expect(try await server.get("/v1/devices", token: token).status == 200)
            clock.advance(by: .seconds(300))
            let again = try await Self.openStream(server, token: token)
            #expect(again.text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            await again.close()
        }
    }

    @Test func openStreamsPerAddressAreCapped() async throws {
        let configure = Self.configure(ManualClock()) { $0.openStreams = 2 }
        let keepalives: (inout Configuration) -> Void = { configuration in
            configure(&configuration)
            // Keepalives (on the event loop's own time) every second.
            configuration.keepaliveAfter = .seconds(1)
        }
        try await TestServer.with(configure: keepalives) { server in
            let token = try await server.user("ada@example.com")
            // Refused opens (an unknown device) hold nothing.
            for _ in 1...3 {
                let refused = try await server.get("/v1/devices/0123456789abcdef01234567/events", token: token)
                #expect(refused.status == 403)
            }
            let first = try await Self.openStream(server, token: token)
            // The second as the second request of a keep-alive connection (served by its task).
            let second = try await RawConnection.connect(port: server.port)
            try await second.send(RawConnection.get("/v1/openapi.json", token: nil))
            try await second.read(until: Self.isWhole)
            try await second.send(RawConnection.get("/v1/events", token: token))
            try await second.read(until: { $0.contains(":ok\n") })

            let third = try await Self.openStream(server, token: token)
            #expect(third.text.hasPrefix("HTTP/1.1 429 Too Many Requests\r\n"))
            #expect(third.text.contains("\r\nRetry-After: 60\r\n"))
            #expect(
                third.text.hasSuffix(
                    #"{"ok":false,"error":"Too many requests","info":"Too many open event streams: at most 2 per client address"}"#
                )
            )
            await third.close()

            // Closing either kind of stream gives its place back, once the server notices (a
            // connection the client closed is noticed by the next writes: keepalives here). The
            // streams opened instead stay open, so that the cap is full again after each.
            var reopened: [RawConnection] = []
            for stream in [first, second] {
                await stream.close()
                try await Self.eventually("a closed stream's place is given back") {
                    let attempt = try await Self.openStream(server, token: token)
                    if attempt.text.hasPrefix("HTTP/1.1 200 OK\r\n") {
                        reopened.append(attempt)
                        return true
                    }
                    await attempt.close()
                    return false
                }
                let full = try await Self.openStream(server, token: token)
                #expect(full.text.hasPrefix("HTTP/1.1 429 "))
                await full.close()
            }
            for stream in reopened { await stream.close() }
        }
    }

    @Test func connectionsPerAddressAreCapped() async throws {
        try await TestServer.with(configure: Self.configure(ManualClock()) { $0.connections = 3 }) { server in
            var held: [RawConnection] = []
            for _ in 1...3 { held.append(try await RawConnection.connect(port: server.port)) }
            // The fourth is closed before a byte is read or written.
            let extra = try await RawConnection.connect(port: server.port)
            try? await extra.send(Self.get("/healthz"))
            #expect(try await extra.readToEnd() == "")
            // The three are served.
            for connection in held {
                try await connection.send(Self.get("/healthz"))
                try await connection.read(until: Self.isWhole)
                #expect(connection.text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            }
            await held[0].close()
            try await Self.eventually("a closed connection's place is given back") {
                let connection = try await RawConnection.connect(port: server.port)
                held.append(connection)
                try? await connection.send(Self.get("/healthz"))
                let text = try await connection.read(until: { Self.isWhole($0) || connection.closed })
                return text.hasPrefix("HTTP/1.1 200 OK\r\n")
            }
            for connection in held { await connection.close() }
        }
    }

    @Test func rateLimitsOffLetsEverythingThrough() async throws {
        let clock = ManualClock()
        let configure = Self.configure(clock) { limits in
            limits = .off
            limits.requests = 1
            limits.tokenRequests = 1
            limits.streamOpens = 1
            limits.openStreams = 1
            limits.connections = 1
        }
        try await TestServer.with(configure: configure) { server in
            try await server.createUser("ada@example.com")
            for _ in 1...3 {
                #expect(try await Self.raw(server, Self.tokenRequest()).hasPrefix("HTTP/1.1 200 OK\r\n"))
            }
            let token = try await server.login("ada@example.com")
            var streams: [RawConnection] = []
            for _ in 1...3 {
                let stream = try await Self.openStream(server, token: token)
                #expect(stream.text.hasPrefix("HTTP/1.1 200 OK\r\n"))
                streams.append(stream)
            }
            for _ in 1...5 { #expect(try await server.get("/v1/devices", token: token).status == 200) }
            for stream in streams { await stream.close() }
        }
    }

    @Test func behindATrustedProxyEachForwardedClientIsCountedApart() async throws {
        let clock = ManualClock()
        let configure = Self.configure(clock) { limits in
            limits.requests = 2
            limits.connections = 1
        }
        try await TestServer.with(configure: { configuration in
            configure(&configuration)
            configuration.trustedProxies = ["127.0.0.1"]
        }) { server in
            // The proxy's own connections are not capped: it carries every client.
            let first = try await RawConnection.connect(port: server.port)
            let second = try await RawConnection.connect(port: server.port)
            for connection in [first, second] {
                try await connection.send(Self.get("/v1/openapi.json", forwardedFor: "198.51.100.7, 203.0.113.1"))
                try await connection.read(until: Self.isWhole)
                #expect(connection.text.hasPrefix("HTTP/1.1 200 OK\r\n"))
                await connection.close()
            }
            let refused = try await Self.raw(server, Self.get("/v1/openapi.json", forwardedFor: "203.0.113.1"))
            #expect(refused.hasPrefix("HTTP/1.1 429 "))
            // Another client behind the same proxy, and the proxy itself, have their own counts.
            let other = try await Self.raw(server, Self.get("/v1/openapi.json", forwardedFor: "203.0.113.2"))
            #expect(other.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(try await Self.raw(server, Self.get("/v1/openapi.json")).hasPrefix("HTTP/1.1 200 OK\r\n"))
        }
    }

    @Test func anUntrustedPeersForwardedForIsIgnored() async throws {
        try await TestServer.with(configure: Self.configure(ManualClock()) { $0.requests = 2 }) { server in
            for client in ["203.0.113.1", "203.0.113.2"] {
                let text = try await Self.raw(server, Self.get("/v1/openapi.json", forwardedFor: client))
                #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            }
            let refused = try await Self.raw(server, Self.get("/v1/openapi.json", forwardedFor: "203.0.113.3"))
            #expect(refused.hasPrefix("HTTP/1.1 429 "))
        }
    }
}
