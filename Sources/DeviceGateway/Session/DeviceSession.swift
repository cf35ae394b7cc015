import CoAP
import DeviceProtocol
import Foundation

/// One device's session after the handshake, as a value-type state machine: decrypted messages
/// in, actions out (send a reply, go online, publish an event, close). No sockets, no clocks of
/// its own: the connection passes the time in.
///
/// Phase 1 serves Hello (§6), pings and the keep-alive (§7.7), device events with a per-device
/// rate limit (§7.4, §6.2), time requests (§7.6), Describe pushes and subscriptions (ACKed;
/// their content is served in phase 2) and Goodbye (§7.8).
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
        /// Close the connection, logging `reason`.
        case close(reason: String)
    }

    private enum State: Hashable, Sendable {
        case awaitingHello
        case established
        case closed
    }

    private var state: State = .awaitingHello
    private var messageIDs: MessageIDCounter
    private var limiter: PublishRateLimiter
    private let maxEventDataBytes: Int
    /// The device's Hello, once received.
    public private(set) var hello: Hello?
    /// Publishes refused by the rate limit so far.
    public private(set) var throttledCount = 0

    /// A session with the gateway's limits; `firstMessageID` seeds the server's message IDs.
    public init(settings: GatewaySettings, firstMessageID: UInt16 = .random(in: 0...UInt16.max)) {
        self.messageIDs = MessageIDCounter(current: firstMessageID)
        self.limiter = PublishRateLimiter(rate: settings.publishRate, burst: settings.publishBurst)
        self.maxEventDataBytes = settings.maxEventDataBytes
    }

    /// Whether the device has said Hello.
    public var isEstablished: Bool { self.state == .established }

    /// Handles one decrypted message received at `now` (wall-clock `date` for time requests).
    public mutating func receive(
        _ bytes: [UInt8],
        at now: ContinuousClock.Instant,
        date: Date = Date()
    ) -> [Action] {
        guard self.state != .closed else { return [] }
        // The one-byte keep-alive (§7.7): nothing to answer.
        if bytes.count < 4, bytes.allSatisfy({ $0 == 0 }) { return [] }
        let message: CoAPMessage
        do {
            message = try CoAPMessage(decoding: bytes)
        } catch {
            return self.close("malformed CoAP message: \(error)")
        }
        if message.code == .empty {
            // A ping is a CON without a code; empty ACKs and RSTs answer nothing we sent yet.
            return message.type == .confirmable ? [.send(message.emptyAcknowledgement)] : []
        }
        guard message.code.isRequest else { return [] }
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
            return [.send(message.acknowledgement(code: .content, payload: payload))]
        case (.post, "x"):
            var actions: [Action] = []
            if message.type == .confirmable { actions.append(.send(message.emptyAcknowledgement)) }
            self.state = .closed
            return actions + [.close(reason: "goodbye")]
        case (.post, "d"), (.get, "e"), (.get, "E"):
            // Describe pushes and subscriptions: acknowledged; served in phase 2.
            return message.type == .confirmable ? [.send(message.emptyAcknowledgement)] : []
        default:
            return message.type == .confirmable ? [.send(message.acknowledgement(code: .notFound))] : []
        }
    }

    private mutating func hello(_ message: CoAPMessage) -> [Action] {
        let hello: Hello
        do {
            hello = try Hello(payload: message.payload)
        } catch {
            return self.close("invalid Hello")
        }
        var actions: [Action] = []
        if message.type == .confirmable { actions.append(.send(message.emptyAcknowledgement)) }
        actions.append(.send(Hello.serverMessage(messageID: self.messageIDs.next())))
        if self.state == .awaitingHello {
            self.state = .established
            self.hello = hello
            actions.append(.goOnline(hello))
        }
        return actions
    }

    private mutating func event(_ message: CoAPMessage, at now: ContinuousClock.Instant) -> [Action] {
        let confirmable = message.type == .confirmable
        // Join every Uri-Path option, then split off the letter (`E/temp`, `E` + `temp`, …).
        let path = message.path
        let name =
            path.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first
            .map(String.init) ?? ""
        guard (1...64).contains(name.utf8.count), message.payload.count <= self.maxEventDataBytes else {
            return confirmable ? [.send(message.acknowledgement(code: .badRequest))] : []
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

    private mutating func close(_ reason: String) -> [Action] {
        self.state = .closed
        return [.close(reason: reason)]
    }
}
