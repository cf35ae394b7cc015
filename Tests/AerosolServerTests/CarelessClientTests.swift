import AerosolServer
import AerosolTesting
import Foundation
import Testing

/// What careless and hostile HTTP clients do to the server: connections that close before a
/// byte, requests never finished, bodies announced as a terabyte, malformed chunks, bytes that
/// are not UTF-8. Each gets a clear answer or a closed connection, never a leak, a hang or a 500.
@Suite("Careless and hostile HTTP clients", .timeLimit(.minutes(1)))
struct CarelessClientTests {
    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
    }

    @Test func connectionsClosedBeforeAByteAreClosedByTheServerToo() async throws {
        try await TestServer.with { server in
            _ = try await server.get("/healthz", token: nil)
            let before = Self.openDescriptors()
            for _ in 0..<200 {
                let connection = try await RawConnection.connect(port: server.port)
                await connection.close()
            }
            // Half-closing (the client only shuts its sending side) must end it too.
            for _ in 0..<50 {
                let connection = try await RawConnection.connect(port: server.port)
                try await connection.finishSending()
                #expect(try await connection.readToEnd() == "")
            }
            // The server's ends close as soon as it sees the clients' closes; until then they
            // are the descriptors above the count before.
            var open = Self.openDescriptors()
            while open > before + 5 {
                try await Task.sleep(for: .milliseconds(20))
                open = Self.openDescriptors()
            }
            #expect(open <= before + 5)
            #expect(try await server.get("/healthz", token: nil).status == 200)
        }
    }

    @Test func unfinishedRequestsAndSilentConnectionsAreClosedAfterTheIdleTimeout() async throws {
        try await TestServer.with(configure: { $0.idleTimeout = .milliseconds(300) }) { server in
            let silent = try await RawConnection.connect(port: server.port)
            let halfHeaders = try await RawConnection.connect(port: server.port)
            try await halfHeaders.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            let halfBody = try await RawConnection.connect(port: server.port)
            try await halfBody.send("POST /v1/devices/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nname=")
            let keptAlive = try await RawConnection.connect(port: server.port)
            try await keptAlive.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")

            #expect(try await silent.readToEnd() == "")
            #expect(try await halfHeaders.readToEnd() == "")
            #expect(try await halfBody.readToEnd() == "")
            let answered = try await keptAlive.readToEnd()
            #expect(answered.hasPrefix("HTTP/1.1 200 OK\r\n"))
        }
    }

    @Test func aHugeContentLengthGetsAn413AtOnceAndTheConnectionCloses() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let connection = try await RawConnection.connect(port: server.port)
            try await connection.send(
                "POST /v1/devices/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000000000\r\n\r\nname=x"
            )
            let answer = try await connection.readToEnd()
            #expect(answer.hasPrefix("HTTP/1.1 413 Payload Too Large\r\n"), "\(answer)")
            #expect(answer.hasSuffix(#"{"ok":false,"error":"Request body too large: the limit is 65536 bytes"}"#))
        }
    }

    @Test func aMalformedChunkSizeGetsA400NotA500() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let connection = try await RawConnection.connect(port: server.port)
            try await connection.send(
                "POST /v1/devices/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nname=x\r\n0\r\n\r\n"
            )
            let answer = try await connection.readToEnd()
            #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(answer)")
            #expect(answer.contains(#"{"ok":false,"error":"Malformed HTTP request"#))
        }
    }

    @Test func aRawFormBodyThatIsNotUTF8IsRefusedLikeItsPercentEncodedForm() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            for body in [Array("name=caf".utf8) + [0xE9], Array("name=caf%E9".utf8)] {
                let connection = try await RawConnection.connect(port: server.port)
                let head =
                    "POST /v1/devices/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n"
                    + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.count)\r\n\r\n"
                try await connection.send(bytes: Array(head.utf8) + body)
                let answer = try await connection.readToEnd()
                #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(answer)")
                #expect(answer.contains("Malformed form body"))
            }
        }
    }

    @Test func connectionsHalfOpenAtShutdownDoNotHoldItUp() async throws {
        let dataDirectory = TestServer.makeDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let connections = try await TestServer.with(dataDirectory: dataDirectory) { server in
            let silent = try await RawConnection.connect(port: server.port)
            let halfHeaders = try await RawConnection.connect(port: server.port)
            try await halfHeaders.send("GET /v1/devices/events HTTP/1.1\r\nHost: x\r\n")
            let closedInput = try await RawConnection.connect(port: server.port)
            try await closedInput.finishSending()
            // Make sure the server has accepted all three before it is told to stop.
            #expect(try await server.get("/healthz", token: nil).status == 200)
            return [silent, halfHeaders, closedInput]
        }
        // `with` returned: the graceful shutdown finished (the suite's time limit catches a hang),
        // and each connection was closed by the server.
        for connection in connections { #expect(try await connection.readToEnd() == "") }
    }
}
