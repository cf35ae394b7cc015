import NIOCore

/// One publisher on a keep-alive connection: it writes the same publish request, waits for the
/// response, records the ack's latency in the loop's ``LoopCounters``, and writes the next,
/// until `stopAt`. `done` succeeds when it stops or the connection closes.
final class PublishHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: ByteBuffer
    private let counters: LoopCounters
    private let stopAt: NIODeadline
    private let done: EventLoopPromise<Void>
    private var scanner = ResponseScanner()
    private var sentAt: UInt64 = 0
    private var isDone = false

    init(request: ByteBuffer, counters: LoopCounters, stopAt: NIODeadline, done: EventLoopPromise<Void>) {
        self.request = request
        self.counters = counters
        self.stopAt = stopAt
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var answered = false
        let counters = counters
        let sentAt = sentAt
        do {
            try scanner.scan(unwrapInboundIn(data)) { status in
                if (200..<300).contains(status) {
                    counters.tally.acks += 1
                    counters.tally.ackLatency.record(MonotonicClock.nanoseconds() &- sentAt)
                } else {
                    counters.tally.rejects += 1
                }
                answered = true
            }
        } catch {
            finish(lost: true)
            context.close(promise: nil)
            return
        }
        guard answered else { return }
        if NIODeadline.now() < stopAt {
            send(context: context)
        } else {
            finish(lost: false)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(lost: true)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func send(context: ChannelHandlerContext) {
        sentAt = MonotonicClock.nanoseconds()
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    private func finish(lost: Bool) {
        guard !isDone else { return }
        isDone = true
        if lost { counters.tally.publishersLost += 1 }
        done.succeed()
    }
}
