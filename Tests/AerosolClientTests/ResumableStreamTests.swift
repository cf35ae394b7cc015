import AerosolClient
import AerosolModels
import AerosolServer
import AerosolTesting
import Foundation
import Synchronization
import Testing

/// Collects a stream's updates for assertions from another task.
final class Collector: Sendable {
    private let updates = Mutex<[StreamUpdate]>([])

    func append(_ update: StreamUpdate) {
        updates.withLock { $0.append(update) }
    }

    var events: [CloudEvent] {
        updates.withLock { $0.compactMap { if case .event(let event) = $0 { event } else { nil } } }
    }

    var reconnects: Int {
        updates.withLock { $0.filter { if case .reconnecting = $0 { true } else { false } }.count }
    }

    /// Waits (polling) until `condition` holds, for at most `timeout`.
    func wait(_ what: String, timeout: Duration = .seconds(20), until condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

@Suite("Resumable streams", .timeLimit(.minutes(2)))
struct ResumableStreamTests {
    @Test func aStreamSurvivesAServerRestartWithoutLossOrRepeat() async throws {
        let directory = TestServer.makeDataDirectory()
        let port = try await TestServer.freePort()
        let token = try await TestServer.with(dataDirectory: directory, configure: { $0.port = port }) { server in
            try await server.createUser("ada@example.com")
            return try await server.login("ada@example.com", expiresIn: 0)
        }
        var options = StreamOptions()
        options.initialBackoff = .milliseconds(200)
        options.maxBackoff = .seconds(1)
        let client = AerosolClient(baseURL: "http://127.0.0.1:\(port)", token: token)
        let collector = Collector()
        let consumer = Task {
            for try await update in client.events(StreamScope.mine, options: options) { collector.append(update) }
        }
        defer { consumer.cancel() }

        try await TestServer.with(dataDirectory: directory, configure: { $0.port = port }) { server in
            try await ClientLiveTests.waitForStreams(server, count: 1)
            for index in 1...5 { try await server.publish("e\(index)", "\(index)", token: token) }
            try await collector.wait("the first five events") { collector.events.count == 5 }
        }
        // The server is down; the stream keeps trying. It comes back with the same data.
        try await TestServer.with(dataDirectory: directory, configure: { $0.port = port }) { server in
            // Published while the client is still reconnecting: replayed by Last-Event-ID.
            for index in 6...10 { try await server.publish("e\(index)", "\(index)", token: token) }
            try await ClientLiveTests.waitForStreams(server, count: 1)
            for index in 11...15 { try await server.publish("e\(index)", "\(index)", token: token) }
            try await collector.wait("all fifteen events") { collector.events.count >= 15 }
        }
        #expect(collector.events.map(\.name) == (1...15).map { "e\($0)" })
        #expect(collector.events.map(\.id) == (1...15).map { String($0) })
        #expect(collector.reconnects >= 1)
    }

    @Test func aSilentServerIsDetectedAndReconnectedWithinTwentySeconds() async throws {
        let silent = try await SilentStreamServer.start()
        let client = AerosolClient(baseURL: "http://127.0.0.1:\(silent.port)", token: "t")
        let collector = Collector()
        let start = ContinuousClock.now
        let consumer = Task {
            for try await update in client.events(StreamScope.mine) { collector.append(update) }
        }
        try await collector.wait("a reconnect", timeout: .seconds(25)) { collector.reconnects >= 1 }
        try await collector.wait("a second connection", timeout: .seconds(10)) { silent.connections >= 2 }
        #expect(ContinuousClock.now - start < .seconds(20))
        consumer.cancel()
        await silent.stop()
    }
}
