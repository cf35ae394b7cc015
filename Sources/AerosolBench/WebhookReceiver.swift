import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The benchmark's webhook target: an HTTP server on 127.0.0.1 that answers every request at
/// once with `200 ok` and records, for each, the latency from the publish time carried in the
/// event data (`data=<monotonic nanoseconds>` in the default form body).
final class WebhookReceiver: Sendable {
    private let channel: any Channel
    let state: State
    /// The port it listens on.
    let port: Int

    final class State: Sendable {
        private let recorded = Mutex(Recorded())

        struct Recorded {
            var histogram = LatencyHistogram()
            var deliveries = 0
            var unparsed = 0
            var firstNanoseconds: UInt64 = 0
            var lastNanoseconds: UInt64 = 0
        }

        func record(body: ByteBuffer) {
            let now = MonotonicClock.nanoseconds()
            let sent = Self.publishTime(in: body)
            recorded.withLock { recorded in
                recorded.deliveries += 1
                if recorded.firstNanoseconds == 0 { recorded.firstNanoseconds = now }
                recorded.lastNanoseconds = now
                if let sent, sent <= now {
                    recorded.histogram.record(now - sent)
                } else {
                    recorded.unparsed += 1
                }
            }
        }

        /// A consistent copy of what was recorded so far.
        var snapshot: Recorded { recorded.withLock { $0 } }

        /// Forgets everything (after a warm-up).
        func reset() { recorded.withLock { $0 = Recorded() } }

        /// The digits after `data=` in a form body.
        static func publishTime(in body: ByteBuffer) -> UInt64? {
            let bytes = body.readableBytesView
            guard let start = bytes.firstRange(of: Array("data=".utf8))?.upperBound else { return nil }
            var value: UInt64 = 0
            var index = start
            while index < bytes.endIndex, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                value = value * 10 + UInt64(bytes[index] - 0x30)
                index += 1
            }
            return index == start ? nil : value
        }
    }

    private init(channel: any Channel, state: State, port: Int) {
        self.channel = channel
        self.state = state
        self.port = port
    }

    static func start() async throws -> WebhookReceiver {
        let state = State()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return WebhookReceiver(channel: channel, state: state, port: channel.localAddress?.port ?? 0)
    }

    func stop() async {
        try? await channel.close()
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let state: State
        private var body = ByteBuffer()
        private var keepAlive = true

        init(state: State) {
            self.state = state
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                body.clear()
                keepAlive = head.isKeepAlive
            case .body(var chunk):
                body.writeBuffer(&chunk)
            case .end:
                state.record(body: body)
                var headers = HTTPHeaders([("Content-Length", "2"), ("Content-Type", "text/plain")])
                if !keepAlive { headers.add(name: "Connection", value: "close") }
                context.write(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                    promise: nil
                )
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
                // The response's end closes the connection when the request asked for that;
                // writing `.end` with a promise that closes the channel keeps the context (not
                // Sendable) on its event loop.
                if keepAlive {
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                } else {
                    let channel = context.channel
                    context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                        channel.close(promise: nil)
                    }
                }
            }
        }
    }
}
