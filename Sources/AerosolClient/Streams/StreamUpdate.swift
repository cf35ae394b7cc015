/// What an event stream yields: events, and the changes of its connection, so that a reconnect
/// is never silent.
public enum StreamUpdate: Sendable, Equatable {
    /// The stream is connected (again); `resumingAfter` is the `Last-Event-ID` it sent.
    case connected(resumingAfter: String?)
    /// An event.
    case event(CloudEvent)
    /// The connection was lost (`reason`); the stream reconnects after `retryIn`.
    case reconnecting(reason: String, attempt: Int, retryIn: Duration)
}
