import AerosolModels
import Foundation
import Testing
import WireClient

/// Streams opened by a connection's first request are written by the connection's event loop
/// (pushed); a stream opened on a reused connection is written by its task. Both must put the
/// same bytes on the wire. These tests read the raw bytes, chunk framing included.
@Suite("Pushed event streams on the wire", .timeLimit(.minutes(1)))
struct PushedStreamTests {
    /// Replaces the `Date` header's value and `published_at` values with fixed strings.
    static func normalized(_ text: String) throws -> String {
        let date = try Regex(#"Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n"#)
        let published = try Regex(#""published_at":"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z""#)
        let requestID = try Regex(#"X-Request-ID: [0-9a-f]{1,32}\r\n"#)
        return text.replacing(date, with: "Date: D\r\n").replacing(published, with: #""published_at":"T""#)
            .replacing(requestID, with: "X-Request-ID: R\r\n")
    }

    /// Waits until the server reports `count` open streams.
    static func waitForStreams(_ server: TestServer, count: Int, timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let health = try JSONValue(try await server.request(.GET, "/healthz"))
            if health["streams"]?.intValue == Int64(count) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("the server never reported \(count) open streams")
    }

    @Test func pushedAndTaskServedStreamsWriteTheSameBytes() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let pushed = try await RawConnection.connect(port: server.port)
            try await pushed.send(RawConnection.get("/v1/devices/events", token: token))
            // The same stream as the second request of a keep-alive connection: served by its task.
            let reused = try await RawConnection.connect(port: server.port)
            try await reused.send(RawConnection.get("/healthz", token: nil))
            let health = try await reused.read(until: { $0.hasSuffix("}") })
            try await reused.send(RawConnection.get("/v1/devices/events", token: token))
            for connection in [pushed, reused] { try await connection.read(until: { $0.contains(":ok\n\n\r\n") }) }
            try await Self.waitForStreams(server, count: 2)

            try await server.publish("temperature", "25.34", token: token)
            try await server.publish("note", "line1\nline2 \"quoted\"", token: token)
            for connection in [pushed, reused] { try await connection.read(until: { $0.contains("id: 2\n\n\r\n") }) }
            await server.shutdown()
            let pushedBytes = try Self.normalized(try await pushed.readToEnd(timeout: .seconds(2)))
            let reusedBytes = try Self.normalized(
                String(try await reused.readToEnd(timeout: .seconds(2)).dropFirst(health.count))
            )

            let expected = """
                HTTP/1.1 200 OK\r
                Content-Type: text/event-stream\r
                Cache-Control: no-cache\r
                Connection: keep-alive\r
                X-Accel-Buffering: no\r
                Access-Control-Allow-Origin: *\r
                X-Request-ID: R\r
                Date: D\r
                transfer-encoding: chunked\r
                \r
                5\r
                :ok

                \r
                73\r
                event: temperature
                data: {"data":"25.34","ttl":60,"published_at":"T","coreid":"api"}
                id: 1

                \r
                7e\r
                event: note
                data: {"data":"line1\\nline2 \\"quoted\\"","ttl":60,"published_at":"T","coreid":"api"}
                id: 2

                \r
                11\r
                :closed shutdown
                \r
                0\r
                \r

                """
            #expect(pushedBytes == expected)
            #expect(reusedBytes == expected)
        }
    }

    @Test func aClientThatGoesAwayIsNoticed() async throws {
        try await TestServer.with(configure: { $0.keepaliveAfter = .seconds(1) }) { server in
            let token = try await server.user("ada@example.com")
            let stream = try await RawConnection.connect(port: server.port)
            try await stream.send(RawConnection.get("/v1/events", token: token))
            try await stream.read(until: { $0.contains(":ok\n\n\r\n") })
            try await Self.waitForStreams(server, count: 1)
            await stream.close()
            // Noticed at the latest when a keepalive write fails.
            try await Self.waitForStreams(server, count: 0, timeout: .seconds(8))
        }
    }

    @Test func aReaderThatStallsIsClosedWithTheReason() async throws {
        try await TestServer.with(configure: { $0.subscriberMaxEvents = 3 }) { server in
            let token = try await server.user("ada@example.com")
            let userID = try await server.userID(token: token)
            let stream = try await RawConnection.connect(port: server.port, receiveBuffer: 4096)
            try await stream.send(RawConnection.get("/v1/devices/events", token: token))
            try await stream.read(until: { $0.contains(":ok\n\n\r\n") })
            try await Self.waitForStreams(server, count: 1)
            try await stream.pauseReading()
            let data = String(repeating: "x", count: 16_000)
            for index in 1...250 {
                try await server.publishFromDevice(
                    "bulk\(index)",
                    data,
                    device: "0123456789abcdef01234567",
                    owner: userID
                )
            }
            // The socket is full, the queue overflows and the stream ends; nothing is left open.
            try await Self.waitForStreams(server, count: 0)
            try await stream.resumeReading()
            let text = try await stream.readToEnd(timeout: .seconds(20))
            #expect(text.hasSuffix("\r\n:closed overflow\n\r\n0\r\n\r\n"))
            #expect(!text.contains("event: bulk250\n"))
        }
    }

    @Test func aStreamOpenedDuringReplayEndsOnShutdown() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            for index in 1...5 { try await server.publish("e", "\(index)", token: token) }
            let stream = try await RawConnection.connect(port: server.port)
            try await stream.send(
                "GET /v1/devices/events?last_event_id=2 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n"
            )
            try await stream.read(until: { $0.contains("id: 5\n\n\r\n") })
            try await server.publish("e", "6", token: token)
            try await stream.read(until: { $0.contains("id: 6\n\n\r\n") })
            await server.shutdown()
            let text = try await stream.readToEnd(timeout: .seconds(2))
            #expect(text.hasSuffix("\r\n:closed shutdown\n\r\n0\r\n\r\n"))
            let ids = text.split(separator: "\n").filter { $0.hasPrefix("id: ") }
            #expect(ids == ["id: 3", "id: 4", "id: 5", "id: 6"])
        }
    }

    @Test func errorsOnAFirstRequestAreAnsweredAndTheConnectionKeptAlive() async throws {
        try await TestServer.with { server in
            let connection = try await RawConnection.connect(port: server.port)
            try await connection.send(RawConnection.get("/v1/devices/events", token: "0000"))
            try await connection.read(until: { $0.contains("\r\n\r\n{") && $0.hasSuffix("}") })
            #expect(connection.text.hasPrefix("HTTP/1.1 401 Unauthorized\r\n"))
            #expect(connection.text.contains("\r\nDate: "))
            let first = connection.text.count
            try await connection.send(RawConnection.get("/healthz", token: nil))
            try await connection.read(until: { $0.count > first && $0.hasSuffix("}") })
            #expect(String(connection.text.dropFirst(first)).hasPrefix("HTTP/1.1 200 OK\r\n"))
            await connection.close()
        }
    }
}
