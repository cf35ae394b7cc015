import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Holds the first request of a new connection until ``StreamingHTTP1Channel`` has decided who
/// serves the connection: a pushed event stream, or Hummingbird's connection loop.
///
/// It keeps what arrives (request parts, errors, events) in order and stops reading once it
/// knows whether the first request has a body; ``release(context:)`` hands all of it on, as if
/// the gate had never been there. It answers the shutdown's quiesce event as Hummingbird's
/// connection handler does: an idle connection closes at once, one with a request in flight
/// remembers it (``quiesced``) for whoever serves the request.
final class FirstRequestGate: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// How the connection started.
    enum Opening: Sendable {
        /// A request head, and whether a body follows it.
        case request(HTTPRequest, hasBody: Bool)
        /// Something else (a malformed request): only Hummingbird's loop answers it.
        case other
    }

    private enum Held {
        case part(HTTPRequestPart)
        case error(any Error)
        case event(Any)
    }

    private let opening: EventLoopPromise<Opening?>
    private var head: HTTPRequest?
    private var decided = false
    private var held: [Held] = []
    private var readPending = false
    /// The server asked the connection to close after its current request.
    private(set) var quiesced = false

    /// A gate that completes `opening` with how the connection started, or `nil` if it closed first.
    init(opening: EventLoopPromise<Opening?>) {
        self.opening = opening
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        held.append(.part(part))
        guard !decided else { return }
        switch part {
        case .head(let head):
            self.head = head
        case .body:
            decide(head.map { .request($0, hasBody: true) } ?? .other)
        case .end:
            decide(head.map { .request($0, hasBody: false) } ?? .other)
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
        decide(.other)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            if held.isEmpty {
                context.close(promise: nil)
            } else {
                quiesced = true
            }
            return
        }
        held.append(.event(event))
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !decided {
            decided = true
            opening.succeed(nil)
        }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
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

    private func decide(_ result: Opening) {
        guard !decided else { return }
        decided = true
        opening.succeed(result)
    }
}
