import AerosolStore
import Hummingbird
import NIOCore

/// The thread-safe handle on an ``EventStreamHandler``: what the bus drains through, and what
/// the connection's task writes the `Last-Event-ID` replay through (as a response body writer,
/// so that the replay is the same code as for task-served streams).
final class EventStreamSink: SubscriptionSink, ResponseBodyWriter {
    let eventLoop: any EventLoop
    private let handler: NIOLoopBound<EventStreamHandler>

    /// A handle on `handler`, which lives on `eventLoop`.
    init(_ handler: EventStreamHandler, eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.handler = NIOLoopBound(handler, eventLoop: eventLoop)
    }

    func drain() {
        handler.value.drain()
    }

    /// Writes a page of the replay and waits until it is written (back-pressure on the replay).
    func write(_ buffer: ByteBuffer) async throws {
        let promise = eventLoop.makePromise(of: Void.self)
        eventLoop.execute { [handler] in handler.value.writeReplay(buffer, promise: promise) }
        try await promise.futureResult.get()
    }

    /// Ends the replay; live frames follow from the queue.
    func goLive(after skipThrough: Int64) {
        eventLoop.execute { [handler] in handler.value.goLive(after: skipThrough) }
    }

    /// Nothing: the stream's end is written by the handler when the subscription ends.
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
