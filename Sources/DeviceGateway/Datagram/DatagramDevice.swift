import AerosolModels
import CoAP
import DTLS
import DeviceProtocol
import Foundation
import Logging
import NIOCore

/// One UDP device's DTLS session on the gateway's event loop: opens its records, keeps CoAP
/// reliable over them (``CoAPReliability``), and runs the same ``DeviceSession`` a TCP device
/// has above CoAP.
///
/// The session outlives the device's time online: a device that sleeps, goes silent or says
/// Goodbye is reported offline, and when it sends again (from any address: its records carry
/// the connection ID) it is online again without a handshake, with the Hello, Describe and
/// subscriptions it gave before.
///
/// Work that must wait (a key lookup, a database write) makes the device busy: messages that
/// arrive meanwhile wait in a bounded inbox (a device whose inbox is full has its messages
/// dropped; it retransmits its CONs).
final class DatagramDevice {
    /// A REST request waiting for the device's answer.
    struct Waiter {
        var promise: EventLoopPromise<DeviceResponse>
        var timer: Scheduled<Void>
    }

    /// The most messages waiting to be handled.
    static let inboxLimit = 64
    /// The maximum message size of a device whose Hello does not say (Gen3 before 3.0).
    static let defaultMaximumMessageSize = 800

    unowned let server: DatagramHandler
    let gateway: GatewayContext
    let eventLoop: any EventLoop
    var logger: Logger
    var dtls: DTLSSession
    var session: DeviceSession
    var reliability = CoAPReliability()
    /// Where the device is now: the source of its newest record (unknown for a session restored
    /// after a restart until the device sends again).
    var peer: SocketAddress?
    var deviceID: String?
    /// The serial of the device's current time online (a new one each time).
    var serial: UInt64 = 0
    var link: DeviceLink?
    var isOnline = false
    var ownerID: String?
    var productID: Int?
    /// The write that records the device online; the offline report waits for it.
    var onlineRecorded: EventLoopFuture<Device>?
    var lastHeard: ContinuousClock.Instant = .now
    var lastHeardDate = Date()
    var ended = false
    /// Whether the device's records are marked as resuming (type 253): it has not received
    /// anything from this session since it resumed.
    var resuming = false

    var busy = false
    var inbox: [[UInt8]] = []
    var actions: [DeviceSession.Action] = []
    var waiters: [UInt8: Waiter] = [:]
    var retransmissionTimer: Scheduled<Void>?
    var silenceTimer: Scheduled<Void>?
    /// The functions and variables from the device's last application Describe.
    var application: Describe?
    /// That Describe as the device sent it (JSON), to store with the session.
    var applicationDocument: [UInt8]?
    /// Whether the stored session is out of date, and whether a write is in flight.
    var persistPending = false
    var persisting = false
    var maximumMessageSize = DatagramDevice.defaultMaximumMessageSize
    /// The reasons of the device's last Goodbye.
    var goodbye: Goodbye?
    /// Records dropped, by reason (each reason is logged once per session).
    var drops: [String: Int] = [:]
    /// What the device described for firmware updates, and the transfer running, if any.
    var firmware = ConnectionFirmware()

    init(session: DTLSSession, peer: SocketAddress, server: DatagramHandler, eventLoop: any EventLoop) {
        self.dtls = session
        self.peer = peer
        self.server = server
        self.gateway = server.gateway
        self.eventLoop = eventLoop
        self.session = DeviceSession(settings: server.gateway.settings)
        self.reliability.initialTimeout = server.gateway.settings.udpRetransmissionTimeout
        var logger = server.logger
        if let id = session.connectionID { logger[metadataKey: "dtls.cid"] = "\(id)" }
        self.logger = logger
    }

    /// A session a previous run of the gateway stored, for a device that said `hello`: it is
    /// known (its key is checked again when it comes back) and offline until it sends.
    init(
        restoring session: DTLSSession,
        deviceID: String,
        hello: Hello,
        stored: StoredSession,
        server: DatagramHandler,
        eventLoop: any EventLoop
    ) {
        self.dtls = session
        self.peer = nil
        self.server = server
        self.gateway = server.gateway
        self.eventLoop = eventLoop
        self.session = DeviceSession(
            settings: server.gateway.settings,
            restoringHello: hello,
            subscriptions: stored.deviceSubscriptions
        )
        self.reliability.initialTimeout = server.gateway.settings.udpRetransmissionTimeout
        self.deviceID = deviceID
        if let document = stored.application {
            self.applicationDocument = Array(document)
            self.application = try? Describe(json: Array(document))
        }
        if let size = hello.maximumMessageSize { self.maximumMessageSize = Int(size) }
        var logger = server.logger
        if let id = session.connectionID { logger[metadataKey: "dtls.cid"] = "\(id)" }
        logger[metadataKey: "device.id"] = "\(deviceID)"
        self.logger = logger
    }

    /// The connection ID that routes the device's records here.
    var connectionID: ConnectionID? { dtls.connectionID }

    /// Starts the session's clock: a device that does not say Hello in time is forgotten.
    func start() {
        lastHeard = .now
        armSilenceTimer()
    }

    // MARK: Receiving

    /// Opens a datagram routed here by its connection ID.
    func receive(_ datagram: ArraySlice<UInt8>, from address: SocketAddress) {
        guard !ended else { return }
        for inbound in dtls.open(datagram) {
            switch inbound {
            case .applicationData(let plaintext, let info):
                if info.marker == .resumedConnectionID, !resuming {
                    gateway.metrics.handshake(.udp, .resumed)
                    logger.info(
                        "device resumed its session without a handshake",
                        metadata: ["device.address": "\(address)"]
                    )
                }
                resuming = info.marker == .resumedConnectionID
                if info.updatesPeerAddress, address != peer {
                    logger.debug("device moved", metadata: ["device.address": "\(address)"])
                    peer = address
                }
                heard()
                accept(plaintext)
            case .alert(let alert, _):
                if alert.isCloseNotify || alert.isFatal {
                    end("the device closed its DTLS session (alert \(alert.code))", notify: false)
                    return
                }
            case .reply(let bytes, _):
                server.write(bytes, to: address)
            case .dropped(let error):
                dropped("\(error)")
            }
        }
        drain()
    }

    private func heard() {
        lastHeard = .now
        lastHeardDate = Date()
    }

    /// Sorts out ACKs and duplicates; queues the rest.
    private func accept(_ plaintext: [UInt8]) {
        // A 1-byte keep-alive inside a record: nothing to do.
        guard plaintext.count >= 4 else { return }
        guard let message = try? CoAPMessage(decoding: plaintext) else {
            dropped("malformed CoAP message")
            return
        }
        switch message.type {
        case .acknowledgement, .reset:
            _ = reliability.acknowledged(message.messageID)
            scheduleRetransmission()
        case .confirmable, .nonConfirmable:
            if case .duplicate(let reply) = reliability.arrived(message.messageID, at: .now) {
                if let reply { seal(reply) }
                return
            }
        }
        guard inbox.count < Self.inboxLimit else {
            dropped("too many messages waiting")
            return
        }
        inbox.append(plaintext)
    }

    /// Counts a dropped record; logs the first of each reason (with the device ID, once known).
    func dropped(_ reason: String) {
        let count = drops[reason, default: 0] + 1
        drops[reason] = count
        if count == 1 {
            logger.info("device record dropped", metadata: ["reason": "\(reason)"])
        }
    }

    // MARK: The work loop

    /// Does everything that can be done now, in order: queued actions, then queued messages.
    func drain() {
        while !busy && !ended {
            if !actions.isEmpty {
                perform(actions.removeFirst())
                continue
            }
            guard let bytes = inbox.first else { break }
            guard let deviceID else {
                inbox.removeFirst()
                identify(bytes)
                continue
            }
            if !isOnline, session.reopen() {
                // Back after silence, a Goodbye or a server restart: its key is checked again
                // (the device may have been released, deleted or re-keyed meanwhile), then it
                // is online again.
                if let hello = session.hello { resume(hello, deviceID: deviceID, first: bytes) }
                continue
            }
            inbox.removeFirst()
            if firmware.transfer != nil, firmwareClaims(bytes) { continue }
            noteGoodbye(bytes)
            actions = session.receive(bytes, at: .now)
        }
    }

    private func perform(_ action: DeviceSession.Action) {
        switch action {
        case .send(let message):
            send(message)
        case .goOnline(let hello):
            if let deviceID { goOnline(hello, deviceID: deviceID) }
        case .publish(let event, let acknowledgement):
            publish(event, acknowledgement: acknowledgement)
        case .described(let describe, let document):
            described(describe, document: document)
        case .subscribe:
            updateSubscriptions()
            persist()
        case .complete(let token, let response):
            complete(token, response)
        case .messageIDGap:
            break
        case .refusedEvent(let name, let reason):
            logger.info("device event refused", metadata: ["event.name": "\(name)", "reason": "\(reason)"])
        case .close(let reason):
            if reason == "goodbye" {
                goOffline("goodbye (\(goodbye.map { "\($0)" } ?? "no reasons"))")
            } else {
                end(reason, notify: true)
            }
        }
    }

    /// Runs `future`'s work as a busy step: nothing else is handled until it completes; then
    /// `then` runs on the loop and the queue moves on.
    func step<T>(_ future: EventLoopFuture<T>, then: @escaping (Result<T, any Error>) -> Void) {
        busy = true
        future.assumeIsolated().whenComplete { result in
            self.busy = false
            guard !self.ended else { return }
            then(result)
            self.drain()
        }
    }

    /// Decodes the reasons of a Goodbye (POST `/x`) for the offline log line.
    private func noteGoodbye(_ bytes: [UInt8]) {
        guard bytes.count > 4, let message = try? CoAPMessage(decoding: bytes), message.code == .post,
            message.uriPath.first == "x"
        else { return }
        goodbye = try? Goodbye(payload: message.payload)
    }

    // MARK: Sending

    /// Sends one CoAP message: a CON is retransmitted until ACKed, an ACK or RST is kept to
    /// answer a duplicate of the message it answers.
    func send(_ message: CoAPMessage) {
        let bytes: [UInt8]
        do {
            bytes = try message.encoded()
        } catch {
            logger.error("could not encode a message for the device", metadata: ["reason": "\(error)"])
            return
        }
        switch message.type {
        case .confirmable:
            reliability.sent(
                confirmable: message.messageID,
                message: bytes,
                at: .now,
                jitter: Double.random(in: 0..<1)
            )
            scheduleRetransmission()
        case .acknowledgement, .reset:
            reliability.replied(to: message.messageID, with: bytes)
        case .nonConfirmable:
            break
        }
        seal(bytes)
    }

    /// Seals one CoAP message into a record to the device's current address.
    func seal(_ bytes: [UInt8]) {
        guard let peer else { return }
        do {
            server.write(try dtls.seal(bytes), to: peer)
        } catch {
            logger.error("could not seal a record for the device", metadata: ["reason": "\(error)"])
        }
        // Outgoing sequence numbers are never reused, even after a restart: the device keeps
        // its replay window. Reserve the next ones ahead, write-behind.
        if dtls.needsReservation { persist() }
    }

    func scheduleRetransmission() {
        retransmissionTimer?.cancel()
        retransmissionTimer = nil
        guard !ended, let deadline = reliability.deadline else { return }
        let delay = TimeAmount(max(deadline - .now, .zero))
        retransmissionTimer = eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.retransmissionTimer = nil
            let (again, gaveUp) = self.reliability.due(at: .now)
            for message in again { self.seal(message) }
            if !gaveUp.isEmpty {
                self.logger.info(
                    "device did not acknowledge the server's message",
                    metadata: ["coap.message_ids": "\(gaveUp)"]
                )
            }
            self.scheduleRetransmission()
        }
    }

    // MARK: Silence and the end

    /// How long the device may stay silent before it is reported offline.
    var offlineAfter: Duration {
        if let configured = gateway.settings.udpOfflineAfter { return configured }
        let cellular: Set<UInt16> = [10, 13, 23, 25, 26, 28]
        if let platform = session.hello?.platformID, cellular.contains(platform) { return .seconds(2 * 23 * 60) }
        return .seconds(2 * 25)
    }

    /// Arms the check for silence: when the limit after the last record is reached, or after
    /// `delay` if given.
    func armSilenceTimer(after given: Duration? = nil) {
        silenceTimer?.cancel()
        let limit = deviceID == nil ? gateway.settings.helloTimeout : offlineAfter
        let delay = TimeAmount(given ?? max(lastHeard + limit - .now, .milliseconds(1)))
        silenceTimer = eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.silenceTimer = nil
            self.silenceCheck()
        }
    }

    private func silenceCheck() {
        guard !ended else { return }
        if deviceID == nil {
            if ContinuousClock.now - lastHeard >= gateway.settings.helloTimeout {
                end("no Hello within the Hello timeout", notify: false)
                return
            }
        } else if isOnline, ContinuousClock.now - lastHeard >= offlineAfter {
            guard !busy, inbox.isEmpty else {
                // The server is still working on what the device sent (its online write, say,
                // slow under load): that silence is the server's, not the device's. A CI run
                // took a talking device offline this way, and its next messages waited for an
                // online write behind the offline one. Judged again a period from now.
                armSilenceTimer(after: offlineAfter)
                return
            }
            goOffline("silent for \(offlineAfter)")
        }
        if !ended, deviceID == nil || isOnline { armSilenceTimer() }
    }

    /// Ends the session for good: the device must handshake again. With `notify`, an
    /// encrypted close_notify tells it so at once.
    func end(_ reason: String, notify: Bool) {
        guard !ended else { return }
        if notify, let peer, let record = try? dtls.sealCloseNotify() { server.write(record, to: peer) }
        logger.info("device session ended", metadata: ["reason": "\(reason)"])
        if isOnline { goOffline(reason) }
        ended = true
        retransmissionTimer?.cancel()
        silenceTimer?.cancel()
        firmwareConnectionEnded()
        failWaiters("the device's session ended")
        server.remove(self)
        forgetStoredSession()
    }

    /// The gateway is stopping: report the device offline (the session could resume).
    func shutDown() {
        if isOnline { goOffline("the server is stopping") }
        firmwareConnectionEnded()
        ended = true
        retransmissionTimer?.cancel()
        silenceTimer?.cancel()
    }

    func failWaiters(_ message: String) {
        for (_, waiter) in waiters {
            waiter.timer.cancel()
            waiter.promise.fail(GatewayError.notConnected(message))
        }
        waiters = [:]
    }
}
