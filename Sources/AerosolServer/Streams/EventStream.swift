import AerosolModels
import AerosolStore
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// One open event stream: replays from `Last-Event-ID` if asked, then follows the bus.
///
/// Replay and live delivery never overlap or leave a gap: the bus subscription is registered
/// before the log is read, and live frames at or below the last replayed id are skipped.
///
/// A stream opened by the first request of a connection is handed to the connection (see
/// ``StreamHandoff``): no task waits for it, the bus pushes its frames to an
/// ``EventStreamHandler`` on the connection's event loop, which is what keeps idle streams small
/// (docs/benchmarks.md §4). The rest of this comment is about streams served in the
/// connection's task: those opened on a connection that served another request before.
///
/// An idle task-served stream is a suspended task, and its async frames are most of what it
/// costs, so the type keeps them small: it holds only what streaming needs (not the whole ``Cloud``), and the
/// replay, whose frame is large, runs in a function of its own that is gone once it returns.
///
/// A client that goes away is noticed when a write fails, at the latest at the second keepalive
/// after it left (under 20 s). Watching the request body for the close instead
/// (`consumeWithInboundCloseHandler`) notices at once but costs a child task per stream: 7 KiB
/// more per idle stream, measured (docs/benchmarks.md), so the cheaper way was chosen.
struct EventStream: Sendable {
    let filter: EventFilter
    let lastEventID: Int64?
    let bus: EventBus
    let log: EventLog

    /// The response headers of every stream.
    static let headers: HTTPFields = [
        .contentType: "text/event-stream",
        .cacheControl: "no-cache",
        .connection: "keep-alive",
        .accelBuffering: "no",
    ]

    init(filter: EventFilter, lastEventID: Int64?, cloud: Cloud) {
        self.filter = filter
        self.lastEventID = lastEventID
        self.bus = cloud.bus
        self.log = cloud.log
    }

    /// The `text/event-stream` response. With a ``StreamHandoff`` in the context, the stream is
    /// recorded there and the response has no body: the connection writes the stream.
    func response(caller: Caller, context: CloudRequestContext) -> Response {
        let logger = context.logger
        let subscription = bus.subscribe(filter, tokenHash: caller.tokenHash, expiresAt: caller.expiresAt)
        if let handoff = context.streamHandoff {
            handoff.accept(.init(stream: self, subscription: subscription, logger: logger))
            // A body of unknown length, as below, so that the head has no Content-Length; the
            // channel writes the head and the stream, never this body.
            return Response(
                status: .ok,
                headers: Self.headers,
                body: ResponseBody { writer in try await writer.finish(nil) }
            )
        }
        let body = ResponseBody { [self] writer in
            defer { bus.unsubscribe(subscription) }
            try await withGracefulShutdownHandler {
                try await stream(subscription, to: &writer, logger: logger)
            } onGracefulShutdown: {
                subscription.end(.shutdown)
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: Self.headers, body: body)
    }

    private func stream(_ subscription: Subscription, to writer: inout any ResponseBodyWriter, logger: Logger)
        async throws
    {
        try await writer.write(EventFrame.opening)
        var skipThrough: Int64 = 0
        if let lastEventID {
            skipThrough = try await replay(after: lastEventID, until: subscription, to: &writer)
        }
        while true {
            switch await subscription.next() {
            case .events(let items):
                try await Self.write(items, after: skipThrough, to: &writer)
            case .keepalive:
                try await writer.write(EventFrame.keepalive)
            case .end(let reason):
                if reason == .overflow {
                    logger.info(
                        "closing event stream: the client reads too slowly; it may resume with Last-Event-ID",
                        metadata: [
                            "stream.scope": "\(filter.scope)", "stream.limit": "\(subscription.maxEvents) events",
                        ]
                    )
                }
                if reason != .cancelled {
                    try? await writer.write(EventFrame.closing(reason.rawValue))
                }
                return
            }
        }
    }

    /// Sends every logged event after `lastEventID` that the stream would have delivered, page by
    /// page; returns the last id scanned (live frames up to it were covered).
    @inline(never)
    func replay(
        after lastEventID: Int64,
        until subscription: Subscription,
        to writer: inout some ResponseBodyWriter
    ) async throws -> Int64 {
        let productFormat = filter.usesProductFormat
        var cursor = lastEventID
        while !subscription.hasEnded {
            let page = try await log.read(filter, after: cursor, limit: 500)
            guard page.lastScannedID > cursor else { break }
            cursor = page.lastScannedID
            if !page.events.isEmpty {
                var buffer = ByteBuffer()
                for event in page.events {
                    var frame = EventFrame.encode(event, productFormat: productFormat)
                    buffer.writeBuffer(&frame)
                }
                try await writer.write(buffer)
            }
        }
        return cursor
    }

    /// Writes a batch of frames in one write, skipping those already replayed.
    @inline(never)
    private static func write(
        _ items: [(id: Int64, frame: ByteBuffer)],
        after skipThrough: Int64,
        to writer: inout any ResponseBodyWriter
    ) async throws {
        if items.count == 1 {
            if items[0].id > skipThrough { try await writer.write(items[0].frame) }
            return
        }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(items.reduce(0) { $0 + $1.frame.readableBytes })
        for item in items where item.id > skipThrough {
            var frame = item.frame
            buffer.writeBuffer(&frame)
        }
        if buffer.readableBytes > 0 { try await writer.write(buffer) }
    }
}
