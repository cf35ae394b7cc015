import AerosolStore
import Logging
import Synchronization

/// Lets a stream route give its stream to the connection instead of streaming in the
/// connection's task.
///
/// ``StreamingHTTP1Channel`` runs the first request of a connection with a handoff in its
/// ``CloudRequestContext``; ``EventStream/response(caller:context:)`` then subscribes, records the
/// stream here and returns the response head only. The channel writes that head and hands the
/// connection to an ``EventStreamHandler``. Without a handoff (a later request on a keep-alive
/// connection), the stream is served in the connection's task as before.
final class StreamHandoff: Sendable {
    /// A stream that a route accepted: subscribed, not yet written.
    struct Accepted: Sendable {
        let stream: EventStream
        let subscription: Subscription
        let logger: Logger
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
