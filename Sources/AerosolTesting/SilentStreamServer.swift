import NIOCore
import NIOPosix
import Synchronization

/// A server that answers every request with the start of an event stream (`200`, headers,
/// `:ok`) and then never sends another byte: the "deaf stream" that clients must detect.
public final class SilentStreamServer: Sendable {
    private let channel: any Channel
    private let counter: Counter
    /// The port it listens on (127.0.0.1).
    public let port: Int

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    private init(channel: any Channel, counter: Counter, port: Int) {
        self.channel = channel
        self.counter = counter
        self.port = port
    }

    /// How many connections it has accepted.
    public var connections: Int { counter.value.load(ordering: .relaxed) }

    /// Starts listening on 127.0.0.1, on a port the system picks.
    public static func start() async throws -> SilentStreamServer {
        let counter = Counter()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                counter.value.wrappingAdd(1, ordering: .relaxed)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Responder())
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return SilentStreamServer(channel: channel, counter: counter, port: channel.localAddress?.port ?? 0)
    }

    /// Stops listening.
    public func stop() async {
        try? await channel.close()
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var answered = false

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            // Answer once, whatever the request; then stay silent.
            guard !answered else { return }
            answered = true
            let head =
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n:ok\n\n\r\n"
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: head)), promise: nil)
        }
    }
}
