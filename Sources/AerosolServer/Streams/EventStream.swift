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
struct EventStream: Sendable {
    let filter: EventFilter
    let caller: Caller
    let lastEventID: Int64?
    let cloud: Cloud
    /// The request's unread body: watching it tells at once when the client goes away. `nil` when
    /// the body was read (a GET with a body), and then a gone client shows at the next write.
    let inbound: RequestBody?

    /// The `text/event-stream` response.
    func response(logger: Logger) -> Response {
        let subscription = cloud.bus.subscribe(filter, tokenHash: caller.tokenHash, expiresAt: caller.expiresAt)
        let body = ResponseBody { [self] writer in
            defer { cloud.bus.unsubscribe(subscription) }
            if let inbound {
                try await inbound.consumeWithInboundCloseHandler { _ in
                    try await streamUntilShutdown(subscription, to: &writer, logger: logger)
                } onInboundClosed: {
                    subscription.end(.cancelled)
                }
            } else {
                try await streamUntilShutdown(subscription, to: &writer, logger: logger)
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/event-stream",
                .cacheControl: "no-cache",
                .connection: "keep-alive",
                .accelBuffering: "no",
            ],
            body: body
        )
    }

    private func streamUntilShutdown(
        _ subscription: Subscription,
        to writer: inout any ResponseBodyWriter,
        logger: Logger
    ) async throws {
        try await withGracefulShutdownHandler {
            try await stream(subscription, to: &writer, logger: logger)
        } onGracefulShutdown: {
            subscription.end(.shutdown)
        }
    }

    private func stream(_ subscription: Subscription, to writer: inout any ResponseBodyWriter, logger: Logger)
        async throws
    {
        try await writer.write(EventFrame.opening)
        let productFormat = filter.usesProductFormat
        var skipThrough: Int64 = 0
        if let lastEventID {
            var cursor = lastEventID
            while !subscription.hasEnded {
                let page = try await cloud.log.read(filter, after: cursor, limit: 500)
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
            skipThrough = cursor
        }
        while true {
            switch await subscription.next() {
            case .events(let items):
                if items.count == 1 {
                    if items[0].id > skipThrough { try await writer.write(items[0].frame) }
                } else {
                    var buffer = ByteBuffer()
                    buffer.reserveCapacity(items.reduce(0) { $0 + $1.frame.readableBytes })
                    for item in items where item.id > skipThrough {
                        var frame = item.frame
                        buffer.writeBuffer(&frame)
                    }
                    if buffer.readableBytes > 0 { try await writer.write(buffer) }
                }
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
}
