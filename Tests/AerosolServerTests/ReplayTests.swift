import AerosolModels
import Foundation
import Testing
import WireClient

@Suite("Last-Event-ID replay", .timeLimit(.minutes(1)))
struct ReplayTests {
    static func ids(_ frames: [String]) -> [Int] {
        frames.compactMap { frame in
            frame.split(separator: "\n").first { $0.hasPrefix("id: ") }.flatMap { Int($0.dropFirst(4)) }
        }
    }

    @Test func reconnectingWithLastEventIDMissesNothingAndRepeatsNothing() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let first = try await EventStreamReader.open(server, "/v1/devices/events/t", token: token)
            try await first.read(until: { $0 == ":ok\n\n" })
            for index in 1...3 { try await server.publish("t\(index)", "\(index)", token: token) }
            let seen = try await first.readEvents(3)
            #expect(Self.ids(seen) == [1, 2, 3])
            await first.close()

            // Events published while disconnected, some not matching the prefix.
            for index in 4...6 { try await server.publish("t\(index)", "\(index)", token: token) }
            try await server.publish("other", "x", token: token)
            try await server.publish("t8", "8", token: token)

            let resumed = try await EventStreamReader.open(
                server,
                "/v1/devices/events/t",
                token: token,
                headers: [("Last-Event-ID", "3")]
            )
            let replayed = try await resumed.readEvents(4)
            #expect(Self.ids(replayed) == [4, 5, 6, 8])
            try await server.publish("t9", "9", token: token)
            let all = try await resumed.readEvents(5)
            #expect(Self.ids(all) == [4, 5, 6, 8, 9])
            #expect(resumed.text.hasPrefix(":ok\n\nevent: t4\n"))
            await resumed.close()

            let byQuery = try await EventStreamReader.open(
                server,
                "/v1/devices/events/t?last_event_id=8",
                token: token
            )
            #expect(Self.ids(try await byQuery.readEvents(1)) == [9])
            await byQuery.close()
        }
    }

    @Test func replayWhilePublishingHasNoGapOrDuplicate() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            for index in 1...400 { try await server.publish("e", "\(index)", token: token) }
            let publisher = Task {
                for index in 401...600 { try await server.publish("e", "\(index)", token: token) }
            }
            let stream = try await EventStreamReader.open(
                server,
                "/v1/devices/events",
                token: token,
                headers: [("Last-Event-ID", "0")]
            )
            try await publisher.value
            let frames = try await stream.readEvents(600, timeout: .seconds(30))
            #expect(Self.ids(frames) == Array(1...600))
            await stream.close()
        }
    }

    @Test func aBadLastEventIDIsRefused() async throws {
        try await TestServer.with { server in
            let token = try await server.user("ada@example.com")
            let response = try await server.request(
                .GET,
                "/v1/devices/events",
                headers: [("Authorization", "Bearer \(token)"), ("Last-Event-ID", "abc")]
            )
            #expect(response.status == 400)
            #expect(
                response.text
                    == #"{"ok":false,"error":"Last-Event-ID must be a non-negative integer: the id of the last event received"}"#
            )
        }
    }

    @Test func acknowledgedEventsSurviveARestart() async throws {
        let directory = TestServer.makeDataDirectory()
        let token = try await TestServer.with(dataDirectory: directory) { server in
            try await server.createUser("ada@example.com")
            let token = try await server.login("ada@example.com", expiresIn: 0)
            for index in 1...5 { try await server.publish("kept", "\(index)", token: token) }
            return token
        }
        try await TestServer.with(dataDirectory: directory) { server in
            let stream = try await EventStreamReader.open(
                server,
                "/v1/devices/events",
                token: token,
                headers: [("Last-Event-ID", "0")]
            )
            let frames = try await stream.readEvents(5)
            #expect(Self.ids(frames) == [1, 2, 3, 4, 5])
            #expect(frames.map { $0.contains(#""data":"\#(Self.ids([$0])[0])""#) } == Array(repeating: true, count: 5))
            try await server.publish("new", "6", token: token)
            #expect(Self.ids(try await stream.readEvents(6)) == [1, 2, 3, 4, 5, 6])
            await stream.close()
        }
    }
}
