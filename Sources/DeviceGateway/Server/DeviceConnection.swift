import AerosolModels
import AerosolStore
import CoAP
import DeviceProtocol
import Foundation
import Logging
import NIOCore

/// Runs one device's TCP connection: the handshake (§3), then the encrypted session (§4) driven
/// by a ``DeviceSession``, and the device's status around it (§9).
struct DeviceConnection {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    let serial: UInt64
    let context: GatewayContext

    private struct Online {
        var deviceID: String
        var lastHeard: Date
    }

    /// Runs until the device disconnects, fails, idles out or the gateway stops; never throws.
    func run() async {
        var logger = context.logger
        if let address = channel.channel.remoteAddress?.ipAddress {
            logger[metadataKey: "device.address"] = "\(address)"
        }
        // The device must be through the handshake and Hello within the Hello timeout.
        let underlying = channel.channel
        let deadline = underlying.eventLoop.scheduleTask(in: TimeAmount(context.settings.helloTimeout)) {
            underlying.pipeline.fireErrorCaught(GatewayError.timedOut("no Hello within the Hello timeout"))
            underlying.close(promise: nil)
        }
        var online: Online?
        do {
            try await channel.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                guard let (result, leftover) = try await handshake(&iterator, outbound, logger: &logger) else { return }
                try await session(
                    result,
                    leftover: leftover,
                    &iterator,
                    outbound,
                    deadline: deadline,
                    online: &online,
                    logger: logger
                )
            }
        } catch {
            logger.info("device connection closed", metadata: ["reason": "\(error)"])
        }
        deadline.cancel()
        context.registry.remove(serial)
        if let online {
            await goOffline(online, logger: logger)
        }
    }

    // MARK: Handshake

    private func handshake(
        _ iterator: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        logger: inout Logger
    ) async throws -> (HandshakeResult, [UInt8])? {
        var handshake = ServerHandshake(serverKey: context.serverKey)
        guard case .send(let nonce) = handshake.start() else { return nil }
        try await outbound.write(ByteBuffer(bytes: nonce))
        while true {
            guard let buffer = try await iterator.next() else {
                logger.info("device disconnected during the handshake")
                return nil
            }
            var action = handshake.receive(buffer.readableBytesView)
            actions: while true {
                switch action {
                case .wait:
                    break actions
                case .send(let bytes):
                    try await outbound.write(ByteBuffer(bytes: bytes))
                    break actions
                case .lookUpDeviceKey(let id, let presented):
                    logger[metadataKey: "device.id"] = "\(id.hexString)"
                    let stored = try await context.keys.publicKey(deviceID: id.hexString)
                    guard let stored, let key = try? DevicePublicKey(pemRepresentation: stored) else {
                        logger.warning("device refused: no public key is provisioned for it")
                        return nil
                    }
                    if let presented, presented != key {
                        logger.warning("device refused: its key differs from the provisioned one")
                        return nil
                    }
                    action = handshake.deviceKeyResolved(key)
                case .establish(let reply, let result):
                    try await outbound.write(ByteBuffer(bytes: reply))
                    return (result, result.leftover)
                case .fail(let error):
                    logger.warning("device handshake failed", metadata: ["reason": "\(error)"])
                    return nil
                }
            }
        }
    }

    // MARK: Session

    private func session(
        _ result: HandshakeResult,
        leftover: [UInt8],
        _ iterator: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        deadline: Scheduled<Void>,
        online: inout Online?,
        logger: Logger
    ) async throws {
        var channel = result.makeChannel(maximumFrameLength: context.settings.maxFrameBytes)
        var session = DeviceSession(settings: context.settings)
        let deviceID = result.deviceID.hexString
        var pending = leftover
        while true {
            let messages: [[UInt8]]
            do {
                messages = try channel.receive(pending)
            } catch {
                logger.warning("device sent a bad frame", metadata: ["reason": "\(error)"])
                return
            }
            if !messages.isEmpty { online?.lastHeard = Date() }
            for message in messages {
                for action in session.receive(message, at: .now) {
                    switch action {
                    case .send(let reply):
                        try await outbound.write(ByteBuffer(bytes: try channel.seal(try reply.encoded())))
                    case .goOnline(let hello):
                        deadline.cancel()
                        online = Online(deviceID: deviceID, lastHeard: Date())
                        try await goOnline(deviceID, hello: hello, logger: logger)
                    case .publish(let event, let acknowledgement):
                        let reply = await publish(event, deviceID: deviceID, logger: logger, acknowledgement)
                        if let reply {
                            try await outbound.write(ByteBuffer(bytes: try channel.seal(try reply.encoded())))
                        }
                    case .close(let reason):
                        logger.info("device connection closed", metadata: ["reason": "\(reason)"])
                        return
                    }
                }
            }
            guard let buffer = try await iterator.next() else {
                logger.info("device disconnected")
                return
            }
            pending = Array(buffer.readableBytesView)
        }
    }

    private func goOnline(_ deviceID: String, hello: Hello, logger: Logger) async throws {
        let previous = context.registry.goOnline(deviceID, serial: serial)
        let device = try await context.devices.connected(
            id: deviceID,
            at: Date(),
            ipAddress: channel.channel.remoteAddress?.ipAddress,
            platformID: hello.platformID.map(Int.init),
            systemFirmwareVersion: nil
        )
        if let previous {
            // The device reconnected before its old connection was noticed dead (spec §9):
            // close the old one and report it offline before the new one is online.
            previous.close(promise: nil)
            try await status("offline", device: device)
        }
        try await status("online", device: device)
        logger.info("device online", metadata: ["device.platform": "\(hello.platformID.map(String.init) ?? "-")"])
    }

    private func goOffline(_ online: Online, logger: Logger) async {
        guard context.registry.goOffline(online.deviceID, serial: serial) else { return }
        do {
            try await context.devices.disconnected(id: online.deviceID, lastHeard: online.lastHeard)
            if let device = try await context.devices.find(id: online.deviceID) {
                try await status("offline", device: device)
            }
            logger.info("device offline")
        } catch {
            logger.error("could not record the device offline", metadata: ["reason": "\(error)"])
        }
    }

    private func status(_ data: String, device: Device) async throws {
        _ = try await context.log.append(
            EventDraft(
                name: "spark/status",
                data: data,
                coreID: device.id,
                userID: device.ownerID,
                productID: device.productID
            )
        )
    }

    /// Appends the event (with the device's current owner and product) and returns the reply.
    private func publish(
        _ event: DevicePublish,
        deviceID: String,
        logger: Logger,
        _ acknowledgement: CoAPMessage?
    ) async -> CoAPMessage? {
        do {
            let device = try await context.devices.find(id: deviceID)
            _ = try await context.log.append(
                EventDraft(
                    name: event.name,
                    data: event.data,
                    ttl: event.ttl,
                    coreID: deviceID,
                    userID: device?.ownerID,
                    productID: device?.productID
                )
            )
            return acknowledgement
        } catch {
            logger.warning(
                "device event not logged",
                metadata: ["event.name": "\(event.name)", "reason": "\(error)"]
            )
            guard let acknowledgement else { return nil }
            return CoAPMessage(
                type: .acknowledgement,
                code: .serviceUnavailable,
                messageID: acknowledgement.messageID
            )
        }
    }
}
