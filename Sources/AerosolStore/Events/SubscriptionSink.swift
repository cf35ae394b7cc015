import NIOCore

/// The writer of a subscription that is pushed to instead of read with ``Subscription/next()``:
/// an open connection that writes frames on its own event loop, without a task waiting for them.
///
/// After ``Subscription/attach(_:)`` the bus still queues frames on the subscription, under the
/// same limits, and asks the sink to drain: at most one drain is outstanding at a time, and the
/// sink takes everything that is ready with ``Subscription/takeForSink(isWritable:)``. Drains of
/// many sinks on one event loop are handed to that loop together.
public protocol SubscriptionSink: AnyObject, Sendable {
    /// The event loop that ``drain()`` runs on.
    var eventLoop: any EventLoop { get }
    /// Takes what is ready from the subscription and writes it; called on ``eventLoop``.
    func drain()
}
