import AerosolModels
import AerosolStore
import Foundation
import Hummingbird
import Logging
import NIOCore

/// One event stream a route accepted: replays from `Last-Event-ID` if asked, then follows the
/// log, written by an ``EventStreamHandler`` on the connection's event loop (the one path every
/// stream takes; see there for its two modes).
///
/// Replay and live delivery never overlap or leave a gap: the handler is registered with its
/// loop's streams before the log is read, holds the events that arrive meanwhile, and skips
/// those at or below the last replayed id.
struct EventStream: Sendable {
    let filter: EventFilter
    let lastEventID: Int64?
    let hub: StreamHub
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
        self.hub = cloud.streams
        self.log = cloud.log
    }

    /// Who opened the stream: its token (for revocation and expiry) and where to log.
    struct Opener: Sendable {
        let tokenHash: String
        let expiresAt: Date?
        let logger: Logger
    }

    /// The `text/event-stream` response. A connection's first request carries a
    /// ``StreamHandoff`` in its context: the stream is recorded there and the connection writes
    /// it (pushed mode). Otherwise the body installs the stream's handler in the connection's
    /// pipeline and waits for its end (response mode).
    func response(caller: Caller, context: CloudRequestContext) -> Response {
        let opener = Opener(tokenHash: caller.tokenHash, expiresAt: caller.expiresAt, logger: context.logger)
        if let handoff = context.streamHandoff {
            handoff.accept(.init(stream: self, opener: opener))
            // A body of unknown length, so that the head says it is chunked; the connection
            // writes the head and the stream, never this body.
            return Response(
                status: .ok,
                headers: Self.headers,
                body: ResponseBody { writer in try await writer.finish(nil) }
            )
        }
        let channel = context.channel
        let body = ResponseBody { [self] writer in
            try await writer.write(EventFrame.opening)
            let ended = channel.eventLoop.makePromise(of: Void.self)
            let handler = try await attach(to: channel, opener: opener, mode: .response(ended: ended))
            await run(handler, on: channel, logger: opener.logger)
            try? await ended.futureResult.get()
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: Self.headers, body: body)
    }

    /// Adds a handler for this stream to `channel` (first in its pipeline, the socket side) and
    /// registers it with its loop's streams (response mode).
    func attach(to channel: any Channel, opener: Opener, mode: EventStreamHandler.Mode) async throws
        -> NIOLoopBound<EventStreamHandler>
    {
        try await channel.eventLoop.submit { [self] in
            // A handler added to a closed channel would never hear that it closed.
            guard channel.isActive else { throw ChannelError.ioOnClosedChannel }
            return try install(on: channel, opener: opener, mode: mode)
        }.get()
    }

    /// On the channel's event loop: makes the stream's handler, adds it first in the pipeline and
    /// registers it with its loop's streams; in pushed mode it writes `:ok`.
    func install(on channel: any Channel, opener: Opener, mode: EventStreamHandler.Mode) throws
        -> NIOLoopBound<EventStreamHandler>
    {
        let handler = EventStreamHandler(
            filter: filter,
            tokenHash: opener.tokenHash,
            expiresAt: opener.expiresAt,
            limits: hub.limits,
            mode: mode,
            replaying: lastEventID != nil,
            logger: opener.logger
        )
        try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        handler.start(in: hub.streams(on: channel.eventLoop))
        if hub.isShuttingDown { handler.end(.shutdown) }
        return NIOLoopBound(handler, eventLoop: channel.eventLoop)
    }

    /// Writes the `Last-Event-ID` replay, if any, through `handler`, then lets it go live.
    func run(_ handler: NIOLoopBound<EventStreamHandler>, on channel: any Channel, logger: Logger) async {
        let eventLoop = channel.eventLoop
        var skipThrough: Int64 = 0
        if let lastEventID {
            do {
                skipThrough = try await replay(after: lastEventID, through: handler, on: eventLoop)
            } catch {
                logger.debug("event stream replay ended", metadata: ["error": "\(error)"])
                // An ended stream writes `:closed …` itself; closing here could cut that off.
                eventLoop.execute { if !handler.value.hasEnded { handler.value.end(.cancelled) } }
                return
            }
        }
        let replayedThrough = skipThrough
        eventLoop.execute { handler.value.goLive(after: replayedThrough) }
    }

    /// Sends every logged event after `lastEventID` that the stream would have delivered, page by
    /// page, each page written before the next is read (back-pressure); returns the last id
    /// scanned (live events up to it were covered).
    func replay(
        after lastEventID: Int64,
        through handler: NIOLoopBound<EventStreamHandler>,
        on eventLoop: any EventLoop
    ) async throws -> Int64 {
        hub.metrics.replayStarted()
        let productFormat = filter.usesProductFormat
        var cursor = lastEventID
        while true {
            let page = try await log.read(filter, after: cursor, limit: 500)
            guard page.lastScannedID > cursor else { break }
            cursor = page.lastScannedID
            guard !page.events.isEmpty else { continue }
            var buffer = ByteBuffer()
            for event in page.events {
                var frame = EventFrame.encode(event, productFormat: productFormat)
                buffer.writeBuffer(&frame)
            }
            let written = eventLoop.makePromise(of: Void.self)
            let frames = buffer
            eventLoop.execute { handler.value.writeReplay(frames, promise: written) }
            try await written.futureResult.get()
        }
        return cursor
    }
}
