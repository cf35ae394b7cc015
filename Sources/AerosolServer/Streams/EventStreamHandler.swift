import AerosolModels
import Foundation
import Logging
import NIOCore

/// Writes one event stream, on its connection's event loop: the one path every stream takes.
///
/// Its event loop's ``LoopStreams`` offers it each committed event of its scope, as a chunk
/// encoded once for every stream (``EncodedEvent``): the handler writes the shared buffer and the
/// loop flushes it, once per batch. Nothing here allocates per event: no promise, no copy, no
/// closure.
///
/// Two modes, one set of bytes on the wire (HTTP/1.1 chunks, as NIO's encoder frames them):
/// - **pushed**: a connection's first request opened the stream; ``StreamingHTTP1Channel`` wrote
///   the response head, removed the HTTP handlers and left the connection to this handler,
///   which writes the last chunk and closes the connection when the stream ends.
/// - **response**: a later request on a keep-alive connection opened it; Hummingbird wrote the
///   head and `:ok` and waits for `ended`; this handler sits first in the pipeline (socket
///   side) and writes its chunks past the HTTP handlers; when the stream ends it completes
///   `ended` and leaves, and Hummingbird writes the last chunk.
///
/// Back-pressure: while the connection is not writable, or while the `Last-Event-ID` replay
/// is being written, events wait here, at most ``StreamLimits/maxQueuedEvents`` of them and
/// ``StreamLimits/maxQueuedBytes``; beyond that the stream ends as too slow (`:closed
/// overflow`) and the client resumes from the log with `Last-Event-ID`.
final class EventStreamHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Mode {
        case pushed
        case response(ended: EventLoopPromise<Void>)
    }

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
    static let keepalive = EncodedEvent.chunk(EventFrame.keepalive)

    let filter: EventFilter
    let productFormat: Bool
    /// The SHA-256 of the token that opened the stream (to end it on revocation).
    let tokenHash: String?
    /// When that token expires.
    let expiresAt: Date?
    private let limits: StreamLimits
    private let logger: Logger
    private let mode: Mode
    private var phase: Phase
    private var context: ChannelHandlerContext?
    /// The loop's registry, once registered.
    private var streams: LoopStreams?
    /// Its place in its loop's index (kept by ``LoopStreams``).
    var slot = -1
    /// Written since the last flush.
    private(set) var needsFlush = false
    /// Events held back (replay running, or the connection not writable), in log order.
    private var held = CircularBuffer<(id: Int64, chunk: ByteBuffer)>()
    private var heldBytes = 0
    private var skipThrough: Int64 = 0
    /// When it last wrote (on its event loop's clock, which tests move with `advanceTime`).
    private(set) var lastOutput = NIODeadline.uptimeNanoseconds(0)
    private var closeTimer: Scheduled<Void>?

    /// A handler for a stream with `filter`; `replaying` when a `Last-Event-ID` replay will be
    /// written first (events wait until ``goLive(after:)``).
    init(
        filter: EventFilter,
        tokenHash: String?,
        expiresAt: Date?,
        limits: StreamLimits,
        mode: Mode,
        replaying: Bool,
        logger: Logger
    ) {
        self.filter = filter
        self.productFormat = filter.usesProductFormat
        self.tokenHash = tokenHash
        self.expiresAt = expiresAt
        self.limits = limits
        self.mode = mode
        self.phase = replaying ? .replaying : .live
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        lastOutput = context.eventLoop.now
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finishUp()
        self.context = nil
    }

    /// Joins `streams` (its loop's registry); in pushed mode, writes the opening `:ok` and
    /// starts reading, so that a closed connection is noticed.
    func start(in streams: LoopStreams) {
        self.streams = streams
        streams.register(self)
        guard let context else { return }
        if case .pushed = mode {
            context.writeAndFlush(wrapOutboundOut(EncodedEvent.chunk(EventFrame.opening)), promise: nil)
            context.read()
        }
    }

    // MARK: Delivery (called by LoopStreams, on the event loop)

    /// Takes one event of its scope (prefix already matched); returns `true` when this write is
    /// the first since the last flush (the loop then flushes it).
    func offer(id: Int64, chunk: ByteBuffer) -> Bool {
        switch phase {
        case .closing, .closed:
            return false
        case .replaying:
            hold(id: id, chunk: chunk)
            return false
        case .live:
            guard id > skipThrough else { return false }
            guard held.isEmpty, let context, context.channel.isWritable else {
                hold(id: id, chunk: chunk)
                return false
            }
            context.write(wrapOutboundOut(chunk), promise: nil)
            defer { needsFlush = true }
            return !needsFlush
        }
    }

    /// Flushes what ``offer(id:chunk:)`` wrote.
    func flush(at now: NIODeadline) {
        guard needsFlush else { return }
        needsFlush = false
        lastOutput = now
        context?.flush()
    }

    /// The once-a-second check: ends the stream if its token expired, writes a keepalive after
    /// ``StreamLimits/keepaliveAfter`` of silence.
    func tick(now: NIODeadline, date: Date) {
        if let expiresAt, expiresAt <= date {
            end(.expired)
            return
        }
        guard phase == .live, held.isEmpty, now - lastOutput >= limits.keepaliveAfter, let context else { return }
        context.writeAndFlush(wrapOutboundOut(Self.keepalive), promise: nil)
        lastOutput = now
    }

    private func hold(id: Int64, chunk: ByteBuffer) {
        held.append((id, chunk))
        heldBytes += chunk.readableBytes
        if held.count > limits.maxQueuedEvents || heldBytes > limits.maxQueuedBytes {
            end(.overflow)
        }
    }

    /// Writes what was held back, once the connection can take it.
    private func writeHeld() {
        guard phase == .live, let context, !held.isEmpty else { return }
        var wrote = false
        while let first = held.first, context.channel.isWritable {
            held.removeFirst()
            heldBytes -= first.chunk.readableBytes
            guard first.id > skipThrough else { continue }
            context.write(wrapOutboundOut(first.chunk), promise: nil)
            wrote = true
        }
        if wrote {
            lastOutput = context.eventLoop.now
            context.flush()
        }
    }

    // MARK: Replay (called through the loop by the task that reads the log)

    /// Writes one page of the `Last-Event-ID` replay (raw frames) and completes `promise` once
    /// it is written; fails it once the stream is closing.
    func writeReplay(_ page: ByteBuffer, promise: EventLoopPromise<Void>) {
        guard phase == .replaying, let context else {
            promise.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.writeAndFlush(wrapOutboundOut(EncodedEvent.chunk(page)), promise: promise)
        lastOutput = context.eventLoop.now
    }

    /// Ends the replay: events held meanwhile follow, skipping those at or below `skipThrough`
    /// (the replay covered them).
    func goLive(after skipThrough: Int64) {
        guard phase == .replaying else { return }
        self.skipThrough = skipThrough
        phase = .live
        writeHeld()
    }

    /// Whether the stream has ended (or is ending).
    var hasEnded: Bool { phase == .closing || phase == .closed }

    // MARK: Ending

    /// Ends the stream: writes `:closed <reason>` (unless the client went away) and lets go of
    /// the connection: closes it (pushed) or hands it back to Hummingbird (response).
    func end(_ reason: StreamEndReason) {
        guard phase == .replaying || phase == .live else { return }
        phase = .closing
        streams?.metrics.ended(reason)
        streams?.unregister(self)
        held.removeAll()
        heldBytes = 0
        if reason == .overflow {
            logger.info(
                "closing event stream: the client reads too slowly; it may resume with Last-Event-ID",
                metadata: ["stream.scope": "\(filter.scope)", "stream.limit": "\(limits.maxQueuedEvents) events"]
            )
        }
        guard let context else {
            finishUp()
            return
        }
        guard reason != .cancelled else {
            finishUp()
            if case .pushed = mode { context.close(promise: nil) }
            return
        }
        let closing = EncodedEvent.chunk(EventFrame.closing(reason.rawValue))
        switch mode {
        case .pushed:
            context.write(wrapOutboundOut(closing), promise: nil)
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(EncodedEvent.lastChunk), promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            let grace = reason == .shutdown ? Self.shutdownGrace : Self.closeGrace
            closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: grace) { context.close(promise: nil) }
        case .response:
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(closing), promise: written)
            written.futureResult.assumeIsolated().whenComplete { [self] _ in
                finishUp()
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            }
        }
    }

    /// Lets go of everything once the stream is over.
    private func finishUp() {
        guard phase != .closed else { return }
        phase = .closed
        streams?.unregister(self)
        streams = nil
        closeTimer?.cancel()
        closeTimer = nil
        held.removeAll()
        if case .response(let ended) = mode { ended.succeed() }
    }

    // MARK: Channel events

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch mode {
        case .pushed:
            // The request was read; anything after it is dropped.
            break
        case .response:
            // Hummingbird's connection is above: what the client sends is its business.
            context.fireChannelRead(data)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { writeHeld() }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        end(.cancelled)
        finishUp()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is ChannelShouldQuiesceEvent:
            // The server is shutting down: write `:closed shutdown` and close. In response mode
            // Hummingbird's handlers hear it first (so that they close the connection after this
            // response): ending may remove this handler, and then the event would go no further.
            if case .response = mode { context.fireUserInboundEventTriggered(event) }
            end(.shutdown)
        case ChannelEvent.inputClosed:
            // The client shut its side; it may still read.
            if case .response = mode { context.fireUserInboundEventTriggered(event) }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("event stream connection failed", metadata: ["error": "\(error)"])
        end(.cancelled)
        context.close(promise: nil)
    }
}
