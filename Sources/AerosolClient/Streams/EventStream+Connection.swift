import AerosolModels
import AsyncHTTPClient
import Foundation
import NIOCore
import ServerSentEvents

extension EventStream {
    /// Why a connection was given up.
    struct IdleTimeout: Error, CustomStringConvertible {
        let seconds: Double
        var description: String { "no data for \(seconds) s: the connection is taken for dead" }
    }

    /// One connection: connects, yields events until the body ends, fails, or goes silent.
    func connectOnce(
        cursor: StreamCursor,
        backoff: inout ReconnectBackoff,
        continuation: AsyncThrowingStream<StreamUpdate, any Error>.Continuation
    ) async throws {
        var request = HTTPClientRequest(url: client.baseURL + path)
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let token = client.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let resumeAfter = cursor.lastEventID
        if let resumeAfter { request.headers.add(name: "Last-Event-ID", value: resumeAfter) }

        let response = try await client.httpClient.execute(request, deadline: .now() + .init(options.connectTimeout))
        guard response.status == .ok else {
            let bytes = (try? await response.body.collect(upTo: 64 * 1024)) ?? ByteBuffer()
            let json = try? JSONValue.parse(bytes.readableBytesView)
            throw AerosolClient.error(status: Int(response.status.code), json: json, text: String(buffer: bytes))
        }
        backoff.reset()
        continuation.yield(.connected(resumingAfter: resumeAfter))

        cursor.touch()
        let idle = options.idleTimeout
        let idleNanoseconds =
            UInt64(idle.components.seconds) * 1_000_000_000
            + UInt64(idle.components.attoseconds / 1_000_000_000)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var parser = ServerSentEventParser()
                for try await chunk in response.body {
                    cursor.touch()
                    parser.parse(chunk.readableBytesView) { event in
                        guard let cloudEvent = CloudEvent(event) else { return }
                        // Never hand out an event twice, even if a server replays too much.
                        if let id = event.id, !cursor.advance(to: id) { return }
                        continuation.yield(.event(cloudEvent))
                    }
                    // A line or event over the parser's bound: end this connection rather than
                    // hold an unbounded amount of memory (the stream reconnects and resumes).
                    if parser.overflowed {
                        throw ClientError.unexpected(
                            "the stream sent a line or event over \(parser.maximumEventSize) bytes",
                            status: nil
                        )
                    }
                }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: .milliseconds(250))
                    if cursor.silence > idleNanoseconds {
                        throw IdleTimeout(seconds: Double(idleNanoseconds) / 1e9)
                    }
                }
            }
            // Whichever ends first (the body, or the watchdog) ends the connection.
            try await group.next()
            group.cancelAll()
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
