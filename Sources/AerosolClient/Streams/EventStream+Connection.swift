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

    /// One connection: connects, hands events to the consumer one at a time until the body
    /// ends, fails, or goes silent. Bytes are read only while no event waits for the consumer.
    func connectOnce(
        cursor: StreamCursor,
        backoff: inout ReconnectBackoff,
        handOff: HandOff<StreamUpdate>
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
        cursor.markConnected()
        // The consumer is gone: end like a cancellation, without another attempt.
        guard await handOff.send(.connected(resumingAfter: resumeAfter)) else { throw CancellationError() }

        cursor.touch()
        let idle = options.idleTimeout
        let idleNanoseconds =
            UInt64(idle.components.seconds) * 1_000_000_000
            + UInt64(idle.components.attoseconds / 1_000_000_000)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var parser = ServerSentEventParser()
                // AsyncHTTPClient's body sequence reads from the socket only on demand, so
                // while this loop waits for the consumer nothing more is read.
                for try await chunk in response.body {
                    cursor.touch()
                    var parsed: [(id: String?, event: CloudEvent)] = []
                    parser.parse(chunk.readableBytesView) { event in
                        guard let cloudEvent = CloudEvent(event) else { return }
                        parsed.append((event.id, cloudEvent))
                    }
                    for (id, event) in parsed {
                        // Never hand out an event twice, even if a server replays too much.
                        if let id, !cursor.isNew(id) { continue }
                        cursor.setHandingOver(true)
                        let taken = await handOff.send(.event(event))
                        cursor.setHandingOver(false)
                        guard taken else { throw CancellationError() }
                        // Only now is the event the consumer's: a reconnect resumes after it.
                        if let id { cursor.delivered(id) }
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

extension EventStream {
    /// Aerosol's log position (`last_event_id` of `GET /healthz`), asked for before a stream
    /// without a start id first connects. That connection starts at the live end; should it
    /// be lost before the consumer has had an event, the reconnect resumes after this position
    /// so that nothing published in between is skipped (at worst a few events from just
    /// before the first connection are delivered too). `nil` from a server that has no such
    /// endpoint (Particle's), or that takes longer than ``probeTimeout`` to say: the reconnect
    /// then starts at the live end again.
    func logPosition() async -> String? {
        await withTaskGroup(of: String?.self) { group in
            group.addTask { await self.askLogPosition() }
            group.addTask {
                try? await Task.sleep(for: Self.probeTimeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// How long the log position may take (it delays the first connection).
    static let probeTimeout: Duration = .seconds(5)

    private func askLogPosition() async -> String? {
        var request = HTTPClientRequest(url: client.baseURL + "/healthz")
        // A one-off probe: its connection is not kept, so the stream opens one of its own (on
        // Aerosol, the first request of a connection gets the dedicated stream writer, which
        // closes a stream that stops reading instead of waiting on it).
        request.headers.add(name: "Connection", value: "close")
        guard
            let response = try? await client.httpClient.execute(request, deadline: .now() + .init(Self.probeTimeout)),
            response.status == .ok,
            response.headers.first(name: "Content-Type")?.hasPrefix("application/json") == true,
            let bytes = try? await response.body.collect(upTo: 4096),
            let id = (try? JSONValue.parse(bytes.readableBytesView))?["last_event_id"]?.intValue
        else { return nil }
        return String(id)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
