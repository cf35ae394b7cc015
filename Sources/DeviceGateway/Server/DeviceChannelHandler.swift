import AerosolModels
import CoAP
import DeviceProtocol
import Foundation
import Logging
import NIOCore

/// Runs one device's connection on its channel's event loop, without a task of its own: the
/// handshake, then the encrypted session driven by a ``DeviceSession``.
///
/// Work that must wait (a database write, an RSA operation on the thread pool) makes the
/// handler busy: messages that arrive meanwhile queue in order, and no further read is asked
/// of the socket until the work is done, so a device that floods is held back by TCP rather
/// than by memory. Requests from the REST API and events for the device's subscriptions come
/// in through a ``DeviceLink`` and are written on the loop.
final class DeviceChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A REST request waiting for the device's answer.
    struct Waiter {
        var promise: EventLoopPromise<DeviceResponse>
        var timer: Scheduled<Void>
    }

    /// What the connection knows once the device is online.
    struct Online {
        var deviceID: String
        var ownerID: String?
        var productID: Int?
        var lastHeard: Date
    }

    let serial: UInt64
    let gateway: GatewayContext
    var logger: Logger
    var context: ChannelHandlerContext?
    /// The connection's event loop, also after the handler is removed (work that outlives the
    /// connection, such as the last `spark/flash/status`, is scheduled on it).
    let eventLoop: any EventLoop

    // Handshake, then session.
    var handshake: ServerHandshake?
    var handshakeBytes: [UInt8] = []
    var secure: SecureChannel?
    var session: DeviceSession?
    var deviceID: String?
    var online: Online?
    /// The handle the rest of the gateway uses, once online.
    var link: DeviceLink?
    /// The write that records the device online; the offline report waits for it.
    var onlineRecorded: EventLoopFuture<Device>?
    var closing = false

    // Flow control.
    var busy = false
    var readHeld = false
    var inbox: [[UInt8]] = []
    var actions: [DeviceSession.Action] = []
    var needsFlush = false
    /// A bad frame arrived after the messages in the inbox: close once they are handled.
    var badFrame: (any Error)?

    var helloDeadline: Scheduled<Void>?
    var waiters: [UInt8: Waiter] = [:]
    /// The device's functions and variables, from its last application Describe.
    var application: Describe?
    /// The largest CoAP message the device accepts (Hello), for event deliveries.
    var maximumMessageSize = 1024
    /// Event deliveries dropped because the connection could not take more.
    var droppedDeliveries = 0
    /// When this connection last noted its device's last-heard time for the database.
    var heardNoted = Date.distantPast
    /// Firmware updates on this connection (`DeviceChannelHandler+Firmware.swift`).
    var firmware = ConnectionFirmware()

    init(serial: UInt64, gateway: GatewayContext, eventLoop: any EventLoop) {
        self.serial = serial
        self.eventLoop = eventLoop
        self.gateway = gateway
        self.logger = gateway.logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let address = context.channel.remoteAddress?.ipAddress {
            logger[metadataKey: "device.address"] = "\(address)"
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        var handshake = ServerHandshake(serverKey: gateway.serverKey)
        guard case .send(let nonce) = handshake.start() else {
            context.close(promise: nil)
            return
        }
        self.handshake = handshake
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: nonce)), promise: nil)
        // The device must be through the handshake and Hello within the Hello timeout.
        helloDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(gateway.settings.helloTimeout)) {
            self.close("no Hello within the Hello timeout")
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        // After a bad frame nothing more is read: the messages before it are handled, then close.
        guard !closing, badFrame == nil else { return }
        if handshake != nil {
            handshakeBytes.append(contentsOf: buffer.readableBytesView)
        } else if secure != nil {
            receive(buffer.readableBytesView)
        }
        drain()
    }

    /// Decrypts session bytes into messages that wait in the inbox. Good messages before a bad
    /// frame are still handled; the connection closes after them.
    func receive(_ bytes: some Collection<UInt8>) {
        do {
            let messages = try secure!.receive(bytes)
            if !messages.isEmpty { heard(at: Date()) }
            inbox.append(contentsOf: messages)
            if let failure = secure!.failure { badFrame = failure }
        } catch {
            logger.warning("device sent a bad frame", metadata: ["reason": "\(error)"])
            close(nil)
        }
    }

    /// Records that the device sent something: on the connection at once, for the database at
    /// most once a second (the gateway writes it behind, see ``HeardTimes``).
    func heard(at now: Date) {
        guard let deviceID = online?.deviceID else { return }
        online?.lastHeard = now
        if now.timeIntervalSince(heardNoted) >= 1 {
            heardNoted = now
            gateway.heard.note(deviceID, at: now)
        }
    }

    func read(context: ChannelHandlerContext) {
        // Back-pressure: no new bytes from the socket while earlier ones wait for work, or while
        // our answers pile up unread by the device.
        if busy || !inbox.isEmpty || !context.channel.isWritable {
            readHeld = true
        } else {
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? IdleStateHandler.IdleStateEvent, event == .read else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Silence: ping the device; if the last ping is still unanswered, it is gone. Not while
        // our own work holds its reads: then its answers are merely unread.
        guard !busy, !readHeld, var session, session.isEstablished else { return }
        let action = session.ping()
        self.session = session
        actions.append(action)
        drain()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.info("device connection failed", metadata: ["reason": "\(error)"])
        close(nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        helloDeadline?.cancel()
        for (_, waiter) in waiters {
            waiter.timer.cancel()
            waiter.promise.fail(GatewayError.notConnected("the device disconnected"))
        }
        waiters = [:]
        firmwareConnectionEnded()
        gateway.registry.remove(serial)
        gateway.router.remove(serial)
        if let online {
            goOffline(online)
        } else if deviceID == nil {
            logger.debug("connection closed before the handshake finished")
        }
        context.fireChannelInactive()
    }

    /// Closes the connection once, logging `reason` (if it is not logged already).
    func close(_ reason: String?) {
        guard !closing else { return }
        closing = true
        if let reason { logger.info("device connection closed", metadata: ["reason": "\(reason)"]) }
        context?.close(promise: nil)
    }

    // MARK: The work loop

    /// Does everything that can be done now, in order: queued actions, then queued messages
    /// (or the next handshake step); then flushes, and asks for more bytes if nothing waits.
    func drain() {
        guard let context else { return }
        while !busy && !closing {
            if handshake != nil {
                advanceHandshake()
                break
            }
            if !actions.isEmpty {
                perform(actions.removeFirst())
                continue
            }
            guard !inbox.isEmpty, session != nil else {
                if let badFrame {
                    logger.warning("device sent a bad frame", metadata: ["reason": "\(badFrame)"])
                    close(nil)
                }
                break
            }
            let message = inbox.removeFirst()
            if firmware.transfer != nil, firmwareClaims(message) { continue }
            actions = session!.receive(message, at: .now)
        }
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        if readHeld, !busy, inbox.isEmpty, context.channel.isWritable {
            readHeld = false
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // The device read what we wrote: reading from it may resume.
        if context.channel.isWritable { drain() }
        context.fireChannelWritabilityChanged()
    }

    private func perform(_ action: DeviceSession.Action) {
        switch action {
        case .send(let message):
            write(message)
        case .goOnline(let hello):
            goOnline(hello)
        case .publish(let event, let acknowledgement):
            publish(event, acknowledgement: acknowledgement)
        case .described(let describe, let document):
            described(describe, document: document)
        case .subscribe:
            updateSubscriptions()
        case .complete(let token, let response):
            complete(token, response)
        case .messageIDGap(let expected, let received):
            logger.info(
                "device skipped message IDs",
                metadata: ["coap.expected_id": "\(expected)", "coap.received_id": "\(received)"]
            )
        case .refusedEvent(let name, let reason):
            logger.info("device event refused", metadata: ["event.name": "\(name)", "reason": "\(reason)"])
        case .close(let reason):
            close(reason)
        }
    }

    /// Seals and writes one message (flushed at the end of ``drain()``).
    func write(_ message: CoAPMessage) {
        guard let context, secure != nil else { return }
        do {
            let frame = try secure!.seal(try message.encoded())
            context.write(wrapOutboundOut(ByteBuffer(bytes: frame)), promise: nil)
            needsFlush = true
        } catch {
            logger.error("could not encode a message for the device", metadata: ["reason": "\(error)"])
            close(nil)
        }
    }

    /// Runs `future`'s work as a busy step: nothing else is handled until it completes; then
    /// `then` runs on the loop and the queue moves on.
    func step<T>(_ future: EventLoopFuture<T>, then: @escaping (Result<T, any Error>) -> Void) {
        busy = true
        future.assumeIsolated().whenComplete { result in
            self.busy = false
            guard !self.closing else { return }
            then(result)
            self.drain()
        }
    }
}
