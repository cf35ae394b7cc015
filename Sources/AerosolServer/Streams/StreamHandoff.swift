import Synchronization

/// Lets a stream route give its stream to the connection: ``StreamingHTTP1Channel`` runs the
/// first request of a connection with a handoff in its ``CloudRequestContext``;
/// ``EventStream/response(caller:context:)`` records the stream here and returns the response
/// head only. The channel then writes that head, removes the HTTP handlers and leaves the
/// connection to an ``EventStreamHandler`` (pushed mode): no task stays behind for the stream.
final class StreamHandoff: Sendable {
    /// A stream that a route accepted, not yet attached.
    struct Accepted: Sendable {
        let stream: EventStream
        let opener: EventStream.Opener
    }

    private let accepted = Mutex<Accepted?>(nil)

    /// Records the stream that the route accepted.
    func accept(_ stream: Accepted) {
        accepted.withLock { $0 = stream }
    }

    /// The accepted stream, once.
    func take() -> Accepted? {
        accepted.withLock { accepted in
            defer { accepted = nil }
            return accepted
        }
    }
}
