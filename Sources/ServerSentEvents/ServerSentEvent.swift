/// One event of a `text/event-stream`, as the HTML Living Standard defines it.
///
/// `event` is `nil` when the stream named no type (the standard's default `message`).
public struct ServerSentEvent: Sendable, Hashable {
    /// The `event:` field: the event's type, or `nil` when none was sent.
    public var event: String?
    /// The `data:` lines joined by `\n`.
    public var data: String
    /// The last event id in force when this event was dispatched (`id:` persists across events).
    public var id: String?
    /// A `retry:` value (milliseconds) seen in this event's block, if any.
    public var retry: Int?

    /// Creates an event.
    public init(event: String? = nil, data: String, id: String? = nil, retry: Int? = nil) {
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry
    }
}
