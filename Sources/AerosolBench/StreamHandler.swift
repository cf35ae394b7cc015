import NIOCore

/// One event-stream subscriber: sends the `GET` when the connection opens, then counts what
/// arrives with a ``FrameScanner`` straight in the event loop, into the loop's ``LoopCounters``.
///
/// `ready` succeeds once the `:ok` preamble has arrived, and fails if the stream is refused,
/// closed first, or not ready within `readyTimeout`. A ready stream that closes counts as lost;
/// benchmarks take their figures before they close their own streams.
final class StreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Why a stream did not become ready.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let request: ByteBuffer
    private let counters: LoopCounters
    private let ready: EventLoopPromise<Void>
    private let readyTimeout: TimeAmount
    private var scanner: FrameScanner
    private let recordsLatency: Bool
    private var isReady = false
    private var isDone = false
    private var timeout: Scheduled<Void>?

    init(
        request: ByteBuffer,
        counters: LoopCounters,
        ready: EventLoopPromise<Void>,
        readyTimeout: TimeAmount,
        recordsLatency: Bool
    ) {
        self.request = request
        self.counters = counters
        self.ready = ready
        self.readyTimeout = readyTimeout
        self.recordsLatency = recordsLatency
        self.scanner = FrameScanner(readsData: recordsLatency)
    }

    func channelActive(context: ChannelHandlerContext) {
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: readyTimeout) { [self] in
            fail("no :ok within \(readyTimeout.nanoseconds / 1_000_000) ms", context: context)
        }
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let now = recordsLatency ? MonotonicClock.nanoseconds() : 0
        let counters = counters
        let found = buffer.withUnsafeReadableBytes { bytes in
            scanner.scan(bytes) { sent in
                if now > sent { counters.tally.deliveryLatency.record(now - sent) }
            }
        }
        if found.refused {
            fail("the stream was refused: \(String(buffer: buffer).prefix(120))", context: context)
            return
        }
        if found.ready, !isReady {
            isReady = true
            timeout?.cancel()
            counters.tally.streamsReady += 1
            ready.succeed()
        }
        counters.tally.frames += found.frames
        counters.tally.bytes += found.bodyBytes
    }

    func channelInactive(context: ChannelHandlerContext) {
        if isReady {
            if !isDone { counters.tally.streamsLost += 1 }
        } else {
            fail("the server closed the stream before :ok", context: context)
        }
        isDone = true
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !isReady { fail("\(error)", context: context) }
        context.close(promise: nil)
    }

    private func fail(_ reason: String, context: ChannelHandlerContext) {
        guard !isReady, !isDone else { return }
        isDone = true
        timeout?.cancel()
        counters.tally.streamsFailed += 1
        ready.fail(Failure(description: reason))
        context.close(promise: nil)
    }
}
