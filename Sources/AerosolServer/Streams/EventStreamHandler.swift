import AerosolStore
import Logging
import NIOCore

/// Writes one event stream on a connection that no task serves any more: the last handler of
/// the connection's pipeline once ``StreamingHTTP1Channel`` has written the response head and
/// removed the HTTP handlers.
///
/// The bus queues frames on the ``Subscription`` and asks this handler (through its
/// ``EventStreamSink``) to drain; it writes what is ready as one HTTP/1.1 chunk, the bytes the
/// task-served stream writes. While the channel is not writable it writes nothing and the
/// frames stay queued under the subscription's limits, whose overflow ends the stream as before.
///
/// Phases: `replaying` (the `Last-Event-ID` replay is written by the connection's task through
/// ``writeReplay(_:)``; live frames wait in the queue), `live` (after ``goLive(after:)``: frames
/// at or below the last replayed id are skipped), `closing` (the closing comment and the last
/// chunk are on their way; the connection closes when they are written or after a grace
/// period) and `closed`.
///
/// A client that goes away is noticed when the connection closes or a write fails. Bytes the
/// client sends after its request are read and dropped.
final class EventStreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case replaying
        case live
        case closing
        case closed
    }

    /// How long a closing stream waits for its last bytes to be written before it closes anyway:
    /// short on shutdown, which must finish in 2 s; longer otherwise, so that a slow reader that
    /// overflowed still reads why.
    static let shutdownGrace = TimeAmount.seconds(1)
    static let closeGrace = TimeAmount.seconds(10)

    private static let crlf = ByteBuffer(string: "\r\n")
    private static let lastChunk = ByteBuffer(string: "0\r\n\r\n")

    private let subscription: Subscription
    private let bus: EventBus
    private let logger: Logger
    private var phase = Phase.replaying
    private var skipThrough: Int64 = 0
    private var context: ChannelHandlerContext?
    private var closeTimer: Scheduled<Void>?

    init(subscription: Subscription, bus: EventBus, logger: Logger) {
        self.subscription = subscription
        self.bus = bus
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        close()
        self.context = nil
    }

    /// Writes the opening `:ok` and starts reading, so that a closed connection is noticed.
    func start() {
        guard let context else { return }
        writeChunk(EventFrame.opening, context: context, promise: nil)
        context.flush()
        context.read()
    }

    /// Writes one page of the replay and completes `promise` once it is written; fails it once
    /// the stream is closing.
    func writeReplay(_ page: ByteBuffer, promise: EventLoopPromise<Void>) {
        guard phase == .replaying, let context else {
            promise.fail(ChannelError.ioOnClosedChannel)
            return
        }
        writeChunk(page, context: context, promise: promise)
        context.flush()
    }

    /// Ends the replay: from now on live frames are written, skipping those at or below
    /// `skipThrough` (the replay covered them).
    func goLive(after skipThrough: Int64) {
        guard phase == .replaying else { return }
        self.skipThrough = skipThrough
        phase = .live
        drain()
    }

    /// Writes what the subscription has ready (called on the event loop by the sink).
    func drain() {
        guard let context, phase == .replaying || phase == .live else { return }
        let writable = phase == .live && context.channel.isWritable
        guard let batch = subscription.takeForSink(isWritable: writable) else { return }
        switch batch {
        case .events(let items):
            writeEvents(items, context: context)
            context.flush()
        case .keepalive:
            writeChunk(EventFrame.keepalive, context: context, promise: nil)
            context.flush()
        case .end(let reason):
            finish(reason, context: context)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The request was read; anything after it is dropped.
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { drain() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        close()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            // The server is shutting down: the drain that this asks for writes `:closed shutdown`.
            subscription.end(.shutdown)
        case ChannelEvent.inputClosed:
            // The client shut its side; it may still read, as with the task-served streams.
            break
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("event stream connection failed", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    private func finish(_ reason: Subscription.EndReason, context: ChannelHandlerContext) {
        phase = .closing
        bus.unsubscribe(subscription)
        subscription.detach()
        if reason == .overflow {
            logger.info(
                "closing event stream: the client reads too slowly; it may resume with Last-Event-ID",
                metadata: [
                    "stream.scope": "\(subscription.filter.scope)",
                    "stream.limit": "\(subscription.maxEvents) events",
                ]
            )
        }
        guard reason != .cancelled else {
            context.close(promise: nil)
            return
        }
        writeChunk(EventFrame.closing(reason.rawValue), context: context, promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(Self.lastChunk), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        let grace = reason == .shutdown ? Self.shutdownGrace : Self.closeGrace
        closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: grace) { context.close(promise: nil) }
    }

    /// Lets go of the subscription once the connection is gone.
    private func close() {
        guard phase != .closed else { return }
        phase = .closed
        closeTimer?.cancel()
        closeTimer = nil
        bus.unsubscribe(subscription)
        subscription.detach()
    }

    /// Writes a batch of frames as one chunk, skipping those already replayed.
    private func writeEvents(_ items: [(id: Int64, frame: ByteBuffer)], context: ChannelHandlerContext) {
        if items.count == 1 {
            if items[0].id > skipThrough { writeChunk(items[0].frame, context: context, promise: nil) }
            return
        }
        var buffer = context.channel.allocator.buffer(
            capacity: items.reduce(0) { $0 + $1.frame.readableBytes }
        )
        for item in items where item.id > skipThrough {
            var frame = item.frame
            buffer.writeBuffer(&frame)
        }
        if buffer.readableBytes > 0 { writeChunk(buffer, context: context, promise: nil) }
    }

    /// Writes `payload` as one chunk of the chunked body (as NIO's HTTP encoder frames it:
    /// size in lower-case hex, CRLF, the bytes, CRLF), without copying the payload.
    private func writeChunk(_ payload: ByteBuffer, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        var size = context.channel.allocator.buffer(capacity: 18)
        size.writeString(String(payload.readableBytes, radix: 16))
        size.writeStaticString("\r\n")
        context.write(wrapOutboundOut(size), promise: nil)
        context.write(wrapOutboundOut(payload), promise: nil)
        context.write(wrapOutboundOut(Self.crlf), promise: promise)
    }
}
