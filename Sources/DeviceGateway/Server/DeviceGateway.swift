import AerosolModels
import AerosolStore
import DeviceProtocol
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The servers devices connect to: TCP (one ``DeviceChannelHandler`` per device on its
/// channel's event loop) and, given an EC server key, UDP/DTLS (one ``DatagramHandler`` holding
/// a ``DatagramDevice`` per DTLS session), with one registry of online devices for both, and the
/// router that delivers committed events to the devices' subscriptions.
///
/// ``bind(settings:serverKey:udpServerKey:sessions:keys:devices:log:bus:logger:)`` listens at once, so
/// the ports are known before the service runs; ``run()`` routes events until graceful
/// shutdown, then closes every device connection (each reports its device offline) and returns.
public final class DeviceGateway: Service, Sendable {
    private let serverChannel: any Channel
    private let datagramChannel: (any Channel)?
    let context: GatewayContext
    private let bus: EventBus
    /// Devices a crashed previous run left recorded online, to report offline.
    private let ghosts: [Device]
    /// The TCP port the gateway listens on.
    public let port: Int
    /// The UDP port the gateway listens on for DTLS devices, if it does.
    public let udpPort: Int?
    /// Whether the gateway still listens for devices, on TCP and (when it has one) on UDP, for
    /// the server's readiness.
    public var isListening: Bool { serverChannel.isActive && (datagramChannel?.isActive ?? true) }

    private init(
        serverChannel: any Channel,
        datagramChannel: (any Channel)?,
        context: GatewayContext,
        bus: EventBus,
        ghosts: [Device]
    ) {
        self.serverChannel = serverChannel
        self.datagramChannel = datagramChannel
        self.context = context
        self.bus = bus
        self.ghosts = ghosts
        self.port = serverChannel.localAddress?.port ?? context.settings.port
        self.udpPort = datagramChannel.map { $0.localAddress?.port ?? context.settings.udpPort }
    }

    /// Binds the device ports and returns the gateway, ready to ``run()``: TCP always, UDP
    /// when `udpServerKey` is given.
    public static func bind(
        settings: GatewaySettings,
        serverKey: ServerKey,
        udpServerKey: ECServerKey? = nil,
        sessions: UDPSessionStore? = nil,
        keys: DeviceKeyStore,
        devices: DeviceStore,
        log: EventLog,
        bus: EventBus,
        database: Database? = nil,
        logger: Logger
    ) async throws -> DeviceGateway {
        var context = GatewayContext(
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
        context.sessions = sessions
        context.firmwareFiles = settings.firmwareDirectory.map { FirmwareFileStore(database: database, directory: $0) }
        if let nodeID = settings.nodeID, let database {
            context.relay = NodeRelay(nodeID: nodeID, database: database, devices: devices, logger: logger)
            context.nodes = NodeStore(database: database)
        }
        // Devices still recorded online lost their connections with the previous run of the
        // server (a crash): they are marked offline before anyone can connect again, and
        // reported offline (`spark/status`) once the event log runs (see `run()`).
        let ghosts = try await devices.markAllOffline(node: settings.nodeID)
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
                        DeviceChannelHandler(serial: serial, gateway: context, eventLoop: child.eventLoop),
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
        var datagramChannel: (any Channel)?
        if let udpServerKey {
            do {
                var stored: [UDPSessionStore.Record] = []
                if let sessions {
                    let lifetime = Double(settings.udpSessionLifetime.components.seconds)
                    let cutoff = Date().addingTimeInterval(-lifetime)
                    try await sessions.deleteExpired(before: cutoff)
                    stored = try await sessions.all(since: cutoff)
                }
                datagramChannel = try await DatagramHandler.bind(
                    context: context,
                    serverKey: udpServerKey,
                    stored: stored
                )
            } catch  where ListenAddress.isListenFailure(error) {
                try? await channel.close()
                let address = ListenAddress(host: settings.udpHost ?? settings.host, port: settings.udpPort)
                throw GatewayError.cannotListen(
                    "cannot listen for devices (UDP) on \(address): \(ListenAddress.reason(error))"
                )
            } catch {
                logger.error("could not start the UDP device gateway", metadata: ["reason": "\(error)"])
                try? await channel.close()
                throw error
            }
        }
        return DeviceGateway(
            serverChannel: channel,
            datagramChannel: datagramChannel,
            context: context,
            bus: bus,
            ghosts: ghosts
        )
    }

    /// Stops listening, for a gateway whose ``run()`` never started (a start that failed later).
    public func closeUnstarted() async {
        try? await serverChannel.close()
        try? await datagramChannel?.close()
    }

    /// The number of devices online on this gateway.
    public var onlineCount: Int { context.registry.onlineCount }

    /// The number of devices online over `transport` (counted on each call: for the metrics).
    public func onlineCount(over transport: DeviceTransport) -> Int { context.registry.onlineCount(over: transport) }

    /// Delivers events to device subscriptions until graceful shutdown, then closes every
    /// device connection and waits until each device is reported offline.
    public func run() async throws {
        let context = self.context
        var listening = "tcp://\(context.settings.host):\(port)"
        if let udpPort {
            listening += " and udp://\(context.settings.udpHost ?? context.settings.host):\(udpPort)"
        }
        context.logger.info(
            "device gateways listening on \(listening)",
            metadata: ["gateway.port": "\(port)", "gateway.udp_port": "\(udpPort.map(String.init) ?? "-")"]
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
            if let relay = context.relay {
                group.addTask { await relay.run { request in await self.perform(request) } }
            }
            if let nodes = context.nodes, let node = context.settings.nodeID {
                group.addTask { await self.keepLease(nodes, node: node) }
            }
            try? await gracefulShutdown()
            try? await serverChannel.close()
            if let datagramChannel {
                // Its handler reports every online UDP device offline as the channel closes
                // (their sessions are kept: they resume when the server is back).
                try? await datagramChannel.close()
                try? await datagramChannel.eventLoop.submit {}.get()
            }
            await context.registry.closeAll()
            group.cancelAll()
        }
        await context.writeHeardTimes()
        if let nodes = context.nodes, let node = context.settings.nodeID {
            // Its devices were reported offline by itself: nothing for another node to do.
            try? await nodes.leave(node)
        }
        context.logger.debug("device gateway stopped")
    }

    /// Reports offline the devices a crashed previous run left recorded online, unless one is
    /// already back (its new connection said `online` after the crash was noticed).
    private func reportGhostsOffline() async {
        guard !ghosts.isEmpty else { return }
        await context.reportOffline(ghosts, cause: "after a crash")
        context.logger.notice(
            "devices left online by a crashed previous run reported offline",
            metadata: ["devices.count": "\(ghosts.count)"]
        )
    }
}
