import AerosolStore
import DeviceProtocol
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The TCP server devices connect to (spec device-protocol §3–§9): one ``DeviceConnection`` per
/// device, each in its own child task of ``run()``.
///
/// ``bind(settings:serverKey:keys:devices:log:logger:)`` listens at once, so the port is known
/// before the service runs; ``run()`` accepts connections until graceful shutdown, then closes
/// every device connection (each reports its device offline) and returns.
public final class DeviceGateway: Service, Sendable {
    private let serverChannel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let context: GatewayContext
    /// The port the gateway listens on.
    public let port: Int

    private init(
        serverChannel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>,
        context: GatewayContext
    ) {
        self.serverChannel = serverChannel
        self.context = context
        self.port = serverChannel.channel.localAddress?.port ?? context.settings.port
    }

    /// Binds the device port and returns the gateway, ready to ``run()``.
    public static func bind(
        settings: GatewaySettings,
        serverKey: ServerKey,
        keys: DeviceKeyStore,
        devices: DeviceStore,
        log: EventLog,
        logger: Logger
    ) async throws -> DeviceGateway {
        let idle = TimeAmount(settings.idleTimeout)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .bind(host: settings.host, port: settings.port) { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandlers([IdleStateHandler(readTimeout: idle), IdleCloser()])
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child)
                }
            }
        let context = GatewayContext(
            settings: settings,
            serverKey: serverKey,
            keys: keys,
            devices: devices,
            log: log,
            registry: ConnectionRegistry(),
            logger: logger
        )
        return DeviceGateway(serverChannel: channel, context: context)
    }

    /// The number of devices online on this gateway.
    public var onlineCount: Int { context.registry.onlineCount }

    /// Accepts device connections until graceful shutdown.
    public func run() async throws {
        let context = self.context
        let serverChannel = self.serverChannel
        context.logger.info(
            "device gateway listening on tcp://\(context.settings.host):\(port)",
            metadata: ["gateway.port": "\(port)"]
        )
        try await withGracefulShutdownHandler {
            try await serverChannel.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        guard let serial = context.registry.accept(connection.channel) else {
                            connection.channel.close(promise: nil)
                            continue
                        }
                        group.addTask {
                            await DeviceConnection(channel: connection, serial: serial, context: context).run()
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            serverChannel.channel.close(promise: nil)
            context.registry.closeAll()
        }
        context.logger.debug("device gateway stopped")
    }
}
