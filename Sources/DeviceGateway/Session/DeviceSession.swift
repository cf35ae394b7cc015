import AerosolModels
import CoAP
import DeviceProtocol
import Foundation

/// One device's session after the handshake, as a value-type state machine: decrypted messages
/// in, actions out (send a message, go online, publish an event, record a Describe, add a
/// subscription, complete a request, close). No sockets, no clocks of its own: the connection
/// passes the time in and carries out the actions in order.
///
/// It serves Hello, pings both ways and the keep-alive, device events with a
/// per-device rate limit, time requests, Describe pushes,
/// subscriptions and Goodbye; the requests the cloud sends (Describe, variables,
/// functions, signal) are matched to their answers by token in `DeviceSession+Requests.swift`.
public struct DeviceSession: Sendable {
    /// What the connection must do.
    public enum Action: Hashable, Sendable {
        /// Seal and write this message.
        case send(CoAPMessage)
        /// The device said Hello: mark it online (after the server Hello has been sent).
        case goOnline(Hello)
        /// Append this event; then send `acknowledgement` if there is one (the device waits for
        /// it only after the event is durable).
        case publish(DevicePublish, acknowledgement: CoAPMessage?)
        /// The device described itself (pushed, or answering a Describe request); `document` is
        /// the JSON as received.
        case described(Describe, document: [UInt8])
        /// The device subscribed to events.
        case subscribe(DeviceSubscription)
        /// The device answered the request sent with `token` (see ``start(_:)``).
        case complete(token: UInt8, DeviceResponse)
        /// The device skipped message IDs: worth a log line, never a close.
        case messageIDGap(expected: UInt16, received: UInt16)
        /// A device event was refused (bad or reserved name, too much data): worth a log line.
        case refusedEvent(name: String, reason: String)
        /// Close the connection, logging `reason`.
        case close(reason: String)
    }

    enum State: Hashable, Sendable {
        case awaitingHello
        case established
        case closed
    }

    /// The most subscriptions one connection may hold; more are refused with ACK 4.00.
    public static let maximumSubscriptions = 64
    /// The largest Describe assembled from blocks.
    static let maximumDescribeBytes = 64 * 1024

    var state: State = .awaitingHello
    var messageIDs: MessageIDCounter
    private var limiter: PublishRateLimiter
    private let maxEventDataBytes: Int
    var pending = PendingRequests()
    var outstandingPing: UInt16?
    /// The message ID the device's next CON or NON should carry.
    private var expectedDeviceMessageID: UInt16?
    /// The device's Hello, once received.
    public private(set) var hello: Hello?
    /// Publishes refused by the rate limit so far.
    public private(set) var throttledCount = 0
    /// The subscriptions the device made on this connection.
    public private(set) var subscriptions: [DeviceSubscription] = []

    /// A session with the gateway's limits; `firstMessageID` seeds the server's message IDs and
    /// `deviceMessageIDs` (from the handshake) those the device is expected to use.
    public init(
        settings: GatewaySettings,
        firstMessageID: UInt16 = .random(in: 0...UInt16.max),
        deviceMessageIDs: MessageIDCounter? = nil
    ) {
        self.messageIDs = MessageIDCounter(current: firstMessageID)
        self.expectedDeviceMessageID = deviceMessageIDs.map { $0.current &+ 1 }
        self.limiter = PublishRateLimiter(rate: settings.publishRate, burst: settings.publishBurst)
        self.maxEventDataBytes = settings.maxEventDataBytes
    }

    /// Whether the device has said Hello.
    public var isEstablished: Bool { self.state == .established }

    /// A session taken up again from what a previous run of the gateway stored: the device said
    /// `hello` and made `subscriptions` before, and will not repeat them when it resumes.
    public init(settings: GatewaySettings, restoringHello hello: Hello, subscriptions: [DeviceSubscription]) {
        self.init(settings: settings)
        self.hello = hello
        self.subscriptions = subscriptions
        self.state = .established
    }

    /// Takes up a session that ended with a Goodbye again: a UDP device resumes its DTLS session
    /// without a new Hello, and the session goes on with the Hello and subscriptions it had.
    /// `false` if the device never said Hello.
    public mutating func reopen() -> Bool {
        guard self.hello != nil else { return false }
        if self.state == .closed { self.state = .established }
        return true
    }

    /// Handles one decrypted message received at `now` (wall-clock `date` for time requests).
    public mutating func receive(
        _ bytes: [UInt8],
        at now: ContinuousClock.Instant,
        date: Date = Date()
    ) -> [Action] {
        guard self.state != .closed else { return [] }
        // The one-byte keep-alive: nothing to answer.
        if bytes.count < 4, bytes.allSatisfy({ $0 == 0 }) { return [] }
        let message: CoAPMessage
        do {
            message = try CoAPMessage(decoding: bytes)
        } catch {
            return self.close("malformed CoAP message: \(error)")
        }
        switch message.type {
        case .acknowledgement, .reset:
            return self.answer(message)
        case .confirmable, .nonConfirmable:
            break
        }
        var gap: [Action] = []
        if let expected = self.expectedDeviceMessageID {
            // Tracked when the handshake told the first ID (a session made without it does not).
            if message.messageID != expected {
                gap = [.messageIDGap(expected: expected, received: message.messageID)]
            }
            self.expectedDeviceMessageID = message.messageID &+ 1
        }
        return gap + self.handle(message, at: now, date: date)
    }

    private mutating func handle(_ message: CoAPMessage, at now: ContinuousClock.Instant, date: Date) -> [Action] {
        if message.code == .empty {
            // A ping is a CON without a code.
            return message.type == .confirmable ? [.send(message.emptyAcknowledgement)] : []
        }
        if message.code.isResponse {
            return self.separateResponse(message)
        }
        guard message.code.isRequest else { return self.acknowledge(message) }
        let letter = message.uriPath.first?.first.map(String.init) ?? ""
        switch (message.code, letter) {
        case (.post, "h"):
            return self.hello(message)
        case (_, _) where self.state == .awaitingHello:
            return self.close("\(message.code) /\(message.path) before Hello")
        case (.post, "e"), (.post, "E"):
            return self.event(message, at: now)
        case (.get, "t"):
            let seconds = UInt32(clamping: Int64(date.timeIntervalSince1970))
            let payload = (0..<4).map { UInt8(truncatingIfNeeded: seconds >> (24 - 8 * $0)) }
            guard message.type == .confirmable else {
                // A NON request gets a NON answer with its token (nothing to acknowledge).
                let answer = CoAPMessage(
                    type: .nonConfirmable,
                    code: .content,
                    messageID: self.messageIDs.next(),
                    token: message.token,
                    payload: payload
                )
                return [.send(answer)]
            }
            return [.send(message.acknowledgement(code: .content, payload: payload))]
        case (.post, "x"):
            var actions = self.acknowledge(message)
            self.state = .closed
            actions.append(.close(reason: "goodbye"))
            return actions
        case (.post, "d"):
            return self.describePush(message)
        case (.get, "e"), (.get, "E"):
            return self.subscribe(message)
        default:
            return message.type == .confirmable ? [.send(message.acknowledgement(code: .notFound))] : []
        }
    }

    /// An empty ACK if `message` is confirmable.
    private func acknowledge(_ message: CoAPMessage) -> [Action] {
        message.type == .confirmable ? [.send(message.emptyAcknowledgement)] : []
    }

    private mutating func hello(_ message: CoAPMessage) -> [Action] {
        let hello: Hello
        do {
            hello = try Hello(payload: message.payload)
        } catch {
            return self.close("invalid Hello")
        }
        var actions = self.acknowledge(message)
        actions.append(.send(Hello.serverMessage(messageID: self.messageIDs.next())))
        if self.state == .awaitingHello {
            self.state = .established
            self.hello = hello
            actions.append(.goOnline(hello))
            // Firmware before 2.0 does not describe itself: ask, for both parts at once (it
            // answers with one combined document).
            if !hello.flags.contains(.deviceInitiatedDescribe),
                case let (_, request)? = self.send(.describe(flags: 0x03), isInternal: true)
            {
                actions.append(.send(request))
            }
        }
        return actions
    }

    private mutating func event(_ message: CoAPMessage, at now: ContinuousClock.Instant) -> [Action] {
        let confirmable = message.type == .confirmable
        let name = Self.nameAfterLetter(message)
        var problem = EventName.problem(with: name, from: .device)
        if problem == nil, message.payload.count > self.maxEventDataBytes {
            problem = "Event data is \(message.payload.count) bytes; the limit is \(self.maxEventDataBytes)"
        }
        if let problem {
            // Logged with a printable name: the raw one may hold the line breaks that got it refused.
            let shown = String(
                name.unicodeScalars.prefix(64).map { $0.isASCII && $0.value >= 0x20 ? Character($0) : "?" }
            )
            let refusal = Action.refusedEvent(name: shown, reason: problem)
            return confirmable ? [.send(message.acknowledgement(code: .badRequest)), refusal] : [refusal]
        }
        guard self.limiter.take(at: now) else {
            self.throttledCount += 1
            // The protocol's slowdown reply ("EventSlowdown"): ACK 4.00. A NON event is dropped.
            return confirmable ? [.send(message.acknowledgement(code: .badRequest))] : []
        }
        let data = message.payload.isEmpty ? nil : String(decoding: message.payload, as: UTF8.self)
        let publish = DevicePublish(name: name, data: data, ttl: Int(message.maxAge ?? 60))
        return [.publish(publish, acknowledgement: confirmable ? message.emptyAcknowledgement : nil)]
    }

    private mutating func describePush(_ message: CoAPMessage) -> [Action] {
        // Device OS 5.5 and later send the system Describe as protobuf (Content-Format 42): it
        // is acknowledged; its module list is not read yet.
        if message.contentFormat == 42, message.payload.first != UInt8(ascii: "{") {
            return self.acknowledge(message)
        }
        guard let describe = try? Describe(json: message.payload) else {
            return message.type == .confirmable ? [.send(message.acknowledgement(code: .badRequest))] : []
        }
        return self.acknowledge(message) + [.described(describe, document: message.payload)]
    }

    private mutating func subscribe(_ message: CoAPMessage) -> [Action] {
        let subscription = DeviceSubscription(
            prefix: Self.nameAfterLetter(message),
            ownDevicesOnly: message.uriQuery.contains([UInt8(ascii: "u")])
        )
        guard subscription.prefix.utf8.count <= 64 else {
            return message.type == .confirmable ? [.send(message.acknowledgement(code: .badRequest))] : []
        }
        if self.subscriptions.contains(subscription) { return self.acknowledge(message) }
        guard self.subscriptions.count < Self.maximumSubscriptions else {
            return message.type == .confirmable ? [.send(message.acknowledgement(code: .badRequest))] : []
        }
        self.subscriptions.append(subscription)
        return self.acknowledge(message) + [.subscribe(subscription)]
    }

    /// Every Uri-Path option joined with `/`, without the first segment's letter (`E/temp`,
    /// `E` + `temp`, `E` + `a` + `b` all name `temp` or `a/b`).
    private static func nameAfterLetter(_ message: CoAPMessage) -> String {
        message.path.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first
            .map(String.init) ?? ""
    }

    /// A NON POST `/e/<name>` delivering an event to the device, or `nil` before Hello.
    public mutating func delivery(of name: String, data: String?) -> CoAPMessage? {
        guard self.state == .established else { return nil }
        var message = CoAPMessage(
            type: .nonConfirmable,
            code: .post,
            messageID: self.messageIDs.next(),
            payload: Array((data ?? "").utf8)
        )
        message.appendPath("e", name)
        return message
    }

    mutating func close(_ reason: String) -> [Action] {
        self.state = .closed
        return [.close(reason: reason)]
    }
}
