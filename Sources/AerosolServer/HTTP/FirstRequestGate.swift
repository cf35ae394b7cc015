import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Holds the first request of a new connection until it is known who serves the connection: a
/// pushed event stream, or Hummingbird's connection loop.
///
/// It keeps what arrives (request parts, errors, events) in order until it knows whether the
/// first request has a body. A request that cannot open a stream (not a bodiless `GET` on a
/// stream path) goes to Hummingbird at once, from the event loop: the gate adds Hummingbird's
/// connection handlers and hands on all it held, as if it had never been there. A candidate
/// stay held (the gate stops reading) until the connection's task has asked the router. It answers the shutdown's quiesce event as Hummingbird's
/// connection handler does: an idle connection closes at once, one with a request in flight
/// remembers it (``quiesced``) for whoever serves the request.
final class FirstRequestGate: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// How the connection started.
    enum Opening: Sendable {
        /// A bodiless `GET` on a stream path, held by the gate.
        case stream(HTTPRequest)
        /// Anything else: Hummingbird's loop serves the connection through this channel.
        case hummingbird(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    }

    /// Where the connection's task finds the ``Opening``: taken once, so that the first request's
    /// head is not kept for the connection's lifetime by the value that the server holds.
    final class Outcome: Sendable {
        private let future: Mutex<EventLoopFuture<Opening?>?>

        init(_ future: EventLoopFuture<Opening?>) {
            self.future = Mutex(future)
        }

        /// How the connection started, or `nil` if it closed first (or this was asked before).
        func take() async -> Opening? {
            let future = self.future.withLock { future in
                defer { future = nil }
                return future
            }
            return try? await future?.get()
        }
    }

    private enum Held {
        case part(HTTPRequestPart)
        case error(any Error)
        case event(Any)
    }

    private let opening: EventLoopPromise<Opening?>
    private let idleTimeout: TimeAmount?
    /// Closes a connection whose first request is not complete within `idleTimeout` (one that
    /// never sends a byte, headers never finished, slowloris); Hummingbird's own timer takes
    /// over once the connection is handed to it.
    private var firstRequestTimer: Scheduled<Void>?
    private let logger: Logger
    private var head: HTTPRequest?
    private var decided = false
    private var held: [Held] = []
    private var readPending = false
    /// The server asked the connection to close after its current request.
    private(set) var quiesced = false

    /// A gate that completes `opening` with how the connection started, or `nil` if it closed
    /// first; `idleTimeout` and `logger` are for Hummingbird's connection handler.
    init(opening: EventLoopPromise<Opening?>, idleTimeout: TimeAmount?, logger: Logger) {
        self.opening = opening
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startTimer(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startTimer(context: context)
        context.fireChannelActive()
    }

    private func startTimer(context: ChannelHandlerContext) {
        guard let idleTimeout, firstRequestTimer == nil, !decided else { return }
        firstRequestTimer = context.eventLoop.assumeIsolated().scheduleTask(in: idleTimeout) { [self] in
            guard !self.decided else { return }
            self.logger.debug("closing a connection whose first request did not arrive in time")
            context.close(promise: nil)
        }
    }

    private func stopTimer() {
        firstRequestTimer?.cancel()
        firstRequestTimer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        held.append(.part(part))
        guard !decided else { return }
        switch part {
        case .head(let head):
            self.head = head
        case .body:
            decide(context: context, streamCandidate: nil)
        case .end:
            decide(context: context, streamCandidate: head)
        }
    }

    func read(context: ChannelHandlerContext) {
        if decided {
            readPending = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        held.append(.error(error))
        decide(context: context, streamCandidate: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            // Before a whole request has arrived there is nothing to answer: close at once, or
            // a connection that sent half a request (or nothing) would hold up the shutdown.
            if !decided {
                context.close(promise: nil)
            } else {
                quiesced = true
            }
            return
        }
        if case ChannelEvent.inputClosed = event, !decided {
            // The client closed its side before a whole request: nothing will ever be decided,
            // so close ours (holding the event would leave the socket in CLOSE-WAIT forever).
            context.close(promise: nil)
            return
        }
        held.append(.event(event))
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        if !decided {
            decided = true
            opening.succeed(nil)
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopTimer()
        if !decided {
            decided = true
            opening.succeed(nil)
        }
    }

    /// Hands on everything held (and the quiesce event, if one came), resumes reading and
    /// leaves the pipeline. Call on the event loop, once the handlers that take over are in place.
    func release(context: ChannelHandlerContext) {
        for item in held {
            switch item {
            case .part(let part): context.fireChannelRead(wrapInboundOut(part))
            case .error(let error): context.fireErrorCaught(error)
            case .event(let event): context.fireUserInboundEventTriggered(event)
            }
        }
        held = []
        // Handlers such as the async channel's hand reads on at the end of a read burst.
        context.fireChannelReadComplete()
        if quiesced { context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        if readPending { context.read() }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// Hands the connection to Hummingbird's loop: adds its connection state handler and the
    /// async channel that the loop reads, and releases what the gate held. Call on the event loop.
    func handOverToHummingbird(context: ChannelHandlerContext) throws -> NIOAsyncChannel<
        HTTPRequestPart, HTTPResponsePart
    > {
        let pipeline = context.pipeline.syncOperations
        try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout.map { .init($0) }, logger: logger))
        let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
            wrappingChannelSynchronously: context.channel,
            configuration: .init(isOutboundHalfClosureEnabled: true)
        )
        release(context: context)
        return asyncChannel
    }

    private func decide(context: ChannelHandlerContext, streamCandidate: HTTPRequest?) {
        guard !decided else { return }
        decided = true
        stopTimer()
        if let head = streamCandidate, head.method == .get, EventRoutes.mayBeStream(head.path ?? "") {
            opening.succeed(.stream(head))
            return
        }
        do {
            opening.succeed(.hummingbird(try handOverToHummingbird(context: context)))
        } catch {
            opening.succeed(nil)
            context.close(promise: nil)
        }
    }
}
