import NIOCore

/// A publisher that sends `warmupCount + count` events at a fixed rate on one connection,
/// pipelining when an ack is slow. Each measured event's data is its send time
/// (``MonotonicClock`` nanoseconds); warm-up events carry `warmup`, which subscribers do not
/// record. Sends are scheduled at absolute times, so a late tick does not shift the later ones.
/// Ack latencies of measured events go to the loop's ``LoopCounters``. `done` succeeds when
/// every publish is answered or the connection closes.
final class PacedPublishHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What to publish, where, and how fast.
    struct Plan {
        var request: PublishRequest
        var rate: Int
        var warmupCount: Int
        var count: Int
    }

    private let plan: Plan
    private let interval: TimeAmount
    private let counters: LoopCounters
    private let done: EventLoopPromise<Void>
    private var scanner = ResponseScanner()
    private var start = NIODeadline.now()
    private var sent = 0
    private var answered = 0
    /// Send times of the publishes awaiting their answer, oldest first (answers come in order).
    private var inFlight = CircularBuffer<UInt64>()
    private var isDone = false

    private var total: Int { plan.warmupCount + plan.count }

    init(plan: Plan, counters: LoopCounters, done: EventLoopPromise<Void>) {
        self.plan = plan
        self.interval = .nanoseconds(Int64(1_000_000_000 / max(1, plan.rate)))
        self.counters = counters
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        start = NIODeadline.now()
        if total == 0 { finish() } else { sendNext(context: context) }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = MonotonicClock.nanoseconds()
        let counters = counters
        var statuses: [Int] = []
        do {
            try scanner.scan(unwrapInboundIn(data)) { statuses.append($0) }
        } catch {
            context.close(promise: nil)
            return
        }
        for status in statuses {
            let sentAt = inFlight.popFirst() ?? now
            // Any 2xx: Aerosol answers 200, nchan 201 or 202.
            if (200..<300).contains(status) { counters.tally.acks += 1 } else { counters.tally.rejects += 1 }
            if answered >= plan.warmupCount { counters.tally.ackLatency.record(now &- sentAt) }
            answered += 1
        }
        if answered >= total { finish() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !isDone { counters.tally.publishersLost += 1 }
        finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func sendNext(context: ChannelHandlerContext) {
        guard !isDone, sent < total else { return }
        let now = MonotonicClock.nanoseconds()
        let request = plan.request.bytes(sent < plan.warmupCount ? "warmup" : String(now))
        sent += 1
        inFlight.append(now)
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
        guard sent < total else { return }
        let next = start + interval * Int64(sent)
        context.eventLoop.assumeIsolated().scheduleTask(deadline: next) { [self] in
            sendNext(context: context)
        }
    }

    private func finish() {
        guard !isDone else { return }
        isDone = true
        done.succeed()
    }
}
