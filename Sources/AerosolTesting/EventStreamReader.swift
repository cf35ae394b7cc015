import Foundation
import NIOCore
import NIOHTTP1
import WireClient

/// An open event stream read as raw text, for assertions on the exact bytes.
public final class EventStreamReader {
    public let connection: WireConnection
    public let head: HTTPResponseHead
    /// Every body byte received so far, as text.
    public private(set) var text = ""
    public private(set) var ended = false

    private init(connection: WireConnection, head: HTTPResponseHead) {
        self.connection = connection
        self.head = head
    }

    /// Opens `path` with a bearer token (or none) and extra headers; returns after the head.
    public static func open(
        _ server: TestServer,
        _ path: String,
        token: String?,
        headers: [(String, String)] = []
    ) async throws -> EventStreamReader {
        let connection = try await server.connect()
        var all = headers
        if let token { all.append(("Authorization", "Bearer \(token)")) }
        try await connection.send(.GET, path, headers: all)
        let head = try await connection.readHead()
        return EventStreamReader(connection: connection, head: head)
    }

    /// Reads until `condition` holds for the text so far, or fails after `timeout`.
    @discardableResult
    public func read(until condition: (String) -> Bool, timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while !condition(text) {
            guard !ended else { throw TestFailure("stream ended; received:\n\(text)") }
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out; received:\n\(text)") }
            let chunk = try await connection.readBody(timeout: Self.amount(ContinuousClock.now.duration(to: deadline)))
            if let chunk {
                text += String(buffer: chunk)
            } else {
                ended = true
            }
        }
        return text
    }

    /// Reads until `count` event frames (blocks with an `event:` line) have arrived.
    public func readEvents(_ count: Int, timeout: Duration = .seconds(10)) async throws -> [String] {
        try await read(until: { Self.frames(in: $0).count >= count }, timeout: timeout)
        return Self.frames(in: text)
    }

    /// Reads until the server ends the stream.
    public func readToEnd(timeout: Duration = .seconds(10)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !ended {
            guard ContinuousClock.now < deadline else { throw TestFailure("stream did not end; received:\n\(text)") }
            if let chunk = try await connection.readBody(
                timeout: Self.amount(ContinuousClock.now.duration(to: deadline))
            ) {
                text += String(buffer: chunk)
            } else {
                ended = true
            }
        }
    }

    /// The event frames (`event: …\ndata: …\nid: …`) in `text`.
    public static func frames(in text: String) -> [String] {
        text.components(separatedBy: "\n\n").filter { $0.contains("event: ") }.map { block in
            // Drop keepalive comment lines that precede a frame.
            block.split(separator: "\n", omittingEmptySubsequences: true).filter { !$0.hasPrefix(":") }
                .joined(separator: "\n")
        }
    }

    public static func amount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(max(1, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }

    public func close() async {
        await connection.close()
    }
}
