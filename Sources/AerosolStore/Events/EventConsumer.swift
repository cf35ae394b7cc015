import AerosolModels

/// Something inside the server that receives every committed event: the SSE streams, the
/// device gateway's subscriptions. The store knows events, not how they are delivered.
public protocol EventConsumer: AnyObject, Sendable {
    /// Committed events, in log order, in the batches they were committed in. Called by the
    /// event log's writer after the publishers have their acknowledgement: it must only queue
    /// the events (bounded) and return at once.
    func deliver(_ events: [Event])

    /// Events waiting in this consumer, not yet delivered; the log slows down while it is
    /// above ``EventBus/backlogLimit`` (see ``EventBus``).
    var backlog: Int { get }
}
