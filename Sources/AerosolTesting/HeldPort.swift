import NIOCore
import NIOPosix

/// A TCP (or UDP) port on 127.0.0.1 that a socket of the test holds, so that a server told to
/// use it finds it in use.
public struct HeldPort: Sendable {
    private let channel: any Channel
    /// The port.
    public let port: Int

    /// Listens on a free port of 127.0.0.1 until ``release()``.
    public init() async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0)
            .get()
        port = channel.localAddress?.port ?? 0
    }

    /// A UDP port held by a bound datagram socket (`udp: true`), or a TCP one.
    public init(udp: Bool) async throws {
        if udp {
            channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0)
                .get()
        } else {
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: 0)
                .get()
        }
        port = channel.localAddress?.port ?? 0
    }

    /// Stops listening.
    public func release() async {
        try? await channel.close()
    }
}
