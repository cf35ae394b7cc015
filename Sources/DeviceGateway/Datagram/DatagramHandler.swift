import AerosolStore
import DTLS
import DeviceProtocol
import Logging
import NIOCore
import NIOPosix

/// The UDP device gateway on its one channel and event loop: routes each datagram by its first
/// bytes (``DatagramRoute``) to the DTLS handshake of its source address or to the
/// ``DatagramDevice`` of its connection ID, and writes what they send.
///
/// Everything here runs on the channel's event loop, so the tables need no lock. Their size is
/// bounded (``GatewaySettings/udpMaxHandshakes``, ``GatewaySettings/udpMaxSessions``), a
/// cookieless ClientHello costs no state (a stateless HelloVerifyRequest answers it), and a
/// datagram that is not for a known session is dropped and counted, its reason logged once.
final class DatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    struct PendingHandshake {
        var machine: DTLSHandshake
        var timer: Scheduled<Void>?
    }

    let gateway: GatewayContext
    let configuration: DTLSHandshake.Configuration
    var logger: Logger
    var context: ChannelHandlerContext?
    var handshakes: [SocketAddress: PendingHandshake] = [:]
    /// How many of ``handshakes`` are completed and only linger (60 s) to answer a repeated final
    /// flight. They do not count against ``GatewaySettings/udpMaxHandshakes``: counted, 1,000
    /// lingering handshakes held the table full, so the gateway completed at most about 17 full
    /// handshakes a second (1,000 / 60 s) and dropped the rest (`aerosol bench udp-devices`
    /// stalled at 2,000 of 10,000 devices). A completed one needs a provisioned device key, and
    /// ``GatewaySettings/udpMaxSessions`` bounds those.
    var completedHandshakes = 0
    var devices: [ConnectionID: DatagramDevice] = [:]
    /// Datagrams dropped before reaching a session, by reason (each reason is logged once).
    var drops: [String: Int] = [:]
    /// Sessions stored by a previous run, taken up when the handler is added.
    private var stored: [UDPSessionStore.Record]

    init(gateway: GatewayContext, serverKey: ECServerKey, stored: [UDPSessionStore.Record] = []) {
        self.stored = stored
        self.gateway = gateway
        self.configuration = DTLSHandshake.Configuration(serverKey: serverKey.signingKey)
        var logger = gateway.logger
        logger[metadataKey: "gateway.transport"] = "udp"
        self.logger = logger
    }

    /// Binds the UDP port of `context.settings` and returns the channel.
    static func bind(
        context: GatewayContext,
        serverKey: ECServerKey,
        stored: [UDPSessionStore.Record]
    ) async throws -> any Channel {
        let settings = context.settings
        return try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .channelOption(ChannelOptions.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 2048))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        DatagramHandler(gateway: context, serverKey: serverKey, stored: stored)
                    )
                }
            }
            .bind(host: settings.udpHost ?? settings.host, port: settings.udpPort)
            .get()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        restore(context: context)
    }

    /// Takes up the sessions a previous run stored: their devices resume without a handshake.
    private func restore(context: ChannelHandlerContext) {
        var restored = 0
        for record in stored {
            guard let deviceID = record.deviceID,
                let saved = try? StoredSession(decoding: record.session),
                let state = try? saved.dtlsState(),
                let id = state.connectionID,
                let session = try? DTLSSession(restoring: state),
                let hello = saved.deviceHello,
                devices[id] == nil
            else { continue }
            devices[id] = DatagramDevice(
                restoring: session,
                deviceID: deviceID,
                hello: hello,
                stored: saved,
                server: self,
                eventLoop: context.eventLoop
            )
            restored += 1
        }
        if !stored.isEmpty {
            logger.info("UDP device sessions restored", metadata: ["sessions.count": "\(restored)"])
        }
        stored = []
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let datagram = Array(envelope.data.readableBytesView)[...]
        let address = envelope.remoteAddress
        switch DatagramRoute(datagram: datagram) {
        case .keepAlive:
            return
        case .invalid(let error):
            drop("\(error)", address: address)
        case .handshake:
            handshake(datagram, from: address)
        case .connectionID(let id):
            if let device = devices[id] {
                device.receive(datagram, from: address)
            } else if handshakes[address] != nil {
                // A client may send its Finished in a datagram of its own.
                handshake(datagram, from: address)
            } else {
                drop("unknown connection ID", address: address)
            }
        case .addressSession, .legacyResumption:
            drop("a record without connection ID (Device OS before 3.1 is not supported)", address: address)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        for (_, pending) in handshakes { pending.timer?.cancel() }
        handshakes = [:]
        completedHandshakes = 0
        // Devices go offline; their stored sessions are resumed by the next run.
        for device in devices.values { device.shutDown() }
        context.fireChannelInactive()
    }

    /// Writes one datagram to `address`.
    func write(_ bytes: [UInt8], to address: SocketAddress) {
        guard let context else { return }
        let envelope = AddressedEnvelope(remoteAddress: address, data: context.channel.allocator.buffer(bytes: bytes))
        context.writeAndFlush(wrapOutboundOut(envelope), promise: nil)
    }

    /// Forgets a session that ended.
    func remove(_ device: DatagramDevice) {
        if let id = device.connectionID, devices[id] === device { devices[id] = nil }
    }

    /// Counts a dropped datagram; logs the first of each reason.
    func drop(_ reason: String, address: SocketAddress) {
        let count = drops[reason, default: 0] + 1
        drops[reason] = count
        if count == 1 || count.nonzeroBitCount == 1 && count >= 1024 {
            logger.info(
                "UDP datagram dropped",
                metadata: ["reason": "\(reason)", "device.address": "\(address)", "drops.count": "\(count)"]
            )
        }
    }

    // MARK: Handshakes

    private func handshake(_ datagram: ArraySlice<UInt8>, from address: SocketAddress) {
        let existing = handshakes[address]
        var machine =
            existing?.machine ?? DTLSHandshake(configuration: configuration, clientAddress: Array("\(address)".utf8))
        let actions = machine.receive(datagram, at: .now)
        if machine.isIdle {
            existing?.timer?.cancel()
            store(nil, at: address)
        } else if existing != nil || handshakes.count - completedHandshakes < gateway.settings.udpMaxHandshakes {
            store(PendingHandshake(machine: machine, timer: existing?.timer), at: address)
        } else {
            drop("too many handshakes in progress", address: address)
            return
        }
        carryOut(actions, for: address)
    }

    private func timerFired(for address: SocketAddress) {
        guard var pending = handshakes[address] else { return }
        pending.timer = nil
        let actions = pending.machine.timerFired(at: .now)
        store(pending.machine.isIdle ? nil : pending, at: address)
        carryOut(actions, for: address)
    }

    /// Sets or removes the handshake of `address`, keeping ``completedHandshakes`` in step.
    private func store(_ pending: PendingHandshake?, at address: SocketAddress) {
        if handshakes[address]?.machine.isCompleted == true { completedHandshakes -= 1 }
        if pending?.machine.isCompleted == true { completedHandshakes += 1 }
        handshakes[address] = pending
    }

    private func carryOut(_ actions: [DTLSHandshake.Action], for address: SocketAddress) {
        for action in actions {
            switch action {
            case .send(let bytes):
                write(bytes, to: address)
            case .wakeUp(let deadline):
                guard let context, handshakes[address] != nil else { continue }
                handshakes[address]?.timer?.cancel()
                let delay = TimeAmount(max(deadline - .now, .zero))
                handshakes[address]?.timer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
                    self.timerFired(for: address)
                }
            case .established(let session):
                established(session, from: address)
            case .ignored(let error):
                logger.debug(
                    "DTLS handshake record ignored",
                    metadata: ["reason": "\(error)", "device.address": "\(address)"]
                )
            case .failed(let error):
                gateway.metrics.handshake(.udp, .failed)
                logger.info(
                    "DTLS handshake failed",
                    metadata: ["reason": "\(error)", "device.address": "\(address)"]
                )
            }
        }
    }

    private func established(_ session: DTLSSession, from address: SocketAddress) {
        guard let context else { return }
        guard let id = session.connectionID else {
            drop("a handshake without connection ID (Device OS before 3.1 is not supported)", address: address)
            return
        }
        guard devices.count < gateway.settings.udpMaxSessions else {
            drop("too many sessions", address: address)
            return
        }
        let device = DatagramDevice(session: session, peer: address, server: self, eventLoop: context.eventLoop)
        gateway.metrics.handshake(.udp, .completed)
        devices[id] = device
        device.start()
        logger.info("DTLS handshake complete", metadata: ["dtls.cid": "\(id)", "device.address": "\(address)"])
    }
}
