import AerosolClient
import AerosolModels
import AerosolServer
import AerosolTesting
import Foundation
import Testing

/// A consumer far slower than the server: it takes nothing while thousands of events are
/// published — more than the server keeps for a stream, more than the socket buffers hold, more
/// than the 10,000 events the SDK once buffered — and must still get every one, in order.
@Suite("Slow consumers lose nothing", .timeLimit(.minutes(3)))
struct SlowConsumerTests {
    /// More events than any buffer on the way holds.
    static let total = 15_000

    /// Appends `range` as the owner's events, straight into the log (faster than REST; the
    /// stream cannot tell the difference), `batch` at a time. `padding` makes each event big
    /// enough that together they fill the sockets' buffers.
    static func publish(
        _ range: ClosedRange<Int>,
        owner: String,
        padding: Int,
        batch: Int = 250,
        on server: TestServer
    ) async throws {
        let data = String(repeating: "x", count: padding)
        for start in stride(from: range.lowerBound, through: range.upperBound, by: batch) {
            let drafts = (start...min(start + batch - 1, range.upperBound)).map {
                EventDraft(name: "e\($0)", data: data, coreID: "api", userID: owner, productID: nil)
            }
            _ = try await server.log.append(drafts, source: .api)
        }
    }

    /// What a consumer saw: the events' names, and for each (re)connection the id it resumed
    /// after together with the id of the last event the consumer had received before.
    struct Seen: Sendable {
        var names: [String] = []
        var lastID: String?
        var resumes: [(sent: String?, lastReceived: String?)] = []
        var connections = 0

        mutating func record(_ update: StreamUpdate) {
            switch update {
            case .event(let event):
                names.append(event.name)
                lastID = event.id
            case .connected(let after):
                resumes.append((after, lastID))
                connections += 1
            case .reconnecting:
                break
            }
        }

        /// Whether every (re)connection resumed after the last event the consumer had received
        /// before it; one made before the first event resumes after where the stream started
        /// (`nil` the first time, then the log position then: 0, the log being empty in these
        /// tests).
        var resumedAfterTheLastEventReceived: Bool {
            resumes.enumerated().allSatisfy { index, resume in
                resume.sent == (resume.lastReceived ?? (index == 0 ? nil : "0"))
            }
        }

        /// `nil` if the names are `e1` … `e<count>` in order, else where they first differ
        /// (not the whole list: it is thousands long).
        func problem(expecting count: Int) -> String? {
            if let index = names.indices.first(where: { names[$0] != "e\($0 + 1)" }) {
                return "event \(index + 1) is \(names[index]); \(names.count) events in all"
            }
            return names.count == count ? nil : "\(names.count) events instead of \(count)"
        }
    }

    /// These consumers are closed as too slow and reconnect again and again by design: on a
    /// loaded machine more than the 100 stream opens per 5 minutes a client address may make,
    /// and a 429 for the rest of the window hung a run. The limits have tests of their own.
    static func unlimited(_ configuration: inout Configuration) {
        configuration.clientLimits = .off
    }

    static func options() -> StreamOptions {
        var options = StreamOptions()
        options.initialBackoff = .milliseconds(50)
        options.maxBackoff = .milliseconds(500)
        return options
    }

    @Test func aConsumerThatTakesNothingWhileManyArePublishedGetsEveryEventInOrder() async throws {
        try await TestServer.with(configure: Self.unlimited) { server in
            let token = try await server.user("ada@example.com")
            let owner = try await server.userID(token: token)
            let client = ClientLiveTests.client(server, token: token)
            var iterator = client.events(.mine, options: Self.options()).makeAsyncIterator()
            var seen = Seen()
            seen.record(try #require(try await iterator.next()))
            try await ClientLiveTests.waitForStreams(server, count: 1)
            try await Self.publish(1...1, owner: owner, padding: 1000, on: server)
            seen.record(try #require(try await iterator.next()))
            #expect(seen.names == ["e1"])

            // The consumer now takes nothing while the rest is published.
            try await Self.publish(2...Self.total, owner: owner, padding: 1000, on: server)
            // The SDK stopped reading while its consumer took nothing, so the server found the
            // stream too slow and closed it (an SDK that reads ahead keeps it open).
            try await ClientLiveTests.waitForStreams(server, count: 0)

            while seen.names.last != "e\(Self.total)", let update = try await iterator.next() {
                seen.record(update)
            }
            #expect(seen.problem(expecting: Self.total) == nil)
            // It reconnected (the server closed the slow stream) and resumed exactly after the
            // last event the consumer had, not after what the connection had read.
            #expect(seen.connections >= 2)
            #expect(seen.resumedAfterTheLastEventReceived, "\(seen.resumes)")
        }
    }

    @Test func aConsumerBehindAServerRestartResumesFromTheLastEventItGot() async throws {
        let directory = TestServer.makeDataDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try await TestServer.freePort()
        let (token, owner) = try await TestServer.with(
            dataDirectory: directory,
            configure: {
                Self.unlimited(&$0); $0.port = port
            }
        ) {
            server in
            try await server.createUser("ada@example.com")
            let token = try await server.login("ada@example.com", expiresIn: 0)
            return (token, try await server.userID(token: token))
        }
        let client = AerosolClient(baseURL: "http://127.0.0.1:\(port)", token: token)
        // More than the SDK once buffered go out before the restart, the rest after it.
        let beforeRestart = 12_000

        // The consumer takes the first event, then nothing until the first server is gone and
        // a second one runs; the events it had not taken by then must come from the new one.
        let (released, release) = AsyncStream.makeStream(of: Void.self)
        let consumer = try await TestServer.with(
            dataDirectory: directory,
            configure: {
                Self.unlimited(&$0); $0.port = port
            }
        ) { server in
            let consumer = Task {
                var iterator = client.events(.mine, options: Self.options()).makeAsyncIterator()
                var seen = Seen()
                while seen.names.isEmpty, let update = try await iterator.next() { seen.record(update) }
                for await _ in released { break }
                while seen.names.last != "e\(Self.total)", let update = try await iterator.next() {
                    seen.record(update)
                }
                return seen
            }
            try await ClientLiveTests.waitForStreams(server, count: 1)
            try await Self.publish(1...beforeRestart, owner: owner, padding: 200, on: server)
            return consumer
        }
        defer { consumer.cancel() }
        try await TestServer.with(
            dataDirectory: directory,
            configure: {
                Self.unlimited(&$0); $0.port = port
            }
        ) { server in
            release.yield()
            try await Self.publish((beforeRestart + 1)...Self.total, owner: owner, padding: 200, on: server)
            // The consumer is a task of its own: a time limit must end it too.
            let seen = try await withTaskCancellationHandler {
                try await consumer.value
            } onCancel: {
                consumer.cancel()
            }
            #expect(seen.problem(expecting: Self.total) == nil)
            #expect(seen.connections >= 2)
            #expect(seen.resumedAfterTheLastEventReceived, "\(seen.resumes)")
        }
    }

    @Test func aStreamCutOffBeforeItsFirstEventSkipsNothing() async throws {
        try await TestServer.with(configure: Self.unlimited) { server in
            let token = try await server.user("ada@example.com")
            let owner = try await server.userID(token: token)
            let client = ClientLiveTests.client(server, token: token)
            var iterator = client.events(.mine, options: Self.options()).makeAsyncIterator()
            var seen = Seen()
            seen.record(try #require(try await iterator.next()))
            try await ClientLiveTests.waitForStreams(server, count: 1)
            // One batch larger than a stream may have waiting (1 MB): the server closes the
            // stream before it has written a single event of it.
            try await Self.publish(1...1000, owner: owner, padding: 1100, batch: 1000, on: server)
            try await ClientLiveTests.waitForStreams(server, count: 0)

            // Once reconnected, one more event: it comes after all the others, or alone if the
            // reconnect started from the live end.
            while seen.names.last != "e1001", let update = try await iterator.next() {
                seen.record(update)
                if case .connected = update, seen.connections == 2 {
                    try await Self.publish(1001...1001, owner: owner, padding: 0, on: server)
                }
            }
            #expect(seen.problem(expecting: 1001) == nil)
        }
    }

    @Test func aConsumerThatLeavesWithEventsWaitingClosesTheConnection() async throws {
        try await TestServer.with(configure: {
            Self.unlimited(&$0); $0.keepaliveAfter = .seconds(1)
        }) { server in
            let token = try await server.user("ada@example.com")
            let owner = try await server.userID(token: token)
            let client = ClientLiveTests.client(server, token: token)
            let taken = Task {
                var names: [String] = []
                for try await event in client.events(.mine, options: Self.options()).events {
                    names.append(event.name)
                    if names.count == 3 { break }
                }
                return names
            }
            try await ClientLiveTests.waitForStreams(server, count: 1)
            try await Self.publish(1...100, owner: owner, padding: 10, on: server)
            #expect(try await taken.value == ["e1", "e2", "e3"])
            // The connection task was waiting to hand over e4: leaving the loop ends it, and
            // the server notices the closed connection at its next write.
            try await ClientLiveTests.waitForStreams(server, count: 0)
        }
    }
}
