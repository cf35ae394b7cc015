import AerosolModels
import AerosolStore
import DeviceProtocol
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The TCP server devices connect to: one
/// ``DeviceChannelHandler`` per device on its channel's event loop, and the router that
/// delivers committed events to the devices' subscriptions.
///
/// ``bind(settings:serverKey:keys:devices:log:bus:logger:)`` listens at once, so the port is
/// known before the service runs; ``run()`` routes events until graceful shutdown, then closes
/// every device connection (each reports its device offline) and returns.
public final class DeviceGateway: Service, Sendable {
    private let serverChannel: any Channel
    let context: GatewayContext
    private let bus: EventBus
    /// Devices a crashed previous run left recorded online, to report offline.
    private let ghosts: [Device]
    /// The port the gateway listens on.
    public let port: Int
    /// Whether the gateway still listens for devices (for the server's readiness).
    public var isListening: Bool { serverChannel.isActive }

    private init(serverChannel: any Channel, context: GatewayContext, bus: EventBus, ghosts: [Device]) {
        self.serverChannel = serverChannel
        self.context = context
        self.bus = bus
        self.ghosts = ghosts
        self.port = serverChannel.localAddress?.port ?? context.settings.port
    }

    /// Binds the device port and returns the gateway, ready to ``run()``.
    public static func bind(
        settings: GatewaySettings,
        serverKey: ServerKey,
        keys: DeviceKeyStore,
        devices: DeviceStore,
        log: EventLog,
        bus: EventBus,
        logger: Logger
    ) async throws -> DeviceGateway {
        let context = GatewayContext(
            settings: settings,
            serverKey: serverKey,
            keys: keys,
            devices: devices,
            log: log,
            registry: ConnectionRegistry(),
            router: DeviceEventRouter(),
            heard: HeardTimes(),
            statusLock: KeyedLock<String>(),
            logger: logger
        )
        // Devices still recorded online lost their connections with the previous run of the
        // server (a crash): they are marked offline before anyone can connect again, and
        // reported offline (`spark/status`) once the event log runs (see `run()`).
        let ghosts = try await devices.markAllOffline()
        // Half the idle timeout without a frame: the server pings; the other half: closed.
        let pingAfter = TimeAmount.nanoseconds(TimeAmount(settings.idleTimeout).nanoseconds / 2)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    guard let serial = context.registry.accept(child) else {
                        throw GatewayError.connectionClosed("the gateway is shutting down")
                    }
                    try child.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(readTimeout: pingAfter),
                        DeviceChannelHandler(serial: serial, gateway: context),
                    ])
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: settings.host, port: settings.port).get()
        } catch  where ListenAddress.isListenFailure(error) {
            let address = ListenAddress(host: settings.host, port: settings.port)
            throw GatewayError.cannotListen(
                "cannot listen for devices (TCP) on \(address): \(ListenAddress.reason(error))"
            )
        }
        return DeviceGateway(serverChannel: channel, context: context, bus: bus, ghosts: ghosts)
    }

    /// Stops listening, for a gateway whose ``run()`` never started (a start that failed later).
    public func closeUnstarted() async {
        try? await serverChannel.close()
    }

    /// The number of devices online on this gateway.
    public var onlineCount: Int { context.registry.onlineCount }

    /// Delivers events to device subscriptions until graceful shutdown, then closes every
    /// device connection and waits until each device is reported offline.
    public func run() async throws {
        let context = self.context
        context.logger.info(
            "device gateway listening on tcp://\(context.settings.host):\(port)",
            metadata: ["gateway.port": "\(port)"]
        )
        let events = bus.tap()
        await reportGhostsOffline()
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await batch in events { context.router.route(batch) }
            }
            group.addTask {
                while (try? await Task.sleep(for: context.settings.lastHeardWriteInterval)) != nil {
                    await context.writeHeardTimes()
                }
            }
            try? await gracefulShutdown()
            try? await serverChannel.close()
            await context.registry.closeAll()
            group.cancelAll()
        }
        await context.writeHeardTimes()
        context.logger.debug("device gateway stopped")
    }

    /// Reports offline the devices a crashed previous run left recorded online, unless one is
    /// already back (its new connection said `online` after the crash was noticed).
    private func reportGhostsOffline() async {
        guard !ghosts.isEmpty else { return }
        for device in ghosts {
            do {
                try await context.statusLock.withLock(device.id) {
                    guard context.registry.link(device.id) == nil else { return }
                    try await context.announce("spark/status", data: "offline", device: device)
                }
            } catch {
                context.logger.warning(
                    "could not report a device offline after a crash",
                    metadata: ["device.id": "\(device.id)", "reason": "\(error)"]
                )
            }
        }
        context.logger.notice(
            "devices left online by a crashed previous run reported offline",
            metadata: ["devices.count": "\(ghosts.count)"]
        )
    }
}
