import AerosolStore
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1.1 connection, except that an event stream opened by a connection's
/// first request is not served by a task: once the route has authenticated the caller and
/// subscribed, the response head is written, the HTTP handlers leave the pipeline and an
/// ``EventStreamHandler`` writes what the bus pushes. The connection's task then ends (after
/// the `Last-Event-ID` replay, if any), and an idle stream costs only its channel and its
/// subscription (docs/benchmarks.md §4).
///
/// Every other connection, and every other first request, goes to Hummingbird's own loop
/// (`HTTP1Channel`) with the same pipeline, so it is served as before, keep-alive included.
/// A stream opened on a connection that already served a request is served in that
/// connection's task, as before.
///
/// How the first request is decided: a ``FirstRequestGate`` holds it. Any request but a
/// bodiless `GET` whose path looks like a stream route goes to Hummingbird's loop at once. A
/// candidate is answered by the router right here, with a ``StreamHandoff`` in the task. If the
/// route accepts a stream, the connection is handed over; otherwise (an error, another route)
/// its response is written by Hummingbird's loop as the answer to the first request, and the
/// loop goes on with the connection.
struct StreamingHTTP1Channel<Router: HTTPResponder>: ServerChildChannel, HTTPChannelHandler
where Router.Context == CloudRequestContext {
    /// Receive buffers that start at 512 bytes (NIO's default starts at 2,048).
    static var receiveBuffers: AdaptiveRecvByteBufferAllocator {
        AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)
    }

    /// A connection waiting for how its first request is served.
    struct Value: ServerChildChannelValue {
        let channel: any Channel
        let opening: FirstRequestGate.Outcome
    }

    /// Hummingbird's responder for a request (routing, date header, error fallback).
    let responder: HTTPChannelHandler.Responder
    /// The router, to answer candidate stream requests directly.
    let router: Router
    let configuration: HTTP1Channel.Configuration
    /// The cap on connections per client address (`nil`: none).
    var connections: ConnectionCap?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        if let connections, !connections.admit(channel, logger: logger) {
            // No handlers: nothing is read, and ``handle(value:logger:)`` closes it at once.
            return channel.eventLoop.makeSucceededFuture(
                Value(channel: channel, opening: .init(channel.eventLoop.makeSucceededFuture(nil)))
            )
        }
        return channel.eventLoop.makeCompletedFuture {
            // Each connection keeps its last receive buffer for the next read: NIO's default
            // first buffer (2 KiB) stays with every idle stream. A request head fits in 512
            // bytes, and larger bodies grow the buffer after a read or two.
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveBuffers)
            // The handlers of Hummingbird's `HTTP1Channel.setup`, with the gate in place of the
            // connection state handler and the async channel, which are added on release.
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = configuration.httpDecoder.maxHeaderFieldSize
            limits.maxHeaderListSize = configuration.httpDecoder.maxHeaderListSize
            limits.maxHeaderFieldCount = configuration.httpDecoder.maxHeaderFieldCount
            let pipeline = channel.pipeline.syncOperations
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false,
                withErrorHandling: false,
                withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: limits
            )
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(CloseAfterResponseHandler())
            let opening = channel.eventLoop.makePromise(of: FirstRequestGate.Opening?.self)
            try pipeline.addHandler(
                FirstRequestGate(opening: opening, idleTimeout: configuration.idleTimeout, logger: logger)
            )
            return Value(channel: channel, opening: .init(opening.futureResult))
        }
    }

    func handle(value: Value, logger: Logger) async {
        switch await value.opening.take() {
        case .hummingbird(let asyncChannel):
            await handleHTTP(asyncChannel: asyncChannel, logger: logger)
        case .stream(let head):
            await serveStream(head, channel: value.channel, logger: logger)
        case nil:
            // Closed before a request arrived, or over the cap on connections per address.
            try? await value.channel.close()
        }
    }

    /// Serves a first request that may open a stream: as a pushed stream if the router accepts
    /// one, otherwise in Hummingbird's loop, which writes the router's answer first.
    @inline(never)
    private func serveStream(_ head: HTTPRequest, channel: any Channel, logger: Logger) async {
        var responder = self.responder
        switch await answer(head, channel: channel, logger: logger) {
        case .handedOver: return
        case .answered(let response): responder = Self.answering(response, otherwise: responder)
        case .declined: break
        }
        let asyncChannel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>
        do {
            asyncChannel = try await channel.eventLoop.submit {
                let pipeline = channel.pipeline.syncOperations
                return try pipeline.handler(type: FirstRequestGate.self)
                    .handOverToHummingbird(context: pipeline.context(handlerType: FirstRequestGate.self))
            }.get()
        } catch {
            channel.close(promise: nil)
            return
        }
        await HTTP1Channel(responder: responder, configuration: configuration)
            .handle(value: asyncChannel, logger: logger)
    }

    /// A responder that writes `response` (with its `Date` header) for the first request and
    /// asks `responder` for the others.
    private static func answering(
        _ response: Response,
        otherwise responder: @escaping HTTPChannelHandler.Responder
    ) -> HTTPChannelHandler.Responder {
        let first = FirstResponse(response)
        return { request, writer, channel in
            if let response = first.take() {
                var head = response.head
                head.headerFields[.date] = HTTPDate.now()
                try await writer.write(response: head, body: response.body)
            } else {
                try await responder(request, writer, channel)
            }
        }
    }

    private enum Answer {
        /// The connection now belongs to an ``EventStreamHandler``.
        case handedOver
        /// The router answered without a stream; Hummingbird writes this response.
        case answered(Response)
        /// Let Hummingbird serve the request from the start.
        case declined
    }

    /// Runs the router on a candidate stream request with a handoff in its context.
    private func answer(_ head: HTTPRequest, channel: any Channel, logger: Logger) async -> Answer {
        var logger = logger
        logger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer()))
        var context = CloudRequestContext(source: .init(channel: channel, logger: logger))
        let handoff = StreamHandoff()
        context.streamHandoff = handoff
        let response: Response
        do {
            response = try await router.respond(to: request, context: context)
        } catch {
            return .declined
        }
        guard let accepted = handoff.take() else { return .answered(response) }
        guard response.status == .ok else { return .answered(response) }
        var responseHead = response.head
        responseHead.headerFields[.date] = HTTPDate.now()
        await handOver(channel, head: responseHead, accepted: accepted)
        return .handedOver
    }

    /// Writes the head, swaps the HTTP handlers for the stream's ``EventStreamHandler`` (pushed
    /// mode), then replays and goes live.
    private func handOver(_ channel: any Channel, head: HTTPResponse, accepted: StreamHandoff.Accepted) async {
        let handler: NIOLoopBound<EventStreamHandler>
        do {
            handler = try await channel.eventLoop.submit {
                // A handler added to a closed channel would never hear that it closed.
                guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
                let pipeline = channel.pipeline.syncOperations
                let gate = try pipeline.context(handlerType: FirstRequestGate.self)
                let quiesced = try pipeline.handler(type: FirstRequestGate.self).quiesced
                // Through the codec and the encoder: the head bytes that Hummingbird writes.
                gate.writeAndFlush(NIOAny(HTTPResponsePart.head(head)), promise: nil)
                pipeline.removeHandler(context: gate, promise: nil)
                for context in [
                    try pipeline.context(handlerType: CloseAfterResponseHandler.self),
                    try pipeline.context(handlerType: HTTP1ToHTTPServerCodec.self),
                    try pipeline.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self),
                    try pipeline.context(handlerType: HTTPResponseEncoder.self),
                ] {
                    pipeline.removeHandler(context: context, promise: nil)
                }
                let handler = try accepted.stream.install(on: channel, opener: accepted.opener, mode: .pushed)
                if quiesced { handler.value.end(.shutdown) }
                return handler
            }.get()
        } catch {
            channel.close(promise: nil)
            return
        }
        await accepted.stream.run(handler, on: channel, logger: accepted.opener.logger)
    }
}
